//! Write, paint, keep: the one path every image takes, from a resolved
//! [`ItemSpec`] to a PNG on disk with its recipe inside and a row in the
//! gallery. `mural imagine`, `mural rerun` and `mural batch` all go
//! through [`Studio::paint_item`]; batches add a journal ([`batch`]).
//!
//! Keeping is crash-safe: a file is written to a temp name and hard-linked
//! to its final name (never replacing one), then recorded. If the process
//! dies between the two, the next attempt finds the file by its recipe
//! and records it instead of painting it again. A file is adopted only if
//! its recipe holds this run's *key*, a random 128-bit value made when the
//! run starts and never reused, so a run never takes another run's file,
//! even one whose id came back (a new database, a shared out folder).
//! One process paints a run at a time: [`Studio::paint_item`] holds the
//! run's lease ([`mural_gallery::Gallery::lease`]).
//!
//! Architecture invariant: this crate never sees API keys (painters keep
//! them) and knows no HTTP; it sequences writer, painter, metadata and
//! gallery.

pub mod batch;
pub mod files;

use mural_gallery::{Gallery, GalleryError, LeaseKind, NewImage};
use mural_paint::{PaintError, PaintRequest, Painted, Painter};
use mural_prompt::{Target, WriteError, WriteRequest, Writer, Written};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A fresh seed below 2^32 (every painter takes it), for a request that
/// names none.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish() % 4_294_967_296
}

/// A fresh run key: 128 random bits from the operating system, as 32 hex
/// digits. It names one run forever (see [`Studio::recipe`]).
pub fn run_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // no OS randomness: the clock, the process and a per-process
        // hasher seed, still never the same twice in practice
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            h.write_u32(std::process::id());
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything needed to paint one idea, fully resolved (seed included), so
/// the same spec always gives the same prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSpec {
    pub idea: String,
    pub target: String,
    pub style: Option<String>,
    /// Images: the first is the main prompt, the rest variations.
    pub n: usize,
    /// Seed of the first image (image i uses seed + i).
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// Added to every written negative prompt (a template's tied negatives).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub negative: String,
}

impl ItemSpec {
    pub fn target(&self) -> Result<Target, ItemError> {
        Target::parse(&self.target).ok_or_else(|| {
            ItemError::Invalid(format!(
                "unknown target {:?}; use one of: {}",
                self.target,
                Target::names()
            ))
        })
    }

    pub fn write_request(&self) -> Result<WriteRequest, ItemError> {
        Ok(WriteRequest {
            idea: self.idea.clone(),
            target: self.target()?,
            n: self.n,
            seed: self.seed,
            style: self.style.clone(),
            vary: false,
        })
    }
}

/// One image kept: on disk and in the gallery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kept {
    pub id: i64,
    pub run_id: i64,
    pub index: usize,
    pub file: String,
    pub idea: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub painter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    /// Recorded from a file an interrupted attempt left, not painted again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

/// Why an item did not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemError {
    /// The service refused the content; trying again will not help.
    #[error("refused: {0}")]
    Refused(String),
    /// The item itself is wrong (unknown style, bad size ...).
    #[error("{0}")]
    Invalid(String),
    /// The painter or writer failed (after its retries).
    #[error("{0}")]
    Failed(String),
}

impl From<PaintError> for ItemError {
    fn from(e: PaintError) -> Self {
        match e {
            PaintError::Refused { reason } => ItemError::Refused(reason),
            PaintError::InvalidRequest { message } | PaintError::Auth { message } => {
                ItemError::Invalid(message)
            }
            e => ItemError::Failed(e.to_string()),
        }
    }
}

impl From<WriteError> for ItemError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Backend { message, .. } => ItemError::Failed(message),
            e => ItemError::Invalid(e.to_string()),
        }
    }
}

/// A failure of mural's own storage: fatal for the whole command.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Gallery(#[from] GalleryError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot add metadata to the image: {0}")]
    Meta(#[from] mural_meta::MetaError),
    #[error("the out folder {0} is not valid UTF-8, so its images could not be recorded exactly; pick a folder whose path is UTF-8")]
    NonUtf8Path(String),
}

