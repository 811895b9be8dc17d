//! `mural template` and the `--template` flag of `prompt`, `imagine` and
//! `batch`: the idea is a template in the dynamicprompts syntax, and each
//! expansion is one idea for the writer.

use crate::cli::{random_seed, usage};
use anyhow::Result;
use clap::Args;
use mural_template::{Expansion, Template, TemplateError, Wildcards};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most expansions `--template` turns into ideas.
pub const MAX_IDEAS: usize = 1000;

#[derive(Args)]
pub struct TemplateArgs {
    /// The template, e.g. "a {red|blue} {fox|owl} in __seasons__".
    pub template: String,
    /// Every combination, in order, instead of random picks.
    #[arg(long)]
    pub combinatorial: bool,
    /// With --combinatorial: the most prompts; more is an error that says how many.
    #[arg(long, default_value_t = 1000)]
    pub max: usize,
    /// Random mode: how many prompts (prompt i uses seed + i).
    #[arg(short = 'n', default_value_t = 1)]
    pub n: usize,
    /// Random mode: the seed of the first prompt. Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub wildcards: WildcardsArg,
    /// One {"prompt","negative_prompt"} object per line.
    #[arg(long)]
    pub json: bool,
}

/// `--wildcards DIR`.
#[derive(Args, Clone, Default)]
pub struct WildcardsArg {
    /// Wildcard files (NAME.txt, JSON, YAML). Default: wildcards/ in mural's config directory.
    #[arg(long, value_name = "DIR")]
    pub wildcards: Option<PathBuf>,
}

/// `--template` and `--wildcards`, for commands that take an idea.
#[derive(Args, Clone, Default)]
pub struct TemplateFlag {
    /// The idea is a template: each of its combinations is one idea (at most 1000).
    #[arg(long)]
    pub template: bool,
    #[command(flatten)]
    pub wildcards: WildcardsArg,
}

/// The wildcard directory: `--wildcards`, else `wildcards/` in the config
/// directory (missing is fine there, not when named).
pub fn load_wildcards(arg: &WildcardsArg) -> Result<Wildcards> {
    let dir = match &arg.wildcards {
        Some(d) => {
            if !d.is_dir() {
                return Err(usage(format!(
                    "--wildcards {} is not a directory; point it at your wildcard files",
                    d.display()
                )));
            }
            d.clone()
        }
        None => match crate::config::config_dir() {
            Some(c) => c.join("wildcards"),
            None => return Ok(Wildcards::new()),
        },
    };
    Wildcards::load_dir(&dir).map_err(|e| usage(e.to_string()))
}

/// A template problem is bad input: exit 2, with the message (a syntax
/// error's has a caret under the column).
pub fn template_error(e: TemplateError) -> anyhow::Error {
    usage(e.to_string())
}

/// The ideas a template makes (all combinations, at most `MAX_IDEAS`).
pub fn expand_idea(template: &str, w: &Wildcards) -> Result<Vec<Expansion>> {
    let t = Template::parse(template).map_err(template_error)?;
    let out = mural_template::expand_all(&t, w, MAX_IDEAS).map_err(template_error)?;
    if out.iter().all(|e| e.prompt.trim().is_empty()) {
        return Err(usage(format!(
            "the template {template:?} expands to nothing; give it some words"
        )));
    }
    Ok(out)
}

/// Ideas from `--template`: each idea expanded, or kept as is.
pub fn ideas(flag: &TemplateFlag, ideas: &[String]) -> Result<Vec<Expansion>> {
    if !flag.template {
        return Ok(ideas
            .iter()
            .map(|i| Expansion {
                prompt: i.clone(),
                negative_prompt: String::new(),
            })
            .collect());
    }
    let w = load_wildcards(&flag.wildcards)?;
    let mut out = Vec::new();
    for idea in ideas {
        out.extend(
            expand_idea(idea, &w)?
                .into_iter()
                .filter(|e| !e.prompt.trim().is_empty()),
        );
    }
    Ok(out)
}

pub fn template_cmd(args: TemplateArgs) -> Result<ExitCode> {
    let w = load_wildcards(&args.wildcards)?;
    let t = Template::parse(&args.template).map_err(template_error)?;
    let out = if args.combinatorial {
        mural_template::expand_all(&t, &w, args.max).map_err(template_error)?
    } else {
        if args.n == 0 || args.n > 100_000 {
            return Err(usage(format!(
                "-n must be between 1 and 100000, got {}",
                args.n
            )));
        }
        let seed = args.seed.unwrap_or_else(random_seed);
        mural_template::sample(&t, &w, args.n, seed).map_err(template_error)?
    };
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for e in &out {
        if args.json {
            serde_json::to_writer(&mut stdout, e)?;
            writeln!(stdout)?;
        } else if e.negative_prompt.is_empty() {
            writeln!(stdout, "{}", e.prompt)?;
        } else {
            writeln!(
                stdout,
                "{} {} {}",
                e.prompt,
                mural_template::parse::NEG_MARKER,
                e.negative_prompt
            )?;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
