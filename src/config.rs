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
//!
//! [defaults]                    # used when the flag is not given
//! target = "sdxl"
//! style = "watercolor"
//! size = "1024x1536"
//! n = 4
//! out = "~/Pictures/mural"
//! writer = "local"
//! painter = "studio"
//! ```
//!
//! Each default is resolved the same way everywhere: the flag, else
//! `[defaults]`, else the built-in default (`resolve_*` below).

use crate::cli::usage;
use anyhow::Result;
use mural_llm::WriterProfile;
use mural_paint::{PainterKind, Profile};
use mural_prompt::Target;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// What a command uses when its flag is not given (`[defaults]`).
    #[serde(default)]
    pub defaults: Defaults,
    /// Painter pools (`[pools.NAME]`), resolved into `painters` at load.
    #[serde(default)]
    pub pools: BTreeMap<String, mural_paint::pool::PoolConfig>,
    /// Writer pools (`[writer_pools.NAME]`), resolved into `writers` at load.
    #[serde(default)]
    pub writer_pools: BTreeMap<String, mural_llm::pool::WriterPoolConfig>,
}

/// `[defaults]`: each field stands in for its flag when the flag is not
/// given. Checked when the config loads, so a typo fails every command
/// with the file's name, not one command later.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// `--target`: a target name (`mural prompt --help` lists them).
    pub target: Option<String>,
    /// `--style`: a preset from `mural styles`.
    pub style: Option<String>,
    /// `--size` (imagine, batch): WxH.
    pub size: Option<String>,
    /// `-n`: how many prompts or images.
    pub n: Option<usize>,
    /// `--out` (imagine, batch, rerun): where images go; `~/` is the home folder.
    pub out: Option<PathBuf>,
    /// `--writer`: like the top-level `writer` key.
    pub writer: Option<String>,
    /// `--painter`: like the top-level `painter` key.
    pub painter: Option<String>,
}

/// Where images go when neither `--out` nor `[defaults] out` says.
pub const DEFAULT_OUT: &str = "mural-out";

impl Config {
    /// The painter when `--painter` is not given: `[defaults] painter`,
    /// else the top-level `painter` (they may not disagree).
    pub fn painter_spec(&self) -> Option<&str> {
        self.defaults.painter.as_deref().or(self.painter.as_deref())
    }

    /// The writer when `--writer` is not given: `[defaults] writer`, else
    /// the top-level `writer`.
    pub fn writer_spec(&self) -> Option<&str> {
        self.defaults.writer.as_deref().or(self.writer.as_deref())
    }
}

/// The target: `--target`, else `[defaults] target`, else `fallback`
/// (the command's own default, e.g. the one that suits the painter).
pub fn resolve_target(cfg: &Config, flag: Option<Target>, fallback: &str) -> Result<Target> {
    match flag {
        Some(t) => Ok(t),
        None => crate::cli::parse_target(cfg.defaults.target.as_deref().unwrap_or(fallback)),
    }
}

/// The style: `--style`, else `[defaults] style`, else none.
pub fn resolve_style(cfg: &Config, flag: Option<&str>) -> Option<String> {
    flag.or(cfg.defaults.style.as_deref()).map(str::to_string)
}

/// The count: `-n`, else `[defaults] n`, else 1.
pub fn resolve_n(cfg: &Config, flag: Option<usize>) -> usize {
    flag.or(cfg.defaults.n).unwrap_or(1)
}

/// The size (WxH): `--size`, else `[defaults] size`, else none (the
/// command picks, e.g. the aspect the writer chose).
pub fn resolve_size(cfg: &Config, flag: Option<&str>) -> Option<String> {
    flag.or(cfg.defaults.size.as_deref()).map(str::to_string)
}

/// The output folder: `--out`, else `[defaults] out`, else `mural-out`.
pub fn resolve_out(cfg: &Config, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => cfg
            .defaults
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT)),
    }
}

/// Checks `[defaults]` (and that it does not disagree with the top-level
/// `painter`/`writer`); errors name the file and the key.
fn check_defaults(cfg: &mut Config, path: &Path) -> Result<()> {
    let bad =
        |key: &str, msg: String| usage(format!("{}: [defaults] {key}: {msg}", path.display()));
    let d = &mut cfg.defaults;
    let target = match &d.target {
        Some(t) => crate::cli::parse_target(t).map_err(|e| bad("target", e.to_string()))?,
        None => Target::GptImage,
    };
    if d.style.is_some() || d.n.is_some() {
        let mut req = mural_prompt::WriteRequest::new("a check", target);
        req.style = d.style.clone();
        req.n = d.n.unwrap_or(1);
        mural_prompt::validate(&req).map_err(|e| {
            let key = if matches!(e, mural_prompt::WriteError::BadCount { .. }) {
                "n"
            } else {
                "style"
            };
            bad(key, e.to_string())
        })?;
    }
    if let Some(size) = &d.size {
        mural_paint::parse_size(size).map_err(|e| bad("size", e))?;
    }
    if let Some(out) = d.out.take() {
        let text = out.to_string_lossy().into_owned();
        if text.trim().is_empty() {
            return Err(bad(
                "out",
                "is empty; name a folder, e.g. out = \"~/Pictures/mural\"".into(),
            ));
        }
        d.out = Some(match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => out,
        });
    }
    for (key, top, def) in [
        ("painter", &cfg.painter, &cfg.defaults.painter),
        ("writer", &cfg.writer, &cfg.defaults.writer),
    ] {
        if let (Some(a), Some(b)) = (top, def) {
            if a.trim() != b.trim() {
                return Err(usage(format!(
                    "{}: {key} = {a:?} and [defaults] {key} = {b:?} disagree; keep one of them",
                    path.display()
                )));
            }
        }
    }
    Ok(())
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
    check_defaults(&mut cfg, &path)?;
    mural_catalog::install_overrides(cfg.models.clone()).map_err(|e| {
        usage(format!(
            "{}: {e}; fix its [[models]] tables",
            path.display()
        ))
    })?;
    // an unknown painter or writer kind was refused while parsing
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
    let spec = spec.or(cfg.painter_spec()).unwrap_or("sketch").to_string();
    let spec = spec.trim();
    let (label, mut profile) = if let Some(p) = cfg.painters.get(spec) {
        (spec.to_string(), p.clone())
    } else {
        let (kind, m) = match spec.split_once(['/', ':']) {
            Some((k, m)) => (k, Some(m)),
            None => (spec, None),
        };
        let Ok(kind) = kind.parse::<PainterKind>() else {
            let profiles: Vec<&str> = cfg.painters.keys().map(String::as_str).collect();
            let kinds = PainterKind::ALL.map(PainterKind::as_str);
            let hint = mural_prompt::nearest(kind, kinds.iter().copied().chain(profiles.clone()))
                .map(|n| match m {
                    Some(m) if kinds.contains(&n) => format!("did you mean {n}/{m}? "),
                    _ => format!("did you mean {n}? "),
                })
                .unwrap_or_default();
            return Err(usage(format!(
                "unknown painter {spec:?}; {hint}use a kind ({}){}",
                PainterKind::names(),
                if profiles.is_empty() {
                    " or add a [painters.NAME] profile to mural.toml".to_string()
                } else {
                    format!(" or a profile from mural.toml ({})", profiles.join(", "))
                }
            )));
        };
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
    p.kind
        .suggested_target(p.model.as_deref().unwrap_or(""))
        .name()
}
