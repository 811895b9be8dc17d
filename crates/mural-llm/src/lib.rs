//! LLM writers: a language model writes the prompt, mural keeps it honest.
//!
//! idea -> [`instruct`] (per-target rules + the built-in writer's analysis)
//! -> an [`Llm`] backend ([`openai::OpenAiChat`] over HTTP, or the in-process
//! GGUF model in `gguf`, feature `llama`) -> [`parse`] (JSON array, numbered
//! list, lines) -> [`guard`] (the spine's invariants; ask once more; repair)
//! -> [`Written`], shaped for the target like the built-in writer's.
//!
//! [`LlmWriter`] turns any backend into a `mural_prompt::Writer`; [`build`]
//! resolves `--writer builtin | openai[:MODEL] | gguf:PATH | NAME`.
//!
//! Architecture invariant: backends only turn a conversation into text.
//! They know nothing of targets, budgets or invariants; the writer and the
//! guard do. The guard knows nothing of HTTP or llama.cpp.

mod bridge;
pub mod gguf_meta;
pub mod guard;
pub mod instruct;
pub mod openai;
pub mod parse;
pub mod pool;
pub mod profile;

#[cfg(feature = "llama")]
pub mod gguf;

pub use instruct::{Chat, Message, Role};
pub use profile::{build, lifecycle, Sink, UnknownWriterKind, WriterKind, WriterProfile};

use mural_prompt::{analyze, validate, BuiltinWriter, WriteError, WriteRequest, Writer, Written};

/// How to sample one completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
}

/// A boxed future that may move between threads.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A model that continues a conversation. One narrow trait per backend
/// family; everything else (rules, parsing, the guard) is shared.
pub trait Llm: Send + Sync {
    /// What the recipe records: "openai:gpt-6-luna", "gguf:gemma-3-270m".
    fn name(&self) -> String;
    /// `n` completions of `chat`. Completion `i` is seeded with `seed + i`
    /// where the backend can seed; `sink` hears text as it arrives
    /// (completion index, piece).
    fn complete(
        &self,
        chat: &Chat,
        n: usize,
        seed: u64,
        sampling: &Sampling,
        sink: Option<&Sink>,
    ) -> Result<Vec<String>, WriteError>;

    /// The same for async callers. A backend that waits on the network
    /// overrides it; the default computes in place (a local model).
    fn complete_async<'a>(
        &'a self,
        chat: &'a Chat,
        n: usize,
        seed: u64,
        sampling: &'a Sampling,
        sink: Option<&'a Sink>,
    ) -> BoxFuture<'a, Result<Vec<String>, WriteError>> {
        Box::pin(std::future::ready(
            self.complete(chat, n, seed, sampling, sink),
        ))
    }
}

/// Seed offset of the guard's second try, so it does not repeat the first.
const RETRY_SEED: u64 = 0x9e37_79b9;

/// Any [`Llm`] as a [`Writer`], behind the fidelity guard.
pub struct LlmWriter<B> {
    backend: B,
    name: String,
    /// Sampling overrides (temperature, top_p, max_tokens).
    profile: WriterProfile,
    sink: Option<Sink>,
}

impl<B: Llm> LlmWriter<B> {
    pub fn new(backend: B) -> LlmWriter<B> {
        LlmWriter {
            name: backend.name(),
            backend,
            profile: WriterProfile::default(),
            sink: None,
        }
    }

    /// Streams text as it arrives (`--stream` on a terminal).
    pub fn stream(mut self, sink: Option<Sink>) -> Self {
        self.sink = sink;
        self
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }
}

impl<B: Llm> Writer for LlmWriter<B> {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        bridge::block_here(self.write_inner(req))
    }

    fn write_async<'a>(
        &'a self,
        req: &'a WriteRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Written>, WriteError>> + Send + 'a>,
    > {
        Box::pin(self.write_inner(req))
    }
}

impl<B: Llm> LlmWriter<B> {
    /// The writer: ask the model, parse, hold each prompt to the guard
    /// (asking once more, then repairing), shape it for the target.
    async fn write_inner(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        validate(req)?;
        // The built-in writer's prompts for the same seeds: the negative
        // prompt and target parameters, and the last-resort repair.
        let drafts = BuiltinWriter.write(req)?;
        let idea = req.idea.trim();
        let a = analyze(idea);
        let chat = instruct::chat(&a, req);
        let sampling = self
            .profile
            .sampling(instruct::default_sampling(req.target));
        let replies = self
            .backend
            .complete_async(&chat, req.n, req.seed, &sampling, self.sink.as_ref())
            .await?;
        let mut texts = parse::spread(&replies, req.n);
        // a reply may hold several prompts, or too few came back
        for (i, t) in texts.iter_mut().enumerate() {
            if t.is_none() {
                let seed = req.seed.wrapping_add(i as u64);
                let more = self
                    .backend
                    .complete_async(&chat, 1, seed, &sampling, self.sink.as_ref())
                    .await?;
                *t = parse::spread(&more, 1).pop().flatten();
            }
        }
        let mut out = Vec::with_capacity(req.n);
        for (i, (text, draft)) in texts.into_iter().zip(drafts).enumerate() {
            let first = guard::shape(req.target, text.as_deref().unwrap_or(""), &draft);
            let bad = guard::violations(&a, req.target, &first.0, &first.1);
            let (prompt, negative, repaired) = if bad.is_empty() {
                (first.0, first.1, false)
            } else {
                // ask once more, saying what was wrong
                let seed = req.seed.wrapping_add(i as u64).wrapping_add(RETRY_SEED);
                let again = instruct::again(&chat, &a, req.target, &first.0, &bad);
                let reply = self
                    .backend
                    .complete_async(&again, 1, seed, &sampling, self.sink.as_ref())
                    .await?;
                let text = parse::spread(&reply, 1).pop().flatten().unwrap_or_default();
                let second = guard::shape(req.target, &text, &draft);
                if guard::violations(&a, req.target, &second.0, &second.1).is_empty() {
                    (second.0, second.1, false)
                } else {
                    // repair the better of the two tries
                    let base = if text.trim().is_empty() {
                        first.0
                    } else {
                        second.0
                    };
                    let p = guard::repair(&a, req.target, &base, &draft);
                    (p, draft.negative_prompt.clone(), true)
                }
            };
            out.push(Written {
                idea: idea.to_string(),
                target: req.target,
                seed: draft.seed,
                index: i,
                prompt,
                negative_prompt: negative,
                params: draft.params,
                repaired,
            });
        }
        Ok(out)
    }
}
