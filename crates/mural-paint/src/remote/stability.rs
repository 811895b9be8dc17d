//! Stability AI's v2beta Stable Image API:
//! `POST {base}/v2beta/stable-image/generate/{core,ultra,sd3}` as
//! `multipart/form-data` (prompt, negative_prompt, aspect_ratio, seed,
//! output_format, and `model` for sd3), with `Accept: image/*`. The reply is
//! the image itself, with `finish-reason` and `seed` headers; a
//! `finish-reason: CONTENT_FILTERED` is a refusal. The key is
//! `STABILITY_API_KEY`.
//!
//! The API takes an aspect ratio, not a size: mural accepts the sizes that
//! match its nine ratios (1024x1024 for 1:1, 1344x768 for 16:9, ...).

use super::{paint_error, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_http::{reqwest::multipart, Client, HttpError, Kind, Verdict};
use serde_json::{json, Map};

/// The sizes mural accepts, each with Stability's aspect ratio.
pub const RATIOS: &[((u32, u32), &str)] = &[
    ((1024, 1024), "1:1"),
    ((1344, 768), "16:9"),
    ((768, 1344), "9:16"),
    ((1536, 640), "21:9"),
    ((640, 1536), "9:21"),
    ((1216, 832), "3:2"),
    ((832, 1216), "2:3"),
    ((1120, 896), "5:4"),
    ((896, 1120), "4:5"),
];

pub struct StabilityPainter {
    client: Client,
    base: String,
    key: String,
    model: String,
    style: Option<String>,
}

impl StabilityPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let base = p.base_url("https://api.stability.ai".into())?;
        let key_env = p.key_env("STABILITY_API_KEY").to_string();
        let key = p.key("STABILITY_API_KEY", env).ok_or_else(|| PaintError::Auth {
            message: format!("the stability painter needs an API key; set {key_env} (or api_key in the profile)"),
        })?;
        Ok(StabilityPainter {
            client: p.client(&base, &[&key], &key_env)?,
            base,
            key,
            model: p.model.clone().unwrap_or_else(|| "core".into()),
            style: p.style.clone(),
        })
    }

    /// The endpoint and the `model` form field for the configured model.
    fn endpoint(&self) -> (&'static str, Option<&str>) {
        match self.model.as_str() {
            "core" => ("core", None),
            "ultra" => ("ultra", None),
            "sd3" => ("sd3", None),
            m => ("sd3", Some(m)),
        }
    }
}

impl Painter for StabilityPainter {
    fn name(&self) -> &str {
        "stability"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        Limits {
            max_n: 1,
            sizes: Sizes::Fixed {
                sizes: RATIOS.iter().map(|(s, _)| *s).collect(),
            },
            max_prompt_chars: Some(10_000),
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
            let ratio = RATIOS
                .iter()
                .find(|(s, _)| *s == (req.width, req.height))
                .map(|(_, r)| *r)
                .unwrap_or("1:1");
            let (endpoint, model_field) = self.endpoint();
            let url = format!("{}/v2beta/stable-image/generate/{endpoint}", self.base);
            let mut out = Vec::with_capacity(req.n);
            for i in 0..req.n as u64 {
                // Stability seeds run 0..=4294967294
                let seed = (req.seed + i) % 4_294_967_295;
                let form = || {
                    let mut f = multipart::Form::new()
                        .text("prompt", req.prompt.clone())
                        .text("aspect_ratio", ratio)
                        .text("seed", seed.to_string())
                        .text("output_format", "png");
                    if !req.negative_prompt.is_empty() {
                        f = f.text("negative_prompt", req.negative_prompt.clone());
                    }
                    if let Some(m) = model_field {
                        f = f.text("model", m.to_string());
                    }
                    if let Some(s) = &self.style {
                        f = f.text("style_preset", s.clone());
                    }
                    f
                };
                let (png, width, height, real_seed) = self
                    .client
                    .call(
                        "generate",
                        |h| {
                            h.post(&url)
                                .bearer_auth(&self.key)
                                .header("accept", "image/*")
                                .header("stability-client-id", "mural")
                                .multipart(form())
                        },
                        |r| {
                            if let Some(v) = self.client.classify(r) {
                                return v;
                            }
                            if r.header("finish-reason") == Some("CONTENT_FILTERED") {
                                return Verdict::Fail(HttpError::new(
                                    Kind::Refused,
                                    "finish-reason CONTENT_FILTERED: the image was filtered by Stability's content moderation",
                                ));
                            }
                            let real = r.header("seed").and_then(|s| s.parse::<u64>().ok());
                            match super::image_verdict(&r.body) {
                                Verdict::Done((p, w, h)) => Verdict::Done((p, w, h, real)),
                                v => v.cast(),
                            }
                        },
                    )
                    .await
                    .map_err(paint_error)?;
                let mut params = Map::new();
                params.insert("model".into(), json!(self.model));
                params.insert("aspect_ratio".into(), json!(ratio));
                if let Some(s) = &self.style {
                    params.insert("style_preset".into(), json!(s));
                }
                out.push(Painted {
                    png,
                    width,
                    height,
                    seed: real_seed.unwrap_or(seed),
                    revised_prompt: None,
                    params,
                });
            }
            Ok(out)
        })
    }
}
