//! ComfyUI: queue an API-format graph with `POST /prompt`
//! (`{"prompt": graph, "client_id": ...}` -> `{"prompt_id", "number",
//! "node_errors"}`), wait on `GET /history/{prompt_id}`, then fetch each
//! output with `GET /view?filename=&subfolder=&type=`.
//!
//! The graph is either the built-in txt2img graph (CheckpointLoaderSimple,
//! two CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, SaveImage) or
//! the user's workflow exported with "Save (API Format)", where any string
//! may hold the placeholders `{{prompt}}`, `{{negative_prompt}}`,
//! `{{model}}`, and a string that is exactly `{{seed}}`, `{{width}}`,
//! `{{height}}`, `{{steps}}` or `{{cfg}}` becomes that number.
//!
//! Errors come in two shapes: `error` as a string (older servers) or as
//! `{"type","message","details"}`, each with `node_errors` per node; a
//! failed run reports `execution_error` in its history `status.messages`.

use super::{fetch_image, paint_error, pause, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_http::{Client, Verdict};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct ComfyPainter {
    client: Client,
    base: String,
    model: Option<String>,
    /// The user's workflow (API format), if any.
    workflow: Option<Value>,
    steps: u32,
    cfg: f64,
    sampler: String,
    scheduler: String,
    poll_ms: u64,
    max_wait: Duration,
    client_id: String,
    /// The checkpoint to load, once looked up: the server's own name for
    /// the profile's model, or its first checkpoint when none is set.
    default_ckpt: OnceLock<String>,
}

/// The server's name for `wanted`: itself when listed, else the one listed
/// checkpoint whose name without folder and extension is `wanted`'s
/// (`sdxl` -> `SDXL/sdxl.safetensors`). `None` when there is no single one:
/// then the server's own validation names the problem.
pub fn resolve_ckpt(listed: &[String], wanted: &str) -> Option<String> {
    if listed.iter().any(|c| c == wanted) {
        return Some(wanted.to_string());
    }
    let stem = |s: &str| -> String {
        let base = s.rsplit(['/', '\\']).next().unwrap_or(s);
        base.rsplit_once('.')
            .filter(|(_, ext)| {
                ["safetensors", "ckpt", "pt", "pth", "bin", "gguf", "sft"].contains(ext)
            })
            .map_or(base, |(stem, _)| stem)
            .to_string()
    };
    let want = stem(wanted);
    let mut found = listed.iter().filter(|c| stem(c) == want);
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}

/// The built-in txt2img graph, in API format.
pub fn builtin_graph() -> Value {
    json!({
        "3": {"class_type": "KSampler", "inputs": {
            "seed": "{{seed}}", "steps": "{{steps}}", "cfg": "{{cfg}}",
            "sampler_name": "{{sampler}}", "scheduler": "{{scheduler}}", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "{{model}}"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "mural", "images": ["8", 0]}}
    })
}

/// Values for the placeholders of one job.
pub struct Fill<'a> {
    pub prompt: &'a str,
    pub negative_prompt: &'a str,
    pub model: &'a str,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub steps: u32,
    pub cfg: f64,
    pub sampler: &'a str,
    pub scheduler: &'a str,
}

/// Fills the placeholders everywhere in a graph.
pub fn fill(graph: &Value, f: &Fill) -> Value {
    match graph {
        Value::String(s) => match s.as_str() {
            "{{seed}}" => json!(f.seed),
            "{{width}}" => json!(f.width),
            "{{height}}" => json!(f.height),
            "{{steps}}" => json!(f.steps),
            "{{cfg}}" => json!(f.cfg),
            _ if s.contains("{{") => Value::String(
                s.replace("{{prompt}}", f.prompt)
                    .replace("{{negative_prompt}}", f.negative_prompt)
                    .replace("{{model}}", f.model)
                    .replace("{{sampler}}", f.sampler)
                    .replace("{{scheduler}}", f.scheduler),
            ),
            _ => graph.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, f)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), fill(v, f))).collect()),
        other => other.clone(),
    }
}

