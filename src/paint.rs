//! `mural imagine`, `mural rerun`, `mural info` and `mural gallery`: write,
//! paint, save, record.

use crate::cli::{parse_target, random_seed, usage};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mural_gallery::{Gallery, NewImage, NewRun, Run};
use mural_paint::{PaintRequest, Painter, SketchPainter};
use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ImagineArgs {
    /// The idea.
    pub idea: String,
    /// Painter: sketch (built in, offline).
    #[arg(long, default_value = "sketch")]
    pub painter: String,
    /// Target prompt format (see `mural prompt --help`).
    #[arg(long, short = 't', default_value = "dalle")]
    pub target: String,
    /// A style preset (see `mural styles`).
    #[arg(long)]
    pub style: Option<String>,
    /// Images to paint: the first is the main prompt, the rest variations.
    #[arg(short = 'n', default_value_t = 1)]
    pub n: usize,
    /// Seed of the first image (image i uses seed + i). Random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image size, WxH.
    #[arg(long, default_value = "1024x1024")]
    pub size: String,
    /// Where images go.
    #[arg(long, default_value = "mural-out")]
    pub out: PathBuf,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
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
    Gallery::open(&path).map_err(|e| match e {
        mural_gallery::GalleryError::TooNew { .. } | mural_gallery::GalleryError::Open { .. } => {
            usage(e.to_string())
        }
        e => e.into(),
    })
}

/// The painters this build has.
pub const PAINTERS: &[&str] = &["sketch"];

fn painter(name: &str) -> Result<Box<dyn Painter>> {
    match name {
        "sketch" => Ok(Box::new(SketchPainter)),
        other => Err(usage(format!(
            "unknown painter {other:?}; available: {}",
            PAINTERS.join(", ")
        ))),
    }
}

