//! A local GGUF model, in process, through llama.cpp (`llama-cpp-2`).
//!
//! - The model loads once per process; every writer on the same file
//!   shares it.
//! - Instruct models get the chat template from the GGUF's metadata; base
//!   models get the few-shot completion prompt (`Chat::completion`).
//! - Sampling is seeded: completion `i` uses `seed + i`, so the same seed
//!   gives the same text on the same build and thread count.
//! - The prompt is evaluated once per call; each completion reuses its KV
//!   cache and only re-evaluates the last prompt token.

use crate::gguf_meta::{inspect, GgufInfo};
use crate::instruct::Chat;
use crate::{Llm, Sampling, Sink, WriterProfile};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use mural_prompt::WriteError;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A loaded model file.
pub struct Loaded {
    pub model: LlamaModel,
    pub info: GgufInfo,
    pub load_time: Duration,
}

fn backend() -> Result<&'static LlamaBackend, WriteError> {
    static B: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    B.get_or_init(|| {
        // llama.cpp logs every tensor to stderr; mural's output stays clean
        llama_cpp_2::send_logs_to_tracing(
            llama_cpp_2::LogOptions::default().with_logs_enabled(false),
        );
        LlamaBackend::init().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| WriteError::Backend {
        message: format!("cannot start llama.cpp: {e}"),
        retryable: false,
    })
}

fn bad(path: &Path, why: impl std::fmt::Display) -> WriteError {
    WriteError::Config {
        message: format!("cannot use the model {}: {why}", path.display()),
    }
}

/// Loads `path` once per process.
pub fn load_model(path: &Path) -> Result<Arc<Loaded>, WriteError> {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, Arc<Loaded>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let models = MODELS.get_or_init(Default::default);
    let mut models = models.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = models.get(&key) {
        return Ok(m.clone());
    }
    let info = inspect(path)?;
    let b = backend()?;
    let start = Instant::now();
    let model = LlamaModel::load_from_file(b, path, &LlamaModelParams::default()).map_err(|e| {
        bad(
            path,
            format!(
                "llama.cpp could not load it ({e}): its architecture {:?} may be unsupported by this build's llama.cpp (llama-cpp-2 0.1.160), or the file is damaged",
                info.architecture
            ),
        )
    })?;
    let loaded = Arc::new(Loaded {
        model,
        info,
        load_time: start.elapsed(),
    });
    models.insert(key, loaded.clone());
    Ok(loaded)
}

/// The in-process GGUF writer's backend.
pub struct Gguf {
    loaded: Arc<Loaded>,
    threads: i32,
    context: u32,
    chat: bool,
    /// One generation at a time: llama.cpp contexts are not shared.
    busy: Mutex<()>,
}

impl Gguf {
    pub fn load(path: &Path, p: &WriterProfile) -> Result<Gguf, WriteError> {
        let loaded = load_model(path)?;
        let threads = p.threads.map(|t| t as i32).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as i32)
                .unwrap_or(4)
        });
        let chat = p.chat.unwrap_or_else(|| loaded.info.looks_instruct());
        if chat && loaded.model.chat_template(None).is_err() {
            return Err(bad(
                path,
                "chat = true, but the model has no chat template; set chat = false",
            ));
        }
        Ok(Gguf {
            loaded,
            threads: threads.max(1),
            context: p.context.unwrap_or(2048).clamp(256, 131_072),
            chat,
            busy: Mutex::new(()),
        })
    }

    pub fn info(&self) -> &GgufInfo {
        &self.loaded.info
    }

    pub fn load_time(&self) -> Duration {
        self.loaded.load_time
    }

    /// Whether the chat template is used (else the few-shot completion).
    pub fn uses_chat(&self) -> bool {
        self.chat
    }

    /// The text the model sees for `chat`.
    pub fn prompt_text(&self, chat: &Chat) -> Result<String, WriteError> {
        if !self.chat {
            return Ok(chat.completion.clone());
        }
        let model = &self.loaded.model;
        let tmpl = model.chat_template(None).map_err(|e| self.fail(e))?;
        let messages = chat
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))?;
        model
            .apply_chat_template(&tmpl, &messages, true)
            .map_err(|e| self.fail(format!("the chat template failed: {e}")))
    }

    fn fail(&self, e: impl std::fmt::Display) -> WriteError {
        WriteError::Backend {
            message: format!("gguf writer ({}): {e}", self.loaded.info.path.display()),
            retryable: false,
        }
    }

    fn context(&self, n_ctx: u32) -> Result<LlamaContext<'_>, WriteError> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(512)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads);
        self.loaded
            .model
            .new_context(backend()?, params)
            .map_err(|e| self.fail(format!("cannot make a context: {e}")))
    }

    fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        self.loaded
            .model
            .vocab()
            .tokenize(text.as_bytes(), true, true)
    }

    /// Evaluates `tokens` from position `start`; logits for the last one.
    fn eval(
        &self,
        ctx: &mut LlamaContext<'_>,
        tokens: &[LlamaToken],
        start: usize,
    ) -> Result<(), WriteError> {
        let mut batch = LlamaBatch::new(512, 1);
        for (c, chunk) in tokens.chunks(512).enumerate() {
            batch.clear();
            let last_chunk = (c + 1) * 512 >= tokens.len();
            for (j, t) in chunk.iter().enumerate() {
                let pos = start + c * 512 + j;
                let logits = last_chunk && j + 1 == chunk.len();
                batch
                    .add(*t, pos as i32, &[0], logits)
                    .map_err(|e| self.fail(e))?;
            }
            ctx.decode(&mut batch).map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Greedy decoding of exactly `n` tokens after `prompt`, ignoring
    /// end-of-text: the decode-speed bench. Returns (prompt tokens, decode
    /// seconds).
    pub fn decode_bench(&self, prompt: &str, n: usize) -> Result<(usize, f64), WriteError> {
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = self.tokenize(prompt);
        let mut ctx = self.context((tokens.len() + n + 8) as u32)?;
        self.eval(&mut ctx, &tokens, 0)?;
        let mut sampler = LlamaSampler::greedy();
        let mut batch = LlamaBatch::new(1, 1);
        let start = Instant::now();
        for pos in (tokens.len() as i32..).take(n) {
            let t = sampler.sample(&ctx, -1);
            batch.clear();
            batch.add(t, pos, &[0], true).map_err(|e| self.fail(e))?;
            ctx.decode(&mut batch).map_err(|e| self.fail(e))?;
        }
        Ok((tokens.len(), start.elapsed().as_secs_f64()))
    }
}

/// Turns token bytes into text, holding back a split UTF-8 character.
#[derive(Default)]
struct Utf8 {
    pending: Vec<u8>,
}

impl Utf8 {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let s = s.to_string();
                self.pending.clear();
                s
            }
            Err(e) if e.error_len().is_none() => {
                let ok = e.valid_up_to();
                let s = String::from_utf8_lossy(&self.pending[..ok]).into_owned();
                self.pending.drain(..ok);
                s
            }
            Err(_) => {
                let s = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                s
            }
        }
    }
}

