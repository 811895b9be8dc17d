//! `--writer builtin | openai[:MODEL] | gguf:PATH | NAME` and the
//! `[writers.NAME]` profiles of `mural.toml`.
//!
//! ```toml
//! [writers.local]
//! kind = "openai"
//! url = "http://127.0.0.1:11434/v1"   # Ollama
//! model = "llama3.2"
//!
//! [writers.gemma]
//! kind = "gguf"
//! path = "/models/gemma-3-270m.gguf"
//! threads = 2
//! ```

use crate::{LlmWriter, Sampling};
use mural_prompt::{BuiltinWriter, VerbatimWriter, WriteError, Writer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Hears streamed text: (completion index, piece).
pub type Sink = Arc<dyn Fn(usize, &str) + Send + Sync>;

/// The kinds a `[writers.NAME]` profile may have.
pub const KINDS: &[&str] = &["openai", "gguf"];

impl crate::pool::WriterPoolConfig {
    /// The profile `--writer NAME` resolves to for this pool: its members
    /// (each an `openai` profile) resolved against `writers`.
    pub fn resolve(
        &self,
        name: &str,
        writers: &BTreeMap<String, WriterProfile>,
    ) -> Result<WriterProfile, String> {
        if self.members.is_empty() {
            return Err(format!(
                "writer pool {name:?} has no members; add members = [\"llm1\", ...] naming [writers.NAME] profiles"
            ));
        }
        let mut members = Vec::new();
        for m in &self.members {
            let p = writers.get(m).ok_or_else(|| {
                format!("writer pool {name:?} names {m:?}, which is not a [writers.NAME] profile")
            })?;
            if p.kind != "openai" || p.pool.is_some() {
                return Err(format!(
                    "writer pool {name:?} names {m:?}, of kind {:?}; members must be kind \"openai\" profiles",
                    p.kind
                ));
            }
            members.push((m.clone(), p.clone()));
        }
        let backoff = std::time::Duration::from_millis(self.backoff_ms.unwrap_or(5000).max(1));
        Ok(WriterProfile {
            kind: "pool".into(),
            pool: Some((members, backoff)),
            ..WriterProfile::default()
        })
    }
}

/// One `[writers.NAME]` profile. Every field but `kind` is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WriterProfile {
    /// "openai" (any OpenAI-compatible chat endpoint) or "gguf".
    pub kind: String,
    /// Base URL, e.g. `http://127.0.0.1:11434/v1`; default
    /// `OPENAI_BASE_URL`, else OpenAI's.
    pub url: Option<String>,
    /// The model name (openai kind).
    pub model: Option<String>,
    /// The GGUF file (gguf kind).
    pub path: Option<PathBuf>,
    pub api_key: Option<String>,
    /// Where to read the key from (default `OPENAI_API_KEY`).
    pub api_key_env: Option<String>,
    /// "max_tokens" or "max_completion_tokens"; default: the latter for
    /// api.openai.com, the former elsewhere (Ollama ignores the new name).
    pub token_param: Option<String>,
    /// Whether the server honors `n` > 1 (llama.cpp's server refuses it).
    /// Unset: try it, and fall back to single requests when refused.
    pub n: Option<bool>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub max_tokens: Option<u32>,
    pub timeout_s: Option<f64>,
    pub max_retries: Option<u32>,
    /// gguf: CPU threads (default: all cores).
    pub threads: Option<u32>,
    /// gguf: context length in tokens (default 2048).
    pub context: Option<u32>,
    /// gguf: use the model's chat template (default: for instruct models).
    pub chat: Option<bool>,
    /// Set for a `[writer_pools.NAME]`: its members' profiles (name,
    /// profile) and backoff; never read from a `[writers.NAME]` table.
    #[serde(skip)]
    pub pool: Option<(Vec<(String, WriterProfile)>, std::time::Duration)>,
}

impl WriterProfile {
    pub fn of_kind(kind: &str) -> WriterProfile {
        WriterProfile {
            kind: kind.to_string(),
            ..WriterProfile::default()
        }
    }

    /// Sampling overrides, if the profile sets any.
    pub fn sampling(&self, base: Sampling) -> Sampling {
        Sampling {
            temperature: self.temperature.unwrap_or(base.temperature),
            top_p: self.top_p.unwrap_or(base.top_p),
            max_tokens: self.max_tokens.unwrap_or(base.max_tokens),
        }
    }
}

fn config(message: String) -> WriteError {
    WriteError::Config { message }
}

/// Resolves a `--writer` spec to a writer. `profiles` are mural.toml's
/// `[writers.NAME]`; `env` reads the environment; `sink` streams text.
/// What `--writer` names.
enum Resolved {
    Builtin,
    Verbatim,
    Profile(Box<WriterProfile>),
}

fn resolve(spec: &str, profiles: &BTreeMap<String, WriterProfile>) -> Result<Resolved, WriteError> {
    if let Some(p) = profiles.get(spec) {
        return Ok(Resolved::Profile(Box::new(p.clone())));
    }
    Ok(match spec.split_once(':') {
        None if spec == "builtin" => Resolved::Builtin,
        None if spec == "verbatim" => Resolved::Verbatim,
        None if spec == "openai" => Resolved::Profile(Box::new(WriterProfile::of_kind("openai"))),
        Some(("openai", m)) if !m.trim().is_empty() => Resolved::Profile(Box::new(WriterProfile {
            model: Some(m.trim().to_string()),
            ..WriterProfile::of_kind("openai")
        })),
        Some(("gguf", path)) if !path.trim().is_empty() => {
            Resolved::Profile(Box::new(WriterProfile {
                path: Some(PathBuf::from(path.trim())),
                ..WriterProfile::of_kind("gguf")
            }))
        }
        _ => {
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            return Err(config(format!(
                "unknown writer {spec:?}; use builtin, openai[:MODEL], gguf:PATH{}",
                if names.is_empty() {
                    ", or add a [writers.NAME] profile to mural.toml".to_string()
                } else {
                    format!(", or a profile from mural.toml ({})", names.join(", "))
                }
            )));
        }
    })
}

