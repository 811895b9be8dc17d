//! Batches: a file of ideas, journaled in the gallery before any work, then
//! painted with bounded concurrency. Each item is one gallery run. After a
//! kill at any moment, resuming picks up every item that is not `done` or
//! `refused`: images already recorded are skipped, images saved but not
//! recorded are adopted from disk, so nothing is lost or saved twice.

use crate::recipe::{BatchRef, Recipe};
use crate::run::{Start, Studio};
use crate::{ItemError, ItemSpec, Kept, PaintItemError, PipelineError};
use futures_util::stream::{self, StreamExt};
use mural_gallery::{BatchItem, BatchStatus, Gallery, GalleryError, ItemStatus, Lease, LeaseKind};
use mural_prompt::{validate, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an item that names nothing gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    pub target: Target,
    pub style: Option<String>,
    pub n: usize,
    pub width: u32,
    pub height: u32,
    /// Seed of the first image of the batch; later items continue from it.
    pub seed: u64,
}

/// The fields a JSONL line may have.
pub const FIELDS: &[&str] = &["idea", "target", "style", "n", "seed", "size"];

/// The most bad lines one error lists; the rest are counted.
const MAX_LISTED_ERRORS: usize = 20;

/// Reads a batch file: one idea a line, or JSONL objects with
/// `idea, target, style, n, seed, size`. Blank lines and lines starting
/// with `#` are skipped. Every item is checked here, so a bad line stops
/// the batch before anything is painted. The error is one line naming
/// every bad line (the first 20, then how many more): "line 2: ...", or
/// "3 bad lines: line 2: ...; line 5: ...; line 9: ...".
pub fn parse(
    text: &str,
    d: &Defaults,
    parse_size: impl Fn(&str) -> Result<(u32, u32), String>,
) -> Result<Vec<ItemSpec>, String> {
    let mut items = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    let mut bad_count = 0usize;
    let mut next_seed = d.seed;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |m: String| format!("line {line_no}: {m}");
        let item = || -> Result<ItemSpec, String> {
            let mut spec = ItemSpec {
                idea: line.to_string(),
                target: d.target,
                style: d.style.clone(),
                n: d.n,
                seed: next_seed,
                width: d.width,
                height: d.height,
                negative: String::new(),
            };
            if line.starts_with('{') {
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| at(format!("not valid JSON ({e}); write one object per line")))?;
                let o = v
                    .as_object()
                    .ok_or_else(|| at("expected a JSON object".into()))?;
                if let Some(k) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
                    let hint = mural_prompt::nearest(k, FIELDS.iter().copied())
                        .map(|n| format!("did you mean {n:?}? "))
                        .unwrap_or_default();
                    return Err(at(format!(
                        "unknown field {k:?}; {hint}use {}",
                        FIELDS.join(", ")
                    )));
                }
                let s = |k: &str| -> Result<Option<String>, String> {
                    match o.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(at(format!("{k:?} must be a string"))),
                    }
                };
                let u = |k: &str| -> Result<Option<u64>, String> {
                    match o.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(v) => v
                            .as_u64()
                            .map(Some)
                            .ok_or_else(|| at(format!("{k:?} must be a whole number"))),
                    }
                };
                spec.idea = s("idea")?.ok_or_else(|| at("\"idea\" is missing".into()))?;
                if let Some(t) = s("target")? {
                    spec.target = Target::parse(&t).ok_or_else(|| {
                        let hint = mural_prompt::nearest(&t, Target::ALL.map(|t| t.name()))
                            .map(|n| format!("did you mean {n}? "))
                            .unwrap_or_default();
                        at(format!(
                            "unknown target {t:?}; {hint}use one of: {}",
                            Target::names()
                        ))
                    })?;
                }
                if let Some(st) = s("style")? {
                    spec.style = Some(st);
                }
                if let Some(n) = u("n")? {
                    spec.n = n as usize;
                }
                if let Some(seed) = u("seed")? {
                    spec.seed = seed;
                }
                if let Some(size) = s("size")? {
                    (spec.width, spec.height) = parse_size(&size).map_err(at)?;
                }
            }
            validate(&spec.write_request()).map_err(|e| at(e.to_string()))?;
            Ok(spec)
        };
        match item() {
            Ok(spec) => {
                next_seed = spec.seed.wrapping_add(spec.n as u64);
                items.push(spec);
            }
            Err(e) => {
                bad_count += 1;
                if bad.len() < MAX_LISTED_ERRORS {
                    bad.push(e);
                }
            }
        }
    }
    match bad_count {
        0 => {}
        1 => return Err(bad.remove(0)),
        n => {
            let more = n - bad.len();
            let tail = if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            };
            return Err(format!("{n} bad lines: {}{tail}", bad.join("; ")));
        }
    }
    if items.is_empty() {
        return Err(
            "no ideas in the file; put one idea per line (or one JSON object per line)".into(),
        );
    }
    Ok(items)
}