fn mentions(graph: &Value, needle: &str) -> bool {
    match graph {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|v| mentions(v, needle)),
        Value::Object(o) => o.values().any(|v| mentions(v, needle)),
        _ => false,
    }
}

impl ComfyPainter {
    pub fn new(p: &Profile) -> Result<Self, PaintError> {
        let base = p.base_url("http://127.0.0.1:8188".into())?;
        let workflow = match &p.workflow {
            Some(path) => {
                let bad = |why: String| PaintError::InvalidRequest {
                    message: format!("ComfyUI workflow {}: {why}", path.display()),
                };
                let text = super::read_text_file(path).map_err(bad)?;
                let v: Value =
                    serde_json::from_str(&text).map_err(|e| bad(format!("not JSON ({e})")))?;
                if v.get("nodes").is_some_and(Value::is_array) {
                    return Err(bad(
                        "this is the UI format; export it with \"Save (API Format)\"".into(),
                    ));
                }
                if !v
                    .as_object()
                    .is_some_and(|o| o.values().all(|n| n.get("class_type").is_some()))
                {
                    return Err(bad(
                        "not an API-format graph (every node needs class_type)".into()
                    ));
                }
                if !mentions(&v, "{{prompt}}") {
                    return Err(bad(
                        "no {{prompt}} placeholder; put it in a text input".into()
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let client_id = format!("mural-{}-{:08x}", std::process::id(), fastrand::u32(..));
        Ok(ComfyPainter {
            client: p.client(&base, &[], "the server's access settings")?,
            base,
            model: p.model.clone(),
            workflow,
            steps: p.steps.unwrap_or(20),
            cfg: p.cfg_scale.unwrap_or(7.0),
            sampler: p.sampler.clone().unwrap_or_else(|| "euler".into()),
            scheduler: p.scheduler.clone().unwrap_or_else(|| "normal".into()),
            poll_ms: p.poll_ms.unwrap_or(500),
            max_wait: Duration::from_secs_f64(p.max_wait_s.unwrap_or(900.0)),
            client_id,
            default_ckpt: OnceLock::new(),
        })
    }

    /// The checkpoints the server lists for `CheckpointLoaderSimple`.
    async fn checkpoints(&self) -> Result<Vec<String>, PaintError> {
        let url = format!("{}/object_info/CheckpointLoaderSimple", self.base);
        self.client
            .fetch(
                "object_info",
                |h| h.get(&url),
                |r| {
                    let v = match self.client.json_body(r) {
                        Ok(v) => v,
                        Err(v) => return v,
                    };
                    let names = v
                        .pointer("/CheckpointLoaderSimple/input/required/ckpt_name/0")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    Verdict::Done(names)
                },
            )
            .await
            .map_err(paint_error)
    }

    /// The checkpoint to load: the server's name for the profile's model
    /// (a pool asks every member for `sdxl`; ComfyUI knows it as
    /// `sdxl.safetensors`), else the server's first.
    async fn ckpt(&self) -> Result<String, PaintError> {
        if let Some(c) = self.default_ckpt.get() {
            return Ok(c.clone());
        }
        if let Some(m) = &self.model {
            // a user's workflow may load it with another node, whose list
            // this one is not: it and a name not found here go as given
            let loads_checkpoint = self
                .workflow
                .as_ref()
                .is_none_or(|w| w.to_string().contains("\"CheckpointLoaderSimple\""));
            if !loads_checkpoint {
                return Ok(m.clone());
            }
            let resolved = match self.checkpoints().await {
                Ok(listed) => resolve_ckpt(&listed, m).unwrap_or_else(|| m.clone()),
                Err(_) => return Ok(m.clone()),
            };
            let _ = self.default_ckpt.set(resolved.clone());
            return Ok(resolved);
        }
        let first = self.checkpoints().await?.into_iter().next().ok_or_else(|| {
            PaintError::InvalidRequest {
                message: format!(
                    "{}: the server has no checkpoints; put one in models/checkpoints or set model in the profile",
                    self.client.service()
                ),
            }
        })?;
        let _ = self.default_ckpt.set(first.clone());
        Ok(first)
    }

    async fn one(
        &self,
        req: &PaintRequest,
        seed: u64,
        ckpt: &str,
    ) -> Result<Vec<Painted>, PaintError> {
        let graph = fill(
            self.workflow.as_ref().unwrap_or(&builtin_graph()),
            &Fill {
                prompt: &req.prompt,
                negative_prompt: &req.negative_prompt,
                model: ckpt,
                seed,
                width: req.width,
                height: req.height,
                steps: self.steps,
                cfg: self.cfg,
                sampler: &self.sampler,
                scheduler: &self.scheduler,
            },
        );
        let body = json!({ "prompt": graph, "client_id": self.client_id });
        let url = format!("{}/prompt", self.base);
        let service = self.client.service();
        let prompt_id: String = self
            .client
            .call(
                "queue the prompt",
                |h| h.post(&url).json(&body),
                |r| {
                    let v = match self.client.json_body(r) {
                        Ok(v) => v,
                        Err(v) => return v,
                    };
                    if let Some(m) =
                        mural_http::error_message(&v).filter(|_| v.get("error").is_some())
                    {
                        return Verdict::Fail(mural_http::HttpError::new(
                            mural_http::Kind::InvalidRequest,
                            m,
                        ));
                    }
                    match v.get("prompt_id").and_then(Value::as_str) {
                        Some(id) => Verdict::Done(id.to_string()),
                        None => Verdict::Retry {
                            message: "the reply has no prompt_id".into(),
                            retry_after: None,
                        },
                    }
                },
            )
            .await
            .map_err(paint_error)?;

        // wait for the job in the history
        let started = Instant::now();
        let hist_url = format!("{}/history/{prompt_id}", self.base);
        let entry = loop {
            let h: Option<Value> = self
                .client
                .fetch(
                    "history",
                    |h| h.get(&hist_url),
                    |r| {
                        if let Some(v) = self.client.classify(r) {
                            return v;
                        }
                        match r.json() {
                            Ok(v) => Verdict::Done(v.get(&prompt_id).cloned()),
                            Err(v) => v.cast(),
                        }
                    },
                )
                .await
                .map_err(paint_error)?;
            if let Some(e) = h {
                let done = e
                    .pointer("/status/completed")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let failed =
                    e.pointer("/status/status_str").and_then(Value::as_str) == Some("error");
                if failed || done {
                    break e;
                }
            }
            if started.elapsed() > self.max_wait {
                return Err(PaintError::Unavailable {
                    message: format!(
                        "{service}: prompt {prompt_id} did not finish within {:.0}s (raise max_wait_s)",
                        self.max_wait.as_secs_f64()
                    ),
                    retry_after_ms: None,
                });
            }
            pause(self.poll_ms).await;
        };
        if entry.pointer("/status/status_str").and_then(Value::as_str) == Some("error") {
            let why = entry
                .pointer("/status/messages")
                .and_then(Value::as_array)
                .and_then(|m| {
                    m.iter().find_map(|x| {
                        (x.get(0)?.as_str()? == "execution_error").then(|| {
                            let d = x.get(1)?;
                            Some(format!(
                                "{} in node {} ({})",
                                d.get("exception_message")?.as_str()?.trim(),
                                d.get("node_id").and_then(Value::as_str).unwrap_or("?"),
                                d.get("node_type").and_then(Value::as_str).unwrap_or("?")
                            ))
                        })?
                    })
                })
                .unwrap_or_else(|| "the run failed".into());
            return Err(PaintError::Failed {
                message: format!("{service}: {why}"),
            });
        }
        let mut files = Vec::new();
        if let Some(outputs) = entry.get("outputs").and_then(Value::as_object) {
            for node in outputs.values() {
                for img in node
                    .get("images")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if img.get("type").and_then(Value::as_str) == Some("temp") {
                        continue; // previews
                    }
                    let s = |k: &str| {
                        img.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    files.push((s("filename"), s("subfolder"), s("type")));
                }
            }
        }
        if files.is_empty() {
            return Err(PaintError::Failed {
                message: format!("{service}: prompt {prompt_id} finished with no output images; does the graph end in SaveImage?"),
            });
        }
        let mut out = Vec::new();
        for (i, (filename, subfolder, kind)) in files.iter().enumerate() {
            let view = format!("{}/view", self.base);
            let (png, width, height) = fetch_image(&self.client, "view", |h| {
                h.get(&view).query(&[
                    ("filename", filename.as_str()),
                    ("subfolder", subfolder.as_str()),
                    (
                        "type",
                        if kind.is_empty() {
                            "output"
                        } else {
                            kind.as_str()
                        },
                    ),
                ])
            })
            .await?;
            let mut params = Map::new();
            params.insert("model".into(), json!(ckpt));
            params.insert("steps".into(), json!(self.steps));
            params.insert("cfg_scale".into(), json!(self.cfg));
            params.insert("sampler".into(), json!(self.sampler));
            params.insert("scheduler".into(), json!(self.scheduler));
            params.insert("prompt_id".into(), json!(prompt_id));
            if self.workflow.is_some() {
                params.insert("workflow".into(), json!("custom"));
            }
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

impl Painter for ComfyPainter {
    fn name(&self) -> &str {
        "comfyui"
    }

    fn model(&self) -> &str {
        self.model
            .as_deref()
            .unwrap_or("(the server's first checkpoint)")
    }

    fn limits(&self) -> Limits {
        Limits {
            // one job per seed, so every image reproduces from its own seed
            max_n: 1,
            sizes: Sizes::Range {
                min: 64,
                max: 4096,
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
            let ckpt = self.ckpt().await?;
            let mut out = Vec::with_capacity(req.n);
            for i in 0..req.n as u64 {
                out.extend(self.one(req, req.seed + i, &ckpt).await?);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_resolves_to_the_servers_own_checkpoint_name() {
        let listed: Vec<String> = [
            "sdxl.safetensors",
            "SD15/v1-5-pruned.ckpt",
            "flux\\flux1-dev.sft",
            "dup.safetensors",
            "other/dup.ckpt",
        ]
        .map(String::from)
        .to_vec();
        let r = |w: &str| resolve_ckpt(&listed, w);
        assert_eq!(r("sdxl.safetensors").as_deref(), Some("sdxl.safetensors"));
        assert_eq!(r("sdxl").as_deref(), Some("sdxl.safetensors"));
        assert_eq!(r("sdxl.ckpt").as_deref(), Some("sdxl.safetensors"));
        assert_eq!(r("v1-5-pruned").as_deref(), Some("SD15/v1-5-pruned.ckpt"));
        assert_eq!(r("flux1-dev").as_deref(), Some("flux\\flux1-dev.sft"));
        // two candidates, or none: the server's validation says which
        assert_eq!(r("dup"), None);
        assert_eq!(r("missing.safetensors"), None);
        assert_eq!(r("sd"), None, "no prefix guessing");
    }

    #[test]
    fn placeholders_fill_as_numbers_and_text() {
        let g = fill(
            &builtin_graph(),
            &Fill {
                prompt: "a \"fox\"",
                negative_prompt: "blurry",
                model: "sd.safetensors",
                seed: 7,
                width: 512,
                height: 768,
                steps: 20,
                cfg: 7.5,
                sampler: "euler",
                scheduler: "normal",
            },
        );
        assert_eq!(g["3"]["inputs"]["seed"], json!(7));
        assert_eq!(g["5"]["inputs"]["height"], json!(768));
        assert_eq!(g["6"]["inputs"]["text"], json!("a \"fox\""));
        assert_eq!(g["4"]["inputs"]["ckpt_name"], json!("sd.safetensors"));
        assert!(!mentions(&g, "{{"));
    }
}
