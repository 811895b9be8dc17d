//! Any OpenAI-compatible chat endpoint: `POST {base}/chat/completions`.
//!
//! Works unchanged with OpenAI, Ollama (`/v1`), llama.cpp's server,
//! llama-cpp-python, vLLM and LM Studio. Where they differ:
//! - llama.cpp's server refuses `n` > 1: the first refusal switches this
//!   writer to single requests (seeds `seed + i`), concurrently.
//! - Ollama ignores `max_completion_tokens`, OpenAI's newer models want it:
//!   `token_param` picks (default: the new name for api.openai.com only).
//! - Error `code` is sometimes a number; `mural-http` reads both.
//!
//! `OPENAI_API_KEY` and `OPENAI_BASE_URL` work as in the official SDK; a
//! profile's `api_key`/`api_key_env`/`url` override them. The key goes in
//! the `Authorization` header only and is scrubbed from every message.

use crate::instruct::Chat;
use crate::{Llm, Sampling, Sink, WriterProfile};
use mural_http::{Client, HttpError, Kind, Limit, Policy, Reply, Verdict};
use mural_prompt::WriteError;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const DEFAULT_BASE: &str = "https://api.openai.com/v1";
/// The model a profile writes with: its own, else the catalog's default
/// OpenAI chat model.
pub fn model_of(p: &WriterProfile) -> String {
    p.model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| {
            mural_catalog::Catalog::current()
                .default_model(mural_catalog::Provider::Openai, mural_catalog::Kind::Chat)
                .map(|m| m.id.clone())
                .unwrap_or_else(|| "gpt-6-luna".into())
        })
}

