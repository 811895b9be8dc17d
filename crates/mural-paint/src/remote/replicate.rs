//! Replicate (<https://replicate.com/docs>): one painter for the hosted
//! models, named `owner/name` or `owner/name:version`.
//!
//! - What a model takes comes from its version's OpenAPI schema
//!   (`openapi_schema.components.schemas.Input`): `GET
//!   {base}/models/{owner}/{name}` (its `latest_version`) or `GET
//!   {base}/models/{owner}/{name}/versions/{id}`, fetched once per painter.
//!   The input holds only properties the schema has: `prompt`; `width`
//!   and `height`, or `aspect_ratio` (the enum value nearest the asked
//!   size, or `custom` with width and height when the enum offers it and
//!   no listed ratio matches); `seed`; `num_outputs` / `number_of_images`
//!   / `num_images` (always 1: one image a prediction, so each image's
//!   seed reproduces it); `negative_prompt` when there is one; and
//!   `output_format` png when the enum has it. A required input mural
//!   cannot supply is an error before anything runs.
//! - `POST {base}/models/{owner}/{name}/predictions` (or `POST
//!   {base}/predictions` with `version`) with `Prefer: wait=N` (N up to 60,
//!   kept under the request timeout); a prediction that is not finished
//!   is polled at its `urls.get` until `succeeded`, `failed`, `canceled` or
//!   `aborted`.
//! - `output` is a URL or a list of URLs, downloaded at once (Replicate
//!   deletes API outputs after an hour). A failed prediction whose error
//!   speaks of NSFW, safety or moderation is a refusal.
//! - 429 is retried after `retry-after`, else the "~30s" in its detail.
//! - The token is `REPLICATE_API_TOKEN` (Bearer).

use super::{paint_error, pause, Profile};
use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_catalog::{parse_ratio, Catalog, ImageRules, Kind, Provider};
use mural_http::{Client, HttpError, Verdict};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Words in a failed prediction's error that mean the content was refused.
const REFUSAL_WORDS: &[&str] = &[
    "nsfw",
    "flagged as sensitive",
    "e005",
    "content policy",
    "safety",
    "moderat",
];

/// Names models use for "how many images".
const COUNT_FIELDS: &[&str] = &["num_outputs", "number_of_images", "num_images"];

pub struct ReplicatePainter {
    client: Client,
    base: String,
    key: String,
    /// As given: `owner/name` or `owner/name:version`.
    model: String,
    owner_name: String,
    version: Option<String>,
    rules: Option<ImageRules>,
    poll_ms: u64,
    max_wait: Duration,
    /// Seconds the create call may hold the connection (`Prefer: wait`).
    wait_s: u64,
    /// The version's OpenAPI schema, once fetched.
    schema: Mutex<Option<Arc<Value>>>,
}

/// The model a profile paints with: its own, else the catalog's default.
pub fn model_of(p: &Profile) -> String {
    p.model.clone().unwrap_or_else(|| {
        Catalog::current()
            .default_model(Provider::Replicate, Kind::Image)
            .map(|m| m.id.clone())
            .unwrap_or_else(|| "black-forest-labs/flux-2-pro".into())
    })
}

