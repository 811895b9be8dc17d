//! `mural imagine`, `mural rerun` and `imagine --resume`: lower the flags
//! into an [`ItemSpec`] and a [`Studio`], call [`Studio::run`], print.
//! `batch` and the gallery commands are in `paint/`.

mod batch;
mod gallery;

pub use batch::{batch_cmd, BatchArgs};
pub use gallery::{gallery_cmd, info_cmd, GalleryCommand};

use crate::cli::{random_seed, usage};
use crate::config;
use anyhow::Result;
use clap::Args;
use mural_gallery::{Gallery, GalleryError, RunStatus};
use mural_paint::{PaintError, Painter, Profile};
use mural_pipeline::{
    Event, ItemError, ItemSpec, Kept, PaintItemError, PipelineError, Recipe, Replay, RunFailed,
    Start, Studio,
};
use mural_prompt::Writer;
use serde_json::json;
use std::cell::RefCell;
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
    /// The idea, in quotes: mural imagine "a beach sunset".
    #[arg(required_unless_present = "resume", value_name = "IDEA")]
    pub idea: Option<String>,
    /// Finish run RUN (one a kill interrupted, or one that failed): paint
    /// only its missing images, with its own recipe, into its own folder.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["idea", "n", "seed", "size", "target", "style", "painter", "model", "template", "negative"])]
    pub resume: Option<i64>,
    #[command(flatten)]
    pub painter: PainterArgs,
    /// Target prompt format (default: mural.toml's [defaults] target, else
    /// the one that suits the painter).
    #[arg(long, short = 't')]
    pub target: Option<mural_prompt::Target>,
    /// A style preset (see `mural styles`; default: [defaults] style).
    #[arg(long)]
    pub style: Option<String>,
    /// Images to paint: the first is the main prompt, the rest variations
    /// (default: mural.toml's [defaults] n, else 1).
    #[arg(short = 'n')]
    pub n: Option<usize>,
    /// Seed of the first image (image i uses seed + i). Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image size, WxH. Default: mural.toml's [defaults] size, else the
    /// aspect the writer chose for the idea (a headshot is tall, a
    /// landscape wide), at a size the painter takes.
    #[arg(long)]
    pub size: Option<String>,
    /// What no image may show, added to the written negative prompt
    /// (comma-separated terms; Midjourney gets them as --no).
    #[arg(long, value_name = "TEXT")]
    pub negative: Option<String>,
    /// Where images go (default: mural.toml's [defaults] out, else mural-out).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub template: crate::template::TemplateFlag,
    #[command(flatten)]
    pub writer: crate::writer::WriterFlag,
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

/// An item's failure as the binary reports it: what the user must change
/// is bad input (exit 2), anything else a failure (exit 1).
fn item_error(e: ItemError) -> anyhow::Error {
    match e {
        ItemError::Invalid { .. } => usage(e.to_string()),
        e => anyhow::anyhow!(e.to_string()),
    }
}

