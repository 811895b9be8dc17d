//! Painter names to painters: a kind, `kind/model`, `kind:model` or a
//! profile from `mural.toml`. Built painters are kept per name (at most
//! [`PAINTER_CACHE`], least recently used out), so a rate limit is shared
//! by every request; [`Served`] makes a painter's auth failure the
//! server's trouble.

use crate::{AppError, AppState};
use mural_paint::{PaintError, PaintRequest, Painted, Painter, Profile};
use std::sync::Arc;

/// Painters kept built (least recently used first out).
pub const PAINTER_CACHE: usize = 16;

/// A painter as the server uses it: a service rejecting *this server's*
/// credentials is the server's trouble (502 `painter_failed`), not a bad
/// request from the client.
pub(crate) struct Served(Box<dyn Painter>);

impl Painter for Served {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn model(&self) -> &str {
        self.0.model()
    }
    fn limits(&self) -> mural_paint::Limits {
        self.0.limits()
    }
    fn source_type(&self) -> mural_paint::SourceType {
        self.0.source_type()
    }
    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            self.0.paint(req).await.map_err(|e| match e {
                PaintError::Auth { message } => PaintError::Failed {
                    message: format!(
                        "the painter refused this server's credentials ({message}); the server's operator must fix its key"
                    ),
                },
                e => e,
            })
        })
    }
}

/// A painter name as a request may give it: a kind, `kind/model`,
/// `kind:model` or a profile; short, printable, no spaces.
fn check_painter_name(name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:@+".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "model",
            format!(
                "model {:?} is not a painter name: use a kind ({}), kind/model or a profile, at most 128 letters, digits and -_./:@+",
                name.chars().take(140).collect::<String>(),
                mural_paint::PainterKind::names()
            ),
        ))
    }
}

impl AppState {
    /// How many painters are built and kept (at most [`PAINTER_CACHE`]).
    pub fn cached_painters(&self) -> usize {
        self.inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The painters a request may name: the sketch, the profiles, then the
    /// other kinds.
    pub(crate) fn painter_names(&self) -> Vec<String> {
        let mut painters: Vec<String> = vec!["sketch".into()];
        painters.extend(self.inner.profiles.keys().cloned());
        for k in mural_paint::PainterKind::ALL
            .map(mural_paint::PainterKind::as_str)
            .iter()
            .skip(1)
        {
            painters.push((*k).to_string());
        }
        painters
    }

    /// Resolves a painter (a kind, `kind/model`, or a profile). Painters are
    /// kept per name, so a rate limit is shared by every request, but only
    /// once a request naming one has passed every check (see [`Self::keep`]),
    /// and at most [`PAINTER_CACHE`] of them.
    pub(crate) fn painter(
        &self,
        name: Option<&str>,
    ) -> Result<(String, Arc<dyn Painter>), AppError> {
        let name = name
            .unwrap_or(&self.inner.default_painter)
            .trim()
            .to_string();
        if !self.inner.profiles.contains_key(&name) {
            check_painter_name(&name)?;
        }
        if let Some((_, p)) = self
            .inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(n, _)| *n == name)
        {
            return Ok((name, p.clone()));
        }
        let profile = match self.inner.profiles.get(&name) {
            Some(p) => p.clone(),
            None => {
                let (kind, model) = match name.split_once(['/', ':']) {
                    Some((k, m)) => (k, Some(m)),
                    None => (name.as_str(), None),
                };
                let Ok(parsed) = kind.parse::<mural_paint::PainterKind>() else {
                    return Err(AppError::invalid(
                        "model",
                        format!(
                            "unknown painter {name:?}; use a kind ({}), kind/model, or a profile ({})",
                            mural_paint::PainterKind::names(),
                            self.inner.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                };
                if kind == "sketch" && model.is_some() {
                    return Err(AppError::invalid(
                        "model",
                        format!("unknown painter {name:?}: sketch has no models; use \"sketch\""),
                    ));
                }
                if model.is_some_and(|m| m.is_empty()) {
                    return Err(AppError::invalid(
                        "model",
                        format!("painter {name:?} names no model after the kind; write kind/model"),
                    ));
                }
                let mut p = Profile::of_kind(parsed);
                p.model = model.map(str::to_string);
                p
            }
        };
        let env = self.inner.env.clone();
        let painter = mural_paint::build(&profile, &move |k| env(k))
            .map_err(|e| AppError::invalid("model", self.scrub(&e.to_string())))?;
        Ok((name, Arc::new(Served(painter))))
    }

    /// The painter name a recorded run used: its label, with the recorded
    /// model when the label is a bare kind (as `mural rerun` resolves it).
    pub(crate) fn recorded_painter(&self, recipe: &serde_json::Value) -> Option<String> {
        let label = recipe["painter"].as_str()?;
        let model = recipe["model"]
            .as_str()
            .filter(|m| !m.is_empty() && !m.starts_with('('));
        let bare_kind = !self.inner.profiles.contains_key(label)
            && !label.contains(['/', ':'])
            && label != "sketch"
            && label.parse::<mural_paint::PainterKind>().is_ok();
        Some(match model {
            Some(m) if bare_kind => format!("{label}/{m}"),
            _ => label.to_string(),
        })
    }

    /// Keeps a painter for later requests (the most recently used first),
    /// dropping the least recently used past [`PAINTER_CACHE`].
    pub(crate) fn keep(&self, name: &str, painter: &Arc<dyn Painter>) {
        let mut cache = self
            .inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(i) = cache.iter().position(|(n, _)| n == name) {
            let entry = cache.remove(i);
            cache.push(entry);
            return;
        }
        cache.push((name.to_string(), painter.clone()));
        if cache.len() > PAINTER_CACHE {
            let over = cache.len() - PAINTER_CACHE;
            cache.drain(..over);
        }
    }
}