/// The catalog's word on a chat model today: a warning when deprecated,
/// an error when shut down.
pub fn judge(
    model: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, WriteError> {
    let today = mural_catalog::today(env).map_err(config)?;
    let hint = crate::profile::SWITCH_HINT;
    let verdict = mural_catalog::Catalog::current()
        .judge(mural_catalog::Provider::Openai, model, today, hint)
        .map_err(|e| config(e.to_string()))?;
    Ok(verdict.warning(hint))
}

pub struct OpenAiChat {
    client: Client,
    base: String,
    key: Option<String>,
    model: String,
    token_param: &'static str,
    /// Whether to ask for `n` choices in one request.
    use_n: AtomicBool,
    /// Whether to send temperature and top_p (reasoning models refuse them).
    sampling_params: AtomicBool,
}

enum Answer {
    Choices(Vec<String>),
    /// The server does not do `n` > 1.
    NRefused,
}

fn config(message: String) -> WriteError {
    WriteError::Config { message }
}

impl OpenAiChat {
    pub fn new(
        p: &WriterProfile,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OpenAiChat, WriteError> {
        let base = p
            .url
            .clone()
            .or_else(|| env("OPENAI_BASE_URL"))
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE.to_string());
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(config(format!(
                "the writer's base URL {:?} is not http(s); use e.g. http://127.0.0.1:11434/v1",
                mural_http::redact_userinfo(&base)
            )));
        }
        let key_env = p
            .api_key_env
            .clone()
            .unwrap_or_else(|| "OPENAI_API_KEY".to_string());
        let key = p
            .api_key
            .clone()
            .or_else(|| env(&key_env))
            .filter(|k| !k.trim().is_empty());
        if key.is_none() && base.contains("api.openai.com") {
            return Err(config(format!(
                "the openai writer needs an API key; set {key_env} (or api_key in a [writers.NAME] profile), or set OPENAI_BASE_URL to a local server such as Ollama's http://127.0.0.1:11434/v1"
            )));
        }
        let model = model_of(p);
        judge(&model, env)?;
        let catalog_field = mural_catalog::Catalog::current()
            .find(mural_catalog::Provider::Openai, &model)
            .and_then(|m| m.chat.as_ref())
            .and_then(|c| c.max_tokens_field.as_deref());
        let token_param = match p.token_param.as_deref().or(catalog_field) {
            Some("max_tokens") => "max_tokens",
            Some("max_completion_tokens") => "max_completion_tokens",
            Some(other) => {
                return Err(config(format!(
                    "token_param {other:?} is not one of max_tokens, max_completion_tokens"
                )))
            }
            None if base.contains("api.openai.com") => "max_completion_tokens",
            None => "max_tokens",
        };
        let policy = Policy {
            timeout: Duration::from_secs_f64(p.timeout_s.unwrap_or(120.0).clamp(0.1, 3600.0)),
            max_retries: p.max_retries.unwrap_or(2),
            ..Policy::default()
        };
        let mut b = Client::builder(format!("openai writer at {base}"))
            .policy(policy)
            .limit(Limit {
                concurrency: 4,
                rate_per_minute: None,
            })
            .key_hint(&key_env);
        if let Some(k) = &key {
            b = b.secret(k);
        }
        let client = b
            .build()
            .map_err(|e| config(format!("cannot set up the openai writer: {e}")))?;
        Ok(OpenAiChat {
            client,
            base,
            key,
            model,
            token_param,
            use_n: AtomicBool::new(p.n.unwrap_or(true)),
            sampling_params: AtomicBool::new(true),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The model the profile asks for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The models the server lists (`GET /models`, the OpenAI-compatible
    /// list that OpenAI, vLLM, llama.cpp's server and Ollama all answer):
    /// a cheap health probe that generates nothing.
    pub async fn models(&self) -> Result<Vec<String>, WriteError> {
        let url = format!("{}/models", self.base);
        let client = self.client.clone();
        client
            .fetch(
                "models",
                |h| {
                    let mut r = h.get(&url);
                    if let Some(k) = &self.key {
                        r = r.bearer_auth(k);
                    }
                    r
                },
                |r: &Reply| {
                    if !r.is_success() {
                        if let Some(v) = client.classify(r) {
                            return v;
                        }
                    }
                    let v: Value = match r.json() {
                        Ok(v) => v,
                        Err(v) => return v.cast(),
                    };
                    match v["data"].as_array() {
                        Some(list) => Verdict::Done(
                            list.iter()
                                .filter_map(|m| m["id"].as_str().map(str::to_string))
                                .collect(),
                        ),
                        None => Verdict::Fail(HttpError::new(
                            Kind::Failed,
                            format!("{}: models: the reply has no data list", client.service()),
                        )),
                    }
                },
            )
            .await
            .map_err(|e| self.error(e))
    }

    fn body(&self, chat: &Chat, n: usize, seed: u64, s: &Sampling, stream: bool) -> Value {
        let messages: Vec<Value> = chat
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut b = Map::new();
        b.insert("model".into(), json!(self.model));
        b.insert("messages".into(), Value::Array(messages));
        if self.sampling_params.load(Ordering::Relaxed) {
            b.insert("temperature".into(), json!(s.temperature));
            b.insert("top_p".into(), json!(s.top_p));
        }
        b.insert(self.token_param.into(), json!(s.max_tokens));
        // 31 bits: every server's seed type holds it
        b.insert("seed".into(), json!(seed & 0x7fff_ffff));
        if n > 1 {
            b.insert("n".into(), json!(n));
        }
        if stream {
            b.insert("stream".into(), json!(true));
        }
        Value::Object(b)
    }

    fn error(&self, e: HttpError) -> WriteError {
        match e.kind {
            Kind::Auth | Kind::InvalidRequest => config(e.message),
            Kind::Unavailable if e.message.contains("cannot connect") => WriteError::Backend {
                message: format!(
                    "{}; is the server at {} running? (set OPENAI_BASE_URL or the profile's url)",
                    e.message, self.base
                ),
                retryable: true,
            },
            k => WriteError::Backend {
                message: e.message,
                retryable: k == Kind::Unavailable,
            },
        }
    }
}

/// Whether a 400 reply says the server does not do `n` > 1.
fn refuses_n(body: &[u8]) -> bool {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if v.pointer("/error/param").and_then(Value::as_str) == Some("n") {
        return true;
    }
    let text = mural_http::error_message(&v)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
        .to_lowercase();
    [
        "only one completion choice",
        "'n'",
        "`n`",
        "\"n\"",
        "n must be 1",
        "n > 1",
        "n>1",
        "parameter n ",
    ]
    .iter()
    .any(|p| text.contains(p))
}

/// The text of every choice of a chat completion, by index.
fn choices(v: &Value, base: &str) -> Result<Vec<String>, HttpError> {
    let Some(list) = v.get("choices").and_then(Value::as_array) else {
        let why = mural_http::error_message(v)
            .map(|m| format!("the server says: {m}"))
            .unwrap_or_else(|| format!("is {base} an OpenAI-compatible endpoint (…/v1)?"));
        return Err(HttpError::new(
            Kind::Failed,
            format!("the reply is not a chat completion (no \"choices\"); {why}"),
        ));
    };
    let mut out: Vec<(u64, String)> = Vec::new();
    for (pos, c) in list.iter().enumerate() {
        let index = c.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
        let content = c
            .pointer("/message/content")
            .or_else(|| c.get("text"))
            .unwrap_or(&Value::Null);
        let text = match content {
            Value::String(s) => s.clone(),
            // content parts: [{"type": "text", "text": "..."}]
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            Value::Null => String::new(),
            other => {
                return Err(HttpError::new(
                    Kind::Failed,
                    format!("choice {index} has content of an unexpected shape ({other})"),
                ))
            }
        };
        out.push((index, text));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// Reads a server-sent-events stream of chat completion chunks.
#[derive(Default)]
struct Sse {
    buf: Vec<u8>,
    texts: Vec<String>,
    error: Option<String>,
}

impl Sse {
    fn feed(&mut self, chunk: &[u8], offset: usize, sink: Option<&Sink>) {
        self.buf.extend_from_slice(chunk);
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim().strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" || data.is_empty() {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                self.error = Some(format!(
                    "an event is not JSON: {}",
                    data.chars().take(120).collect::<String>()
                ));
                continue;
            };
            if v.get("error").is_some() {
                self.error =
                    mural_http::error_message(&v).or(Some("the stream reported an error".into()));
                continue;
            }
            for (pos, c) in v
                .get("choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let i = c.get("index").and_then(Value::as_u64).unwrap_or(pos as u64) as usize;
                let piece = c
                    .pointer("/delta/content")
                    .or_else(|| c.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if i >= self.texts.len() {
                    self.texts.resize(i + 1, String::new());
                }
                if !piece.is_empty() {
                    self.texts[i].push_str(piece);
                    if let Some(s) = sink {
                        s(offset + i, piece);
                    }
                }
            }
        }
    }
}

struct Call {
    client: Client,
    url: String,
    key: Option<String>,
    base: String,
    body: Value,
    n: usize,
    /// Index of the first choice, for the sink.
    offset: usize,
    sink: Option<Sink>,
}

impl Call {
    async fn run(self) -> Result<Answer, HttpError> {
        let build = |h: &mural_http::reqwest::Client| {
            let mut r = h.post(&self.url).json(&self.body);
            if let Some(k) = &self.key {
                r = r.bearer_auth(k);
            }
            r
        };
        let n = self.n;
        let client = self.client.clone();
        if self.sink.is_some() {
            let refused = AtomicBool::new(false);
            let mut sse = Sse::default();
            let sink = self.sink.clone();
            let offset = self.offset;
            client
                .stream(
                    "chat",
                    build,
                    &mut |c: &[u8]| sse.feed(c, offset, sink.as_ref()),
                    |r: &Reply| {
                        if n > 1 && r.status == 400 && refuses_n(&r.body) {
                            refused.store(true, Ordering::Relaxed);
                            return Verdict::Done(());
                        }
                        client.classify(r).unwrap_or(Verdict::Done(()))
                    },
                )
                .await?;
            if refused.load(Ordering::Relaxed) {
                return Ok(Answer::NRefused);
            }
            if let Some(e) = sse.error {
                return Err(HttpError::new(
                    Kind::Failed,
                    format!("{}: chat: {e}", client.service()),
                ));
            }
            return Ok(Answer::Choices(sse.texts));
        }
        let base = self.base.clone();
        client
            .call("chat", build, |r: &Reply| {
                if !r.is_success() {
                    if n > 1 && r.status == 400 && refuses_n(&r.body) {
                        return Verdict::Done(Answer::NRefused);
                    }
                    if let Some(v) = client.classify(r) {
                        return v;
                    }
                }
                let v = match r.json() {
                    Ok(v) => v,
                    Err(v) => return v.cast(),
                };
                match choices(&v, &base) {
                    Ok(c) => Verdict::Done(Answer::Choices(c)),
                    Err(e) => Verdict::Fail(e),
                }
            })
            .await
    }
}

impl Llm for OpenAiChat {
    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }

    fn complete(
        &self,
        chat: &Chat,
        n: usize,
        seed: u64,
        sampling: &Sampling,
        sink: Option<&Sink>,
    ) -> Result<Vec<String>, WriteError> {
        crate::bridge::block_here(self.complete_async(chat, n, seed, sampling, sink))
    }

    fn complete_async<'a>(
        &'a self,
        chat: &'a Chat,
        n: usize,
        seed: u64,
        sampling: &'a Sampling,
        sink: Option<&'a Sink>,
    ) -> crate::BoxFuture<'a, Result<Vec<String>, WriteError>> {
        Box::pin(async move {
            let texts = match self.complete_once(chat, n, seed, sampling, sink).await {
                // reasoning models take only their default sampling: once
                // told, mural stops sending it
                Err(WriteError::Config { message })
                    if refuses_sampling(&message)
                        && self.sampling_params.swap(false, Ordering::Relaxed) =>
                {
                    self.complete_once(chat, n, seed, sampling, sink).await
                }
                r => r,
            }?;
            // a model that echoes the key must not get it stored with the prompt
            Ok(texts.iter().map(|t| self.client.redact(t)).collect())
        })
    }
}