/// A run's failure as the binary reports it.
fn run_error(f: RunFailed) -> anyhow::Error {
    match f.error {
        PaintItemError::Item(e) => item_error(e),
        PaintItemError::Fatal(PipelineError::Gallery(e)) => gallery_error(e),
        PaintItemError::Fatal(e @ PipelineError::NonUtf8Path(_)) => usage(e.to_string()),
        PaintItemError::Fatal(e) => e.into(),
    }
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

/// The command's one async runtime.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Lines to stdout, above a progress bar when there is one.
struct Printer {
    bar: Option<indicatif::ProgressBar>,
    stdout: RefCell<std::io::StdoutLock<'static>>,
}

impl Printer {
    fn new(bar: Option<indicatif::ProgressBar>) -> Printer {
        Printer {
            bar,
            stdout: RefCell::new(std::io::stdout().lock()),
        }
    }

    fn line(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => {
                let _ = writeln!(self.stdout.borrow_mut(), "{line}");
            }
        }
    }

    fn tick(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn done(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        let _ = self.stdout.borrow_mut().flush();
    }
}

pub fn imagine_cmd(args: ImagineArgs) -> Result<ExitCode> {
    if let Some(id) = args.resume {
        return resume_cmd(id, &args.writer, args.json);
    }
    let cfg = config::load()?;
    let (label, profile) = config::painter_profile(
        &cfg,
        args.painter.painter.as_deref(),
        args.painter.model.as_deref(),
    )?;
    let target = config::resolve_target(&cfg, args.target, config::default_target(&profile))?;
    let idea = crate::input::idea_text(args.idea.as_deref().unwrap_or_default());
    let ideas = crate::template::ideas(&args.template, std::slice::from_ref(&idea))?;
    let writer = crate::writer::build(&args.writer, &cfg)?;
    let painter = build_painter(&profile)?;
    let base = ItemSpec {
        idea: String::new(),
        target,
        style: config::resolve_style(&cfg, args.style.as_deref()),
        n: config::resolve_n(&cfg, args.n),
        seed: args.seed.unwrap_or_else(random_seed),
        width: 0,
        height: 0,
        negative: args.negative.clone().unwrap_or_default(),
    };
    // each expansion of a template is its own run; seeds do not overlap
    let mut specs = base.expansions(ideas.into_iter().map(|e| (e.prompt, e.negative_prompt)));
    let size = config::resolve_size(&cfg, args.size.as_deref());
    for spec in &mut specs {
        (spec.width, spec.height) = match &size {
            Some(size) => mural_paint::parse_size(size).map_err(usage)?,
            None => mural_pipeline::default_size(
                &spec.idea,
                spec.target,
                spec.style.as_deref(),
                &painter.limits(),
            ),
        };
    }
    let out = out_dir(&config::resolve_out(&cfg, args.out.as_deref()))?;
    let gallery = open_gallery()?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: writer.as_ref(),
        out: &out,
        cancel: None,
    };
    for spec in &specs {
        paint_run(&studio, spec, Start::new(), true, args.json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Paints one run through [`Studio::run`] and prints each image: its file
/// (and seed) and the prompt it was painted from on stdout, or one JSON
/// object per image; notes go to stderr.
fn paint_run(
    studio: &Studio,
    spec: &ItemSpec,
    start: Start,
    show_seed: bool,
    json_out: bool,
) -> Result<()> {
    let out = Printer::new(progress(spec.n, "painting"));
    let show = |s: &str| crate::input::printable(s, false).into_owned();
    let on = |e: Event| {
        let Event::Image(k) = e else { return };
        if json_out {
            out.line(&image_json(k).to_string());
        } else {
            let seed = if k.index == 0 && show_seed {
                format!(" (seed {})", k.seed)
            } else {
                String::new()
            };
            out.line(&format!("{}{seed}\n  {}", show(&k.file), show(&k.prompt)));
        }
        out.tick();
    };
    let result = runtime()?.block_on(studio.run(spec, start, &on));
    out.done();
    let finished = result.map_err(run_error)?;
    if !json_out {
        let note = if studio.painter.name() == "sketch" {
            "; the sketch painter draws a procedural storyboard sketch, not a neural image"
        } else {
            ""
        };
        eprintln!("run {} recorded in the gallery{note}", finished.run_id);
    }
    Ok(())
}

/// The painter a recorded run used, resolved through today's mural.toml.
fn painter_of(recipe: &Recipe, id: i64, cfg: &config::Config) -> Result<(String, Profile)> {
    if recipe.painter.is_empty() {
        return Err(usage(format!(
            "run {id} has no usable recipe; it cannot be re-run"
        )));
    }
    config::painter_profile(cfg, Some(&recipe.painter), recipe.named_model())
}

/// A recorded run, read for painting again.
fn replay_of(gallery: &Gallery, id: i64) -> Result<(mural_gallery::Run, Replay)> {
    let run = gallery.get(id).map_err(|e| usage(e.to_string()))?;
    let replay =
        Replay::of(&run).map_err(|e| usage(format!("run {id}: {e}; it cannot be re-run")))?;
    Ok((run, replay))
}

/// `mural rerun ID`: paints a recorded run again as a new run, from the
/// prompts it recorded (see [`Replay`]).
pub fn rerun_cmd(id: i64, out: &Path, json_out: bool) -> Result<ExitCode> {
    let gallery = open_gallery()?;
    let (_, replay) = replay_of(&gallery, id)?;
    let cfg = config::load()?;
    let (label, profile) = painter_of(&replay.recipe, id, &cfg)?;
    let painter = build_painter(&profile)?;
    let out = out_dir(out)?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: &replay.writer,
        out: &out,
        cancel: None,
    };
    let start = Start::New {
        rerun_of: Some(id),
        batch: None,
    };
    paint_run(&studio, &replay.spec(), start, false, json_out)?;
    Ok(ExitCode::SUCCESS)
}

/// The writer that finishes a run: `--writer` if given, else the one that
/// started it.
fn resume_writer(
    flag: &crate::writer::WriterFlag,
    recipe: &Recipe,
    id: i64,
    cfg: &config::Config,
) -> Result<Box<dyn Writer>> {
    if let Some(w) = &flag.writer {
        return crate::writer::build(flag, cfg).map_err(|e| usage(format!("--writer {w}: {e:#}")));
    }
    let named = crate::writer::WriterFlag {
        writer: Some(recipe.writer.clone()),
        stream: flag.stream,
    };
    crate::writer::build(&named, cfg).map_err(|e| {
        usage(format!(
            "run {id} was written by {}, which cannot be set up ({e:#}); name a writer with --writer",
            recipe.writer
        ))
    })
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
    let (run, replay) = replay_of(&gallery, id)?;
    match run.status {
        RunStatus::Interrupted | RunStatus::Failed => {}
        RunStatus::Running => {
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
    let recipe = replay.recipe;
    let cfg = config::load()?;
    let (label, profile) = painter_of(&recipe, id, &cfg)?;
    // its folder: recorded with the run, else where its images are
    let out = recipe
        .out
        .as_ref()
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
    let writer = resume_writer(writer_flag, &recipe, id, &cfg)?;
    let painter = build_painter(&profile)?;
    let out = out_dir(&out)?;
    let studio = Studio {
        gallery: &gallery,
        painter: painter.as_ref(),
        painter_label: &label,
        writer: writer.as_ref(),
        out: &out,
        cancel: None,
    };
    let spec = recipe.spec();
    let start = Start::Continue {
        run_id: id,
        recipe: Box::new(recipe),
    };
    paint_run(&studio, &spec, start, false, json_out)?;
    Ok(ExitCode::SUCCESS)
}
