//! OpenAI Images: `POST {base}/images/generations` (openai-openapi
//! `CreateImageRequest`), for dall-e-2, dall-e-3, the gpt-image models and
//! any server that speaks the same API.
//!
//! - dall-e models take `response_format: b64_json`; gpt-image models
//!   reject it, always return base64, and take `output_format` instead.
//! - dall-e-3 paints one image a call, so larger requests are split.
//! - `revised_prompt` (dall-e-3's rewrite) is returned with each image.
//! - The key is `OPENAI_API_KEY`, the base URL `OPENAI_BASE_URL`
//!   (default `https://api.openai.com/v1`), as in the official SDK.

use super::{decode_b64, fetch_image, paint_error, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_http::{Client, Verdict};
use serde_json::{json, Map, Value};

pub const DEFAULT_MODEL: &str = "dall-e-3";

pub struct OpenAiPainter {
    client: Client,
    base: String,
    key: Option<String>,
    model: String,
    quality: Option<String>,
    style: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Family {
    Dalle2,
    Dalle3,
    GptImage,
    /// A model of some other server speaking this API.
    Other,
}

fn family(model: &str) -> Family {
    match model {
        "dall-e-2" => Family::Dalle2,
        "dall-e-3" => Family::Dalle3,
        m if m.starts_with("gpt-image") => Family::GptImage,
        _ => Family::Other,
    }
}

impl OpenAiPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let default_base = env("OPENAI_BASE_URL")
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
        let base = p.base_url(default_base)?;
        let key = p.key("OPENAI_API_KEY", env);
        let key_env = p.key_env("OPENAI_API_KEY").to_string();
        if key.is_none() && base.contains("api.openai.com") {
            return Err(PaintError::Auth {
                message: format!(
                    "the openai painter needs an API key; set {key_env} (or api_key in the profile)"
                ),
            });
        }
        let secrets: Vec<&str> = key.iter().map(String::as_str).collect();
        Ok(OpenAiPainter {
            client: p.client(&base, &secrets, &key_env)?,
            base,
            key,
            model: p.model.clone().unwrap_or_else(|| DEFAULT_MODEL.into()),
            quality: p.quality.clone(),
            style: p.style.clone(),
        })
    }

    fn body(&self, req: &PaintRequest, n: usize) -> Value {
        let fam = family(&self.model);
        let mut b = Map::new();
        b.insert("model".into(), json!(self.model));
        b.insert("prompt".into(), json!(req.prompt));
        b.insert("n".into(), json!(n));
        b.insert(
            "size".into(),
            json!(format!("{}x{}", req.width, req.height)),
        );
        match fam {
            Family::GptImage => {
                b.insert("output_format".into(), json!("png"));
            }
            _ => {
                b.insert("response_format".into(), json!("b64_json"));
            }
        }
        if let Some(q) = &self.quality {
            b.insert("quality".into(), json!(q));
        }
        if let (Some(s), Family::Dalle3 | Family::Other) = (&self.style, fam) {
            b.insert("style".into(), json!(s));
        }
        Value::Object(b)
    }

    async fn call(
        &self,
        req: &PaintRequest,
        n: usize,
        first_seed: u64,
    ) -> Result<Vec<Painted>, PaintError> {
        let body = self.body(req, n);
        let url = format!("{}/images/generations", self.base);
        let items: Vec<(Option<String>, Option<String>, Option<String>)> = self
            .client
            .call(
                "images/generations",
                |h| {
                    let r = h.post(&url).json(&body);
                    match &self.key {
                        Some(k) => r.bearer_auth(k),
                        None => r,
                    }
                },
                |reply| {
                    if let Some(v) = self.client.classify(reply) {
                        return v;
                    }
                    let v = match reply.json() {
                        Ok(v) => v,
                        Err(v) => return v.cast(),
                    };
                    let Some(data) = v.get("data").and_then(Value::as_array) else {
                        return Verdict::Retry {
                            message: "the reply has no data[]".into(),
                            retry_after: None,
                        };
                    };
                    Verdict::Done(
                        data.iter()
                            .map(|d| {
                                let s =
                                    |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
                                (s("b64_json"), s("url"), s("revised_prompt"))
                            })
                            .collect(),
                    )
                },
            )
            .await
            .map_err(paint_error)?;
        if items.is_empty() {
            return Err(PaintError::Failed {
                message: format!("{}: the reply has no images", self.client.service()),
            });
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, (b64, url, revised)) in items.into_iter().enumerate() {
            let (png, width, height) = match (b64, url) {
                (Some(b), _) => {
                    let bytes = decode_b64(&b).map_err(|m| PaintError::Failed {
                        message: format!("{}: {m}", self.client.service()),
                    })?;
                    super::to_png(&bytes).map_err(|m| PaintError::Failed {
                        message: format!("{}: {m}", self.client.service()),
                    })?
                }
                // a server that ignored response_format: fetch the URL
                (None, Some(u)) => {
                    fetch_image(&self.client, "download the image", |h| h.get(&u)).await?
                }
                (None, None) => {
                    return Err(PaintError::Failed {
                        message: format!(
                            "{}: an item in data[] has neither b64_json nor url",
                            self.client.service()
                        ),
                    })
                }
            };
            let mut params = Map::new();
            params.insert("model".into(), json!(self.model));
            if let Some(q) = &self.quality {
                params.insert("quality".into(), json!(q));
            }
            if let Some(s) = &self.style {
                params.insert("style".into(), json!(s));
            }
            out.push(Painted {
                png,
                width,
                height,
                seed: first_seed + i as u64,
                revised_prompt: revised,
                params,
            });
        }
        Ok(out)
    }
}

impl Painter for OpenAiPainter {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        let fixed = |s: &[(u32, u32)]| Sizes::Fixed { sizes: s.to_vec() };
        match family(&self.model) {
            Family::Dalle2 => Limits {
                max_n: 10,
                sizes: fixed(&[(256, 256), (512, 512), (1024, 1024)]),
                max_prompt_chars: Some(1000),
            },
            Family::Dalle3 => Limits {
                max_n: 1,
                sizes: fixed(&[(1024, 1024), (1792, 1024), (1024, 1792)]),
                max_prompt_chars: Some(4000),
            },
            Family::GptImage => Limits {
                max_n: 10,
                sizes: fixed(&[(1024, 1024), (1536, 1024), (1024, 1536)]),
                max_prompt_chars: Some(32000),
            },
            Family::Other => Limits {
                max_n: 10,
                sizes: Sizes::Range {
                    min: 64,
                    max: 4096,
                    step: 1,
                },
                max_prompt_chars: None,
            },
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
            // dall-e-3 takes n=1: split into as many calls as needed
            while out.len() < req.n {
                let n = (req.n - out.len()).min(limits.max_n);
                let seed = req.seed + out.len() as u64;
                out.extend(self.call(req, n, seed).await?);
            }
            Ok(out)
        })
    }
}
