//! Google's Gemini image models (Nano Banana) through the Gemini API:
//! `POST {base}/models/{model}:generateContent` with the
//! `x-goog-api-key` header (ai.google.dev/api/generate-content).
//!
//! - The request is one user turn of text, with
//!   `generationConfig.responseModalities = ["TEXT", "IMAGE"]` and
//!   `imageConfig.aspectRatio` set to the ratio the catalog lists for the
//!   model that is nearest the asked WxH; `imageConfig.imageSize` (1K, 2K,
//!   4K) is the smallest listed size that covers the asked long side, sent
//!   only to models that offer more than one. The image's real size is
//!   read from the PNG that comes back.
//! - Each image is one call (the API returns one image a turn), with
//!   `generationConfig.seed` set to the image's seed so a run can be
//!   repeated.
//! - Images come back base64 in `candidates[].content.parts[].inlineData`
//!   (thought parts are skipped). `promptFeedback.blockReason`, and a
//!   candidate that stops for SAFETY, PROHIBITED_CONTENT, IMAGE_SAFETY and
//!   the like, are refusals; a reply with only text is a clear failure.
//! - 429 RESOURCE_EXHAUSTED is retried after the reply's
//!   `google.rpc.RetryInfo.retryDelay` (else `retry-after`, else backoff).
//!   A 404 NOT_FOUND says the model does not exist.
//! - The key is `GEMINI_API_KEY`.

