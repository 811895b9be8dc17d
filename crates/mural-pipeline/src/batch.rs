//! Batches: a file of ideas, journaled in the gallery before any work, then
//! painted with bounded concurrency. Each item is one gallery run. After a
//! kill at any moment, resuming picks up every item that is not `done` or
//! `refused`: images already recorded are skipped, images saved but not
//! recorded are adopted from disk, so nothing is lost or saved twice.

use crate::{ItemError, ItemSpec, Kept, PaintItemError, PipelineError, Studio};
use futures_util::stream::{self, StreamExt};
use mural_gallery::{BatchItem, NewRun};
use mural_prompt::writer::validate;
use mural_prompt::Target;
use serde::Serialize;
use serde_json::Value;

/// What an item that names nothing gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    pub target: String,
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
                target: d.target.clone(),
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
                    spec.target = t;
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
            let target = Target::parse(&spec.target).ok_or_else(|| {
                let hint = mural_prompt::nearest(&spec.target, Target::ALL.map(|t| t.name()))
                    .map(|n| format!("did you mean {n}? "))
                    .unwrap_or_default();
                at(format!(
                    "unknown target {:?}; {hint}use one of: {}",
                    spec.target,
                    Target::names()
                ))
            })?;
            spec.target = target.name().to_string();
            validate(&spec.write_request().map_err(|e| at(e.to_string()))?)
                .map_err(|e| at(e.to_string()))?;
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
/// time. Errors of mural's own storage stop the batch; an item's failure
/// is recorded and reported.
pub async fn run(
    studio: &Studio<'_>,
    batch_id: i64,
    concurrency: usize,
    on: &dyn Fn(Event),
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
        match it.status.as_str() {
            "done" => summary.done += 1,
            "refused" => {
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

async fn item(
    studio: &Studio<'_>,
    batch_id: i64,
    it: &BatchItem,
    on: &dyn Fn(Event),
) -> Result<Outcome, PipelineError> {
    let g = studio.gallery;
    let spec: ItemSpec = match serde_json::from_value(it.spec.clone()) {
        Ok(s) => s,
        Err(e) => {
            let why = format!("the journaled item cannot be read ({e})");
            g.finish_item(batch_id, it.index, "failed", Some(&why))?;
            return Ok(Outcome::Failed(why));
        }
    };
    // the run this item paints into: the journaled one, or a new one
    let existing = match it.run_id {
        Some(id) => g.get(id).ok(),
        None => None,
    };
    let (run_id, run_json) = match existing {
        Some(run) => (run.id, run.recipe),
        None => {
            let recipe = studio.recipe(&spec, None);
            let mut recipe_b = recipe.clone();
            recipe_b["batch"] = serde_json::json!({ "id": batch_id, "index": it.index });
            let id = g.start_run(&NewRun {
                idea: &spec.idea,
                recipe: &recipe_b,
            })?;
            (id, recipe_b)
        }
    };
    g.start_item(batch_id, it.index, run_id)?;
    let result = studio
        .paint_item(&spec, run_id, &run_json, &|k| on(Event::Image(k)))
        .await;
    let outcome = match result {
        Ok(()) => Outcome::Done,
        Err(PaintItemError::Fatal(e)) => return Err(e),
        Err(PaintItemError::Item(ItemError::Refused(r))) => Outcome::Refused(r),
        Err(PaintItemError::Item(e)) => Outcome::Failed(e.to_string()),
    };
    let (status, error) = match &outcome {
        Outcome::Done => ("done", None),
        Outcome::Refused(r) => ("refused", Some(format!("refused: {r}"))),
        Outcome::Failed(f) => ("failed", Some(f.clone())),
    };
    g.finish_run(run_id, error.as_deref())?;
    g.finish_item(batch_id, it.index, status, error.as_deref())?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Defaults {
        Defaults {
            target: "dalle".into(),
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
            (items[1].seed, items[1].n, items[1].target.as_str()),
            (101, 2, "midjourney")
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