/// Where the answer ends: the first stop string after some real text.
fn stop_at(text: &str, stops: &[String]) -> Option<usize> {
    let start = text.len() - text.trim_start().len();
    if start == text.len() {
        return None;
    }
    stops
        .iter()
        .filter_map(|s| text[start..].find(s.as_str()).map(|i| i + start))
        .min()
}

impl Llm for Gguf {
    fn name(&self) -> String {
        format!("gguf:{}", self.loaded.info.file_stem())
    }

    fn complete(
        &self,
        chat: &Chat,
        n: usize,
        seed: u64,
        s: &Sampling,
        sink: Option<&Sink>,
    ) -> Result<Vec<String>, WriteError> {
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let prompt = self.prompt_text(chat)?;
        let tokens = self.tokenize(&prompt);
        let max_new = s.max_tokens.max(1) as usize;
        if tokens.len() + max_new >= self.context as usize {
            return Err(self.fail(format!(
                "the prompt is {} tokens; with {max_new} to write it needs a context over {} (set context in the writer profile)",
                tokens.len(),
                self.context
            )));
        }
        let mut ctx = self.context(self.context)?;
        // the prompt, all but its last token, once for every completion
        let head = tokens.len() - 1;
        self.eval(&mut ctx, &tokens[..head], 0)?;
        let vocab = self.loaded.model.vocab();
        let stops: &[String] = if self.chat { &[] } else { &chat.stop };
        let mut out = Vec::with_capacity(n);
        let mut batch = LlamaBatch::new(1, 1);
        for i in 0..n {
            // forget the previous completion; keep the prompt
            ctx.clear_kv_cache_seq(Some(0), Some(head as u32), None)
                .map_err(|e| self.fail(e))?;
            self.eval(&mut ctx, &tokens[head..], head)?;
            let seed_i = seed.wrapping_add(i as u64);
            let mut sampler = LlamaSampler::chain_simple([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(s.top_p.clamp(0.05, 1.0), 1),
                LlamaSampler::temp(s.temperature.max(0.0)),
                LlamaSampler::dist((seed_i ^ (seed_i >> 32)) as u32),
            ]);
            let mut text = String::new();
            let mut utf8 = Utf8::default();
            for pos in (tokens.len() as i32..).take(max_new) {
                let t = sampler.sample(&ctx, -1);
                if vocab.is_eog(t) {
                    break;
                }
                let piece = utf8.push(&vocab.token_to_piece(t, false, None));
                let before = text.len();
                text.push_str(&piece);
                if let Some(cut) = stop_at(&text, stops) {
                    if let Some(sink) = sink {
                        if cut > before {
                            sink(i, &text[before..cut]);
                        }
                    }
                    text.truncate(cut);
                    break;
                }
                if let Some(sink) = sink {
                    sink(i, &piece);
                }
                batch.clear();
                batch.add(t, pos, &[0], true).map_err(|e| self.fail(e))?;
                ctx.decode(&mut batch).map_err(|e| self.fail(e))?;
            }
            out.push(text.trim().to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_only_after_real_text() {
        let stops = vec!["\n".to_string()];
        assert_eq!(stop_at("\n", &stops), None);
        assert_eq!(stop_at(" A fox\nIdea", &stops), Some(6));
    }

    #[test]
    fn split_utf8_characters_are_held_back() {
        let mut u = Utf8::default();
        let e = "é".as_bytes();
        assert_eq!(u.push(&e[..1]), "");
        assert_eq!(u.push(&e[1..]), "é");
    }
}
