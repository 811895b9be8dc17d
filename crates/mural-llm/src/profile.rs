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
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// Hears streamed text: (completion index, piece).
pub type Sink = Arc<dyn Fn(usize, &str) + Send + Sync>;

/// The kind of a `[writers.NAME]` profile. Its name (`as_str`, `Display`,
/// serde) is lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum WriterKind {
    /// Any OpenAI-compatible `/chat/completions` endpoint.
    #[default]
    Openai,
    /// A GGUF model run in process (feature `llama`).
    Gguf,
}

impl WriterKind {
    pub const ALL: [WriterKind; 2] = [WriterKind::Openai, WriterKind::Gguf];

    /// The kind's name ("openai").
    pub fn as_str(self) -> &'static str {
        match self {
            WriterKind::Openai => "openai",
            WriterKind::Gguf => "gguf",
        }
    }

    /// Every kind's name, comma-separated, for messages.
    pub fn names() -> String {
        WriterKind::ALL.map(WriterKind::as_str).join(", ")
    }
}

impl fmt::Display for WriterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no writer kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown writer kind {name:?}; use one of: {}", WriterKind::names())]
pub struct UnknownWriterKind {
    pub name: String,
}

impl FromStr for WriterKind {
    type Err = UnknownWriterKind;

    /// A kind's exact name ("openai").
    fn from_str(s: &str) -> Result<WriterKind, UnknownWriterKind> {
        WriterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownWriterKind {
                name: s.to_string(),
            })
    }
}

impl Serialize for WriterKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WriterKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WriterKind, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// `kind = "..."` in a `[writers.NAME]` profile: an unknown kind says that
/// the profile has it, and lists the kinds.
fn profile_kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<WriterKind, D::Error> {
    let name = std::borrow::Cow::<str>::deserialize(d)?;
    name.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "a writer profile has kind {name:?}; use one of: {}",
            WriterKind::names()
        ))
    })
}

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
            if p.kind != WriterKind::Openai || p.pool.is_some() {
                return Err(format!(
                    "writer pool {name:?} names {m:?}, of kind {:?}; members must be kind \"openai\" profiles",
                    p.kind
                ));
            }
            members.push((m.clone(), p.clone()));
        }
        let backoff = std::time::Duration::from_millis(self.backoff_ms.unwrap_or(5000).max(1));
        Ok(WriterProfile {
            // every member is an OpenAI-compatible endpoint
            kind: WriterKind::Openai,
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
    #[serde(deserialize_with = "profile_kind")]
    pub kind: WriterKind,
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
    pub fn of_kind(kind: WriterKind) -> WriterProfile {
        WriterProfile {
            kind,
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
        None if spec == "openai" => {
            Resolved::Profile(Box::new(WriterProfile::of_kind(WriterKind::Openai)))
        }
        Some(("openai", m)) if !m.trim().is_empty() => Resolved::Profile(Box::new(WriterProfile {
            model: Some(m.trim().to_string()),
            ..WriterProfile::of_kind(WriterKind::Openai)
        })),
        Some(("gguf", path)) if !path.trim().is_empty() => {
            Resolved::Profile(Box::new(WriterProfile {
                path: Some(PathBuf::from(path.trim())),
                ..WriterProfile::of_kind(WriterKind::Gguf)
            }))
        }
        _ => {
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            // "opnai:gpt-5" misspells the kind; "loacl" a profile
            let kind = spec.split_once(':').map_or(spec, |(k, _)| k);
            let builtins = ["builtin", "verbatim", "openai", "gguf"];
            let hint = mural_prompt::nearest(kind, builtins.into_iter().chain(names.clone()))
                .map(|n| match spec.split_once(':') {
                    Some((_, rest)) if builtins.contains(&n) => {
                        format!("did you mean {n}:{rest}? ")
                    }
                    _ => format!("did you mean {n}? "),
                })
                .unwrap_or_default();
            return Err(config(format!(
                "unknown writer {spec:?}; {hint}use builtin, openai[:MODEL], gguf:PATH{}",
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
        Resolved::Profile(p) if p.kind == WriterKind::Openai => {
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
    match p.kind {
        WriterKind::Openai => {
            let backend = crate::openai::OpenAiChat::new(p, env)?;
            Ok(Box::new(
                LlmWriter::new(backend).sampling_from(p).stream(sink),
            ))
        }
        WriterKind::Gguf => {
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
    fn writer_kinds_keep_their_names_through_parse_display_and_serde() {
        assert_eq!(WriterKind::ALL.map(WriterKind::as_str), ["openai", "gguf"]);
        for k in WriterKind::ALL {
            assert_eq!(k.as_str().parse::<WriterKind>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<WriterKind>(&json).unwrap(), k);
        }
        let p: WriterProfile =
            serde_json::from_str(r#"{"kind": "gguf", "path": "m.gguf"}"#).unwrap();
        assert_eq!(p.kind, WriterKind::Gguf);
    }

    #[test]
    fn an_unknown_writer_kind_lists_the_kinds() {
        let e = "claude".parse::<WriterKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown writer kind \"claude\"; use one of: openai, gguf"
        );
        assert!("OpenAI".parse::<WriterKind>().is_err());
        let e = serde_json::from_str::<WriterProfile>(r#"{"kind": "claude"}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a writer profile has kind \"claude\"; use one of: openai, gguf"),
            "{e}"
        );
    }

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

    #[test]
    fn an_unknown_writer_suggests_the_nearest_name() {
        let env = |_: &str| None;
        let msg = |spec: &str| match build(spec, &BTreeMap::new(), &env, None) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("built writer {spec:?}"),
        };
        assert!(
            msg("opnai").contains("did you mean openai?"),
            "{}",
            msg("opnai")
        );
        let e = msg("opnai:gpt-5");
        assert!(e.contains("did you mean openai:gpt-5?"), "{e}");
        let e = msg("banana");
        assert!(
            !e.contains("did you mean") && e.contains("use builtin"),
            "{e}"
        );
    }
}