/// Whether an error says the model takes no temperature or top_p.
fn refuses_sampling(message: &str) -> bool {
    let m = message.to_lowercase();
    (m.contains("temperature") || m.contains("top_p"))
        && (m.contains("unsupported")
            || m.contains("not support")
            || m.contains("only the default"))
}

impl OpenAiChat {
    async fn complete_once(
        &self,
        chat: &Chat,
        n: usize,
        seed: u64,
        sampling: &Sampling,
        sink: Option<&Sink>,
    ) -> Result<Vec<String>, WriteError> {
        let url = format!("{}/chat/completions", self.base);
        let call = |n: usize, seed: u64, offset: usize| Call {
            client: self.client.clone(),
            url: url.clone(),
            key: self.key.clone(),
            base: self.base.clone(),
            body: self.body(chat, n, seed, sampling, sink.is_some()),
            n,
            offset,
            sink: sink.cloned(),
        };
        let died = || WriteError::Backend {
            message: format!("the openai writer at {} stopped unexpectedly", self.base),
            retryable: false,
        };
        let mut out: Vec<Option<String>> = vec![None; n];
        if n > 1 && self.use_n.load(Ordering::Relaxed) {
            match call(n, seed, 0).run().await.map_err(|e| self.error(e))? {
                Answer::Choices(c) => {
                    for (slot, text) in out.iter_mut().zip(c) {
                        *slot = Some(text);
                    }
                }
                Answer::NRefused => self.use_n.store(false, Ordering::Relaxed),
            }
        }
        let missing: Vec<usize> = (0..n).filter(|&i| out[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        // one request per missing prompt, seeded seed + i; streamed ones in
        // order so the text reads, the rest at once
        let calls: Vec<(usize, Call)> = missing
            .iter()
            .map(|&i| (i, call(1, seed.wrapping_add(i as u64), i)))
            .collect();
        let streaming = sink.is_some();
        let mut results = Vec::new();
        if streaming {
            for (i, c) in calls {
                results.push((i, c.run().await));
            }
        } else {
            // concurrently, on whatever runtime awaits this
            let all = calls
                .into_iter()
                .map(|(i, c)| async move { (i, c.run().await) });
            results = futures_util::future::join_all(all).await;
        }
        if results.len() != missing.len() {
            return Err(died());
        }
        results.sort_by_key(|(i, _)| *i);
        for (i, r) in results {
            match r.map_err(|e| self.error(e))? {
                Answer::Choices(c) => out[i] = c.into_iter().next(),
                Answer::NRefused => {}
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_refusals_of_known_servers_are_recognized() {
        // llama.cpp's server
        assert!(refuses_n(
            br#"{"error":{"code":400,"message":"Only one completion choice is allowed","type":"invalid_request_error"}}"#
        ));
        // OpenAI's reasoning models
        assert!(refuses_n(
            br#"{"error":{"message":"Unsupported value: 'n' does not support 3 with this model.","param":"n","code":"unsupported_value"}}"#
        ));
        assert!(!refuses_n(br#"{"error":{"message":"model not found"}}"#));
    }

    #[test]
    fn reasoning_models_refusing_temperature_are_recognized() {
        assert!(refuses_sampling("openai writer at x: chat: HTTP 400: Unsupported value: 'temperature' does not support 0.8 with this model. Only the default (1) value is supported."));
        assert!(!refuses_sampling("HTTP 400: model not found"));
    }

    #[test]
    fn choices_read_every_shape() {
        let v = json!({"choices": [
            {"index": 1, "message": {"content": "b"}},
            {"index": 0, "message": {"content": [{"type": "text", "text": "a"}]}},
            {"index": 2, "message": {"content": null}},
        ]});
        assert_eq!(choices(&v, "x").unwrap(), vec!["a", "b", ""]);
        let e = choices(&json!({"detail": "Not Found"}), "http://x/v1").unwrap_err();
        assert!(e.message.contains("Not Found"), "{}", e.message);
        let e = choices(&json!({"object": "list"}), "http://x/v1").unwrap_err();
        assert!(e.message.contains("http://x/v1"), "{}", e.message);
    }

    #[test]
    fn sse_chunks_split_anywhere_are_read() {
        let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A red\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" fox\"}}]}\n\ndata: [DONE]\n\n";
        let heard = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let h = heard.clone();
        let sink: Sink = std::sync::Arc::new(move |_, p: &str| h.lock().unwrap().push_str(p));
        let mut sse = Sse::default();
        for piece in stream.as_bytes().chunks(7) {
            sse.feed(piece, 0, Some(&sink));
        }
        assert_eq!(sse.texts, vec!["A red fox"]);
        assert_eq!(*heard.lock().unwrap(), "A red fox");
        assert!(sse.error.is_none());
    }

    #[test]
    fn no_key_for_openai_itself_is_a_setup_error() {
        let e = match OpenAiChat::new(&WriterProfile::of_kind(crate::WriterKind::Openai), &|_| {
            None
        }) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("built without a key"),
        };
        assert!(e.contains("OPENAI_API_KEY"), "{e}");
        // a local server needs none
        let local = |k: &str| (k == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:9/v1".to_string());
        let w =
            OpenAiChat::new(&WriterProfile::of_kind(crate::WriterKind::Openai), &local).unwrap();
        // the catalog's default chat model, with the token field it takes
        assert_eq!(w.token_param, "max_completion_tokens");
        assert_eq!(w.name(), "openai:gpt-6-luna");
        // a local model keeps the older field
        let p = WriterProfile {
            model: Some("llama3.2".into()),
            ..WriterProfile::of_kind(crate::WriterKind::Openai)
        };
        assert_eq!(
            OpenAiChat::new(&p, &local).unwrap().token_param,
            "max_tokens"
        );
    }
}
