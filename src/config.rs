//! `mural.toml`: named painter and writer profiles, and defaults.
//!
//! Found at `MURAL_CONFIG`, else `$XDG_CONFIG_HOME/mural/mural.toml`, else
//! `~/.config/mural/mural.toml`; a missing file is an empty config.
//!
//! ```toml
//! painter = "studio"            # used when --painter is not given
//!
//! [painters.studio]
//! kind = "a1111"
//! url = "http://127.0.0.1:7860"
//! model = "sd_xl_base_1.0"
//! rate_per_minute = 30
//!
//! writer = "local"              # used when --writer is not given
//!
//! [writers.local]
//! kind = "openai"
//! url = "http://127.0.0.1:11434/v1"
//! model = "llama3.2"
//!
//! [[models]]                    # add a model to the catalog, or override one
//! id = "gpt-image-3"
//! provider = "openai"
//! kind = "image"
//! ```

use crate::cli::usage;
use anyhow::Result;
use mural_llm::WriterProfile;
use mural_paint::{Profile, KINDS};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The painter when `--painter` is not given: a profile or a kind.
    pub painter: Option<String>,
    #[serde(default)]
    pub painters: BTreeMap<String, Profile>,
    /// The writer when `--writer` is not given: builtin, openai[:MODEL],
    /// gguf:PATH or a profile name.
    pub writer: Option<String>,
    /// LLM writer profiles (`[writers.NAME]`).
    #[serde(default)]
    pub writers: BTreeMap<String, WriterProfile>,
    /// Models to add to the catalog, or fields that override its entries
    /// (`[[models]]`).
    #[serde(default)]
    pub models: Vec<mural_catalog::ModelEntry>,
    /// Painter pools (`[pools.NAME]`), resolved into `painters` at load.
    #[serde(default)]
    pub pools: BTreeMap<String, mural_paint::pool::PoolConfig>,
    /// Writer pools (`[writer_pools.NAME]`), resolved into `writers` at load.
    #[serde(default)]
    pub writer_pools: BTreeMap<String, mural_llm::pool::WriterPoolConfig>,
}

/// mural's config directory: `$XDG_CONFIG_HOME/mural` or `~/.config/mural`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("mural"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/mural"))
}

/// Loads the config; a missing default file is an empty config, a missing
/// `MURAL_CONFIG` file is an error.
pub fn load() -> Result<Config> {
    let (path, explicit) = match std::env::var_os("MURAL_CONFIG").filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => match config_dir() {
            Some(d) => (d.join("mural.toml"), false),
            None => return Ok(Config::default()),
        },
    };
    if !explicit && !path.exists() {
        return Ok(Config::default());
    }
    let what = format!("the config {}", path.display());
    let text = crate::input::read_file(&path, crate::input::MAX_TEXT_BYTES, &what)?;
    let text = String::from_utf8(text)
        .map_err(|_| usage(format!("{what} is not UTF-8 text; save it as UTF-8")))?;
    let mut cfg: Config = toml::from_str(&text).map_err(|e| {
        // toml's message is multi-line with a caret; keep its first line
        let msg = e.message().to_string();
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        usage(format!(
            "{}{at}: {msg}; see README's mural.toml section",
            path.display()
        ))
    })?;
    mural_catalog::install_overrides(cfg.models.clone()).map_err(|e| {
        usage(format!(
            "{}: {e}; fix its [[models]] tables",
            path.display()
        ))
    })?;
    for (name, p) in &cfg.painters {
        if !KINDS.contains(&p.kind.as_str()) {
            return Err(usage(format!(
                "{}: painter profile {name:?} has kind {:?}; use one of: {}",
                path.display(),
                p.kind,
                KINDS.join(", ")
            )));
        }
    }
    for (name, w) in &cfg.writers {
        if !mural_llm::profile::KINDS.contains(&w.kind.as_str()) {
            return Err(usage(format!(
                "{}: writer profile {name:?} has kind {:?}; use one of: {}",
                path.display(),
                w.kind,
                mural_llm::profile::KINDS.join(", ")
            )));
        }
    }
    crate::pool::install(&mut cfg, &path)?;
    Ok(cfg)
}

/// Resolves `--painter` (a profile name, a kind, or `kind/model`) and
/// `--model` to a label for the recipe and the profile to build.
pub fn painter_profile(
    cfg: &Config,
    spec: Option<&str>,
    model: Option<&str>,
) -> Result<(String, Profile)> {
    let spec = spec
        .map(str::to_string)
        .or_else(|| cfg.painter.clone())
        .unwrap_or_else(|| "sketch".to_string());
    let spec = spec.trim();
    let (label, mut profile) = if let Some(p) = cfg.painters.get(spec) {
        (spec.to_string(), p.clone())
    } else {
        let (kind, m) = match spec.split_once(['/', ':']) {
            Some((k, m)) => (k, Some(m)),
            None => (spec, None),
        };
        if !KINDS.contains(&kind) {
            let profiles: Vec<&str> = cfg.painters.keys().map(String::as_str).collect();
            return Err(usage(format!(
                "unknown painter {spec:?}; use a kind ({}){}",
                KINDS.join(", "),
                if profiles.is_empty() {
                    " or add a [painters.NAME] profile to mural.toml".to_string()
                } else {
                    format!(" or a profile from mural.toml ({})", profiles.join(", "))
                }
            )));
        }
        let mut p = Profile::of_kind(kind);
        p.model = m.map(str::to_string);
        (spec.to_string(), p)
    };
    if let Some(m) = model {
        profile.model = Some(m.to_string());
    }
    Ok((label, profile))
}

/// The target that suits a painter when `--target` is not given.
pub fn default_target(p: &Profile) -> &'static str {
    mural_paint::suggested_target(&p.kind, p.model.as_deref().unwrap_or(""))
}
