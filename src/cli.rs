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
        /// Where images go. Default: mural.toml's [defaults] out, else mural-out.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// One JSON object per image.
        #[arg(long)]
        json: bool,
    },
    /// Read an image's metadata (mural, AUTOMATIC1111, ComfyUI, InvokeAI).
    Info {
        /// The image file (PNG, JPEG or WebP).
        file: std::path::PathBuf,
        /// Print the metadata as JSON.
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
    /// Print a shell completion script, e.g. `mural completions bash > ~/.local/share/bash-completion/completions/mural`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print mural's man page (roff), or write one page per command with --out.
    Man {
        /// Write mural.1, mural-prompt.1, ... into this folder instead.
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// Painter pools from mural.toml: `pool status NAME` probes each member.
    #[command(subcommand)]
    Pool(crate::pool::PoolCommand),
}

#[derive(Args)]
struct WriteArgs {
    /// The idea (or, for `vary`, your prompt). Runs of whitespace outside "quoted text" become one space.
    #[arg(required_unless_present = "file")]
    idea: Option<String>,
    /// Read one idea per line from a file; `-` reads stdin.
    #[arg(long, value_name = "PATH|-")]
    file: Option<String>,
    /// Target generator: gpt-image (default), flux, sd, sdxl, midjourney (V7), midjourney-v8, gemini, runway; dalle and dalle2 are the retired DALL-E models' styles. Default: mural.toml's [defaults] target, else gpt-image.
    #[arg(long, short = 't')]
    target: Option<Target>,
    /// How many prompts: the first is the main one, the rest are variations. Default: mural.toml's [defaults] n, else 1.
    #[arg(short = 'n')]
    n: Option<usize>,
    /// Seed of the first prompt (prompt i uses seed + i). Random if not given.
    #[arg(long)]
    seed: Option<u64>,
    /// A style preset (see `mural styles`). Default: mural.toml's [defaults] style.
    #[arg(long)]
    style: Option<String>,
    /// Terms to keep out of the picture, added to the written negative prompt ("blur, text").
    #[arg(long, value_name = "TEXT")]
    negative: Option<String>,
    /// One JSON object per line.
    #[arg(long, conflicts_with = "plain")]
    json: bool,
    /// Only the prompt text, one per line: no seed, negative prompt or parameters.
    #[arg(long)]
    plain: bool,
    #[command(flatten)]
    template: crate::template::TemplateFlag,
    #[command(flatten)]
    writer: crate::writer::WriterFlag,
}

#[derive(Args)]
struct LintArgs {
    /// The prompt to check; `-` reads it from stdin.
    prompt: String,
    /// Target generator: gpt-image, flux, sd, sdxl, midjourney (V7), midjourney-v8, gemini, runway; dalle and dalle2 are the retired DALL-E models' styles. Default: mural.toml's [defaults] target, else sd.
    #[arg(long, short = 't')]
    target: Option<Target>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run() -> Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return arg_error(e),
    };
    match cli.command {
        Command::Prompt(args) => write_cmd(args, false),
        Command::Vary(args) => write_cmd(args, true),
        Command::Lint(args) => lint_cmd(args),
        Command::Styles { json } => styles_cmd(json),
        Command::Imagine(args) => crate::paint::imagine_cmd(args),
        Command::Batch(args) => crate::paint::batch_cmd(args),
        Command::Rerun { id, out, json } => {
            let out = crate::config::resolve_out(&crate::config::load()?, out.as_deref());
            crate::paint::rerun_cmd(id, &out, json)
        }
        Command::Info { file, json } => crate::paint::info_cmd(&file, json),
        Command::Gallery(cmd) => crate::paint::gallery_cmd(cmd),
        Command::Template(args) => crate::template::template_cmd(args),
        Command::Serve(args) => crate::serve::serve_cmd(args),
        Command::Models(args) => crate::models::models_cmd(args),
        Command::Completions { shell } => completions_cmd(shell),
        Command::Man { out } => man_cmd(out.as_deref()),
        Command::Pool(cmd) => crate::pool::pool_cmd(cmd),
    }
}