use super::{decode_b64, paint_error, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_catalog::{Catalog, ImageRules, Kind, Provider};
use mural_http::{Client, HttpError, Verdict};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The aspect ratios every Gemini image model takes (for a model the
/// catalog does not know).
pub const STANDARD_RATIOS: &[&str] = &[
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
];

/// `finishReason`s that mean the model would not make the image.
const REFUSALS: &[&str] = &[
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

pub struct GeminiPainter {
    client: Client,
    base: String,
    key: String,
    key_env: String,
    model: String,
    rules: ImageRules,
}

/// The model a profile paints with: its own, else the catalog's default.
pub fn model_of(p: &Profile) -> String {
    p.model.clone().unwrap_or_else(|| {
        Catalog::current()
            .default_model(Provider::Google, Kind::Image)
            .map(|m| m.id.clone())
            .unwrap_or_else(|| "gemini-nano-banana-2.1".into())
    })
}

/// The long side (in pixels) an `imageSize` token stands for.
fn resolution_side(token: &str) -> Option<u32> {
    match token.trim().to_ascii_uppercase().as_str() {
        "512" => Some(512),
        "1K" => Some(1024),
        "2K" => Some(2048),
        "4K" => Some(4096),
        _ => None,
    }
}

/// `google.rpc.RetryInfo.retryDelay` ("34s", "1.5s") in an error body.
pub fn retry_delay(body: &Value) -> Option<Duration> {
    body.pointer("/error/details")?
        .as_array()?
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| {
            let s = d.get("retryDelay")?.as_str()?.trim().strip_suffix('s')?;
            let secs: f64 = s.parse().ok()?;
            (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
        })
}

impl GeminiPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let base = p.base_url("https://generativelanguage.googleapis.com/v1beta".into())?;
        super::lifecycle(p, env)?;
        let key_env = p.key_env("GEMINI_API_KEY").to_string();
        let key = p
            .key("GEMINI_API_KEY", env)
            .ok_or_else(|| PaintError::Auth {
                message: format!(
                "the gemini painter needs an API key; set {key_env} (or api_key in the profile)"
            ),
            })?;
        let model = model_of(p);
        let model = model.strip_prefix("models/").unwrap_or(&model).to_string();
        if model.is_empty()
            || !model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "gemini model {model:?} is not a model id; write it like gemini-nano-banana-2.1"
                ),
            });
        }
        let mut rules = Catalog::current()
            .find(Provider::Google, &model)
            .and_then(|m| m.image.clone())
            .unwrap_or_default();
        if rules.aspect_ratios.is_empty() {
            rules.aspect_ratios = STANDARD_RATIOS.iter().map(|r| r.to_string()).collect();
        }
        Ok(GeminiPainter {
            client: p.client(&base, &[&key], &key_env)?,
            base,
            key,
            key_env,
            model,
            rules,
        })
    }

    /// The `imageSize` to ask for WxH, when the model offers a choice.
    fn image_size(&self, w: u32, h: u32) -> Option<&str> {
        let mut known: Vec<(u32, &str)> = self
            .rules
            .resolutions
            .iter()
            .filter_map(|r| resolution_side(r).map(|s| (s, r.as_str())))
            .collect();
        if known.len() < 2 {
            return None; // one size (or none listed): the model's default
        }
        known.sort();
        let long = w.max(h);
        known
            .iter()
            .find(|(side, _)| *side >= long)
            .or(known.last())
            .map(|(_, r)| *r)
    }

    fn body(&self, req: &PaintRequest, seed: u64) -> Value {
        let mut image = Map::new();
        if let Some(r) = self.rules.nearest_ratio(req.width, req.height) {
            image.insert("aspectRatio".into(), json!(r));
        }
        if let Some(s) = self.image_size(req.width, req.height) {
            image.insert("imageSize".into(), json!(s));
        }
        json!({
            "contents": [{"role": "user", "parts": [{"text": req.prompt}]}],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": Value::Object(image),
                // GenerationConfig.seed is an int32
                "seed": seed % 2_147_483_648,
            },
        })
    }

    /// Google's own error shapes the shared reading does not know: a
    /// missing model, a bad key, and RetryInfo on 429.
    fn special<T>(&self, r: &mural_http::Reply) -> Option<Verdict<T>> {
        if r.is_success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&r.body).ok()?;
        let status = v
            .pointer("/error/status")
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = mural_http::error_message(&v).unwrap_or_default();
        if r.status == 404 || status == "NOT_FOUND" {
            return Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::InvalidRequest,
                format!(
                    "Google says model {} does not exist or does not generate content ({message}); pick another with --model (see `mural models --painter gemini`)",
                    self.model
                ),
            )));
        }
        let key_invalid = v
            .pointer("/error/details")
            .and_then(Value::as_array)
            .is_some_and(|d| {
                d.iter()
                    .any(|x| x.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID"))
            });
        if key_invalid {
            return Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::Auth,
                format!("HTTP {}: {message}; check {}", r.status, self.key_env),
            )));
        }
        if r.status == 429 || status == "RESOURCE_EXHAUSTED" {
            return Some(Verdict::Retry {
                message: format!("HTTP {}: {message}", r.status),
                retry_after: retry_delay(&v).or_else(|| mural_http::retry_after(&r.headers)),
            });
        }
        None
    }

    /// The image (and any text) in a 200 reply, or why there is none.
    fn read(v: &Value) -> Result<(Vec<u8>, String), (bool, String)> {
        if let Some(reason) = v
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            return Err((true, format!("Google blocked the prompt ({reason})")));
        }
        let candidates = v.get("candidates").and_then(Value::as_array);
        let Some(c) = candidates.and_then(|c| c.first()) else {
            return Err((false, "the reply has no candidates".into()));
        };
        let mut text = String::new();
        let parts = c
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for part in &parts {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let inline = part.get("inlineData").or_else(|| part.get("inline_data"));
            if let Some(data) = inline.and_then(|d| d.get("data")).and_then(Value::as_str) {
                return decode_b64(data).map(|b| (b, text)).map_err(|m| (false, m));
            }
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                text.push_str(t);
            }
        }
        let finish = c.get("finishReason").and_then(Value::as_str).unwrap_or("");
        if REFUSALS.contains(&finish) {
            return Err((true, format!("Google stopped the image ({finish})")));
        }
        let said = text.trim();
        Err((
            false,
            if said.is_empty() {
                format!("the model returned no image (finishReason {finish:?})")
            } else {
                let said: String = said.chars().take(200).collect();
                format!(
                    "the model answered with text only, no image (finishReason {finish:?}): {said:?}"
                )
            },
        ))
    }

    async fn one(&self, req: &PaintRequest, seed: u64) -> Result<Painted, PaintError> {
        let service = self.client.service().to_string();
        let body = self.body(req, seed);
        let url = format!("{}/models/{}:generateContent", self.base, self.model);
        let v: Value = self
            .client
            .call(
                "generateContent",
                |h| h.post(&url).header("x-goog-api-key", &self.key).json(&body),
                |r| {
                    if let Some(v) = self.special(r) {
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
        let (bytes, text) = match Self::read(&v) {
            Ok(x) => x,
            Err((true, reason)) => {
                return Err(PaintError::Refused {
                    reason: format!("{service}: {reason}"),
                })
            }
            Err((false, message)) => {
                return Err(PaintError::Failed {
                    message: format!("{service}: {message}"),
                })
            }
        };
        let (png, width, height) = super::to_png(&bytes).map_err(|m| PaintError::Failed {
            message: format!("{service}: {m}"),
        })?;
        let mut params = Map::new();
        params.insert("model".into(), json!(self.model));
        if let Some(image) = body.pointer("/generationConfig/imageConfig") {
            for (k, val) in image.as_object().into_iter().flatten() {
                params.insert(k.clone(), val.clone());
            }
        }
        if let Some(version) = v.get("modelVersion").and_then(Value::as_str) {
            params.insert("model_version".into(), json!(version));
        }
        let text = text.trim();
        Ok(Painted {
            png,
            width,
            height,
            seed,
            revised_prompt: None,
            params: {
                if !text.is_empty() {
                    params.insert("model_text".into(), json!(text));
                }
                params
            },
        })
    }
}

impl Painter for GeminiPainter {
    fn name(&self) -> &str {
        "gemini"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        // any WxH: it is sent as the nearest listed aspect ratio and a
        // size class, and the image comes back at the model's own size
        let max = self
            .rules
            .resolutions
            .iter()
            .filter_map(|r| resolution_side(r))
            .max()
            .unwrap_or(1024)
            .max(1024);
        Limits {
            max_n: 1,
            sizes: Sizes::Range {
                min: 64,
                max,
                step: 1,
            },
            max_prompt_chars: self.rules.prompt_max.map(|m| m as usize),
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
            let mut out = Vec::with_capacity(req.n);
            for i in 0..req.n as u64 {
                out.push(self.one(req, req.seed + i).await?);
            }
            Ok(out)
        })
    }
}

impl GeminiPainter {
    /// `GET {base}/models`: the models this key can use, page by page
    /// (Gemini's own discovery; it announces no shutdown dates).
    pub async fn listed_models(&self) -> Result<Vec<super::openai::Listed>, PaintError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..20 {
            let mut url = format!("{}/models?pageSize=1000", self.base);
            if let Some(t) = &token {
                url.push_str("&pageToken=");
                url.push_str(t);
            }
            let (models, next): (Vec<String>, Option<String>) = self
                .client
                .fetch(
                    "models",
                    |h| h.get(&url).header("x-goog-api-key", &self.key),
                    |reply| {
                        let v = match self.client.json_body(reply) {
                            Ok(v) => v,
                            Err(v) => return v,
                        };
                        let names = v
                            .get("models")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|m| m.get("name")?.as_str())
                                    .map(|n| n.trim_start_matches("models/").to_string())
                                    .collect()
                            })
                            .unwrap_or_default();
                        let next = v
                            .get("nextPageToken")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                            .map(str::to_string);
                        Verdict::Done((names, next))
                    },
                )
                .await
                .map_err(paint_error)?;
            out.extend(models.into_iter().map(|id| super::openai::Listed {
                id,
                shutdown_date: None,
            }));
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn painter(model: &str) -> GeminiPainter {
        let mut p = Profile::of_kind(crate::PainterKind::Gemini);
        p.model = Some(model.into());
        p.api_key = Some("g-test-key".into());
        GeminiPainter::new(&p, &|_| None).unwrap()
    }

    fn req(w: u32, h: u32) -> PaintRequest {
        PaintRequest {
            prompt: "a lighthouse".into(),
            negative_prompt: String::new(),
            width: w,
            height: h,
            n: 1,
            seed: 3_000_000_000,
            model: None,
            scene: None,
        }
    }

    #[test]
    fn size_becomes_the_nearest_ratio_and_a_size_class() {
        let p = painter("gemini-nano-banana-2.1");
        let b = p.body(&req(1920, 1080), 3_000_000_000);
        assert_eq!(b["generationConfig"]["imageConfig"]["aspectRatio"], "16:9");
        assert_eq!(b["generationConfig"]["imageConfig"]["imageSize"], "2K");
        assert!(b["generationConfig"]["seed"].as_u64().unwrap() < 2_147_483_648);
        let b = p.body(&req(1024, 4096), 1);
        assert_eq!(b["generationConfig"]["imageConfig"]["aspectRatio"], "1:4");
        assert_eq!(b["generationConfig"]["imageConfig"]["imageSize"], "4K");
        // a 1K-only model gets no imageSize at all
        let p = painter("gemini-3.1-flash-lite-image");
        let b = p.body(&req(2048, 2048), 1);
        assert!(b["generationConfig"]["imageConfig"]
            .get("imageSize")
            .is_none());
        // a model the catalog does not know: the standard ratios
        let p = painter("gemini-9-image");
        let b = p.body(&req(1024, 4096), 1);
        assert_eq!(b["generationConfig"]["imageConfig"]["aspectRatio"], "9:16");
    }

    #[test]
    fn replies_are_read_as_images_refusals_or_failures() {
        let png = crate::sketch::render_png("x", 64, 64, 1).unwrap();
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(&png);
        let ok = json!({"candidates": [{"content": {"parts": [
            {"text": "thinking", "thought": true},
            {"text": "Here it is."},
            {"inlineData": {"mimeType": "image/png", "data": data}}
        ]}, "finishReason": "STOP"}]});
        let (bytes, text) = GeminiPainter::read(&ok).unwrap();
        assert_eq!(bytes, png);
        assert_eq!(text, "Here it is.");
        let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}});
        assert!(GeminiPainter::read(&blocked).unwrap_err().0);
        let stopped =
            json!({"candidates": [{"content": {"parts": []}, "finishReason": "IMAGE_SAFETY"}]});
        assert!(GeminiPainter::read(&stopped).unwrap_err().0);
        let text_only = json!({"candidates": [{"content": {"parts": [{"text": "I can't draw."}]}, "finishReason": "STOP"}]});
        let (refused, why) = GeminiPainter::read(&text_only).unwrap_err();
        assert!(!refused && why.contains("text only"), "{why}");
    }

    #[test]
    fn retry_info_is_read() {
        let v = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
        ]}});
        assert_eq!(retry_delay(&v), Some(Duration::from_millis(1500)));
        assert_eq!(retry_delay(&json!({"error": {"code": 429}})), None);
    }

    #[test]
    fn shut_down_imagen_is_refused_before_sending() {
        let mut p = Profile::of_kind(crate::PainterKind::Gemini);
        p.model = Some("imagen-4.0-generate-001".into());
        p.api_key = Some("k".into());
        let e = GeminiPainter::new(&p, &|_| None).err().unwrap().to_string();
        assert!(
            e.contains("shut down") && e.contains("gemini-nano-banana-2.1"),
            "{e}"
        );
    }
}
