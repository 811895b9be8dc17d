//! AUTOMATIC1111's web UI API (also Forge and SD.Next):
//! `POST /sdapi/v1/txt2img` with `StableDiffusionTxt2ImgProcessingAPI`
//! fields, answered by `TextToImageResponse` (`images` as base64, `info` as
//! a JSON *string* that holds the real seeds). `GET /sdapi/v1/sd-models`
//! lists the checkpoints, so a wrong `--model` gets the nearest names.
//! Optional HTTP basic auth for servers started with `--api-auth`.

use super::{decode_b64, nearest, paint_error, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_http::{Client, Verdict};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

pub struct A1111Painter {
    client: Client,
    base: String,
    auth: Option<(String, String)>,
    model: Option<String>,
    steps: u32,
    cfg_scale: f64,
    sampler: String,
    scheduler: String,
    /// The checkpoint title the server knows `model` by, once looked up.
    checkpoint: OnceLock<String>,
}

impl A1111Painter {
    pub fn new(p: &Profile) -> Result<Self, PaintError> {
        let base = p.base_url("http://127.0.0.1:7860".into())?;
        let auth = match &p.api_auth {
            Some(a) => {
                let (u, pw) = a
                    .split_once(':')
                    .ok_or_else(|| PaintError::InvalidRequest {
                        message: "api_auth must be user:password, as A1111's --api-auth takes it"
                            .into(),
                    })?;
                Some((u.to_string(), pw.to_string()))
            }
            None => None,
        };
        let secrets: Vec<&str> = auth.iter().map(|(_, pw)| pw.as_str()).collect();
        Ok(A1111Painter {
            client: p.client(&base, &secrets, "the profile's api_auth")?,
            base,
            auth,
            model: p.model.clone(),
            steps: p.steps.unwrap_or(30),
            cfg_scale: p.cfg_scale.unwrap_or(7.0),
            sampler: p.sampler.clone().unwrap_or_else(|| "DPM++ 2M".into()),
            scheduler: p.scheduler.clone().unwrap_or_else(|| "Automatic".into()),
            checkpoint: OnceLock::new(),
        })
    }

    fn authed(
        &self,
        r: mural_http::reqwest::RequestBuilder,
    ) -> mural_http::reqwest::RequestBuilder {
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    /// The checkpoints the server has (`title` and `model_name` of each).
    pub async fn models(&self) -> Result<Vec<(String, String)>, PaintError> {
        let url = format!("{}/sdapi/v1/sd-models", self.base);
        self.client
            .fetch(
                "sd-models",
                |h| self.authed(h.get(&url)),
                |r| {
                    let v = match self.client.json_body(r) {
                        Ok(v) => v,
                        Err(v) => return v,
                    };
                    match v.as_array() {
                        Some(a) => Verdict::Done(
                            a.iter()
                                .filter_map(|m| {
                                    Some((
                                        m.get("title")?.as_str()?.to_string(),
                                        m.get("model_name")
                                            .and_then(Value::as_str)
                                            .unwrap_or_default()
                                            .to_string(),
                                    ))
                                })
                                .collect(),
                        ),
                        None => Verdict::Retry {
                            message: "sd-models did not return a list".into(),
                            retry_after: None,
                        },
                    }
                },
            )
            .await
            .map_err(paint_error)
    }

    async fn checkpoint(&self) -> Result<Option<String>, PaintError> {
        let Some(wanted) = &self.model else {
            return Ok(None);
        };
        if let Some(c) = self.checkpoint.get() {
            return Ok(Some(c.clone()));
        }
        let models = self.models().await?;
        let found = models.iter().find(|(title, name)| {
            title == wanted || name == wanted || title.split(" [").next() == Some(wanted.as_str())
        });
        match found {
            Some((title, _)) => {
                let _ = self.checkpoint.set(title.clone());
                Ok(Some(title.clone()))
            }
            None => {
                let names: Vec<String> = models.iter().map(|(t, _)| t.clone()).collect();
                Err(PaintError::InvalidRequest {
                    message: format!(
                        "{}: no checkpoint {wanted:?}; nearest: {}",
                        self.client.service(),
                        if names.is_empty() {
                            "(the server lists none)".to_string()
                        } else {
                            nearest(wanted, &names).join(", ")
                        }
                    ),
                })
            }
        }
    }
}

impl Painter for A1111Painter {
    fn name(&self) -> &str {
        "a1111"
    }

    fn model(&self) -> &str {
        self.model
            .as_deref()
            .unwrap_or("(the server's current checkpoint)")
    }

    fn limits(&self) -> Limits {
        Limits {
            max_n: 8,
            sizes: Sizes::Range {
                min: 64,
                max: 2048,
                step: 8,
            },
            max_prompt_chars: None,
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
            let checkpoint = self.checkpoint().await?;
            let mut out = Vec::with_capacity(req.n);
            while out.len() < req.n {
                let n = (req.n - out.len()).min(limits.max_n);
                let seed = req.seed + out.len() as u64;
                let mut body = json!({
                    "prompt": req.prompt,
                    "negative_prompt": req.negative_prompt,
                    "seed": seed,
                    "steps": self.steps,
                    "cfg_scale": self.cfg_scale,
                    "width": req.width,
                    "height": req.height,
                    "sampler_name": self.sampler,
                    "scheduler": self.scheduler,
                    "batch_size": n,
                    "n_iter": 1,
                    "send_images": true,
                    "save_images": false,
                });
                if let Some(c) = &checkpoint {
                    body["override_settings"] = json!({ "sd_model_checkpoint": c });
                    body["override_settings_restore_afterwards"] = json!(true);
                }
                let url = format!("{}/sdapi/v1/txt2img", self.base);
                let (images, info) = self
                    .client
                    .call(
                        "txt2img",
                        |h| self.authed(h.post(&url).json(&body)),
                        |r| {
                            let v = match self.client.json_body(r) {
                                Ok(v) => v,
                                Err(v) => return v,
                            };
                            let images: Vec<String> = v
                                .get("images")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|i| i.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                            if images.is_empty() {
                                return Verdict::Retry {
                                    message: "the reply has no images".into(),
                                    retry_after: None,
                                };
                            }
                            // `info` is JSON inside a string
                            let info: Value = v
                                .get("info")
                                .and_then(Value::as_str)
                                .and_then(|s| serde_json::from_str(s).ok())
                                .unwrap_or(Value::Null);
                            Verdict::Done((images, info))
                        },
                    )
                    .await
                    .map_err(paint_error)?;
                let seeds: Vec<u64> = info
                    .get("all_seeds")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                let s = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_string);
                for (i, b64) in images.iter().take(n).enumerate() {
                    let fail = |m: String| PaintError::Failed {
                        message: format!("{}: {m}", self.client.service()),
                    };
                    let bytes = decode_b64(b64).map_err(fail)?;
                    let (png, width, height) = super::to_png(&bytes).map_err(fail)?;
                    let mut params = Map::new();
                    params.insert(
                        "steps".into(),
                        json!(info.get("steps").cloned().unwrap_or(json!(self.steps))),
                    );
                    params.insert(
                        "sampler".into(),
                        json!(s("sampler_name").unwrap_or_else(|| self.sampler.clone())),
                    );
                    params.insert(
                        "cfg_scale".into(),
                        json!(info
                            .get("cfg_scale")
                            .cloned()
                            .unwrap_or(json!(self.cfg_scale))),
                    );
                    params.insert("scheduler".into(), json!(self.scheduler));
                    if let Some(m) = s("sd_model_name").or_else(|| checkpoint.clone()) {
                        params.insert("model".into(), json!(m));
                    }
                    if let Some(h) = s("sd_model_hash") {
                        params.insert("model_hash".into(), json!(h));
                    }
                    out.push(Painted {
                        png,
                        width,
                        height,
                        seed: seeds.get(i).copied().unwrap_or(seed + i as u64),
                        revised_prompt: None,
                        params,
                    });
                }
            }
            Ok(out)
        })
    }
}
