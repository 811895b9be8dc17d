//! Black Forest Labs' FLUX API (<https://docs.bfl.ai>).
//!
//! - Submit: `POST {base}/v1/{model}` with the `x-key` header and
//!   `prompt`, `seed`, `output_format`, `safety_tolerance` and either
//!   `width`/`height` (FLUX.2, FLUX.1 [pro]/[dev]) or `aspect_ratio`
//!   (Kontext, 1.1 [pro] Ultra), as the catalog's rules for the model say.
//!   The reply is `{"id", "polling_url"}`.
//! - Poll the returned `polling_url` (never one built from the id: with
//!   the global endpoint the task may live on another cluster) until
//!   `Ready`. `Pending` means wait; `Request Moderated` and `Content
//!   Moderated` are refusals; `Error` and `Task not found` fail.
//!   (docs.bfl.ai/api_integration/integration_guidelines, /errors)
//! - `result.sample` is a signed URL that expires after about 10 minutes:
//!   it is downloaded at once, and a 403/404/410 on it says the URL
//!   expired.
//! - An account may have 24 active tasks (6 for `flux-kontext-max`;
//!   help.bfl.ai "What is the concurrency limit for the API"); a task is
//!   active from submit to result, so the painter holds a permit for that
//!   whole time, never more than the profile's `concurrency` (default 4)
//!   capped at the account limit. A 429 is retried after its retry-after.
//! - 402 means the account is out of credits.
//! - The key is `BFL_API_KEY`.

