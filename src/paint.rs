//! `mural imagine`, `mural rerun`, `mural batch`, `mural info` and
//! `mural gallery`: write, paint, save, record.

use crate::cli::{parse_target, random_seed, usage};
use crate::config;
use anyhow::Result;
use clap::{Args, Subcommand};
use mural_gallery::{Gallery, GalleryError, LeaseKind, NewRun, Run};
use mural_paint::{PaintError, Painter, Profile};
use mural_pipeline::batch::{self, Event, Outcome};
use mural_pipeline::{ItemSpec, Kept, PaintItemError, Studio};
use mural_prompt::writer::validate;
use mural_prompt::{BuiltinWriter, Writer, Written};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--painter` and `--model`, shared by the commands that paint.
#[derive(Args, Clone)]
pub struct PainterArgs {
    /// Painter: a kind (sketch, openai, gemini, bfl, replicate, a1111, comfyui,
    /// stability, runway), `kind/model` (openai/gpt-image-2.6-flare), or a
    /// profile from mural.toml. `mural models` lists the hosted models.
    /// Default: mural.toml's `painter`, else sketch (built in, offline).
    #[arg(long)]
    pub painter: Option<String>,
    /// The model, checkpoint or endpoint (overrides the profile's).
    #[arg(long)]
    pub model: Option<String>,
}

#[derive(Args)]
pub struct ImagineArgs {
    /// The idea.
    #[arg(required_unless_present = "resume")]
    pub idea: Option<String>,
    /// Finish run RUN (one a kill interrupted, or one that failed): paint
    /// only its missing images, with its own recipe, into its own folder.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["idea", "n", "seed", "size", "target", "style", "painter", "model", "template"])]
    pub resume: Option<i64>,
    #[command(flatten)]
    pub painter: PainterArgs,
    /// Target prompt format (default: the one that suits the painter).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// A style preset (see `mural styles`).
    #[arg(long)]
    pub style: Option<String>,
    /// Images to paint: the first is the main prompt, the rest variations.
    #[arg(short = 'n', default_value_t = 1)]
    pub n: usize,
    /// Seed of the first image (image i uses seed + i). Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image size, WxH. Default: the aspect the writer chose for the idea
    /// (a headshot is tall, a landscape wide), at a size the painter takes.
    #[arg(long)]
    pub size: Option<String>,
    /// Where images go.
    #[arg(long, default_value = "mural-out")]
    pub out: PathBuf,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub template: crate::template::TemplateFlag,
    #[command(flatten)]
    pub writer: crate::writer::WriterFlag,
}

#[derive(Args)]
pub struct BatchArgs {
    /// One idea a line, or JSONL: {"idea","target","style","n","seed","size"}.
    pub file: PathBuf,
    #[command(flatten)]
    pub painter: PainterArgs,
    /// Default target for lines that name none (default: suits the painter).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Default style preset.
    #[arg(long)]
    pub style: Option<String>,
    /// Default images per idea.
    #[arg(short = 'n', default_value_t = 1)]
    pub n: usize,
    /// Seed of the first image; later items continue from it. Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Default image size, WxH.
    #[arg(long, default_value = "1024x1024")]
    pub size: String,
    /// Ideas painted at once (the painter profile may limit requests further).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Where images go.
    #[arg(long, default_value = "mural-out")]
    pub out: PathBuf,
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

#[derive(Subcommand)]
pub enum GalleryCommand {
    /// List runs, newest first.
    List {
        /// Only runs whose idea or prompts contain this text.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one run with its images and recipe.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write a self-contained HTML contact sheet.
    Export {
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
        #[arg(long)]
        search: Option<String>,
    },
    /// Remove a run from the gallery (its image files stay unless --files).
    Rm {
        id: i64,
        /// Also delete the run's image files.
        #[arg(long)]
        files: bool,
    },
}

/// mural's data directory: `MURAL_HOME`, else `$XDG_DATA_HOME/mural`, else
/// `~/.local/share/mural`.
pub fn mural_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("MURAL_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("mural"));
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| usage("cannot find a data directory: set MURAL_HOME or HOME"))?;
    Ok(PathBuf::from(home).join(".local/share/mural"))
}

fn open_gallery() -> Result<Gallery> {
    let path = mural_home()?.join("gallery.db");
    Gallery::open(&path).map_err(gallery_error)
}

/// A gallery error, as bad input (exit 2) where the user can fix it: a
/// newer or unreadable gallery, a run or batch another process is painting.
fn gallery_error(e: GalleryError) -> anyhow::Error {
    match e {
        GalleryError::TooNew { .. }
        | GalleryError::Open { .. }
        | GalleryError::Leased { .. }
        | GalleryError::LeaseIo { .. } => usage(e.to_string()),
        e => e.into(),
    }
}

/// Refuses a path that is not UTF-8: the gallery records paths as text,
/// and a lossy copy would name a file that does not exist.
fn utf8_path<'a>(path: &'a Path, what: &str) -> Result<&'a str> {
    path.to_str().ok_or_else(|| {
        usage(format!(
            "{what} {} is not valid UTF-8; mural records paths exactly, so pick one whose name is UTF-8",
            path.display()
        ))
    })
}

/// Checks `--out`, creates it, and returns it absolute (the gallery
/// records absolute paths, good from any directory); sweeps temp files
/// that killed processes left there long ago.
fn out_dir(out: &Path) -> Result<PathBuf> {
    utf8_path(out, "--out")?;
    writable_dir(out)?;
    let out = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    utf8_path(&out, "--out")?;
    mural_pipeline::files::sweep_stale_temps(&out, mural_pipeline::files::STALE_TEMP_AGE);
    Ok(out)
}

/// Builds a painter; a setup problem (missing key, bad URL) is bad input.
fn build_painter(profile: &Profile) -> Result<Box<dyn Painter>> {
    let env = |k: &str| std::env::var(k).ok();
    let as_usage = |e: PaintError| match e {
        PaintError::Auth { .. } | PaintError::InvalidRequest { .. } => usage(e.to_string()),
        e => e.into(),
    };
    // the catalog's word on the model: a deprecated one warns once, a
    // shut-down one stops here, before any request
    if let Some(warning) = mural_paint::remote::lifecycle(profile, &env).map_err(as_usage)? {
        eprintln!("{warning}");
    }
    mural_paint::build(profile, &env).map_err(as_usage)
}

/// Makes sure `dir` exists and can take new files.
pub(crate) fn writable_dir(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        usage(format!(
            "cannot write to --out {}: {e}; pick a writable directory",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".mural-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Checks an item against the writer and the painter before anything is
/// recorded: bad input stops here with exit code 2.
fn check_item(spec: &ItemSpec, painter: &dyn Painter, label: &str) -> Result<()> {
    parse_target(&spec.target)?;
    let req = spec.write_request().map_err(|e| usage(e.to_string()))?;
    validate(&req).map_err(|e| usage(e.to_string()))?;
    let limits = painter.limits();
    limits
        .check_size(spec.width, spec.height)
        .map_err(|e| usage(format!("{e} (painter {label})")))?;
    for w in BuiltinWriter.write(&req)? {
        limits
            .check_prompt(&w.prompt)
            .map_err(|e| usage(format!("{e} (painter {label}, target {})", spec.target)))?;
    }
    Ok(())
}

fn image_json(k: &Kept) -> serde_json::Value {
    let mut v = json!({
        "id": k.id, "run_id": k.run_id, "index": k.index, "file": k.file, "idea": k.idea,
        "prompt": k.prompt, "negative_prompt": k.negative_prompt, "seed": k.seed,
        "painter": k.painter, "width": k.width, "height": k.height,
    });
    if let Some(r) = &k.revised_prompt {
        v["revised_prompt"] = json!(r);
    }
    v
}

fn progress(len: usize, what: &str) -> Option<indicatif::ProgressBar> {
    (std::io::stderr().is_terminal() && len > 1).then(|| {
        let b = indicatif::ProgressBar::new(len as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{spinner}} {what} {{pos}}/{{len}} [{{bar:30}}] eta {{eta}} {{msg}}"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn imagine_cmd(args: ImagineArgs) -> Result<ExitCode> {
    if let Some(id) = args.resume {
        return resume_cmd(id, &args.writer, args.json);
    }
    let idea = args.idea.clone().unwrap_or_default();
    let cfg = config::load()?;
    let (label, profile) = config::painter_profile(
        &cfg,
        args.painter.painter.as_deref(),
        args.painter.model.as_deref(),
    )?;
    let target = args
        .target
        .unwrap_or_else(|| config::default_target(&profile).to_string());
    let seed = args.seed.unwrap_or_else(random_seed);
    let target = parse_target(&target)?.name().to_string();
    let ideas = crate::template::ideas(&args.template, std::slice::from_ref(&idea))?;
    let writer = crate::writer::build(&args.writer, &cfg)?;
    // each expansion of a template is its own run; seeds do not overlap
    let mut code = ExitCode::SUCCESS;
    for (j, idea) in ideas.into_iter().enumerate() {
        let (width, height) = match &args.size {
            Some(size) => mural_paint::parse_size(size).map_err(usage)?,
            None => writer_size(&idea.prompt, &target, args.style.as_deref(), &profile)?,
        };
        let spec = ItemSpec {
            idea: idea.prompt,
            target: target.clone(),
            style: args.style.clone(),
            n: args.n,
            seed: seed.wrapping_add((j * args.n) as u64),
            width,
            height,
            negative: idea.negative_prompt,
        };
        code = paint_one(
            &spec,
            &label,
            &profile,
            writer.as_ref(),
            None,
            &args.out,
            args.json,
        )?;
    }
    Ok(code)
}

/// The size to paint at when none is given: the aspect the built-in
/// writer chose for the idea, fitted to what the painter takes.
fn writer_size(
    idea: &str,
    target: &str,
    style: Option<&str>,
    profile: &Profile,
) -> Result<(u32, u32)> {
    let painter = build_painter(profile)?;
    let mut req = mural_prompt::WriteRequest::new(idea, parse_target(target)?);
    req.style = style.map(str::to_string);
    let aspect = BuiltinWriter
        .write(&req)
        .ok()
        .and_then(|w| w.into_iter().next())
        .and_then(|w| written_aspect(&w.params))
        .unwrap_or((1, 1));
    Ok(painter.limits().fit_aspect(aspect))
}

/// The aspect a written prompt's parameters ask for: size, width and
/// height, Midjourney's --ar or Runway's ratio.
fn written_aspect(p: &serde_json::Map<String, serde_json::Value>) -> Option<(u32, u32)> {
    let pair = |s: &str, sep: char| {
        let (a, b) = s.split_once(sep)?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    if let Some(s) = p.get("size").and_then(|v| v.as_str()) {
        return pair(s, 'x');
    }
    if let (Some(w), Some(h)) = (p.get("width"), p.get("height")) {
        return Some((w.as_u64()? as u32, h.as_u64()? as u32));
    }
    p.get("ar")
        .or(p.get("ratio"))
        .and_then(|v| v.as_str())
        .and_then(|s| pair(s, ':'))
}

fn paint_one(
    spec: &ItemSpec,
    label: &str,
    profile: &Profile,
    writer: &dyn Writer,
    rerun_of: Option<i64>,
    out: &Path,
    json_out: bool,
) -> Result<ExitCode> {
    let painter = build_painter(profile)?;
    check_item(spec, painter.as_ref(), label)?;
    let out = &out_dir(out)?;
    let gallery = open_gallery()?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: label,
        writer,
        out,
    };
    let run_json = studio.recipe(spec, rerun_of);
    // the gallery's copy also says where the images go, for --resume
    let mut recorded = run_json.clone();
    recorded["out"] = json!(utf8_path(out, "--out")?);
    let run_id = gallery.start_run(&NewRun {
        idea: &spec.idea,
        recipe: &recorded,
    })?;
    paint_run(
        &studio,
        spec,
        run_id,
        &run_json,
        rerun_of.is_none(),
        json_out,
    )
}

/// Paints the missing images of a recorded run and records its end.
fn paint_run(
    studio: &Studio,
    spec: &ItemSpec,
    run_id: i64,
    run_json: &serde_json::Value,
    show_seed: bool,
    json_out: bool,
) -> Result<ExitCode> {
    let (gallery, label) = (studio.gallery, studio.painter_label);
    let bar = progress(spec.n, "painting");
    let stdout = RefCell::new(std::io::stdout().lock());
    let on_image = |k: &Kept| {
        let line = if json_out {
            image_json(k).to_string()
        } else if k.index == 0 && show_seed {
            format!("{} (seed {})", k.file, k.seed)
        } else {
            k.file.clone()
        };
        match &bar {
            Some(b) if !json_out => {
                b.println(line);
                b.inc(1);
            }
            _ => {
                let _ = writeln!(stdout.borrow_mut(), "{line}");
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
        }
    };
    let result = runtime()?.block_on(studio.paint_item(spec, run_id, run_json, &on_image));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut stdout = stdout.into_inner();
    match result {
        Ok(()) => {
            gallery.finish_run(run_id, None)?;
            if !json_out {
                let note = if studio.painter.name() == "sketch" {
                    "; the sketch painter draws a procedural storyboard sketch, not a neural image"
                } else {
                    ""
                };
                writeln!(stdout, "run {run_id} recorded in the gallery{note}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        // another process paints this run: it is not ours to mark failed
        Err(PaintItemError::Fatal(mural_pipeline::PipelineError::Gallery(
            e @ GalleryError::Leased { .. },
        ))) => Err(gallery_error(e)),
        Err(e) => {
            let msg = match &e {
                PaintItemError::Item(i) if i.to_string().starts_with("writer ") => i.to_string(),
                PaintItemError::Item(i) => format!("painter {label}: {i}"),
                PaintItemError::Fatal(f) => f.to_string(),
            };
            gallery.finish_run(run_id, Some(&msg))?;
            // a request the service rejected as wrong (size, checkpoint,
            // key) is bad input: exit 2
            Err(match e {
                PaintItemError::Item(mural_pipeline::ItemError::Invalid(_)) => usage(msg),
                _ => anyhow::anyhow!(msg),
            })
        }
    }
}

/// The spec a recorded run was painted from.
fn spec_of(run: &Run) -> Result<ItemSpec> {
    let (id, v) = (run.id, &run.recipe);
    let bad = || {
        usage(format!(
            "run {id} has no usable recipe; it cannot be re-run"
        ))
    };
    Ok(ItemSpec {
        idea: v["idea"].as_str().ok_or_else(bad)?.to_string(),
        target: v["target"].as_str().ok_or_else(bad)?.to_string(),
        style: v["style"].as_str().map(str::to_string),
        n: v["n"].as_u64().ok_or_else(bad)? as usize,
        seed: v["seed"].as_u64().ok_or_else(bad)?,
        width: v["width"].as_u64().ok_or_else(bad)? as u32,
        height: v["height"].as_u64().ok_or_else(bad)? as u32,
        negative: v["negative"].as_str().unwrap_or_default().to_string(),
    })
}

/// The painter a recorded run used.
fn painter_of(run: &Run, cfg: &config::Config) -> Result<(String, Profile)> {
    let v = &run.recipe;
    let label = v["painter"].as_str().ok_or_else(|| {
        usage(format!(
            "run {} has no usable recipe; it cannot be re-run",
            run.id
        ))
    })?;
    let model = v["model"].as_str().filter(|m| !m.starts_with('('));
    config::painter_profile(cfg, Some(label), model)
}

pub fn rerun_cmd(id: i64, out: &Path, json_out: bool) -> Result<ExitCode> {
    let run = open_gallery()?.get(id).map_err(|e| usage(e.to_string()))?;
    let v = &run.recipe;
    let spec = spec_of(&run)?;
    let cfg = config::load()?;
    let (label, profile) = painter_of(&run, &cfg)?;
    // the built-in writer writes the same prompts again from the recipe;
    // an LLM's prompts are replayed as recorded
    let writer: Box<dyn Writer> = match v["writer"].as_str() {
        None | Some("builtin") => Box::new(BuiltinWriter),
        Some(name) => Box::new(crate::writer::Recorded {
            name: name.to_string(),
            prompts: run
                .images
                .iter()
                .map(|im| Written {
                    idea: spec.idea.clone(),
                    target: parse_target(&spec.target).unwrap_or(mural_prompt::Target::Dalle),
                    seed: im.seed,
                    index: im.index,
                    prompt: im.prompt.clone(),
                    negative_prompt: im.negative_prompt.clone(),
                    params: im.recipe["writer_params"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    repaired: false,
                })
                .collect(),
        }),
    };
    paint_one(
        &spec,
        &label,
        &profile,
        writer.as_ref(),
        Some(id),
        out,
        json_out,
    )
}

/// `mural imagine --resume RUN`: finishes a run a kill interrupted (or one
/// that failed) in place: the same run, recipe, key and folder, so images
/// already recorded are kept, images saved but not recorded are adopted,
/// and only the missing ones are painted.
fn resume_cmd(
    id: i64,
    writer_flag: &crate::writer::WriterFlag,
    json_out: bool,
) -> Result<ExitCode> {
    let gallery = open_gallery()?;
    let run = gallery.get(id).map_err(|e| usage(e.to_string()))?;
    match run.status.as_str() {
        "interrupted" | "failed" => {}
        "running" => {
            return Err(usage(format!(
                "run {id} is being painted by another mural process; wait for it to finish"
            )))
        }
        s => {
            return Err(usage(format!(
                "run {id} is {s}, there is nothing to finish; `mural rerun {id}` paints it again"
            )))
        }
    }
    let spec = spec_of(&run)?;
    let cfg = config::load()?;
    let (label, profile) = painter_of(&run, &cfg)?;
    // its folder: recorded with the run, else where its images are
    let out = run.recipe["out"]
        .as_str()
        .map(PathBuf::from)
        .or_else(|| {
            run.images
                .first()
                .and_then(|i| Path::new(&i.file).parent().map(Path::to_path_buf))
        })
        .ok_or_else(|| {
            usage(format!(
                "run {id} does not say where its images go; `mural rerun {id} --out DIR` paints it again"
            ))
        })?;
    let writer: Box<dyn Writer> = match (&writer_flag.writer, run.recipe["writer"].as_str()) {
        (None, None | Some("builtin")) => Box::new(BuiltinWriter),
        (Some(w), _) => crate::writer::build(writer_flag, &cfg).map_err(|e| {
            usage(format!("--writer {w}: {e:#}"))
        })?,
        (None, Some(name)) => crate::writer::build(
            &crate::writer::WriterFlag {
                writer: Some(name.to_string()),
                stream: writer_flag.stream,
            },
            &cfg,
        )
        .map_err(|e| {
            usage(format!(
                "run {id} was written by {name}, which cannot be set up ({e:#}); name a writer with --writer"
            ))
        })?,
    };
    let painter = build_painter(&profile)?;
    check_item(&spec, painter.as_ref(), &label)?;
    let out = out_dir(&out)?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: writer.as_ref(),
        out: &out,
    };
    // the recipe the images carry: the run's own, key included
    let mut run_json = run.recipe.clone();
    if let Some(o) = run_json.as_object_mut() {
        o.remove("out");
    }
    paint_run(&studio, &spec, id, &run_json, false, json_out)
}

pub fn batch_cmd(args: BatchArgs) -> Result<ExitCode> {
    let text = crate::input::read_file(
        &args.file,
        crate::input::MAX_TEXT_BYTES,
        &args.file.display().to_string(),
    )?;
    let text = String::from_utf8(text).map_err(|_| {
        usage(format!(
            "{} is not UTF-8 text; save it as UTF-8",
            args.file.display()
        ))
    })?;
    let source = utf8_path(
        &std::fs::canonicalize(&args.file).unwrap_or_else(|_| args.file.clone()),
        "the batch file",
    )?
    .to_string();
    let digest = batch::digest(&text);
    let cfg = config::load()?;
    let mut gallery = open_gallery()?;

    let writer_for = |spec: String| {
        crate::writer::build(
            &crate::writer::WriterFlag {
                writer: Some(spec),
                stream: false,
            },
            &cfg,
        )
    };
    let none_left = || {
        usage(format!(
            "no unfinished batch for {}; run it without --resume",
            args.file.display()
        ))
    };
    let (batch_id, label, painter, out, writer, _lease) = if args.resume {
        let b = gallery.unfinished_batch(&source)?.ok_or_else(none_left)?;
        // one process paints a batch at a time; a killed one's lease
        // died with it
        let lease = gallery
            .lease(LeaseKind::Batch, b.id)
            .map_err(gallery_error)?;
        // it may have finished while we were taking the lease
        if gallery.batch(b.id)?.is_none_or(|now| now.status == "done") {
            return Err(none_left());
        }
        if b.digest != digest {
            return Err(usage(format!(
                "{} changed since batch {} was journaled; restore it, or run without --resume to start a new batch",
                args.file.display(),
                b.id
            )));
        }
        let o = &b.options;
        let (label, profile) =
            config::painter_profile(&cfg, o["painter"].as_str(), o["model"].as_str())?;
        let out = PathBuf::from(o["out"].as_str().unwrap_or("mural-out"));
        eprintln!("resuming batch {} ({})", b.id, args.file.display());
        // the writer the batch started with, unless --writer says otherwise
        let writer = args
            .writer
            .writer
            .clone()
            .or_else(|| o["writer"].as_str().map(str::to_string))
            .unwrap_or_else(|| "builtin".to_string());
        (
            b.id,
            label,
            build_painter(&profile)?,
            out,
            writer_for(writer)?,
            lease,
        )
    } else {
        let (label, profile) = config::painter_profile(
            &cfg,
            args.painter.painter.as_deref(),
            args.painter.model.as_deref(),
        )?;
        let target = args
            .target
            .clone()
            .unwrap_or_else(|| config::default_target(&profile).to_string());
        let (width, height) = mural_paint::parse_size(&args.size).map_err(usage)?;
        let defaults = batch::Defaults {
            target: parse_target(&target)?.name().to_string(),
            style: args.style.clone(),
            n: args.n,
            width,
            height,
            seed: args.seed.unwrap_or_else(random_seed),
        };
        let mut items = batch::parse(&text, &defaults, mural_paint::parse_size)
            .map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
        if args.template.template {
            // every line is a template: one item per expansion
            let w = crate::template::load_wildcards(&args.template.wildcards)?;
            let mut expanded = Vec::new();
            for it in items {
                let ideas = crate::template::expand_idea(&it.idea, &w)
                    .map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
                for (j, e) in ideas
                    .into_iter()
                    .filter(|e| !e.prompt.trim().is_empty())
                    .enumerate()
                {
                    expanded.push(ItemSpec {
                        idea: e.prompt,
                        negative: e.negative_prompt,
                        seed: it.seed.wrapping_add((j * it.n) as u64),
                        ..it.clone()
                    });
                }
            }
            items = expanded;
        }
        let painter = build_painter(&profile)?;
        let writer_spec = args.writer.spec(&cfg);
        let writer = writer_for(writer_spec.clone())?;
        for (i, it) in items.iter().enumerate() {
            check_item(it, painter.as_ref(), &label)
                .map_err(|e| usage(format!("{}: item {}: {e}", args.file.display(), i + 1)))?;
        }
        if let Some(b) = gallery.unfinished_batch(&source)? {
            eprintln!(
                "note: batch {} for this file is unfinished; `mural batch {} --resume` continues it",
                b.id,
                args.file.display()
            );
        }
        let out = out_dir(&args.out)?;
        let options = json!({
            "painter": label,
            "writer": writer_spec,
            "model": args.painter.model,
            "out": utf8_path(&out, "--out")?,
            "concurrency": args.concurrency,
        });
        let specs: Vec<serde_json::Value> = items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        let id = gallery.create_batch(&source, &digest, &options, &specs)?;
        let lease = gallery.lease(LeaseKind::Batch, id).map_err(gallery_error)?;
        (id, label, painter, out, writer, lease)
    };
    let out = out_dir(&out)?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: writer.as_ref(),
        out: &out,
    };
    let items = gallery.batch_items(batch_id)?;
    let pending = items
        .iter()
        .filter(|i| i.status != "done" && i.status != "refused")
        .count();
    let bar = progress(pending, &format!("batch {batch_id}"));
    let failures = Cell::new(0usize);
    let stdout = RefCell::new(std::io::stdout().lock());
    let print = |line: String| match &bar {
        Some(b) if !args.json => b.println(line),
        _ => {
            let _ = writeln!(stdout.borrow_mut(), "{line}");
        }
    };
    let on = |e: Event| match e {
        Event::Image(k) => print(if args.json {
            image_json(k).to_string()
        } else {
            k.file.clone()
        }),
        Event::Finished { idea, outcome, .. } => {
            if let Some(b) = &bar {
                b.inc(1);
                // a pool's members: throughput and health
                let pool = crate::pool::progress_summary(studio.painter);
                let failed = failures.get() + usize::from(!matches!(outcome, Outcome::Done));
                b.set_message(match failed {
                    0 => pool,
                    n => format!("{n} not finished {pool}"),
                });
            }
            let why = match outcome {
                Outcome::Done => return,
                Outcome::Refused(r) => format!("refused: {r}"),
                Outcome::Failed(f) => f.clone(),
            };
            failures.set(failures.get() + 1);
            if args.json {
                print(json!({ "idea": idea, "error": why }).to_string());
            }
        }
    };
    let summary = runtime()?.block_on(batch::run(&studio, batch_id, args.concurrency, &on))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "batch {batch_id}: {} items: {} done, {} refused, {} failed",
        summary.items,
        summary.done,
        summary.refused.len(),
        summary.failed.len()
    );
    for (i, idea, why) in &summary.refused {
        eprintln!("  refused  #{} {idea:?}: {why}", i + 1);
    }
    for (i, idea, why) in &summary.failed {
        eprintln!("  failed   #{} {idea:?}: {why}", i + 1);
    }
    if !summary.failed.is_empty() {
        eprintln!(
            "`mural batch {} --resume` tries the failed items again",
            args.file.display()
        );
    }
    Ok(if summary.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn info_cmd(file: &Path, json_out: bool) -> Result<ExitCode> {
    let bytes = crate::input::read_file(
        file,
        crate::input::MAX_IMAGE_BYTES,
        &file.display().to_string(),
    )?;
    let info = mural_meta::read(&bytes).map_err(|e| {
        usage(format!(
            "{}: {e}; give mural info a PNG image",
            file.display()
        ))
    })?;
    let mut out = std::io::stdout().lock();
    if json_out {
        let mut v = serde_json::to_value(&info)?;
        v["sources"] = json!(info.sources());
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    // everything below comes from the file: shown, never sent raw to the
    // terminal (--json above stays exact)
    let show = |s: &str| crate::input::printable(s, true).into_owned();
    writeln!(
        out,
        "{}: {}x{} PNG",
        crate::input::printable(&file.display().to_string(), false),
        info.width,
        info.height
    )?;
    let sources = info.sources();
    writeln!(
        out,
        "metadata from: {}",
        if sources.is_empty() {
            "none".to_string()
        } else {
            sources.join(", ")
        }
    )?;
    if let Some(a) = &info.a1111 {
        writeln!(out, "\nprompt:\n{}", show(&a.prompt))?;
        if !a.negative_prompt.is_empty() {
            writeln!(out, "negative prompt:\n{}", show(&a.negative_prompt))?;
        }
        for (k, v) in &a.params {
            let line = |s: &str| crate::input::printable(s, false).into_owned();
            writeln!(out, "  {}: {}", line(k), line(v))?;
        }
    }
    if let Some(m) = &info.mural {
        writeln!(
            out,
            "\nmural recipe:\n{}",
            show(&serde_json::to_string_pretty(m)?)
        )?;
    }
    if let Some(p) = &info.comfyui_prompt {
        writeln!(
            out,
            "\nComfyUI prompt graph: {} nodes",
            p.as_object().map_or(0, |o| o.len())
        )?;
    }
    if info.comfyui_workflow.is_some() {
        writeln!(out, "ComfyUI workflow: present")?;
    }
    if let Some(i) = &info.invokeai {
        writeln!(
            out,
            "\nInvokeAI metadata:\n{}",
            show(&serde_json::to_string_pretty(i)?)
        )?;
    }
    if let Some(d) = &info.digital_source_type {
        writeln!(out, "\nDigitalSourceType: {}", show(d))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One run on one line. Stored text is shown through
/// [`crate::input::printable`]: an idea may hold escape sequences.
fn print_run(out: &mut impl Write, r: &Run) -> Result<()> {
    let line = |s: &str| crate::input::printable(s, false).into_owned();
    writeln!(
        out,
        "#{} {} {} · {} image(s) · {}",
        r.id,
        line(&r.created_at),
        line(&r.status),
        r.images.len(),
        line(&r.idea)
    )?;
    Ok(())
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub fn gallery_cmd(cmd: GalleryCommand) -> Result<ExitCode> {
    let gallery = open_gallery()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        GalleryCommand::List {
            search,
            limit,
            json: j,
        } => {
            for r in gallery.list(search.as_deref(), limit)? {
                if j {
                    writeln!(out, "{}", serde_json::to_string(&r)?)?;
                } else {
                    print_run(&mut out, &r)?;
                }
            }
        }
        GalleryCommand::Show { id, json: j } => {
            let r = gallery.get(id).map_err(|e| usage(e.to_string()))?;
            if j {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
            } else {
                let show = |s: &str| crate::input::printable(s, true).into_owned();
                print_run(&mut out, &r)?;
                if let Some(e) = &r.error {
                    writeln!(out, "error: {}", show(e))?;
                }
                if r.status == "interrupted" {
                    writeln!(
                        out,
                        "its process stopped before it finished; `mural imagine --resume {}` finishes it",
                        r.id
                    )?;
                }
                writeln!(
                    out,
                    "recipe: {}",
                    show(&serde_json::to_string_pretty(&r.recipe)?)
                )?;
                for i in &r.images {
                    writeln!(
                        out,
                        "\n[{}] seed {} · {}x{} · {}\n{}",
                        i.index,
                        i.seed,
                        i.width,
                        i.height,
                        crate::input::printable(&i.file, false),
                        show(&i.prompt)
                    )?;
                    if !i.negative_prompt.is_empty() {
                        writeln!(out, "Negative prompt: {}", show(&i.negative_prompt))?;
                    }
                    if let Some(m) = i.recipe["painter_params"]["member"].as_str() {
                        writeln!(out, "Painted by: {} (pool member)", show(m))?;
                    }
                }
            }
        }
        GalleryCommand::Export { html, search } => {
            use base64::Engine;
            let runs = gallery.list(search.as_deref(), 10_000)?;
            let mut page = String::from(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>mural contact sheet</title><style>body{font:14px system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}\
                 .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}\
                 figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px}\
                 img{width:100%;height:auto;border-radius:4px}figcaption{font-size:12px;margin-top:6px;overflow-wrap:anywhere}\
                 .idea{font-weight:600}</style></head><body><h1>mural contact sheet</h1><div class=\"grid\">\n",
            );
            let mut count = 0;
            for r in &runs {
                for i in &r.images {
                    let thumb = crate::input::read_file(
                        Path::new(&i.file),
                        crate::input::MAX_IMAGE_BYTES,
                        &i.file,
                    )
                    .ok()
                    .and_then(|b| mural_paint::thumbnail(&b, 256).ok())
                    .map(|t| {
                        format!(
                            "data:image/png;base64,{}",
                            base64::engine::general_purpose::STANDARD.encode(t)
                        )
                    });
                    let img = match thumb {
                        Some(src) => {
                            format!("<img src=\"{src}\" alt=\"{}\">", html_escape(&r.idea))
                        }
                        None => "<p>(image file missing)</p>".to_string(),
                    };
                    page.push_str(&format!(
                        "<figure>{img}<figcaption><div class=\"idea\">#{} · {}</div><div>seed {} · {}x{}</div><p>{}</p></figcaption></figure>\n",
                        r.id,
                        html_escape(&r.idea),
                        i.seed,
                        i.width,
                        i.height,
                        html_escape(&i.prompt)
                    ));
                    count += 1;
                }
            }
            page.push_str("</div></body></html>\n");
            std::fs::write(&html, page)
                .map_err(|e| usage(format!("cannot write {}: {e}", html.display())))?;
            writeln!(out, "wrote {} ({count} images)", html.display())?;
        }
        GalleryCommand::Rm { id, files } => {
            let r = gallery.remove(id).map_err(|e| usage(e.to_string()))?;
            for i in &r.images {
                if files {
                    let _ = std::fs::remove_file(&i.file);
                }
            }
            let what = if files {
                "and its files"
            } else {
                "(its files are kept)"
            };
            writeln!(out, "removed run #{id} {what}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
