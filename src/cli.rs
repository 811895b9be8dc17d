//! Argument parsing and the commands.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use mural_prompt::{lint, Target, WriteRequest, Written};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Bad input: exit code 2. The message names the problem and the fix.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

#[derive(Parser)]
#[command(
    name = "mural",
    version,
    about = "Turns a few words into a finished picture prompt.",
    after_help = "Examples:\n  mural prompt \"a beach sunset\"\n  mural prompt \"a red fox in the snow\" --target sd -n 4\n  mural vary \"portrait of an old sailor, oil painting\" -n 3\n  mural lint \"(cat:1.2), night, midday sun\" --target sd\n  mural prompt \"a beach sunset\" --writer openai"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a vivid, detailed prompt (and variations) from an idea.
    Prompt(WriteArgs),
    /// Vary your own detailed prompt: new light, palette, framing, medium and mood.
    Vary(WriteArgs),
    /// Check a prompt: CLIP tokens, chunk breaks, budgets, contradictions, parameters.
    Lint(LintArgs),
    /// List the style presets for --style.
    Styles {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Write, vary, paint, save and record: idea in, images out.
    Imagine(crate::paint::ImagineArgs),
    /// Paint a file of ideas (text or JSONL), journaled so --resume survives a crash.
    Batch(crate::paint::BatchArgs),
    /// Paint a gallery run again with exactly the same recipe.
    Rerun {
        /// The run id (see `mural gallery list`).
        id: i64,
        /// Where images go.
        #[arg(long, default_value = "mural-out")]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Read an image's metadata (mural, AUTOMATIC1111, ComfyUI, InvokeAI).
    Info {
        file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run the local web studio and the OpenAI-compatible API.
    Serve(crate::serve::ServeArgs),
    /// Expand a prompt template (dynamicprompts syntax): random picks, or every combination.
    Template(crate::template::TemplateArgs),
    /// Browse, export and prune the gallery of runs.
    #[command(subcommand)]
    Gallery(crate::paint::GalleryCommand),
    /// The models mural knows, with each one's lifecycle; --refresh asks the provider too.
    Models(crate::models::ModelsArgs),
    /// Painter pools from mural.toml: `pool status NAME` probes each member.
    #[command(subcommand)]
    Pool(crate::pool::PoolCommand),
}

#[derive(Args)]
struct WriteArgs {
    /// The idea (or, for `vary`, your prompt).
    idea: Option<String>,
    /// Read one idea per line from a file; `-` reads stdin.
    #[arg(long, value_name = "PATH|-")]
    file: Option<String>,
    /// Target generator: gpt-image (default), flux, sd, sdxl, midjourney (V7), midjourney-v8, gemini, runway; dalle and dalle2 are the retired DALL-E models' styles.
    #[arg(long, short = 't', default_value = "gpt-image")]
    target: String,
    /// How many prompts: the first is the main one, the rest are variations.
    #[arg(short = 'n', default_value_t = 1)]
    n: usize,
    /// Seed of the first prompt (prompt i uses seed + i). Random if not given.
    #[arg(long)]
    seed: Option<u64>,
    /// A style preset (see `mural styles`).
    #[arg(long)]
    style: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    template: crate::template::TemplateFlag,
    #[command(flatten)]
    writer: crate::writer::WriterFlag,
}

#[derive(Args)]
struct LintArgs {
    /// The prompt to check.
    prompt: String,
    /// Target generator: gpt-image (default), flux, sd, sdxl, midjourney (V7), midjourney-v8, gemini, runway; dalle and dalle2 are the retired DALL-E models' styles.
    #[arg(long, short = 't', default_value = "sd")]
    target: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run() -> Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = e.print();
                return Ok(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        ExitCode::from(2)
                    } else {
                        ExitCode::SUCCESS
                    },
                );
            }
            // One line: clap's first line, plus where to look.
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            return Err(usage(format!("{first} (see mural --help)")));
        }
    };
    match cli.command {
        Command::Prompt(args) => write_cmd(args, false),
        Command::Vary(args) => write_cmd(args, true),
        Command::Lint(args) => lint_cmd(args),
        Command::Styles { json } => styles_cmd(json),
        Command::Imagine(args) => crate::paint::imagine_cmd(args),
        Command::Batch(args) => crate::paint::batch_cmd(args),
        Command::Rerun { id, out, json } => crate::paint::rerun_cmd(id, &out, json),
        Command::Info { file, json } => crate::paint::info_cmd(&file, json),
        Command::Gallery(cmd) => crate::paint::gallery_cmd(cmd),
        Command::Template(args) => crate::template::template_cmd(args),
        Command::Serve(args) => crate::serve::serve_cmd(args),
        Command::Models(args) => crate::models::models_cmd(args),
        Command::Pool(cmd) => crate::pool::pool_cmd(cmd),
    }
}

pub fn parse_target(name: &str) -> Result<Target> {
    Target::parse(name).ok_or_else(|| {
        usage(format!(
            "unknown target {name:?}; use one of: {}",
            Target::names()
        ))
    })
}

pub use mural_pipeline::random_seed;