/// Either an item's own failure or a fatal one.
#[derive(Debug, thiserror::Error)]
pub enum PaintItemError {
    #[error(transparent)]
    Item(#[from] ItemError),
    #[error(transparent)]
    Fatal(#[from] PipelineError),
}

/// The parts one command paints with.
pub struct Studio<'a> {
    pub gallery: &'a Gallery,
    pub painter: &'a dyn Painter,
    /// What `--painter` said (a kind or a profile name), for the recipe.
    pub painter_label: &'a str,
    pub writer: &'a dyn Writer,
    pub out: &'a Path,
}

impl Studio<'_> {
    /// The recipe of a run: everything to paint it again (no secrets), and
    /// a fresh `run_key` that tells this run's files from any other's.
    pub fn recipe(&self, spec: &ItemSpec, rerun_of: Option<i64>) -> Value {
        json!({
            "run_key": run_key(),
            "idea": spec.idea,
            "writer": self.writer.name(),
            "target": spec.target,
            "style": spec.style,
            "seed": spec.seed,
            "n": spec.n,
            "painter": self.painter_label,
            "painter_kind": self.painter.name(),
            "model": self.painter.model(),
            "width": spec.width,
            "height": spec.height,
            "rerun_of": rerun_of,
            "negative": spec.negative,
            "mural_version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// Writes, paints and keeps every image of `spec` under `run_id` that
    /// the gallery does not have yet; `on_image` hears of each. Holds the
    /// run's lease throughout: a run another process is painting is
    /// refused ([`GalleryError::Leased`]).
    pub async fn paint_item(
        &self,
        spec: &ItemSpec,
        run_id: i64,
        run_json: &Value,
        on_image: &dyn Fn(&Kept),
    ) -> Result<(), PaintItemError> {
        if self.out.to_str().is_none() {
            return Err(PipelineError::NonUtf8Path(self.out.to_string_lossy().into_owned()).into());
        }
        let _lease = self
            .gallery
            .lease(LeaseKind::Run, run_id)
            .map_err(PipelineError::from)?;
        let written =
            self.writer
                .write(&spec.write_request()?)
                .map_err(|e| match ItemError::from(e) {
                    // say which stage failed: the writer, not the painter
                    ItemError::Failed(m) => {
                        ItemError::Failed(format!("writer {}: {m}", self.writer.name()))
                    }
                    ItemError::Invalid(m) => {
                        ItemError::Invalid(format!("writer {}: {m}", self.writer.name()))
                    }
                    e => e,
                })?;
        let have: Vec<usize> = self
            .gallery
            .get(run_id)
            .map_err(PipelineError::from)?
            .images
            .iter()
            .map(|i| i.index)
            .collect();
        for w in written.iter().filter(|w| !have.contains(&w.index)) {
            if let Some(kept) = self.adopt(run_id, run_json, spec, w)? {
                on_image(&kept);
                continue;
            }
            let req = PaintRequest {
                prompt: w.prompt.clone(),
                negative_prompt: w.negative_prompt.clone(),
                width: spec.width,
                height: spec.height,
                n: 1,
                seed: w.seed,
                model: None,
                // the built-in writer wrote from the idea: paint the idea's
                // scene, not the words it added; any other writer's prompt
                // is read by the painter itself
                scene: (self.writer.name() == "builtin").then(|| mural_prompt::scene_of(&w.idea)),
            };
            let painted = self.painter.paint(&req).await.map_err(ItemError::from)?;
            let img = painted.into_iter().next().ok_or_else(|| {
                ItemError::Failed(format!("painter {} returned no image", self.painter_label))
            })?;
            let kept = self.keep(run_id, run_json, spec, w, &img)?;
            on_image(&kept);
        }
        Ok(())
    }

    /// Embeds the recipe, saves the file (never replacing one) and records it.
    pub fn keep(
        &self,
        run_id: i64,
        run_json: &Value,
        spec: &ItemSpec,
        w: &Written,
        img: &Painted,
    ) -> Result<Kept, PipelineError> {
        let mut recipe = run_json.clone();
        recipe["run_id"] = json!(run_id);
        recipe["index"] = json!(w.index);
        recipe["seed"] = json!(img.seed);
        recipe["prompt"] = json!(w.prompt);
        recipe["negative_prompt"] = json!(w.negative_prompt);
        recipe["writer_params"] = Value::Object(w.params.clone());
        recipe["painter_params"] = Value::Object(img.params.clone());
        if let Some(r) = &img.revised_prompt {
            recipe["revised_prompt"] = json!(r);
        }
        let p = |k: &str| img.params.get(k);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(s) = p("steps") {
            fields.push(("Steps", text(s)));
        }
        fields.push((
            "Sampler",
            p("sampler")
                .map(text)
                .unwrap_or_else(|| self.painter.name().to_string()),
        ));
        if let Some(c) = p("cfg_scale") {
            fields.push(("CFG scale", text(c)));
        }
        fields.push(("Seed", img.seed.to_string()));
        fields.push(("Size", format!("{}x{}", img.width, img.height)));
        fields.push((
            "Model",
            p("model")
                .map(text)
                .unwrap_or_else(|| self.painter.model().to_string()),
        ));
        fields.push(("Version", format!("mural {}", env!("CARGO_PKG_VERSION"))));
        let parameters = mural_meta::infotext(&w.prompt, &w.negative_prompt, &fields);
        let bytes = mural_meta::embed(
            &img.png,
            &mural_meta::Embed {
                parameters: &parameters,
                recipe: &recipe,
                digital_source_type: self.painter.source_type().iptc_uri(),
            },
        )?;
        // named by the seed asked for, so a later attempt can look it up
        let stem = files::stem(run_id, w.index, w.seed);
        let tag = match run_json["run_key"].as_str() {
            Some(key) => key.to_string(),
            None => std::process::id().to_string(),
        };
        let path = files::save_new(self.out, &stem, &tag, &bytes)?;
        let file = utf8(&path)?;
        self.record(
            run_id,
            spec,
            w,
            &file,
            img.seed,
            img.width,
            img.height,
            &recipe,
            img.revised_prompt.clone(),
            false,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        run_id: i64,
        spec: &ItemSpec,
        w: &Written,
        file: &str,
        seed: u64,
        width: u32,
        height: u32,
        recipe: &Value,
        revised_prompt: Option<String>,
        adopted: bool,
    ) -> Result<Kept, PipelineError> {
        let id = self.gallery.add_image(
            run_id,
            &NewImage {
                index: w.index,
                file,
                prompt: &w.prompt,
                negative_prompt: &w.negative_prompt,
                seed,
                width,
                height,
                recipe,
            },
        )?;
        Ok(Kept {
            id,
            run_id,
            index: w.index,
            file: file.to_string(),
            idea: spec.idea.clone(),
            prompt: w.prompt.clone(),
            negative_prompt: w.negative_prompt.clone(),
            seed,
            width,
            height,
            painter: self.painter_label.to_string(),
            revised_prompt,
            adopted,
        })
    }

    /// A file an interrupted attempt saved but did not record: recorded now.
    fn adopt(
        &self,
        run_id: i64,
        run_json: &Value,
        spec: &ItemSpec,
        w: &Written,
    ) -> Result<Option<Kept>, PipelineError> {
        let want = files::Wanted {
            run_id,
            run_key: run_json["run_key"].as_str(),
            index: w.index,
            seed: w.seed,
            prompt: &w.prompt,
        };
        let Some((path, recipe)) = files::find_kept(self.out, &want) else {
            return Ok(None);
        };
        let seed = recipe["seed"].as_u64().unwrap_or(w.seed);
        let (width, height) = (
            recipe["width"].as_u64().unwrap_or(spec.width as u64) as u32,
            recipe["height"].as_u64().unwrap_or(spec.height as u64) as u32,
        );
        let revised = recipe["revised_prompt"].as_str().map(str::to_string);
        let file = utf8(&path)?;
        // record what painted the file (an LLM writer may write differently now)
        let mut w = w.clone();
        if let Some(p) = recipe["prompt"].as_str() {
            w.prompt = p.to_string();
        }
        if let Some(n) = recipe["negative_prompt"].as_str() {
            w.negative_prompt = n.to_string();
        }
        self.record(
            run_id, spec, &w, &file, seed, width, height, &recipe, revised, true,
        )
        .map(Some)
    }
}

/// A path as recorded: exactly, or not at all.
fn utf8(path: &Path) -> Result<String, PipelineError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| PipelineError::NonUtf8Path(path.to_string_lossy().into_owned()))
}
