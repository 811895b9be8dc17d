//! The models mural knows, as data.
//!
//! `data/models.toml` lists every hosted model mural can paint or write
//! with: its provider and kind, its lifecycle (active, deprecated with a
//! shutdown date, or shut down, with the recommended replacement) and its
//! request rules (sizes, quality values, backgrounds, output formats, `n`,
//! prompt length, fields it rejects). Each entry cites the page that states
//! its facts. `mural.toml` can add models or override entries
//! ([`Catalog::with_overrides`]), so a user can adopt next month's model
//! without waiting for a release.
//!
//! Architecture invariant: this crate holds facts and judges requests
//! against them. It performs no IO, reads no environment and knows nothing
//! of HTTP: callers pass the date to judge lifecycles by.

mod date;
mod rules;

pub use date::Date;
pub use rules::{parse_ratio, FreeSize, ImageAsk, ImageRules, ImageSize, Response};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The embedded catalog.
pub const BUILTIN: &str = include_str!("../data/models.toml");

/// Who serves a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Openai,
    Google,
    Bfl,
    Replicate,
    Stability,
    Runway,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::Openai,
        Provider::Google,
        Provider::Bfl,
        Provider::Replicate,
        Provider::Stability,
        Provider::Runway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Google => "google",
            Provider::Bfl => "bfl",
            Provider::Replicate => "replicate",
            Provider::Stability => "stability",
            Provider::Runway => "runway",
        }
    }

    /// The provider behind a painter or writer kind (`gemini` is Google's;
    /// local engines such as `a1111` have none).
    pub fn of_kind(kind: &str) -> Option<Provider> {
        match kind {
            "openai" => Some(Provider::Openai),
            "gemini" | "google" => Some(Provider::Google),
            "bfl" | "flux" => Some(Provider::Bfl),
            "replicate" => Some(Provider::Replicate),
            "stability" => Some(Provider::Stability),
            "runway" | "runwayml" => Some(Provider::Runway),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Chat,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Chat => "chat",
        }
    }
}

/// Where a model is in its life, as the catalog records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Deprecated,
    Shutdown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deprecated => "deprecated",
            Status::Shutdown => "shutdown",
        }
    }
}

/// Rules for a chat model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRules {
    /// `max_tokens` or `max_completion_tokens`.
    pub max_tokens_field: Option<String>,
}

/// One model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// The id the provider's API takes.
    pub id: String,
    pub provider: Provider,
    pub kind: Kind,
    pub status: Status,
    /// The shutdown date (past for shut-down models).
    pub shutdown: Option<Date>,
    /// The recommended successor.
    pub replacement: Option<String>,
    /// The provider's default for this kind in mural.
    #[serde(default)]
    pub default: bool,
    /// Other names the API takes for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The page that states these facts.
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatRules>,
}

impl Model {
    fn answers_to(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
    }

    /// Its lifecycle on a given day: a deprecated model whose shutdown date
    /// has come is shut down, whatever the data says.
    pub fn status_on(&self, today: Date) -> Status {
        match (self.status, self.shutdown) {
            (Status::Shutdown, _) => Status::Shutdown,
            (_, Some(d)) if today >= d => Status::Shutdown,
            (s, _) => s,
        }
    }
}

/// A `[[models]]` table in `mural.toml`: a new model, or fields that
/// override a catalog entry with the same id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    pub provider: Option<Provider>,
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub shutdown: Option<Date>,
    pub replacement: Option<String>,
    pub default: Option<bool>,
    pub aliases: Option<Vec<String>>,
    pub source: Option<String>,
    pub note: Option<String>,
    pub image: Option<ImageRules>,
    pub chat: Option<ChatRules>,
}

/// Why the catalog, or a use of a model, is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The data does not hold together.
    #[error("{0}")]
    Invalid(String),
    /// The model was shut down.
    #[error("{provider} model {id} was shut down on {since}; use {replacement} instead ({hint})")]
    Retired {
        provider: Provider,
        id: String,
        since: Date,
        replacement: String,
        hint: String,
    },
    /// A request breaks the model's rules.
    #[error("{0}")]
    Rule(String),
}

/// What the catalog says about using a model today.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    /// The catalog does not know it (a new model, or another server's).
    Unknown,
    Active(&'a Model),
    /// It works until `shutdown` (when one is announced); say so once.
    Deprecated {
        model: &'a Model,
        shutdown: Option<Date>,
        replacement: Option<&'a str>,
    },
}

impl Verdict<'_> {
    /// The one-line warning for a deprecated model. `hint` says how to
    /// switch, with `{}` standing for the replacement.
    pub fn warning(&self, hint: &str) -> Option<String> {
        match self {
            Verdict::Deprecated {
                model,
                shutdown,
                replacement,
            } => {
                let when = match shutdown {
                    Some(d) => format!("shuts down on {d}"),
                    None => "has no shutdown date announced yet".to_string(),
                };
                Some(match replacement {
                    Some(r) => format!(
                        "warning: {} model {} is deprecated and {when}; switch to {r} ({})",
                        model.provider,
                        model.id,
                        hint.replace("{}", r)
                    ),
                    None => format!(
                        "warning: {} model {} is deprecated and {when}",
                        model.provider, model.id
                    ),
                })
            }
            _ => None,
        }
    }

    pub fn model(&self) -> Option<&Model> {
        match self {
            Verdict::Unknown => None,
            Verdict::Active(m) | Verdict::Deprecated { model: m, .. } => Some(m),
        }
    }
}