/// A short content digest (FNV-1a), so `--resume` knows the file is the
/// one it journaled.
pub fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// How a batch paints, journaled with it so `--resume` paints the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// What `--painter` said.
    pub painter: String,
    /// What `--writer` said (`None`: the built-in writer).
    #[serde(default)]
    pub writer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// The absolute folder the images go to.
    pub out: String,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_concurrency() -> usize {
    4
}

/// A batch journaled in the gallery, leased to this process.
#[derive(Debug)]
pub struct Journal {
    pub id: i64,
    pub options: Options,
    _lease: Lease,
}

/// Why a batch cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("no unfinished batch for this file; run it without --resume")]
    NoneUnfinished,
    #[error("the file changed since batch {id} was journaled; restore it, or run without --resume to start a new batch")]
    Changed { id: i64 },
    #[error(
        "batch {id}'s journal cannot be read ({reason}); run without --resume to start a new batch"
    )]
    Unreadable { id: i64, reason: String },
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

impl Journal {
    /// Journals a new batch of `items` (every item `pending`) before
    /// anything is painted, and leases it.
    pub fn create(
        gallery: &Gallery,
        source: &str,
        digest: &str,
        options: Options,
        items: &[ItemSpec],
    ) -> Result<Journal, JournalError> {
        let specs: Vec<Value> = items
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();
        let opts = serde_json::to_value(&options).unwrap_or(Value::Null);
        let id = gallery.create_batch(source, digest, &opts, &specs)?;
        let lease = gallery.lease(LeaseKind::Batch, id)?;
        Ok(Journal {
            id,
            options,
            _lease: lease,
        })
    }

    /// The newest unfinished batch of `source`, leased, if its file is
    /// still the one journaled (`digest`).
    pub fn reopen(gallery: &Gallery, source: &str, digest: &str) -> Result<Journal, JournalError> {
        let b = gallery
            .unfinished_batch(source)?
            .ok_or(JournalError::NoneUnfinished)?;
        // one process paints a batch at a time; a killed one's lease died
        // with it
        let lease = gallery.lease(LeaseKind::Batch, b.id)?;
        // it may have finished while we were taking the lease
        if gallery
            .batch(b.id)?
            .is_none_or(|now| now.status == BatchStatus::Done)
        {
            return Err(JournalError::NoneUnfinished);
        }
        if b.digest != digest {
            return Err(JournalError::Changed { id: b.id });
        }
        let options = Options::deserialize(&b.options).map_err(|e| JournalError::Unreadable {
            id: b.id,
            reason: e.to_string(),
        })?;
        Ok(Journal {
            id: b.id,
            options,
            _lease: lease,
        })
    }

    /// The unfinished batch of `source`, if any (to tell the user).
    pub fn unfinished(gallery: &Gallery, source: &str) -> Result<Option<i64>, GalleryError> {
        Ok(gallery.unfinished_batch(source)?.map(|b| b.id))
    }

    /// Items not yet done or refused.
    pub fn pending(gallery: &Gallery, id: i64) -> Result<usize, GalleryError> {
        Ok(gallery
            .batch_items(id)?
            .iter()
            .filter(|i| !i.status.is_final())
            .count())
    }
}

