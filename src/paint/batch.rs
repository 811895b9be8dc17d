//! `mural batch FILE`: read the file, journal it (or reopen its journal
//! with `--resume`), and let `mural_pipeline::batch` paint every item.

use super::{
    build_painter, gallery_error, image_json, open_gallery, out_dir, progress, runtime, usage,
    utf8_path, Printer,
};
use crate::cli::random_seed;
use crate::config;
use anyhow::Result;
use clap::Args;
use mural_gallery::Gallery;
use mural_paint::Painter;
use mural_pipeline::batch::{self, Event, Journal, JournalError, Options, Outcome, Summary};
use mural_pipeline::{ItemSpec, Studio};
use mural_prompt::Writer;
use serde_json::json;
use std::cell::Cell;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct BatchArgs {
    /// One idea a line, or JSONL: {"idea","target","style","n","seed","size"}.
    pub file: PathBuf,
    #[command(flatten)]
    pub painter: super::PainterArgs,
    /// Default target for lines that name none (default: mural.toml's
    /// [defaults] target, else the one that suits the painter).
    #[arg(long, short = 't')]
    pub target: Option<mural_prompt::Target>,
    /// Default style preset (default: [defaults] style).
    #[arg(long)]
    pub style: Option<String>,
    /// Default images per idea (default: [defaults] n, else 1).
    #[arg(short = 'n')]
    pub n: Option<usize>,
    /// Seed of the first image; later items continue from it. Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Default image size, WxH (default: [defaults] size, else 1024x1024).
    #[arg(long)]
    pub size: Option<String>,
    /// What no image may show, added to every item's negative prompt.
    #[arg(long, value_name = "TEXT")]
    pub negative: Option<String>,
    /// Ideas painted at once (the painter profile may limit requests further).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Where images go (default: [defaults] out, else mural-out).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON object per image, and one {"idea","error"} per item that did not finish.
    #[arg(long)]
    pub json: bool,
    /// Continue this file's unfinished batch from its journal.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub template: crate::template::TemplateFlag,
    #[command(flatten)]
    pub writer: crate::writer::WriterFlag,
}

/// The batch file, read and identified.
struct BatchFile {
    text: String,
    /// Its absolute path, the journal's key.
    source: String,
    digest: String,
}

impl BatchFile {
    fn read(path: &std::path::Path) -> Result<BatchFile> {
        let name = path.display().to_string();
        let bytes = crate::input::read_file(path, crate::input::MAX_TEXT_BYTES, &name)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(format!("{name} is not UTF-8 text; save it as UTF-8")))?;
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let source = utf8_path(&abs, "the batch file")?.to_string();
        let digest = batch::digest(&text);
        Ok(BatchFile {
            text,
            source,
            digest,
        })
    }
}

/// What paints a batch.
struct Parts {
    journal: Journal,
    label: String,
    painter: Box<dyn Painter>,
    writer: Box<dyn Writer>,
}

fn writer_named(spec: Option<String>, cfg: &config::Config) -> Result<Box<dyn Writer>> {
    let flag = crate::writer::WriterFlag {
        writer: Some(spec.unwrap_or_else(|| "builtin".to_string())),
        stream: false,
    };
    crate::writer::build(&flag, cfg)
}

fn journal_error(e: JournalError, args: &BatchArgs) -> anyhow::Error {
    let file = args.file.display();
    match e {
        JournalError::Gallery(g) => gallery_error(g),
        e => usage(format!("{file}: {e}")),
    }
}

/// `--resume`: the journaled batch, painted as it was started (the
/// writer may be overridden with `--writer`).
fn reopen(args: &BatchArgs, file: &BatchFile, g: &Gallery, cfg: &config::Config) -> Result<Parts> {
    let journal =
        Journal::reopen(g, &file.source, &file.digest).map_err(|e| journal_error(e, args))?;
    let o = &journal.options;
    let (label, profile) = config::painter_profile(cfg, Some(&o.painter), o.model.as_deref())?;
    eprintln!("resuming batch {} ({})", journal.id, args.file.display());
    let writer = writer_named(args.writer.writer.clone().or(o.writer.clone()), cfg)?;
    Ok(Parts {
        painter: build_painter(&profile)?,
        journal,
        label,
        writer,
    })
}

/// The file's items: its lines with the flags as defaults, each template
/// line expanded into one item per expansion.
fn items(
    args: &BatchArgs,
    file: &BatchFile,
    profile: &mural_paint::Profile,
    cfg: &config::Config,
) -> Result<Vec<ItemSpec>> {
    let fallback = config::default_target(profile);
    let target = config::resolve_target(cfg, args.target, fallback)?;
    let size =
        config::resolve_size(cfg, args.size.as_deref()).unwrap_or_else(|| "1024x1024".to_string());
    let (width, height) = mural_paint::parse_size(&size).map_err(usage)?;
    let defaults = batch::Defaults {
        target,
        style: config::resolve_style(cfg, args.style.as_deref()),
        n: config::resolve_n(cfg, args.n),
        width,
        height,
        seed: args.seed.unwrap_or_else(random_seed),
    };
    let at = |e: String| usage(format!("{}: {e}", args.file.display()));
    let mut items = batch::parse(&file.text, &defaults, mural_paint::parse_size).map_err(at)?;
    let negative = args.negative.clone().unwrap_or_default();
    if args.template.template {
        let w = crate::template::load_wildcards(&args.template.wildcards)?;
        let mut expanded = Vec::new();
        for it in items {
            let ideas =
                crate::template::expand_idea(&it.idea, &w).map_err(|e| at(format!("{e:#}")))?;
            expanded
                .extend(it.expansions(ideas.into_iter().map(|e| (e.prompt, e.negative_prompt))));
        }
        items = expanded;
    }
    for it in &mut items {
        it.negative = mural_pipeline::join_negative(&negative, &it.negative);
    }
    Ok(items)
}