use super::{paint_error, pause, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_catalog::{Catalog, FreeSize, ImageAsk, ImageRules, Kind, Provider};
use mural_http::{Client, HttpError, Verdict};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// Active tasks an account may have (BFL's default limit).
pub const ACCOUNT_TASKS: usize = 24;
/// `flux-kontext-max`'s lower limit.
pub const KONTEXT_MAX_TASKS: usize = 6;

/// The FLUX.2 size rule, for a model the catalog does not know yet.
fn flux2_sizes() -> FreeSize {
    FreeSize {
        multiple: 16,
        max_side: None,
        min_side: None,
        min_pixels: Some(256 * 256),
        max_pixels: Some(2048 * 2048),
        max_aspect: None,
    }
}

pub struct BflPainter {
    client: Client,
    base: String,
    key: String,
    model: String,
    rules: ImageRules,
    safety_tolerance: Option<u8>,
    output_format: String,
    poll_ms: u64,
    max_wait: Duration,
    /// Tasks this painter has active at once (submit to download).
    active: tokio::sync::Semaphore,
}

/// The model a profile paints with: its own, else the catalog's default.
pub fn model_of(p: &Profile) -> String {
    p.model.clone().unwrap_or_else(|| {
        Catalog::current()
            .default_model(Provider::Bfl, Kind::Image)
            .map(|m| m.id.clone())
            .unwrap_or_else(|| "flux-2-pro".into())
    })
}

impl BflPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let base = p.base_url("https://api.bfl.ai".into())?;
        super::lifecycle(p, env)?;
        let key_env = p.key_env("BFL_API_KEY").to_string();
        let key = p.key("BFL_API_KEY", env).ok_or_else(|| PaintError::Auth {
            message: format!(
                "the bfl painter needs an API key; set {key_env} (or api_key in the profile)"
            ),
        })?;
        let model = model_of(p);
        if model.is_empty()
            || !model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "bfl model {model:?} is not an endpoint name; write it like flux-2-pro"
                ),
            });
        }
        let rules = Catalog::current()
            .find(Provider::Bfl, &model)
            .and_then(|m| m.image.clone())
            .unwrap_or_else(|| ImageRules {
                free: Some(flux2_sizes()),
                formats: vec!["jpeg".into(), "png".into()],
                n_max: Some(1),
                ..ImageRules::default()
            });
        let most = if model == "flux-kontext-max" {
            KONTEXT_MAX_TASKS
        } else {
            ACCOUNT_TASKS
        };
        let active = p.concurrency.unwrap_or(4).clamp(1, most);
        let mut profile = p.clone();
        profile.concurrency = Some(active);
        let safety_max = if model.starts_with("flux-2") { 5 } else { 6 };
        if let Some(t) = p.safety_tolerance.filter(|t| *t > safety_max) {
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "bfl model {model}: safety_tolerance {t} is over {safety_max}; use 0 (strictest) to {safety_max}"
                ),
            });
        }
        // mural stores PNG: ask for PNG where the model offers it
        let output_format = p.output_format.clone().unwrap_or_else(|| {
            if rules.formats.is_empty() || rules.formats.iter().any(|f| f == "png") {
                "png".into()
            } else {
                rules.formats[0].clone()
            }
        });
        Ok(BflPainter {
            client: profile.client(&base, &[&key], &key_env)?,
            base,
            key,
            model,
            rules,
            safety_tolerance: p.safety_tolerance,
            output_format,
            poll_ms: p.poll_ms.unwrap_or(500).max(1),
            max_wait: Duration::from_secs_f64(p.max_wait_s.unwrap_or(600.0).max(0.0)),
            active: tokio::sync::Semaphore::new(active),
        })
    }

    /// Whether the model takes an aspect ratio instead of WxH.
    fn by_ratio(&self) -> bool {
        self.rules.free.is_none() && !self.rules.aspect_ratios.is_empty()
    }

    fn body(&self, req: &PaintRequest, seed: u64) -> Value {
        let mut b = Map::new();
        b.insert("prompt".into(), json!(req.prompt));
        if self.by_ratio() {
            if let Some(r) = self.rules.nearest_ratio(req.width, req.height) {
                b.insert("aspect_ratio".into(), json!(r));
            }
        } else {
            b.insert("width".into(), json!(req.width));
            b.insert("height".into(), json!(req.height));
        }
        // BFL's seed is an integer; keep it in 32 bits as its clients do
        b.insert("seed".into(), json!(seed % 4_294_967_296));
        b.insert("output_format".into(), json!(self.output_format));
        if let Some(t) = self.safety_tolerance {
            b.insert("safety_tolerance".into(), json!(t));
        }
        Value::Object(b)
    }

    /// Holds a request to the model's rules before it is sent.
    fn check(&self, req: &PaintRequest) -> Result<(), PaintError> {
        let body = self.body(req, req.seed);
        let fields: Vec<&str> = body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        self.rules
            .check(&ImageAsk {
                width: req.width,
                height: req.height,
                n: 1,
                prompt: &req.prompt,
                format: Some(&self.output_format),
                fields: &fields,
                ..ImageAsk::default()
            })
            .map_err(|m| PaintError::InvalidRequest {
                message: format!("bfl model {}: {m}", self.model),
            })
    }

    fn authed(
        &self,
        r: mural_http::reqwest::RequestBuilder,
    ) -> mural_http::reqwest::RequestBuilder {
        r.header("x-key", &self.key)
            .header("accept", "application/json")
    }

    /// BFL's own answers that the shared reading does not know.
    fn special<T>(&self, r: &mural_http::Reply, what: &str) -> Option<Verdict<T>> {
        let detail = || {
            serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| mural_http::error_message(&v))
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        };
        match r.status {
            402 => Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::Quota,
                format!(
                    "BFL says the account is out of credits (HTTP 402{}); add credits at https://dashboard.bfl.ai and paint again",
                    detail()
                ),
            ))),
            404 if what == "submit" => Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::InvalidRequest,
                format!(
                    "BFL says model {} does not exist (HTTP 404{}); pick another with --model (see `mural models --painter bfl`)",
                    self.model,
                    detail()
                ),
            ))),
            _ => None,
        }
    }

    async fn one(&self, req: &PaintRequest, seed: u64) -> Result<Painted, PaintError> {
        let service = self.client.service().to_string();
        // a task is active from submit until its result is fetched
        let _active = self
            .active
            .acquire()
            .await
            .map_err(|_| PaintError::Failed {
                message: format!("{service}: the painter is shutting down"),
            })?;
        let body = self.body(req, seed);
        let url = format!("{}/v1/{}", self.base, self.model);
        let (id, polling_url, cost): (String, String, Option<f64>) = self
            .client
            .call(
                "submit",
                |h| self.authed(h.post(&url).json(&body)),
                |r| {
                    if let Some(v) = self.special(r, "submit") {
                        return v;
                    }
                    let v = match self.client.json_body(r) {
                        Ok(v) => v,
                        Err(v) => return v,
                    };
                    let id = v
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    match v.get("polling_url").and_then(Value::as_str) {
                        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                            Verdict::Done((
                                id,
                                u.to_string(),
                                v.get("cost").and_then(Value::as_f64),
                            ))
                        }
                        // submitting again would start (and bill) a second task
                        _ => Verdict::Fail(HttpError::new(
                            mural_http::Kind::Failed,
                            format!("the reply has no polling_url (task {id:?})"),
                        )),
                    }
                },
            )
            .await
            .map_err(paint_error)?;
        let started = Instant::now();
        let result = loop {
            let t: Value = self
                .client
                .fetch(
                    "poll the task",
                    |h| self.authed(h.get(&polling_url)),
                    |r| {
                        if let Some(v) = self.special(r, "poll") {
                            return v;
                        }
                        if let Some(v) = self.client.classify(r) {
                            return v;
                        }
                        match r.json() {
                            Ok(v) => Verdict::Done(v),
                            Err(v) => v.cast(),
                        }
                    },
                )
                .await
                .map_err(paint_error)?;
            let status = t.get("status").and_then(Value::as_str).unwrap_or("");
            let why = || {
                mural_http::error_message(&t)
                    .or_else(|| {
                        t.get("result")
                            .filter(|r| !r.is_null())
                            .map(|r| r.to_string())
                    })
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            };
            match status {
                "Ready" => break t,
                "Request Moderated" => {
                    return Err(PaintError::Refused {
                        reason: format!(
                            "{service}: task {id}: Request Moderated (BFL's moderation flagged the prompt{}); rephrase it",
                            why()
                        ),
                    })
                }
                "Content Moderated" => {
                    return Err(PaintError::Refused {
                        reason: format!(
                            "{service}: task {id}: Content Moderated (BFL's moderation flagged the image{}); rephrase the prompt",
                            why()
                        ),
                    })
                }
                "Error" => {
                    return Err(PaintError::Failed {
                        message: format!("{service}: task {id} failed{}", why()),
                    })
                }
                "Task not found" => {
                    return Err(PaintError::Failed {
                        message: format!(
                            "{service}: task {id} was not found (it may have expired); paint again"
                        ),
                    })
                }
                _ => {} // Pending (or a status BFL adds later): wait
            }
            if started.elapsed() > self.max_wait {
                return Err(PaintError::Unavailable {
                    message: format!(
                        "{service}: task {id} did not finish within {:.0}s (last status {status:?}; raise max_wait_s)",
                        self.max_wait.as_secs_f64()
                    ),
                    retry_after_ms: None,
                });
            }
            pause(self.poll_ms).await;
        };
        let res = result.get("result").cloned().unwrap_or(Value::Null);
        let Some(sample) = res
            .get("sample")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(PaintError::Failed {
                message: format!("{service}: task {id} is Ready but has no result.sample"),
            });
        };
        // signed and short-lived: fetch it now, without the key
        let (png, width, height) = self
            .client
            .fetch(
                "download the result",
                |h| h.get(&sample),
                |r| {
                    if matches!(r.status, 403 | 404 | 410) {
                        return Verdict::Fail(HttpError::new(
                            mural_http::Kind::Failed,
                            format!(
                                "the result URL of task {id} expired (HTTP {}; BFL keeps results about 10 minutes); paint again",
                                r.status
                            ),
                        ));
                    }
                    if let Some(v) = self.client.classify(r) {
                        return v;
                    }
                    super::image_verdict(&r.body)
                },
            )
            .await
            .map_err(paint_error)?;
        let mut params = Map::new();
        params.insert("model".into(), json!(self.model));
        for k in [
            "width",
            "height",
            "aspect_ratio",
            "output_format",
            "safety_tolerance",
        ] {
            if let Some(v) = body.get(k) {
                params.insert(k.into(), v.clone());
            }
        }
        params.insert("task_id".into(), json!(id));
        if let Some(c) = cost {
            params.insert("cost_credits".into(), json!(c));
        }
        Ok(Painted {
            png,
            width,
            height,
            seed: res.get("seed").and_then(Value::as_u64).unwrap_or(seed),
            revised_prompt: None,
            params,
        })
    }
}