/// The models mural knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The day the facts were last checked against the providers' pages.
    pub checked: Date,
    #[serde(default)]
    pub models: Vec<Model>,
}

static BUILTIN_CATALOG: OnceLock<Catalog> = OnceLock::new();
static INSTALLED: OnceLock<Catalog> = OnceLock::new();
/// `mural.toml`'s entries, applied when the catalog is first needed.
static OVERRIDES: OnceLock<Vec<ModelEntry>> = OnceLock::new();

impl Catalog {
    /// Parses and checks a catalog.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let c: Catalog = toml::from_str(text)
            .map_err(|e| CatalogError::Invalid(format!("the model catalog: {}", e.message())))?;
        c.validate()?;
        Ok(c)
    }

    /// The embedded catalog (checked by this crate's tests).
    pub fn builtin() -> &'static Catalog {
        BUILTIN_CATALOG.get_or_init(|| match Catalog::parse(BUILTIN) {
            Ok(c) => c,
            // the schema test holds the embedded data to `validate`
            Err(e) => unreachable!("the embedded model catalog is invalid: {e}"),
        })
    }

    /// The catalog in force: the embedded one with the entries
    /// [`install_overrides`] registered (checked by then), built on first
    /// use so commands that need no model never parse it.
    pub fn current() -> &'static Catalog {
        match OVERRIDES.get().filter(|o| !o.is_empty()) {
            None => INSTALLED.get().unwrap_or_else(Catalog::builtin),
            Some(o) => INSTALLED.get_or_init(|| {
                Catalog::builtin()
                    .with_overrides(o)
                    .unwrap_or_else(|_| Catalog::builtin().clone())
            }),
        }
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The model a provider knows by this id or alias.
    pub fn find(&self, provider: Provider, id: &str) -> Option<&Model> {
        self.models
            .iter()
            .find(|m| m.provider == provider && m.answers_to(id.trim()))
    }

    /// The provider's default model of a kind.
    pub fn default_model(&self, provider: Provider, kind: Kind) -> Option<&Model> {
        let mut of = self
            .models
            .iter()
            .filter(|m| m.provider == provider && m.kind == kind && m.status != Status::Shutdown);
        of.clone().find(|m| m.default).or_else(|| of.next())
    }

    /// The provider's models of a kind, in catalog order.
    pub fn of(&self, provider: Provider, kind: Option<Kind>) -> impl Iterator<Item = &Model> {
        self.models
            .iter()
            .filter(move |m| m.provider == provider && kind.is_none_or(|k| m.kind == k))
    }

    /// Judges the use of a model on `today`: a shut-down model is an error
    /// that names the replacement and `hint` (how to switch; `{}` stands for
    /// the replacement's id).
    pub fn judge(
        &self,
        provider: Provider,
        id: &str,
        today: Date,
        hint: &str,
    ) -> Result<Verdict<'_>, CatalogError> {
        let Some(m) = self.find(provider, id) else {
            return Ok(Verdict::Unknown);
        };
        let replacement = self.successor(m, today);
        match m.status_on(today) {
            Status::Active => Ok(Verdict::Active(m)),
            Status::Deprecated => Ok(Verdict::Deprecated {
                model: m,
                shutdown: m.shutdown,
                replacement,
            }),
            Status::Shutdown => {
                let replacement = replacement
                    .or_else(|| self.default_model(provider, m.kind).map(|d| d.id.as_str()))
                    .unwrap_or("a current model")
                    .to_string();
                Err(CatalogError::Retired {
                    provider,
                    id: m.id.clone(),
                    since: m.shutdown.unwrap_or(self.checked),
                    hint: hint.replace("{}", &replacement),
                    replacement,
                })
            }
        }
    }

    /// The replacement to recommend: follows replacements past models that
    /// are themselves shut down by `today`.
    fn successor(&self, m: &Model, today: Date) -> Option<&str> {
        let mut cur = m;
        for _ in 0..8 {
            let next = cur
                .replacement
                .as_deref()
                .and_then(|r| self.find(cur.provider, r))?;
            if next.status_on(today) != Status::Shutdown {
                return Some(next.id.as_str());
            }
            cur = next;
        }
        None
    }

    /// The catalog with `mural.toml`'s entries applied: an entry whose id
    /// (and provider, when given) matches a model overrides the fields it
    /// gives; any other entry adds a model and must name its provider and
    /// kind.
    pub fn with_overrides(&self, entries: &[ModelEntry]) -> Result<Catalog, CatalogError> {
        let mut c = self.clone();
        for e in entries {
            let at = c
                .models
                .iter()
                .position(|m| m.answers_to(&e.id) && e.provider.is_none_or(|p| p == m.provider));
            let i = match at {
                Some(i) => i,
                None => {
                    let (Some(provider), Some(kind)) = (e.provider, e.kind) else {
                        return Err(CatalogError::Invalid(format!(
                            "[[models]] {:?} is not in the catalog; give it a provider and a kind to add it",
                            e.id
                        )));
                    };
                    c.models.push(Model {
                        id: e.id.clone(),
                        provider,
                        kind,
                        status: Status::Active,
                        shutdown: None,
                        replacement: None,
                        default: false,
                        aliases: Vec::new(),
                        source: "mural.toml".into(),
                        note: None,
                        image: None,
                        chat: None,
                    });
                    c.models.len() - 1
                }
            };
            let m = &mut c.models[i];
            if let Some(k) = e.kind {
                m.kind = k;
            }
            if let Some(s) = e.status {
                m.status = s;
                if s == Status::Active && e.shutdown.is_none() {
                    m.shutdown = None;
                }
            }
            if e.shutdown.is_some() {
                m.shutdown = e.shutdown;
            }
            if e.replacement.is_some() {
                m.replacement = e.replacement.clone();
            }
            if let Some(a) = &e.aliases {
                m.aliases = a.clone();
            }
            if let Some(s) = &e.source {
                m.source = s.clone();
            } else if at.is_some() {
                m.source = format!("{} (changed in mural.toml)", m.source);
            }
            if e.note.is_some() {
                m.note = e.note.clone();
            }
            if e.image.is_some() {
                m.image = e.image.clone();
            }
            if e.chat.is_some() {
                m.chat = e.chat.clone();
            }
            if let Some(d) = e.default {
                m.default = d;
                if d {
                    let (p, k, id) = (m.provider, m.kind, m.id.clone());
                    for o in c.models.iter_mut() {
                        if o.provider == p && o.kind == k && o.id != id {
                            o.default = false;
                        }
                    }
                }
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// The schema's rules: ids unique per provider, dates where the status
    /// needs them, replacements that exist, rules that match the kind, at
    /// most one default per provider and kind, and no default shut down.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let bad = |m: &Model, why: String| {
            Err(CatalogError::Invalid(format!(
                "model catalog: {} {}: {why}",
                m.provider, m.id
            )))
        };
        for (i, m) in self.models.iter().enumerate() {
            if m.id.trim().is_empty() || m.id.chars().any(char::is_whitespace) {
                return bad(m, "the id is empty or has spaces".into());
            }
            for n in std::iter::once(&m.id).chain(&m.aliases) {
                if let Some(o) = self.models[..i]
                    .iter()
                    .find(|o| o.provider == m.provider && o.answers_to(n))
                {
                    return bad(m, format!("the name {n} is also {}", o.id));
                }
            }
            if m.status == Status::Shutdown && m.shutdown.is_none() {
                return bad(m, "a shut-down model needs its shutdown date".into());
            }
            if m.status != Status::Active && m.replacement.is_none() {
                return bad(
                    m,
                    format!("a {} model needs a replacement", m.status.as_str()),
                );
            }
            if let Some(r) = &m.replacement {
                if self.find(m.provider, r).is_none() {
                    return bad(m, format!("its replacement {r} is not in the catalog"));
                }
            }
            match m.kind {
                Kind::Image if m.chat.is_some() => {
                    return bad(m, "an image model has [chat] rules".into())
                }
                Kind::Chat if m.image.is_some() => {
                    return bad(m, "a chat model has [image] rules".into())
                }
                _ => {}
            }
            if let Some(r) = &m.image {
                r.validate().or_else(|why| bad(m, why))?;
            }
            if m.default {
                if m.status == Status::Shutdown {
                    return bad(m, "a shut-down model cannot be the default".into());
                }
                if let Some(o) = self.models[..i]
                    .iter()
                    .find(|o| o.default && o.provider == m.provider && o.kind == m.kind)
                {
                    return bad(m, format!("{} is the default already", o.id));
                }
            }
        }
        Ok(())
    }
}

/// The day lifecycles are judged by: `MURAL_TODAY` (YYYY-MM-DD, to replay
/// or test a date) through the caller's lookup, else the system clock.
pub fn today(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Date, String> {
    match lookup("MURAL_TODAY").filter(|v| !v.trim().is_empty()) {
        Some(v) => v.parse().map_err(|e| format!("MURAL_TODAY: {e}")),
        None => Ok(Date::today()),
    }
}

/// Registers `mural.toml`'s `[[models]]` entries for this process (the
/// first call wins). Entries are checked here, so a bad one is reported at
/// once; with none, nothing is parsed until a model is needed.
pub fn install_overrides(entries: Vec<ModelEntry>) -> Result<(), CatalogError> {
    if !entries.is_empty() {
        let c = Catalog::builtin().with_overrides(&entries)?;
        let _ = INSTALLED.set(c);
    }
    let _ = OVERRIDES.set(entries);
    Ok(())
}

#[cfg(test)]
mod tests;