/// A new batch: every item checked, then journaled before anything is
/// painted.
fn create(args: &BatchArgs, file: &BatchFile, g: &Gallery, cfg: &config::Config) -> Result<Parts> {
    let (label, profile) = config::painter_profile(
        cfg,
        args.painter.painter.as_deref(),
        args.painter.model.as_deref(),
    )?;
    let items = items(args, file, &profile, cfg)?;
    let painter = build_painter(&profile)?;
    let writer_spec = args.writer.spec(cfg);
    let writer = writer_named(Some(writer_spec.clone()), cfg)?;
    let out = out_dir(&config::resolve_out(cfg, args.out.as_deref()))?;
    let check = Studio {
        gallery: g,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: writer.as_ref(),
        out: &out,
        cancel: None,
    };
    for (i, it) in items.iter().enumerate() {
        check
            .check(it)
            .map_err(|e| usage(format!("{}: item {}: {e}", args.file.display(), i + 1)))?;
    }
    if let Some(id) = Journal::unfinished(g, &file.source)? {
        eprintln!(
            "note: batch {id} for this file is unfinished; `mural batch {} --resume` continues it",
            args.file.display()
        );
    }
    let options = Options {
        painter: label.clone(),
        writer: Some(writer_spec),
        model: args.painter.model.clone(),
        out: utf8_path(&out, "--out")?.to_string(),
        concurrency: args.concurrency,
    };
    let journal = Journal::create(g, &file.source, &file.digest, options, &items)
        .map_err(|e| journal_error(e, args))?;
    Ok(Parts {
        journal,
        label,
        painter,
        writer,
    })
}

pub fn batch_cmd(args: BatchArgs) -> Result<ExitCode> {
    let file = BatchFile::read(&args.file)?;
    let cfg = config::load()?;
    let gallery = open_gallery()?;
    let parts = if args.resume {
        reopen(&args, &file, &gallery, &cfg)?
    } else {
        create(&args, &file, &gallery, &cfg)?
    };
    let out = out_dir(std::path::Path::new(&parts.journal.options.out))?;
    let studio = Studio {
        gallery: &gallery,
        painter: parts.painter.as_ref(),
        painter_label: &parts.label,
        writer: parts.writer.as_ref(),
        out: &out,
        cancel: None,
    };
    let id = parts.journal.id;
    let pending = Journal::pending(&gallery, id)?;
    let summary = paint(&studio, id, args.concurrency, pending, args.json)?;
    report(&summary, &args);
    if !parts.painter.pool_stats().is_empty() {
        report_members(&gallery, id, parts.painter.as_ref())?;
    }
    Ok(if summary.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs the batch, printing each image and each item that did not finish.
fn paint(
    studio: &Studio,
    id: i64,
    concurrency: usize,
    pending: usize,
    json_out: bool,
) -> Result<Summary> {
    let out = Printer::new(progress(pending, &format!("batch {id}")));
    let failures = Cell::new(0usize);
    let on = |e: Event| match e {
        Event::Image(k) => out.line(&if json_out {
            image_json(k).to_string()
        } else {
            crate::input::printable(&k.file, false).into_owned()
        }),
        Event::Finished { idea, outcome, .. } => {
            out.tick();
            if !matches!(outcome, Outcome::Done) {
                failures.set(failures.get() + 1);
            }
            if let Some(b) = &out.bar {
                // a pool's members: throughput and health
                let pool = crate::pool::progress_summary(studio.painter);
                b.set_message(match failures.get() {
                    0 => pool,
                    n => format!("{n} not finished {pool}"),
                });
            }
            let why = match outcome {
                Outcome::Done => return,
                Outcome::Refused(r) => format!("refused: {r}"),
                Outcome::Failed(f) => f.clone(),
            };
            if json_out {
                out.line(&json!({ "idea": idea, "error": why }).to_string());
            }
        }
    };
    let summary = runtime()?.block_on(batch::run(studio, id, concurrency, &on));
    out.done();
    Ok(summary?)
}

/// A pool's members after a batch: this process's throughput and health,
/// then who painted the batch's images, as the journal records it.
fn report_members(gallery: &Gallery, id: i64, painter: &dyn mural_paint::Painter) -> Result<()> {
    let show = |s: &str| crate::input::printable(s, false).into_owned();
    eprintln!("members: {}", show(&crate::pool::progress_summary(painter)));
    let painted: Vec<String> = gallery
        .batch_painters(id)?
        .into_iter()
        .map(|(who, n)| format!("{} {n}", show(&who)))
        .collect();
    eprintln!("painted by: {}", painted.join(" · "));
    Ok(())
}

fn report(summary: &Summary, args: &BatchArgs) {
    let show = |s: &str| crate::input::printable(s, false).into_owned();
    eprintln!(
        "batch {}: {} items: {} done, {} refused, {} failed",
        summary.batch_id,
        summary.items,
        summary.done,
        summary.refused.len(),
        summary.failed.len()
    );
    for (i, idea, why) in &summary.refused {
        eprintln!("  refused  #{} {:?}: {}", i + 1, show(idea), show(why));
    }
    for (i, idea, why) in &summary.failed {
        eprintln!("  failed   #{} {:?}: {}", i + 1, show(idea), show(why));
    }
    if !summary.failed.is_empty() {
        eprintln!(
            "`mural batch {} --resume` tries the failed items again",
            args.file.display()
        );
    }
}
