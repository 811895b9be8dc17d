//! `mural info` and `mural gallery`: read what mural (and other tools)
//! recorded, and show it safely.

use super::{open_gallery, usage};
use anyhow::Result;
use clap::Subcommand;
use mural_gallery::{Run, RunStatus};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum GalleryCommand {
    /// List runs, newest first.
    List {
        /// Only runs whose idea or prompts contain this text.
        #[arg(long)]
        search: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per run.
        #[arg(long)]
        json: bool,
    },
    /// Show one run with its images and recipe.
    Show {
        /// The run's id (see `mural gallery list`).
        id: i64,
        /// The run as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a self-contained HTML contact sheet.
    Export {
        /// The HTML file to write.
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
        /// Only runs whose idea or prompts contain this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// Remove a run from the gallery (its image files stay unless --files).
    Rm {
        /// The run's id.
        id: i64,
        /// Also delete the run's image files.
        #[arg(long)]
        files: bool,
    },
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
    show_tools(&mut out, &info)?;
    Ok(ExitCode::SUCCESS)
}

/// What other tools (and mural) left in the file, shown safely.
fn show_tools(out: &mut impl Write, info: &mural_meta::ImageInfo) -> Result<()> {
    let show = |s: &str| crate::input::printable(s, true).into_owned();
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
    Ok(())
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
        r.status,
        r.images.len(),
        line(&r.idea)
    )?;
    Ok(())
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
                show_run(&mut out, &r)?;
            }
        }
        GalleryCommand::Export { html, search } => {
            let runs = gallery.list(search.as_deref(), 10_000)?;
            let read = |file: &str| {
                crate::input::read_file(Path::new(file), crate::input::MAX_IMAGE_BYTES, file).ok()
            };
            let (page, count) = mural_pipeline::export::contact_sheet(&runs, read);
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

/// One run in full: its error, its recipe, each image with its prompt.
fn show_run(out: &mut impl Write, r: &Run) -> Result<()> {
    let show = |s: &str| crate::input::printable(s, true).into_owned();
    print_run(out, r)?;
    if let Some(e) = &r.error {
        writeln!(out, "error: {}", show(e))?;
    }
    if r.status == RunStatus::Interrupted {
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
        match i.recipe["painter_params"]["pool"].as_str() {
            Some(pool) => writeln!(
                out,
                "Painted by: {} (member of pool {})",
                show(&i.painted_by),
                show(pool)
            )?,
            None if !i.painted_by.is_empty() => {
                writeln!(out, "Painted by: {}", show(&i.painted_by))?
            }
            None => {}
        }
    }
    Ok(())
}