/// `owner/name[:version]` split, or why it is not one.
pub fn split_model(model: &str) -> Result<(String, Option<String>), String> {
    let (id, version) = match model.trim().split_once(':') {
        Some((id, v)) => (id, Some(v)),
        None => (model.trim(), None),
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let ok = matches!(id.split_once('/'), Some((o, n)) if word(o) && word(n))
        && version.is_none_or(|v| v.chars().all(|c| c.is_ascii_alphanumeric()) && !v.is_empty());
    if ok {
        Ok((id.to_string(), version.map(str::to_string)))
    } else {
        Err(format!(
            "replicate model {model:?} is not owner/name or owner/name:version; write it like black-forest-labs/flux-2-pro"
        ))
    }
}

/// A schema property with `$ref`s and `allOf`s folded in (Cog writes
/// enums as `allOf: [{"$ref": "#/components/schemas/aspect_ratio"}]`).
fn resolve(prop: &Value, schema: &Value, depth: u32) -> Value {
    let mut out = match prop {
        Value::Object(o) => o.clone(),
        _ => return prop.clone(),
    };
    let mut parts: Vec<Value> = Vec::new();
    if let Some(r) = out
        .remove("$ref")
        .and_then(|r| r.as_str().map(str::to_string))
    {
        if let Some(path) = r.strip_prefix("#/") {
            if let Some(t) = schema.pointer(&format!("/{path}")) {
                parts.push(t.clone());
            }
        }
    }
    if let Some(Value::Array(all)) = out.remove("allOf") {
        parts.extend(all);
    }
    for part in parts {
        if depth > 8 {
            break;
        }
        if let Value::Object(p) = resolve(&part, schema, depth + 1) {
            for (k, v) in p {
                out.entry(k).or_insert(v);
            }
        }
    }
    Value::Object(out)
}

/// The Input schema's properties (resolved) and required names.
pub struct Inputs {
    pub props: Map<String, Value>,
    pub required: Vec<String>,
}

impl Inputs {
    /// Reads `components.schemas.Input` of an OpenAPI schema.
    pub fn of(schema: &Value) -> Option<Inputs> {
        let input = schema.pointer("/components/schemas/Input")?;
        let input = resolve(input, schema, 0);
        let props = input
            .get("properties")?
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), resolve(v, schema, 0)))
            .collect();
        let required = input
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some(Inputs { props, required })
    }

    fn has(&self, k: &str) -> bool {
        self.props.contains_key(k)
    }

    fn enum_of(&self, k: &str) -> Vec<String> {
        self.props
            .get(k)
            .and_then(|p| p.get("enum"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn bound(&self, k: &str, which: &str) -> Option<f64> {
        self.props.get(k)?.get(which)?.as_f64()
    }

    /// Checks a number against the property's minimum and maximum.
    fn in_range(&self, model: &str, k: &str, v: u64) -> Result<(), PaintError> {
        let (lo, hi) = (self.bound(k, "minimum"), self.bound(k, "maximum"));
        let v = v as f64;
        if lo.is_some_and(|lo| v < lo) || hi.is_some_and(|hi| v > hi) {
            let range = match (lo, hi) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => String::new(),
            };
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "replicate model {model}: {k} {v} is out of range; the model takes {range}"
                ),
            });
        }
        Ok(())
    }

    /// The prediction input for one image: only properties the schema has.
    pub fn build(
        &self,
        model: &str,
        req: &PaintRequest,
        seed: u64,
    ) -> Result<Map<String, Value>, PaintError> {
        let mut input = Map::new();
        if !self.has("prompt") {
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "replicate model {model} has no prompt input, so it is not a text-to-image model mural can drive; pick another with --model"
                ),
            });
        }
        input.insert("prompt".into(), json!(req.prompt));
        let (w, h) = (req.width, req.height);
        let wh = self.has("width") && self.has("height");
        let mut send_wh = false;
        if self.has("aspect_ratio") {
            let values = self.enum_of("aspect_ratio");
            let want = (f64::from(w) / f64::from(h)).ln();
            let dist = |r: &str| parse_ratio(r).map(|x| (x.ln() - want).abs());
            let nearest = values
                .iter()
                .filter_map(|v| dist(v).map(|d| (v, d)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match nearest {
                Some((v, d)) if d < 0.01 => {
                    input.insert("aspect_ratio".into(), json!(v));
                }
                _ if wh && values.iter().any(|v| v == "custom") => {
                    input.insert("aspect_ratio".into(), json!("custom"));
                    send_wh = true;
                }
                Some((v, _)) => {
                    input.insert("aspect_ratio".into(), json!(v));
                }
                None if values.is_empty() && !wh => {
                    let g = gcd(w, h).max(1);
                    input.insert("aspect_ratio".into(), json!(format!("{}:{}", w / g, h / g)));
                }
                None => send_wh = wh,
            }
        } else {
            send_wh = wh;
        }
        if send_wh {
            self.in_range(model, "width", u64::from(w))?;
            self.in_range(model, "height", u64::from(h))?;
            input.insert("width".into(), json!(w));
            input.insert("height".into(), json!(h));
        }
        if self.has("seed") {
            let max = self.bound("seed", "maximum").unwrap_or(2_147_483_647.0);
            let modulus = (max as u64).saturating_add(1).max(1);
            input.insert("seed".into(), json!(seed % modulus));
        }
        if let Some(k) = COUNT_FIELDS.iter().find(|k| self.has(k)) {
            input.insert((*k).into(), json!(1));
        }
        if self.has("negative_prompt") && !req.negative_prompt.trim().is_empty() {
            input.insert("negative_prompt".into(), json!(req.negative_prompt));
        }
        if self.enum_of("output_format").iter().any(|f| f == "png") {
            input.insert("output_format".into(), json!("png"));
        }
        for r in &self.required {
            let has_default = self
                .props
                .get(r)
                .is_some_and(|p| p.get("default").is_some());
            if !input.contains_key(r) && !has_default {
                return Err(PaintError::InvalidRequest {
                    message: format!(
                        "replicate model {model} requires input {r:?}, which mural does not supply; pick another model with --model"
                    ),
                });
            }
        }
        Ok(input)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Replicate's 429 detail: "Your rate limit resets in ~30s."
fn detail_delay(r: &mural_http::Reply) -> Option<Duration> {
    let text = String::from_utf8_lossy(&r.body);
    let at = text.find('~')?;
    let digits: String = text[at + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let secs: u64 = digits.parse().ok()?;
    text[at + 1 + digits.len()..]
        .starts_with('s')
        .then(|| Duration::from_secs(secs))
}

impl ReplicatePainter {
    pub fn new(p: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PaintError> {
        let base = p.base_url("https://api.replicate.com/v1".into())?;
        let model = model_of(p);
        let (owner_name, version) =
            split_model(&model).map_err(|message| PaintError::InvalidRequest { message })?;
        // the catalog knows models by owner/name
        let mut judged = p.clone();
        judged.model = Some(owner_name.clone());
        super::lifecycle(&judged, env)?;
        let key_env = p.key_env("REPLICATE_API_TOKEN").to_string();
        let key = p
            .key("REPLICATE_API_TOKEN", env)
            .ok_or_else(|| PaintError::Auth {
                message: format!(
                    "the replicate painter needs an API token; set {key_env} (or api_key in the profile)"
                ),
            })?;
        let rules = Catalog::current()
            .find(Provider::Replicate, &owner_name)
            .and_then(|m| m.image.clone());
        let client = p.client(&base, &[&key], &key_env)?;
        // hold the create call open no longer than a request may last
        let wait_s = (client.policy().timeout.as_secs().saturating_sub(5)).min(60);
        Ok(ReplicatePainter {
            client,
            base,
            key,
            model,
            owner_name,
            version,
            rules,
            poll_ms: p.poll_ms.unwrap_or(1000).max(1),
            max_wait: Duration::from_secs_f64(p.max_wait_s.unwrap_or(1800.0).max(0.0)),
            wait_s,
            schema: Mutex::new(None),
        })
    }

    fn missing<T>(&self, r: &mural_http::Reply) -> Option<Verdict<T>> {
        let detail = || {
            serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| mural_http::error_message(&v))
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        };
        match r.status {
            404 => Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::InvalidRequest,
                format!(
                    "Replicate says model {} does not exist or this token cannot use it (HTTP 404{}); pick another with --model (see `mural models --painter replicate`)",
                    self.model,
                    detail()
                ),
            ))),
            402 => Some(Verdict::Fail(HttpError::new(
                mural_http::Kind::Quota,
                format!(
                    "Replicate says the account cannot pay for this (HTTP 402{}); add credit at https://replicate.com/account/billing",
                    detail()
                ),
            ))),
            429 => Some(Verdict::Retry {
                message: format!("HTTP 429{}", detail()),
                retry_after: mural_http::retry_after(&r.headers).or_else(|| detail_delay(r)),
            }),
            _ => None,
        }
    }

    fn json_or_retry(&self, r: &mural_http::Reply) -> Verdict<Value> {
        if let Some(v) = self.missing(r) {
            return v;
        }
        if let Some(v) = self.client.classify(r) {
            return v;
        }
        match r.json() {
            Ok(v) => Verdict::Done(v),
            Err(v) => v,
        }
    }

    /// The model version's input schema, fetched once.
    async fn inputs(&self) -> Result<Inputs, PaintError> {
        let cached = self
            .schema
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let schema = match cached {
            Some(s) => s,
            None => {
                let url = match &self.version {
                    Some(v) => format!("{}/models/{}/versions/{v}", self.base, self.owner_name),
                    None => format!("{}/models/{}", self.base, self.owner_name),
                };
                let v: Value = self
                    .client
                    .fetch(
                        "read the model's schema",
                        |h| h.get(&url).bearer_auth(&self.key),
                        |r| self.json_or_retry(r),
                    )
                    .await
                    .map_err(paint_error)?;
                let schema = match &self.version {
                    Some(_) => v.get("openapi_schema"),
                    None => v.pointer("/latest_version/openapi_schema"),
                };
                let Some(schema) = schema.filter(|s| s.is_object()).cloned() else {
                    return Err(PaintError::Failed {
                        message: format!(
                            "{}: model {} has no version with an input schema; name a version (owner/name:version)",
                            self.client.service(),
                            self.model
                        ),
                    });
                };
                let schema = Arc::new(schema);
                *self.schema.lock().unwrap_or_else(|p| p.into_inner()) = Some(schema.clone());
                schema
            }
        };
        Inputs::of(&schema).ok_or_else(|| PaintError::Failed {
            message: format!(
                "{}: model {}'s schema has no components.schemas.Input",
                self.client.service(),
                self.model
            ),
        })
    }

    async fn one(
        &self,
        inputs: &Inputs,
        req: &PaintRequest,
        seed: u64,
    ) -> Result<Painted, PaintError> {
        let service = self.client.service().to_string();
        let input = inputs.build(&self.model, req, seed)?;
        let (url, body) = match &self.version {
            Some(v) => (
                format!("{}/predictions", self.base),
                json!({"version": v, "input": input}),
            ),
            None => (
                format!("{}/models/{}/predictions", self.base, self.owner_name),
                json!({"input": input}),
            ),
        };
        let mut p: Value = self
            .client
            .call(
                "create a prediction",
                |h| {
                    let r = h.post(&url).bearer_auth(&self.key).json(&body);
                    if self.wait_s > 0 {
                        r.header("Prefer", format!("wait={}", self.wait_s))
                    } else {
                        r
                    }
                },
                |r| self.json_or_retry(r),
            )
            .await
            .map_err(paint_error)?;
        let id = p
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let get = p
            .pointer("/urls/get")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/predictions/{id}", self.base));
        let started = Instant::now();
        loop {
            let status = p.get("status").and_then(Value::as_str).unwrap_or("");
            match status {
                "succeeded" => break,
                "failed" => {
                    let why = p
                        .get("error")
                        .map(|e| match e {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .unwrap_or_else(|| "no reason given".into());
                    let message = format!("{service}: prediction {id} failed: {why}");
                    let lower = why.to_lowercase();
                    return Err(if REFUSAL_WORDS.iter().any(|w| lower.contains(w)) {
                        PaintError::Refused { reason: message }
                    } else {
                        PaintError::Failed { message }
                    });
                }
                "canceled" | "aborted" => {
                    return Err(PaintError::Failed {
                        message: format!("{service}: prediction {id} was {status}"),
                    })
                }
                _ => {} // starting, processing: wait
            }
            if started.elapsed() > self.max_wait {
                return Err(PaintError::Unavailable {
                    message: format!(
                        "{service}: prediction {id} did not finish within {:.0}s (last status {status:?}; raise max_wait_s)",
                        self.max_wait.as_secs_f64()
                    ),
                    retry_after_ms: None,
                });
            }
            pause(self.poll_ms).await;
            p = self
                .client
                .fetch(
                    "poll the prediction",
                    |h| h.get(&get).bearer_auth(&self.key),
                    |r| self.json_or_retry(r),
                )
                .await
                .map_err(paint_error)?;
        }
        let urls: Vec<String> = match p.get("output") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        // one image asked for: the first is it
        let Some(out_url) = urls.into_iter().next() else {
            return Err(PaintError::Failed {
                message: format!("{service}: prediction {id} succeeded with no output"),
            });
        };
        let own = out_url.starts_with(&self.base);
        let (png, width, height) = self
            .client
            .fetch(
                "download the output",
                |h| {
                    let r = h.get(&out_url);
                    // the token goes only to Replicate's API, not to file hosts
                    if own {
                        r.bearer_auth(&self.key)
                    } else {
                        r
                    }
                },
                |r| {
                    if matches!(r.status, 403 | 404 | 410) {
                        return Verdict::Fail(HttpError::new(
                            mural_http::Kind::Failed,
                            format!(
                                "the output URL of prediction {id} expired or was removed (HTTP {}; Replicate deletes outputs an hour after they are made); paint again",
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
        if let Some(v) = p.get("version").and_then(Value::as_str) {
            params.insert("version".into(), json!(v));
        }
        params.insert("prediction_id".into(), json!(id));
        for (k, v) in &input {
            if k != "prompt" && k != "negative_prompt" {
                params.insert(format!("input.{k}"), v.clone());
            }
        }
        Ok(Painted {
            png,
            width,
            height,
            seed: input.get("seed").and_then(Value::as_u64).unwrap_or(seed),
            revised_prompt: None,
            params,
        })
    }
}

impl Painter for ReplicatePainter {
    fn name(&self) -> &str {
        "replicate"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn limits(&self) -> Limits {
        match self.rules.as_ref().filter(|r| r.free.is_some()) {
            Some(r) => Limits {
                max_n: 1,
                ..Limits::from_rules(r)
            },
            // the schema, read when painting, has the last word
            None => Limits {
                max_n: 1,
                sizes: Sizes::Range {
                    min: 64,
                    max: 4096,
                    step: 1,
                },
                max_prompt_chars: self
                    .rules
                    .as_ref()
                    .and_then(|r| r.prompt_max)
                    .map(|m| m as usize),
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
            let inputs = self.inputs().await?;
            let mut out = Vec::with_capacity(req.n);
            for i in 0..req.n as u64 {
                out.push(self.one(&inputs, req, req.seed + i).await?);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(w: u32, h: u32) -> PaintRequest {
        PaintRequest {
            prompt: "a lighthouse".into(),
            negative_prompt: "fog".into(),
            width: w,
            height: h,
            n: 1,
            seed: 5,
            model: None,
            scene: None,
        }
    }

    fn schema(props: Value, required: Value) -> Value {
        json!({"components": {"schemas": {
            "Input": {"type": "object", "properties": props, "required": required},
            "aspect_ratio": {"type": "string", "enum": ["1:1", "16:9", "9:16", "custom"]},
        }}})
    }

    #[test]
    fn model_names_split() {
        assert_eq!(split_model("a/b").unwrap(), ("a/b".into(), None));
        assert_eq!(
            split_model("a/b:0fa1").unwrap(),
            ("a/b".into(), Some("0fa1".into()))
        );
        assert!(split_model("flux").is_err());
        assert!(split_model("a/b/c").is_err());
        assert!(split_model("a/b:").is_err());
    }

    #[test]
    fn input_is_built_from_the_schema() {
        // aspect_ratio through a $ref, with custom: a listed ratio wins
        let s = schema(
            json!({
                "prompt": {"type": "string"},
                "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}], "default": "1:1"},
                "width": {"type": "integer", "minimum": 256, "maximum": 2048},
                "height": {"type": "integer", "minimum": 256, "maximum": 2048},
                "seed": {"type": "integer"},
                "output_format": {"enum": ["webp", "jpg", "png"]},
            }),
            json!(["prompt"]),
        );
        let i = Inputs::of(&s).unwrap();
        let b = i.build("m", &req(1920, 1080), 5).unwrap();
        assert_eq!(b["aspect_ratio"], "16:9");
        assert!(b.get("width").is_none());
        assert_eq!(b["output_format"], "png");
        assert_eq!(b["seed"], 5);
        assert!(b.get("negative_prompt").is_none(), "the schema has none");
        // no listed ratio fits: custom, with the size checked
        let b = i.build("m", &req(1200, 800), 5).unwrap();
        assert_eq!(
            (b["aspect_ratio"].as_str(), b["width"].as_u64()),
            (Some("custom"), Some(1200))
        );
        let e = i.build("m", &req(4000, 800), 5).unwrap_err().to_string();
        assert!(e.contains("width 4000") && e.contains("256 to 2048"), "{e}");
    }

    #[test]
    fn width_height_models_and_required_inputs() {
        let s = schema(
            json!({
                "prompt": {"type": "string"},
                "negative_prompt": {"type": "string"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "num_outputs": {"type": "integer", "maximum": 4},
                "image": {"type": "string", "format": "uri"},
            }),
            json!(["prompt"]),
        );
        let i = Inputs::of(&s).unwrap();
        let b = i.build("m", &req(768, 512), 9).unwrap();
        assert_eq!(
            (b["width"].as_u64(), b["height"].as_u64()),
            (Some(768), Some(512))
        );
        assert_eq!(b["num_outputs"], 1);
        assert_eq!(b["negative_prompt"], "fog");
        assert!(b.get("seed").is_none() && b.get("image").is_none());
        let s = schema(
            json!({"prompt": {}, "image": {}}),
            json!(["prompt", "image"]),
        );
        let e = Inputs::of(&s)
            .unwrap()
            .build("m", &req(512, 512), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("requires input \"image\""), "{e}");
        let s = schema(json!({"image": {}}), json!([]));
        let e = Inputs::of(&s)
            .unwrap()
            .build("m", &req(512, 512), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no prompt input"), "{e}");
    }

    #[test]
    fn throttle_detail_gives_the_wait() {
        let r = mural_http::Reply {
            status: 429,
            headers: Default::default(),
            body: r#"{"detail":"Request was throttled. Your rate limit resets in ~30s."}"#.into(),
        };
        assert_eq!(detail_delay(&r), Some(Duration::from_secs(30)));
    }
}