/// Builds the writer `--writer` names: builtin, verbatim, openai[:MODEL],
/// gguf:PATH, or a `[writers.NAME]` profile.
pub fn build(
    spec: &str,
    profiles: &BTreeMap<String, WriterProfile>,
    env: &dyn Fn(&str) -> Option<String>,
    sink: Option<Sink>,
) -> Result<Box<dyn Writer>, WriteError> {
    let spec = spec.trim();
    match resolve(spec, profiles)? {
        Resolved::Builtin => Ok(Box::new(BuiltinWriter)),
        Resolved::Verbatim => Ok(Box::new(VerbatimWriter)),
        Resolved::Profile(p) => build_profile(spec, &p, env, sink),
    }
}

/// How to switch a writer's model, for lifecycle messages.
pub const SWITCH_HINT: &str = "--writer openai:{}, or model = \"{}\" in the writer profile";

/// What the model catalog says of the writer's model today: a warning for
/// a deprecated model, an error for a shut-down one (before any request).
pub fn lifecycle(
    spec: &str,
    profiles: &BTreeMap<String, WriterProfile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, WriteError> {
    match resolve(spec.trim(), profiles)? {
        Resolved::Profile(p) if p.pool.is_some() => {
            let mut warnings: Vec<String> = Vec::new();
            for (_, m) in p.pool.iter().flat_map(|(m, _)| m) {
                if let Some(w) = crate::openai::judge(&crate::openai::model_of(m), env)? {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
            }
            Ok((!warnings.is_empty()).then(|| warnings.join("\n")))
        }
        Resolved::Profile(p) if p.kind == "openai" => {
            crate::openai::judge(&crate::openai::model_of(&p), env)
        }
        _ => Ok(None),
    }
}

/// `~/models/x.gguf` -> `$HOME/models/x.gguf`, for `gguf:~/...` (no shell
/// expands `~` there) and profile paths alike.
fn expand_home(path: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn build_profile(
    label: &str,
    p: &WriterProfile,
    env: &dyn Fn(&str) -> Option<String>,
    sink: Option<Sink>,
) -> Result<Box<dyn Writer>, WriteError> {
    if let Some((members, backoff)) = &p.pool {
        let mut backends: Vec<(String, Box<dyn crate::Llm>)> = Vec::new();
        for (name, m) in members {
            let backend = crate::openai::OpenAiChat::new(m, env).map_err(|e| match e {
                WriteError::Config { message } => {
                    config(format!("writer pool {label:?}, member {name:?}: {message}"))
                }
                e => e,
            })?;
            backends.push((name.clone(), Box::new(backend)));
        }
        let pool = crate::pool::LlmPool::new(label, backends, *backoff);
        return Ok(Box::new(LlmWriter::new(pool).sampling_from(p).stream(sink)));
    }
    match p.kind.as_str() {
        "openai" => {
            let backend = crate::openai::OpenAiChat::new(p, env)?;
            Ok(Box::new(
                LlmWriter::new(backend).sampling_from(p).stream(sink),
            ))
        }
        "gguf" => {
            let path = p.path.clone().ok_or_else(|| {
                config(format!(
                    "writer profile {label:?} has kind \"gguf\" but no path; add path = \"/models/model.gguf\""
                ))
            })?;
            let path = match path.to_str() {
                Some(p) => expand_home(p, env),
                None => path,
            };
            crate::gguf_meta::inspect(&path)?;
            #[cfg(feature = "llama")]
            {
                let backend = crate::gguf::Gguf::load(&path, p)?;
                Ok(Box::new(
                    LlmWriter::new(backend).sampling_from(p).stream(sink),
                ))
            }
            #[cfg(not(feature = "llama"))]
            {
                let _ = sink;
                Err(config(format!(
                    "this mural was built without the in-process GGUF writer; rebuild with `cargo build --release --features llama` (needs cmake and clang) to use {}",
                    path.display()
                )))
            }
        }
        other => Err(config(format!(
            "writer profile {label:?} has kind {other:?}; use one of: {}",
            KINDS.join(", ")
        ))),
    }
}

impl<B: crate::Llm> LlmWriter<B> {
    /// The profile's sampling overrides, applied on top of each target's
    /// defaults.
    pub fn sampling_from(mut self, p: &WriterProfile) -> Self {
        self.profile = p.clone();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tilde_after_gguf_means_home() {
        let env = |k: &str| (k == "HOME").then(|| "/home/ada".to_string());
        assert_eq!(
            expand_home("~/m/x.gguf", &env),
            PathBuf::from("/home/ada/m/x.gguf")
        );
        assert_eq!(expand_home("/m/x.gguf", &env), PathBuf::from("/m/x.gguf"));
        let e = match build("gguf:~/no-such-model.gguf", &BTreeMap::new(), &env, None) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("built a writer from a missing file"),
        };
        assert!(e.contains("/home/ada/no-such-model.gguf"), "{e}");
    }
}