/// A clap error as mural's one line (exit 2): what is wrong, clap's "did
/// you mean", and where to look. Help and version print as they are.
fn arg_error(e: clap::Error) -> Result<ExitCode> {
    use clap::error::{ContextKind, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return Ok(ExitCode::SUCCESS);
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return Ok(ExitCode::from(2));
        }
        _ => {}
    }
    let command = error_command(&e);
    if e.kind() == ErrorKind::MissingRequiredArgument {
        let missing: Vec<String> = context_strings(&e, ContextKind::InvalidArg)
            .iter()
            .map(|a| arg_name(a))
            .collect();
        if let Some(first) = missing.first() {
            return Err(usage(format!(
                "missing {}; {} (see {command} --help)",
                missing.join(" and "),
                missing_fix(&command, first)
            )));
        }
    }
    let text = e.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    let mut hints: Vec<String> = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .flat_map(|k| context_strings(&e, k))
    .collect();
    hints.dedup();
    let hint = if hints.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", hints.join(" or "))
    };
    let valid = context_strings(&e, ContextKind::ValidValue);
    let valid = if valid.is_empty() || !hints.is_empty() {
        String::new()
    } else {
        format!("; use one of: {}", valid.join(", "))
    };
    Err(usage(format!("{first}{hint}{valid} (see mural --help)")))
}

