//! RunwayML's API: `POST {base}/v1/text_to_image` with `model`
//! (`gen4_image`), `promptText`, `ratio` and `seed`, and the
//! `X-Runway-Version` header; the reply is a task `{"id"}`. mural polls
//! `GET {base}/v1/tasks/{id}` until `SUCCEEDED` (then downloads each URL in
//! `output[]`) or `FAILED`/`CANCELLED`; `PENDING`, `RUNNING` and
//! `THROTTLED` mean wait. The key is `RUNWAYML_API_SECRET`.

use super::{fetch_image, paint_error, pause, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_http::{Client, Verdict};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

pub const API_VERSION: &str = "2024-11-06";

/// gen4_image's ratios, as sizes.
pub const RATIOS: &[(u32, u32)] = &[
    (1920, 1080),
    (1080, 1920),
    (1024, 1024),
    (1360, 768),
    (1080, 1080),
    (1168, 880),
    (1440, 1080),
    (1080, 1440),
    (1808, 768),
    (2112, 912),
];

pub struct RunwayPainter {
    client: Client,
    base: String,
    key: String,
    model: String,
    poll_ms: u64,
    max_wait: Duration,
}

impl RunwayPainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let base = p.base_url("https://api.dev.runwayml.com".into())?;
        let key_env = p.key_env("RUNWAYML_API_SECRET").to_string();
        let key = p.key("RUNWAYML_API_SECRET", env).ok_or_else(|| PaintError::Auth {
            message: format!("the runway painter needs an API key; set {key_env} (or api_key in the profile)"),
        })?;
        Ok(RunwayPainter {
            client: p.client(&base, &[&key], &key_env)?,
            base,
            key,
            model: p.model.clone().unwrap_or_else(|| "gen4_image".into()),
            poll_ms: p.poll_ms.unwrap_or(2000),
            max_wait: Duration::from_secs_f64(p.max_wait_s.unwrap_or(900.0)),
        })
    }

    fn authed(
        &self,
        r: mural_http::reqwest::RequestBuilder,
    ) -> mural_http::reqwest::RequestBuilder {
        r.bearer_auth(&self.key)
            .header("X-Runway-Version", API_VERSION)
    }

    async fn one(&self, req: &PaintRequest, seed: u64) -> Result<Vec<Painted>, PaintError> {
        let service = self.client.service();
        let ratio = format!("{}:{}", req.width, req.height);
        let body = json!({
            "model": self.model,
            "promptText": req.prompt,
            "ratio": ratio,
            "seed": seed % 4_294_967_296,
        });
        let url = format!("{}/v1/text_to_image", self.base);
        let id: String = self
            .client
            .call(
                "text_to_image",
                |h| self.authed(h.post(&url).json(&body)),
                |r| {
                    if let Some(v) = self.client.classify(r) {
                        return v;
                    }
                    match r.json() {
                        Ok(v) => match v.get("id").and_then(Value::as_str) {
                            Some(id) => Verdict::Done(id.to_string()),
                            None => Verdict::Retry {
                                message: "the reply has no task id".into(),
                                retry_after: None,
                            },
                        },
                        Err(v) => v.cast(),
                    }
                },
            )
            .await
            .map_err(paint_error)?;
        let task_url = format!("{}/v1/tasks/{id}", self.base);
        let started = Instant::now();
        let task = loop {
            let t: Value = self
                .client
                .fetch(
                    "task status",
                    |h| self.authed(h.get(&task_url)),
                    |r| {
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
            match t.get("status").and_then(Value::as_str).unwrap_or("") {
                "SUCCEEDED" => break t,
                "FAILED" => {
                    let why = t
                        .get("failure")
                        .and_then(Value::as_str)
                        .unwrap_or("the task failed");
                    let code = t.get("failureCode").and_then(Value::as_str).unwrap_or("");
                    let message = format!(
                        "{service}: task {id}: {why}{}",
                        if code.is_empty() {
                            String::new()
                        } else {
                            format!(" ({code})")
                        }
                    );
                    return Err(if code.starts_with("SAFETY") {
                        PaintError::Refused { reason: message }
                    } else {
                        PaintError::Failed { message }
                    });
                }
                "CANCELLED" => {
                    return Err(PaintError::Failed {
                        message: format!("{service}: task {id} was cancelled"),
                    })
                }
                _ => {} // PENDING, RUNNING, THROTTLED: wait
            }
            if started.elapsed() > self.max_wait {
                return Err(PaintError::Unavailable {
                    message: format!(
                        "{service}: task {id} did not finish within {:.0}s (raise max_wait_s)",
                        self.max_wait.as_secs_f64()
                    ),
                    retry_after_ms: None,
                });
            }
            pause(self.poll_ms).await;
        };
        let urls: Vec<String> = task
            .get("output")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if urls.is_empty() {
            return Err(PaintError::Failed {
                message: format!("{service}: task {id} succeeded with no output"),
            });
        }
        let mut out = Vec::new();
        for (i, u) in urls.iter().enumerate() {
            // output URLs are pre-signed: no key goes with them
            let (png, width, height) =
                fetch_image(&self.client, "download the image", |h| h.get(u)).await?;
            let mut params = Map::new();
            params.insert("model".into(), json!(self.model));
            params.insert("ratio".into(), json!(ratio));
            params.insert("task_id".into(), json!(id));
            out.push(Painted {
                png,
                width,
                height,
                seed: seed + i as u64,
                revised_prompt: None,
                params,
            });
        }
        Ok(out)
    }
}

impl Painter for RunwayPainter {
    fn name(&self) -> &str {
        "runway"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        Limits {
            max_n: 1,
            sizes: Sizes::Fixed {
                sizes: RATIOS.to_vec(),
            },
            max_prompt_chars: Some(1000),
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
                out.extend(self.one(req, req.seed + i).await?);
            }
            Ok(out)
        })
    }
}