/// Makes sure `dir` exists and can take new files.
fn writable_dir(dir: &Path) -> Result<()> {
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

/// Writes `bytes` under `dir/name` without ever replacing a file: a temp
/// file first, then a hard link to the final name (which fails if the name
/// is taken, so we try the next one). Returns the final path.
fn save_new(dir: &Path, stem: &str, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = dir.join(format!(".{stem}.{}.tmp", std::process::id()));
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    let result = (0..1000).find_map(|i| {
        let name = if i == 0 {
            format!("{stem}.png")
        } else {
            format!("{stem}-{i}.png")
        };
        let path = dir.join(name);
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => Some(Ok(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => Some(Err(e)),
        }
    });
    let _ = std::fs::remove_file(&tmp);
    match result {
        Some(Ok(p)) => Ok(p),
        Some(Err(e)) => Err(e).with_context(|| format!("saving into {}", dir.display())),
        None => Err(anyhow::anyhow!(
            "too many files named {stem}*.png in {}",
            dir.display()
        )),
    }
}

/// Everything needed to paint a run again.
struct Recipe {
    idea: String,
    target: Target,
    style: Option<String>,
    n: usize,
    seed: u64,
    width: u32,
    height: u32,
    painter: String,
    rerun_of: Option<i64>,
}

impl Recipe {
    fn to_json(&self, model: &str) -> Value {
        json!({
            "idea": self.idea,
            "writer": "builtin",
            "target": self.target.name(),
            "style": self.style,
            "seed": self.seed,
            "n": self.n,
            "painter": self.painter,
            "model": model,
            "width": self.width,
            "height": self.height,
            "rerun_of": self.rerun_of,
            "mural_version": env!("CARGO_PKG_VERSION"),
        })
    }

    fn from_json(v: &Value, id: i64) -> Result<Recipe> {
        let bad = || {
            usage(format!(
                "run {id} has no usable recipe; it cannot be re-run"
            ))
        };
        Ok(Recipe {
            idea: v["idea"].as_str().ok_or_else(bad)?.to_string(),
            target: v["target"]
                .as_str()
                .and_then(Target::parse)
                .ok_or_else(bad)?,
            style: v["style"].as_str().map(str::to_string),
            n: v["n"].as_u64().ok_or_else(bad)? as usize,
            seed: v["seed"].as_u64().ok_or_else(bad)?,
            width: v["width"].as_u64().ok_or_else(bad)? as u32,
            height: v["height"].as_u64().ok_or_else(bad)? as u32,
            painter: v["painter"].as_str().ok_or_else(bad)?.to_string(),
            rerun_of: Some(id),
        })
    }
}

pub fn imagine_cmd(args: ImagineArgs) -> Result<ExitCode> {
    let target = parse_target(&args.target)?;
    let (width, height) = mural_paint::parse_size(&args.size).map_err(usage)?;
    let recipe = Recipe {
        idea: args.idea,
        target,
        style: args.style,
        n: args.n,
        seed: args.seed.unwrap_or_else(random_seed),
        width,
        height,
        painter: args.painter,
        rerun_of: None,
    };
    run_recipe(&recipe, &args.out, args.json)
}

fn run_recipe(recipe: &Recipe, out: &Path, json_out: bool) -> Result<ExitCode> {
    let painter = painter(&recipe.painter)?;
    painter
        .limits()
        .check_size(recipe.width, recipe.height)
        .map_err(|e| usage(format!("{e} (painter {})", recipe.painter)))?;
    let req = WriteRequest {
        idea: recipe.idea.clone(),
        target: recipe.target,
        n: recipe.n,
        seed: recipe.seed,
        style: recipe.style.clone(),
        vary: false,
    };
    let written = BuiltinWriter.write(&req)?;
    writable_dir(out)?;
    let gallery = open_gallery()?;
    let run_json = recipe.to_json(painter.model());
    let run_id = gallery.start_run(&NewRun {
        idea: &recipe.idea,
        recipe: &run_json,
    })?;

    let bar = (std::io::stderr().is_terminal() && written.len() > 1).then(|| {
        let b = indicatif::ProgressBar::new(written.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} painting {pos}/{len} [{bar:30}] {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut stdout = std::io::stdout().lock();
    let result: Result<()> = (|| {
        for w in &written {
            let preq = PaintRequest {
                prompt: w.prompt.clone(),
                negative_prompt: w.negative_prompt.clone(),
                width: recipe.width,
                height: recipe.height,
                n: 1,
                seed: w.seed,
                model: None,
            };
            let painted = runtime
                .block_on(painter.paint(&preq))
                .with_context(|| format!("painter {} failed", recipe.painter))?;
            for img in painted {
                let mut image_recipe = run_json.clone();
                image_recipe["index"] = json!(w.index);
                image_recipe["seed"] = json!(img.seed);
                image_recipe["prompt"] = json!(w.prompt);
                image_recipe["negative_prompt"] = json!(w.negative_prompt);
                image_recipe["writer_params"] = Value::Object(w.params.clone());
                image_recipe["painter_params"] = Value::Object(img.params.clone());
                image_recipe["run_id"] = json!(run_id);
                if let Some(r) = &img.revised_prompt {
                    image_recipe["revised_prompt"] = json!(r);
                }
                let sampler = img
                    .params
                    .get("sampler")
                    .and_then(Value::as_str)
                    .unwrap_or(painter.name())
                    .to_string();
                let params = mural_meta::infotext(
                    &w.prompt,
                    &w.negative_prompt,
                    &[
                        ("Steps", "1".into()),
                        ("Sampler", sampler),
                        ("CFG scale", "0".into()),
                        ("Seed", img.seed.to_string()),
                        ("Size", format!("{}x{}", img.width, img.height)),
                        ("Model", painter.model().to_string()),
                        ("Version", format!("mural {}", env!("CARGO_PKG_VERSION"))),
                    ],
                );
                let bytes = mural_meta::embed(
                    &img.png,
                    &mural_meta::Embed {
                        parameters: &params,
                        recipe: &image_recipe,
                        digital_source_type: painter.source_type().iptc_uri(),
                    },
                )?;
                let stem = format!("mural-{run_id:05}-{}-{}", w.index, img.seed);
                let path = save_new(out, &stem, &bytes)?;
                let file = path.to_string_lossy().into_owned();
                let image_id = gallery.add_image(
                    run_id,
                    &NewImage {
                        index: w.index,
                        file: &file,
                        prompt: &w.prompt,
                        negative_prompt: &w.negative_prompt,
                        seed: img.seed,
                        width: img.width,
                        height: img.height,
                        recipe: &image_recipe,
                    },
                )?;
                if json_out {
                    let line = json!({
                        "id": image_id, "run_id": run_id, "file": file, "idea": recipe.idea,
                        "prompt": w.prompt, "negative_prompt": w.negative_prompt, "seed": img.seed,
                        "painter": recipe.painter, "width": img.width, "height": img.height,
                    });
                    writeln!(stdout, "{line}")?;
                } else {
                    let note =
                        if img.seed == recipe.seed && recipe.rerun_of.is_none() && w.index == 0 {
                            format!(" (seed {})", img.seed)
                        } else {
                            String::new()
                        };
                    match &bar {
                        Some(b) => b.println(format!("{file}{note}")),
                        None => writeln!(stdout, "{file}{note}")?,
                    }
                }
            }
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        Ok(())
    })();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(()) => {
            gallery.finish_run(run_id, None)?;
            if !json_out {
                writeln!(stdout, "run {run_id} recorded in the gallery; the sketch painter draws a procedural storyboard sketch, not a neural image")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            gallery.finish_run(run_id, Some(&format!("{e:#}")))?;
            Err(e)
        }
    }
}

pub fn rerun_cmd(id: i64, out: &Path, json_out: bool) -> Result<ExitCode> {
    let run = open_gallery()?.get(id).map_err(|e| usage(e.to_string()))?;
    let recipe = Recipe::from_json(&run.recipe, id)?;
    run_recipe(&recipe, out, json_out)
}

pub fn info_cmd(file: &Path, json_out: bool) -> Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
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
    writeln!(
        out,
        "{}: {}x{} PNG",
        file.display(),
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
        writeln!(out, "\nprompt:\n{}", a.prompt)?;
        if !a.negative_prompt.is_empty() {
            writeln!(out, "negative prompt:\n{}", a.negative_prompt)?;
        }
        for (k, v) in &a.params {
            writeln!(out, "  {k}: {v}")?;
        }
    }
    if let Some(m) = &info.mural {
        writeln!(out, "\nmural recipe:\n{}", serde_json::to_string_pretty(m)?)?;
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
            serde_json::to_string_pretty(i)?
        )?;
    }
    if let Some(d) = &info.digital_source_type {
        writeln!(out, "\nDigitalSourceType: {d}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_run(out: &mut impl Write, r: &Run) -> Result<()> {
    writeln!(
        out,
        "#{} {} {} · {} image(s) · {}",
        r.id,
        r.created_at,
        r.status,
        r.images.len(),
        r.idea
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
                print_run(&mut out, &r)?;
                if let Some(e) = &r.error {
                    writeln!(out, "error: {e}")?;
                }
                writeln!(out, "recipe: {}", serde_json::to_string_pretty(&r.recipe)?)?;
                for i in &r.images {
                    writeln!(
                        out,
                        "\n[{}] seed {} · {}x{} · {}\n{}",
                        i.index, i.seed, i.width, i.height, i.file, i.prompt
                    )?;
                    if !i.negative_prompt.is_empty() {
                        writeln!(out, "Negative prompt: {}", i.negative_prompt)?;
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
                    let thumb = std::fs::read(&i.file)
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