fn read_ideas(path: &str) -> Result<Vec<String>> {
    let what = format!("--file {path:?}");
    let text = if path == "-" {
        crate::input::read_stdin("the ideas on stdin")?
    } else {
        crate::input::read_file(
            std::path::Path::new(path),
            crate::input::MAX_TEXT_BYTES,
            &what,
        )?
    };
    let text = String::from_utf8(text).map_err(|_| {
        usage(if path == "-" {
            "the ideas on stdin are not UTF-8 text; send UTF-8".to_string()
        } else {
            format!("{what} is not UTF-8 text; save it as UTF-8")
        })
    })?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let ideas: Vec<String> = lines
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if ideas.is_empty() {
        return Err(usage(format!(
            "--file {path:?} has no ideas; put one idea per line"
        )));
    }
    Ok(ideas)
}

fn write_cmd(args: WriteArgs, vary: bool) -> Result<ExitCode> {
    let target = parse_target(&args.target)?;
    let ideas = match (&args.idea, &args.file) {
        (Some(_), Some(_)) => return Err(usage("give an idea or --file, not both")),
        (Some(idea), None) => vec![idea.clone()],
        (None, Some(path)) => read_ideas(path)?,
        (None, None) => {
            let what = if vary { "a prompt to vary" } else { "an idea" };
            return Err(usage(format!(
                "give {what}, e.g. mural {} \"a beach sunset\", or --file PATH",
                if vary { "vary" } else { "prompt" }
            )));
        }
    };
    let ideas = crate::template::ideas(&args.template, &ideas)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let cfg = crate::config::load()?;
    let writer = crate::writer::build(&args.writer, &cfg)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Validate every idea before printing anything.
    let mut all: Vec<Vec<Written>> = Vec::new();
    for idea in &ideas {
        let req = WriteRequest {
            idea: idea.prompt.clone(),
            target,
            n: args.n,
            seed,
            style: args.style.clone(),
            vary,
        };
        let mut written = crate::writer::write(writer.as_ref(), &req)?;
        for w in &mut written {
            w.negative_prompt =
                crate::template::with_negative(&w.negative_prompt, &idea.negative_prompt);
        }
        all.push(written);
    }
    for written in all {
        for w in written {
            if args.json {
                serde_json::to_writer(&mut out, &w)?;
                writeln!(out)?;
            } else {
                print_human(&mut out, &w, args.n, args.seed.is_none(), vary)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn print_human(
    out: &mut impl Write,
    w: &Written,
    n: usize,
    random: bool,
    vary: bool,
) -> Result<()> {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (dim, bold, reset) = if color {
        ("\x1b[2m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let label = if n > 1 {
        if w.index == 0 && !vary {
            format!("#{} (main)", w.index + 1)
        } else {
            format!("#{} (variation)", w.index + 1)
        }
    } else {
        String::new()
    };
    let hint = if random && w.index == 0 {
        " (random; repeat with --seed)"
    } else {
        ""
    };
    writeln!(
        out,
        "{dim}{label}{}seed {}{hint} · {}{reset}",
        if label.is_empty() { "" } else { " · " },
        w.seed,
        w.target
    )?;
    // an LLM writer's text is foreign: shown, never sent raw to the terminal
    let show = |s: &str| crate::input::printable(s, true).into_owned();
    writeln!(out, "{bold}{}{reset}", show(&w.prompt))?;
    if !w.negative_prompt.is_empty() {
        writeln!(
            out,
            "{dim}Negative prompt:{reset} {}",
            show(&w.negative_prompt)
        )?;
    }
    if !w.params.is_empty() {
        let params: Vec<String> = w
            .params
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                v => format!("{k}={v}"),
            })
            .collect();
        writeln!(out, "{dim}{}{reset}", params.join("  "))?;
    }
    writeln!(out)?;
    Ok(())
}

fn lint_cmd(args: LintArgs) -> Result<ExitCode> {
    let target = parse_target(&args.target)?;
    if args.prompt.trim().is_empty() {
        return Err(usage("the prompt is empty; pass the prompt text to check"));
    }
    let report = lint(&args.prompt, target);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        let budget = target
            .max_clip_tokens()
            .map(|m| format!(" / {m}"))
            .unwrap_or_default();
        writeln!(
            out,
            "target {target}: {} CLIP tokens{budget}, {} characters",
            report.clip_tokens, report.chars
        )?;
        for c in &report.chunks {
            writeln!(
                out,
                "  chunk {} starts at token {}: \"{}…\"",
                c.chunk, c.token, c.starts_at
            )?;
        }
        if report.is_clean() {
            writeln!(out, "ok: no problems found")?;
        }
        for w in &report.warnings {
            writeln!(out, "warning[{}]: {}", w.code, w.message)?;
        }
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn styles_cmd(json: bool) -> Result<ExitCode> {
    let k = mural_knowledge::knowledge();
    let mut out = std::io::stdout().lock();
    for s in &k.styles {
        if json {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "name": s.id, "description": s.description, "medium": s.medium,
                    "tags": s.tags, "negative": s.negative,
                }),
            )
            .context("writing styles")?;
            writeln!(out)?;
        } else {
            writeln!(out, "{:<16} {}", s.id, s.description)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
