//! OpenAI Images: `POST {base}/images/generations` (openai-openapi
//! `CreateImageRequest`), for OpenAI's image models and any server that
//! speaks the same API.
//!
//! - What each model takes (sizes, quality, background, output format and
//!   compression, moderation, `n`, prompt length, rejected fields) is data
//!   in `mural-catalog`; requests are checked against it before they are
//!   sent. A model the catalog does not know (another server's) is sent as
//!   asked.
//! - The gpt-image models return base64 only and reject `response_format`;
//!   for models that return either, mural asks for `b64_json`.
//! - `revised_prompt` (a model's rewrite) is returned with each image.
//! - A model OpenAI says does not exist is reported as such, with the way
//!   to pick another.
//! - The key is `OPENAI_API_KEY`, the base URL `OPENAI_BASE_URL`
//!   (default `https://api.openai.com/v1`), as in the official SDK.

use super::{decode_b64, fetch_image, paint_error, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_catalog::{Catalog, ImageAsk, ImageRules, Kind, Provider, Response};
use mural_http::{Client, HttpError, Verdict};
use serde_json::{json, Map, Value};

/// One image of a reply: base64, URL, revised prompt.
type Item = (Option<String>, Option<String>, Option<String>);

pub struct OpenAiPainter {
    client: Client,
    base: String,
    key: Option<String>,
    model: String,
    /// The catalog's rules for the model, when it knows it.
    rules: Option<ImageRules>,
    quality: Option<String>,
    style: Option<String>,
    background: Option<String>,
    output_format: Option<String>,
    output_compression: Option<u8>,
    moderation: Option<String>,
}

/// The model a profile paints with: its own, else the catalog's default.
pub fn model_of(p: &Profile) -> String {
    p.model.clone().unwrap_or_else(|| {
        Catalog::current()
            .default_model(Provider::Openai, Kind::Image)
            .map(|m| m.id.clone())
            .unwrap_or_else(|| "gpt-image-2".into())
    })
}

impl OpenAiPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let default_base = env("OPENAI_BASE_URL")
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
        let base = p.base_url(default_base)?;
        super::lifecycle(p, env)?;
        let key = p.key("OPENAI_API_KEY", env);
        let key_env = p.key_env("OPENAI_API_KEY").to_string();
        if key.is_none() && base.contains("api.openai.com") {
            return Err(PaintError::Auth {
                message: format!(
                    "the openai painter needs an API key; set {key_env} (or api_key in the profile)"
                ),
            });
        }
        let model = model_of(p);
        let rules = Catalog::current()
            .find(Provider::Openai, &model)
            .and_then(|m| m.image.clone());
        let secrets: Vec<&str> = key.iter().map(String::as_str).collect();
        Ok(OpenAiPainter {
            client: p.client(&base, &secrets, &key_env)?,
            base,
            key,
            model,
            rules,
            quality: p.quality.clone(),
            style: p.style.clone(),
            background: p.background.clone(),
            output_format: p.output_format.clone(),
            output_compression: p.output_compression,
            moderation: p.moderation.clone(),
        })
    }

    /// How images come back: the catalog's word, else base64 on request.
    fn response(&self) -> Response {
        self.rules.as_ref().and_then(|r| r.response).unwrap_or(
            if self.model.starts_with("gpt-image") {
                Response::B64
            } else {
                Response::B64OrUrl
            },
        )
    }

    fn body(&self, req: &PaintRequest, n: usize) -> Value {
        let mut b = Map::new();
        b.insert("model".into(), json!(self.model));
        b.insert("prompt".into(), json!(req.prompt));
        b.insert("n".into(), json!(n));
        b.insert(
            "size".into(),
            json!(format!("{}x{}", req.width, req.height)),
        );
        if self.response() == Response::B64OrUrl {
            b.insert("response_format".into(), json!("b64_json"));
        }
        let opt = [
            ("quality", &self.quality),
            ("style", &self.style),
            ("background", &self.background),
            ("output_format", &self.output_format),
            ("moderation", &self.moderation),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                b.insert(k.into(), json!(v));
            }
        }
        if let Some(c) = self.output_compression {
            b.insert("output_compression".into(), json!(c));
        }
        Value::Object(b)
    }

    /// Holds a request to the model's rules before it is sent.
    fn check(&self, req: &PaintRequest, n: usize) -> Result<(), PaintError> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        let body = self.body(req, n);
        let fields: Vec<&str> = body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        rules
            .check(&ImageAsk {
                width: req.width,
                height: req.height,
                n: n as u32,
                prompt: &req.prompt,
                quality: self.quality.as_deref(),
                background: self.background.as_deref(),
                format: self.output_format.as_deref(),
                compression: self.output_compression,
                moderation: self.moderation.as_deref(),
                fields: &fields,
            })
            .map_err(|m| PaintError::InvalidRequest {
                message: format!("openai model {}: {m}", self.model),
            })
    }

    /// OpenAI's answer for a model that does not exist (or that this key
    /// cannot use), said plainly.
    fn missing_model(&self, r: &mural_http::Reply) -> Option<Verdict<Vec<Item>>> {
        if !matches!(r.status, 400 | 403 | 404) {
            return None;
        }
        let v: Value = serde_json::from_slice(&r.body).ok()?;
        let err = v.get("error")?;
        let code = err.get("code").and_then(Value::as_str).unwrap_or("");
        let message = err.get("message").and_then(Value::as_str).unwrap_or("");
        let says_missing = code == "model_not_found"
            || (err.get("param").and_then(Value::as_str) == Some("model")
                && (message.contains("does not exist") || message.contains("not found")));
        says_missing.then(|| {
            Verdict::Fail(HttpError::new(
                mural_http::Kind::InvalidRequest,
                format!(
                    "{}: OpenAI says model {} does not exist or this key cannot use it; pick another with --model (see `mural models --painter openai`)",
                    self.client.service(),
                    self.model
                ),
            ))
        })
    }

    async fn call(
        &self,
        req: &PaintRequest,
        n: usize,
        first_seed: u64,
    ) -> Result<Vec<Painted>, PaintError> {
        let body = self.body(req, n);
        let url = format!("{}/images/generations", self.base);
        let items: Vec<Item> = self
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
                    if let Some(v) = self.missing_model(reply) {
                        return v;
                    }
                    let v = match self.client.json_body(reply) {
                        Ok(v) => v,
                        Err(v) => return v,
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
                // a model that answers with a URL (or a server that ignored
                // response_format): download it at once
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
            for (k, v) in [
                ("style", &self.style),
                ("background", &self.background),
                ("output_format", &self.output_format),
                ("moderation", &self.moderation),
            ] {
                if let Some(v) = v {
                    params.insert(k.into(), json!(v));
                }
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
        match &self.rules {
            Some(r) => Limits::from_rules(r),
            // another server's model: sent as asked
            None => Limits {
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
            self.check(req, req.n.min(limits.max_n))?;
            let mut out = Vec::with_capacity(req.n);
            // a model that takes fewer images a call: split the request
            while out.len() < req.n {
                let n = (req.n - out.len()).min(limits.max_n);
                let seed = req.seed + out.len() as u64;
                out.extend(self.call(req, n, seed).await?);
            }
            Ok(out)
        })
    }
}

/// One model as the provider lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Listed {
    pub id: String,
    /// `YYYY-MM-DD` when the provider announced one.
    pub shutdown_date: Option<String>,
}

impl OpenAiPainter {
    /// `GET {base}/models`: what the account can use, with each model's
    /// `shutdown_date` (OpenAI's own lifecycle discovery).
    pub async fn listed_models(&self) -> Result<Vec<Listed>, PaintError> {
        let url = format!("{}/models", self.base);
        self.client
            .fetch(
                "models",
                |h| {
                    let r = h.get(&url);
                    match &self.key {
                        Some(k) => r.bearer_auth(k),
                        None => r,
                    }
                },
                |reply| {
                    let v = match self.client.json_body(reply) {
                        Ok(v) => v,
                        Err(v) => return v,
                    };
                    let Some(data) = v.get("data").and_then(Value::as_array) else {
                        return Verdict::Fail(HttpError::new(
                            mural_http::Kind::Failed,
                            "the model list has no data[]",
                        ));
                    };
                    Verdict::Done(
                        data.iter()
                            .filter_map(|m| {
                                Some(Listed {
                                    id: m.get("id")?.as_str()?.to_string(),
                                    shutdown_date: m
                                        .get("shutdown_date")
                                        .and_then(Value::as_str)
                                        .map(str::to_string),
                                })
                            })
                            .collect(),
                    )
                },
            )
            .await
            .map_err(paint_error)
    }
}