impl Painter for BflPainter {
    fn name(&self) -> &str {
        "bfl"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        if self.by_ratio() {
            // any WxH: the nearest ratio the model takes is sent
            Limits {
                max_n: 1,
                sizes: Sizes::Range {
                    min: 64,
                    max: 4096,
                    step: 1,
                },
                max_prompt_chars: self.rules.prompt_max.map(|m| m as usize),
            }
        } else {
            Limits {
                max_n: 1,
                ..Limits::from_rules(&self.rules)
            }
        }
    }

    fn source_type(&self) -> SourceType {
        SourceType::TrainedAlgorithmicMedia
    }

    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            let limits = self.limits();
            limits.check_size(req.width, req.height)?;
            limits.check_prompt(&req.prompt)?;
            self.check(req)?;
            // one image a task
            let mut out = Vec::with_capacity(req.n);
            for i in 0..req.n as u64 {
                out.push(self.one(req, req.seed + i).await?);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn painter(model: &str, extra: impl FnOnce(&mut Profile)) -> Result<BflPainter, PaintError> {
        let mut p = Profile::of_kind(crate::PainterKind::Bfl);
        p.model = Some(model.into());
        p.api_key = Some("bfl-test-key".into());
        extra(&mut p);
        BflPainter::new(&p, &|_| None)
    }

    fn req(w: u32, h: u32) -> PaintRequest {
        PaintRequest {
            prompt: "a lighthouse".into(),
            negative_prompt: String::new(),
            width: w,
            height: h,
            n: 1,
            seed: 7,
            model: None,
            scene: None,
        }
    }

    #[test]
    fn flux2_sends_width_and_height_checked_against_the_catalog() {
        let p = painter("flux-2-pro", |_| {}).unwrap();
        let b = p.body(&req(1024, 768), 7);
        assert_eq!(
            (b["width"].as_u64(), b["height"].as_u64()),
            (Some(1024), Some(768))
        );
        assert!(b.get("aspect_ratio").is_none());
        assert_eq!(b["output_format"], "png");
        assert!(p.check(&req(1024, 768)).is_ok());
        let e = p.check(&req(1000, 768)).unwrap_err().to_string();
        assert!(e.contains("multiple of 16"), "{e}");
        let e = p.limits().check_size(4096, 4096).unwrap_err().to_string();
        assert!(e.contains("pixels"), "{e}");
    }

    #[test]
    fn ultra_and_kontext_get_the_nearest_aspect_ratio() {
        let p = painter("flux-pro-1.1-ultra", |_| {}).unwrap();
        let b = p.body(&req(1920, 1080), 1);
        assert_eq!(b["aspect_ratio"], "16:9");
        assert!(b.get("width").is_none() && b.get("height").is_none());
        assert!(p.check(&req(1920, 1080)).is_ok());
        let p = painter("flux-kontext-pro", |_| {}).unwrap();
        assert_eq!(p.body(&req(700, 1000), 1)["aspect_ratio"], "2:3");
    }

    #[test]
    fn concurrency_is_capped_at_the_account_limit() {
        let p = painter("flux-2-pro", |p| p.concurrency = Some(100)).unwrap();
        assert_eq!(p.active.available_permits(), ACCOUNT_TASKS);
        let p = painter("flux-kontext-max", |p| p.concurrency = Some(10)).unwrap();
        assert_eq!(p.active.available_permits(), KONTEXT_MAX_TASKS);
        let p = painter("flux-2-pro", |_| {}).unwrap();
        assert_eq!(p.active.available_permits(), 4);
    }

    #[test]
    fn setup_errors_name_the_fix() {
        let e = BflPainter::new(&Profile::of_kind(crate::PainterKind::Bfl), &|_| None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("BFL_API_KEY"), "{e}");
        let e = painter("flux-2-pro", |p| p.safety_tolerance = Some(6))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("0 (strictest) to 5"), "{e}");
        let e = painter("flux-pro-1.0-canny", |_| {})
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("shut down") && e.contains("flux-2-pro"), "{e}");
        let e = painter("../v1/x", |_| {}).err().unwrap().to_string();
        assert!(e.contains("not an endpoint name"), "{e}");
    }
}