/// The strings an error carries for `kind` (suggestions, argument names).
fn context_strings(e: &clap::Error, kind: clap::error::ContextKind) -> Vec<String> {
    use clap::error::ContextValue;
    match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        Some(ContextValue::StyledStrs(v)) => v.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The command an error is about ("mural prompt"), from its usage line.
fn error_command(e: &clap::Error) -> String {
    let usage_line = context_strings(e, clap::error::ContextKind::Usage)
        .into_iter()
        .next()
        .unwrap_or_default();
    let words: Vec<&str> = usage_line
        .split_whitespace()
        .skip_while(|w| *w != "mural")
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    if words.is_empty() {
        "mural".to_string()
    } else {
        words.join(" ")
    }
}

/// "<IDEA>" or "--file <PATH>" -> "IDEA" or "--file".
fn arg_name(arg: &str) -> String {
    if arg.starts_with('-') {
        arg.split_whitespace().next().unwrap_or(arg).to_string()
    } else {
        arg.trim_matches(['<', '>', '[', ']', '.']).to_string()
    }
}

/// How to give a missing argument, with an example.
fn missing_fix(command: &str, arg: &str) -> String {
    let alternative = match command {
        "mural prompt" | "mural vary" => ", or --file PATH",
        "mural imagine" => ", or --resume RUN",
        _ => "",
    };
    match arg {
        "IDEA" => format!("give an idea in quotes, e.g. {command} \"a beach sunset\"{alternative}"),
        "PROMPT" => format!(
            "give the prompt in quotes, e.g. {command} \"a cat, night\", or - to read stdin"
        ),
        "TEMPLATE" => format!("give the template in quotes, e.g. {command} \"a {{red|blue}} fox\""),
        "FILE" if command == "mural info" => {
            format!("give the image's path, e.g. {command} image.png")
        }
        "FILE" => format!("give the file's path, e.g. {command} ideas.txt"),
        "ID" => format!("give the run id, e.g. {command} 3 (see mural gallery list)"),
        "SHELL" => format!("name the shell, e.g. {command} bash"),
        other => format!("give {other}"),
    }
}

/// `mural completions SHELL`.
fn completions_cmd(shell: clap_complete::Shell) -> Result<ExitCode> {
    use clap::CommandFactory;
    // generated in memory: clap_complete panics on a failed write, and
    // a closed pipe must end quietly instead
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mural", &mut buf);
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `mural man [--out DIR]`.
fn man_cmd(dir: Option<&std::path::Path>) -> Result<ExitCode> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            usage(format!(
                "cannot create --out {}: {e}; pick a folder you can write",
                dir.display()
            ))
        })?;
        clap_mangen::generate_to(cmd, dir).map_err(|e| {
            usage(format!(
                "cannot write man pages into {}: {e}; pick a folder you can write",
                dir.display()
            ))
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The target: `--target`/`-t`, with a "did you mean" for a misspelling.
pub fn parse_target(name: &str) -> Result<Target> {
    name.parse::<Target>().map_err(|e| usage(e.to_string()))
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
        .iter()
        .map(|l| crate::input::idea_text(l))
        .filter(|l| !l.is_empty())
        .collect();
    if ideas.is_empty() {
        return Err(usage(format!(
            "--file {path:?} has no ideas; put one idea per line"
        )));
    }
    Ok(ideas)
}

/// The most characters `--negative` takes (as many as an idea).
const MAX_NEGATIVE_CHARS: usize = 4000;

fn write_cmd(args: WriteArgs, vary: bool) -> Result<ExitCode> {
    let cfg = crate::config::load()?;
    let target = crate::config::resolve_target(&cfg, args.target, "gpt-image")?;
    let ideas = match (&args.idea, &args.file) {
        (Some(_), Some(_)) => return Err(usage("give an idea or --file, not both")),
        (Some(idea), None) => vec![crate::input::idea_text(idea)],
        (None, Some(path)) => read_ideas(path)?,
        // clap names a missing idea; this is only a guard
        (None, None) => {
            return Err(usage(
                "missing IDEA; give an idea in quotes, or --file PATH",
            ))
        }
    };
    let negative = args.negative.as_deref().unwrap_or("");
    if negative.chars().count() > MAX_NEGATIVE_CHARS {
        return Err(usage(format!(
            "--negative is {} characters, over the {MAX_NEGATIVE_CHARS}-character limit; shorten it",
            negative.chars().count()
        )));
    }
    let ideas = crate::template::ideas(&args.template, &ideas)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let n = crate::config::resolve_n(&cfg, args.n);
    let style = crate::config::resolve_style(&cfg, args.style.as_deref());
    let writer = crate::writer::build(&args.writer, &cfg)?;
    // Validate every idea before printing anything.
    let mut all: Vec<Vec<Written>> = Vec::new();
    for idea in &ideas {
        let req = WriteRequest {
            idea: idea.prompt.clone(),
            target,
            n,
            seed,
            style: style.clone(),
            vary,
        };
        let mut written = crate::writer::write(writer.as_ref(), &req)?;
        for w in &mut written {
            // the negative prompt, or Midjourney's --no, as imagine paints it
            w.add_negative(&idea.negative_prompt);
            w.add_negative(negative);
        }
        all.push(written);
    }
    let mut out = std::io::stdout().lock();
    for w in all.iter().flatten() {
        if args.json {
            serde_json::to_writer(&mut out, w)?;
            writeln!(out)?;
        } else if args.plain {
            // one prompt a line, whatever a writer put in it
            let line = w.prompt.split_whitespace().collect::<Vec<_>>().join(" ");
            writeln!(out, "{}", crate::input::printable(&line, false))?;
        } else {
            print_human(&mut out, w, n, args.seed.is_none(), vary)?;
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
    let cfg = crate::config::load()?;
    let target = crate::config::resolve_target(&cfg, args.target, "sd")?;
    let prompt = if args.prompt == "-" {
        let bytes = crate::input::read_stdin("the prompt on stdin")?;
        String::from_utf8(bytes)
            .map_err(|_| usage("the prompt on stdin is not UTF-8 text; send UTF-8"))?
            .trim_end_matches(['\n', '\r'])
            .to_string()
    } else {
        args.prompt
    };
    if prompt.trim().is_empty() {
        return Err(usage(
            "the prompt is empty; pass the prompt text to check (or - to read it from stdin)",
        ));
    }
    let report = lint(&prompt, target);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument and command below `cmd` that has no help text.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        if cmd
            .get_about()
            .is_none_or(|a| a.to_string().trim().is_empty())
        {
            out.push(format!("{path} (the command)"));
        }
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                out.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_help_text() {
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        for sub in cmd.get_subcommands() {
            undocumented(sub, &format!("mural {}", sub.get_name()), &mut missing);
        }
        assert!(
            missing.is_empty(),
            "arguments without help text: {missing:?}"
        );
        // the walk reaches nested commands and flattened flags
        let gallery = cmd.find_subcommand("gallery").unwrap();
        assert!(gallery.find_subcommand("list").is_some());
        let prompt = cmd.find_subcommand("prompt").unwrap();
        assert!(prompt.get_arguments().any(|a| a.get_id() == "writer"));
        assert!(prompt.get_arguments().any(|a| a.get_id() == "wildcards"));
    }
}