/// How an item ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    Done,
    Refused(String),
    Failed(String),
}

/// What a running batch reports.
pub enum Event<'a> {
    Image(&'a Kept),
    Finished {
        index: usize,
        idea: &'a str,
        outcome: &'a Outcome,
    },
}

/// The end of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub batch_id: i64,
    pub items: usize,
    /// Items done, this time or before a resume.
    pub done: usize,
    /// (index, idea, reason)
    pub refused: Vec<(usize, String, String)>,
    pub failed: Vec<(usize, String, String)>,
}

impl Summary {
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.refused.is_empty() && self.done == self.items
    }
}

/// Paints every unfinished item of a journaled batch, `concurrency` at a
/// time, each item one run through [`Studio::run`]. Errors of mural's own
/// storage stop the batch; an item's failure is recorded and reported.
pub async fn run<F: Fn(Event)>(
    studio: &Studio<'_>,
    batch_id: i64,
    concurrency: usize,
    on: &F,
) -> Result<Summary, PipelineError> {
    let items = studio.gallery.batch_items(batch_id)?;
    let mut summary = Summary {
        batch_id,
        items: items.len(),
        ..Summary::default()
    };
    let mut todo = Vec::new();
    for it in items {
        let idea = it.spec["idea"].as_str().unwrap_or_default().to_string();
        match it.status {
            ItemStatus::Done => summary.done += 1,
            ItemStatus::Refused => {
                summary
                    .refused
                    .push((it.index, idea, it.error.clone().unwrap_or_default()))
            }
            _ => todo.push(it),
        }
    }
    let results: Vec<Result<(usize, String, Outcome), PipelineError>> = stream::iter(todo)
        .map(|it| async move {
            let idea = it.spec["idea"].as_str().unwrap_or_default().to_string();
            let outcome = item(studio, batch_id, &it, on).await?;
            on(Event::Finished {
                index: it.index,
                idea: &idea,
                outcome: &outcome,
            });
            Ok((it.index, idea, outcome))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for r in results {
        let (index, idea, outcome) = r?;
        match outcome {
            Outcome::Done => summary.done += 1,
            Outcome::Refused(why) => summary.refused.push((index, idea, why)),
            Outcome::Failed(why) => summary.failed.push((index, idea, why)),
        }
    }
    summary.refused.sort();
    summary.failed.sort();
    // refused items are final: the batch is finished when nothing failed
    studio.gallery.finish_batch(
        batch_id,
        summary.failed.is_empty() && summary.done + summary.refused.len() == summary.items,
    )?;
    Ok(summary)
}

async fn item<F: Fn(Event)>(
    studio: &Studio<'_>,
    batch_id: i64,
    it: &BatchItem,
    on: &F,
) -> Result<Outcome, PipelineError> {
    let g = studio.gallery;
    let finish = |status: ItemStatus, why: String| -> Result<Outcome, PipelineError> {
        g.finish_item(batch_id, it.index, status, Some(&why))?;
        Ok(Outcome::Failed(why))
    };
    let spec: ItemSpec = match serde_json::from_value(it.spec.clone()) {
        Ok(s) => s,
        Err(e) => {
            return finish(
                ItemStatus::Failed,
                format!("the journaled item cannot be read ({e})"),
            )
        }
    };
    // the run this item paints into: the journaled one, or a new one
    let journaled = match it.run_id {
        Some(id) => g.get(id).ok(),
        None => None,
    };
    let start = match journaled {
        Some(run) => match Recipe::from_value(&run.recipe) {
            Ok(recipe) => Start::Continue {
                run_id: run.id,
                recipe: Box::new(recipe),
            },
            Err(e) => {
                return finish(
                    ItemStatus::Failed,
                    format!("run {}'s recipe cannot be read ({e})", run.id),
                )
            }
        },
        None => Start::New {
            rerun_of: None,
            batch: Some(BatchRef {
                id: batch_id,
                index: it.index,
            }),
        },
    };
    let journal_err: std::cell::RefCell<Option<GalleryError>> = Default::default();
    let on_run = |e: crate::run::Event| match e {
        crate::run::Event::Started { run_id } => {
            // journaled before anything is painted, so a resume finds it
            if let Err(e) = g.start_item(batch_id, it.index, run_id) {
                *journal_err.borrow_mut() = Some(e);
            }
        }
        crate::run::Event::Image(k) => on(Event::Image(k)),
        crate::run::Event::Written(_) => {}
    };
    let result = studio.run(&spec, start, &on_run).await;
    if let Some(e) = journal_err.take() {
        return Err(e.into());
    }
    let outcome = match result {
        Ok(_) => Outcome::Done,
        Err(f) => match f.error {
            PaintItemError::Fatal(e) => return Err(e),
            PaintItemError::Item(ItemError::Refused { reason, .. }) => Outcome::Refused(reason),
            PaintItemError::Item(e) => Outcome::Failed(e.to_string()),
        },
    };
    let (status, error) = match &outcome {
        Outcome::Done => (ItemStatus::Done, None),
        Outcome::Refused(r) => (ItemStatus::Refused, Some(format!("refused: {r}"))),
        Outcome::Failed(f) => (ItemStatus::Failed, Some(f.clone())),
    };
    g.finish_item(batch_id, it.index, status, error.as_deref())?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Defaults {
        Defaults {
            target: Target::Dalle,
            style: None,
            n: 1,
            width: 64,
            height: 64,
            seed: 100,
        }
    }

    fn size(s: &str) -> Result<(u32, u32), String> {
        let (w, h) = s.split_once('x').ok_or("bad size")?;
        Ok((w.parse().map_err(|_| "bad")?, h.parse().map_err(|_| "bad")?))
    }

    #[test]
    fn text_and_jsonl_lines() {
        let items = parse(
            "a red fox\n\n# comment\n{\"idea\": \"a blue owl\", \"n\": 2, \"target\": \"mj\", \"size\": \"128x96\"}\nthird idea\n",
            &d(),
            size,
        )
        .unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].seed, 100);
        assert_eq!(
            (items[1].seed, items[1].n, items[1].target),
            (101, 2, Target::Midjourney)
        );
        assert_eq!((items[1].width, items[1].height), (128, 96));
        assert_eq!(
            items[2].seed, 103,
            "seeds continue past an item's variations"
        );
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let e = parse("ok idea\n{\"idea\": \"x\", \"colour\": 1}", &d(), size).unwrap_err();
        assert!(e.starts_with("line 2: unknown field \"colour\""), "{e}");
        let e = parse("{\"idea\": \"x\", \"style\": \"nope\"}", &d(), size).unwrap_err();
        assert!(e.contains("line 1") && e.contains("unknown style"), "{e}");
        let e = parse("{oops", &d(), size).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        assert!(parse("\n# only comments\n", &d(), size)
            .unwrap_err()
            .contains("no ideas"));
    }

    #[test]
    fn every_bad_line_is_named_at_once() {
        let text = "a red fox\n{\"idea\": \"x\", \"colour\": 1}\nfine\n{\"idea\": \"y\", \"target\": \"midjurney\"}\n{oops\n";
        let e = parse(text, &d(), size).unwrap_err();
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(
            e.starts_with("3 bad lines: line 2: unknown field \"colour\""),
            "{e}"
        );
        assert!(
            e.contains("did you mean \"idea\"?") || e.contains("use idea"),
            "{e}"
        );
        assert!(
            e.contains("; line 4: unknown target \"midjurney\"; did you mean midjourney?"),
            "{e}"
        );
        assert!(e.contains("; line 5: not valid JSON"), "{e}");
        let many: String = (0..25)
            .map(|i| format!("{{\"idea\": \"x{i}\", \"n\": 0}}\n"))
            .collect();
        let e = parse(&many, &d(), size).unwrap_err();
        assert!(e.starts_with("25 bad lines: line 1: "), "{e}");
        assert!(e.contains("line 20: ") && !e.contains("line 21: "), "{e}");
        assert!(e.ends_with("; and 5 more"), "{e}");
    }
}
