//! What one run paints: an idea fully resolved (target, size, seed ...),
//! so the same spec always gives the same prompts.

use mural_prompt::{Target, WriteRequest, Writer};
use serde::{Deserialize, Serialize};

/// Everything needed to paint one idea, fully resolved (seed included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSpec {
    pub idea: String,
    pub target: Target,
    pub style: Option<String>,
    /// Images: the first is the main prompt, the rest variations.
    pub n: usize,
    /// Seed of the first image (image i uses seed + i).
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// What no image may show, added to every written negative prompt (a
    /// template's tied negatives, `--negative`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub negative: String,
}

impl ItemSpec {
    pub fn write_request(&self) -> WriteRequest {
        WriteRequest {
            idea: self.idea.clone(),
            target: self.target,
            n: self.n,
            seed: self.seed,
            style: self.style.clone(),
            vary: false,
        }
    }

    /// One spec per expansion of a template: expansion `j` is its own run,
    /// with its seeds after the previous expansion's (`seed + j * n`), so
    /// no two images share a seed; each expansion's tied negative joins
    /// this spec's.
    pub fn expansions(&self, ideas: impl IntoIterator<Item = (String, String)>) -> Vec<ItemSpec> {
        ideas
            .into_iter()
            .filter(|(idea, _)| !idea.trim().is_empty())
            .enumerate()
            .map(|(j, (idea, negative))| ItemSpec {
                idea,
                seed: self.seed.wrapping_add((j * self.n) as u64),
                negative: join_negative(&self.negative, &negative),
                ..self.clone()
            })
            .collect()
    }
}

/// The size to paint at when none is given: the aspect the built-in
/// writer chose for the idea (a headshot is tall, a landscape wide),
/// fitted to what the painter takes.
pub fn default_size(
    idea: &str,
    target: Target,
    style: Option<&str>,
    limits: &mural_paint::Limits,
) -> (u32, u32) {
    let mut req = WriteRequest::new(idea, target);
    req.style = style.map(str::to_string);
    let aspect = mural_prompt::BuiltinWriter
        .write(&req)
        .ok()
        .and_then(|w| w.into_iter().next())
        .and_then(|w| written_aspect(&w.params))
        .unwrap_or((1, 1));
    limits.fit_aspect(aspect)
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

/// Two comma-separated negatives as one, each term once.
pub fn join_negative(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in a.split(',').chain(b.split(',')).map(str::trim) {
        if !t.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t);
        }
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_take_their_own_seeds_and_keep_every_negative() {
        let base = ItemSpec {
            idea: String::new(),
            target: Target::Sd,
            style: None,
            n: 2,
            seed: 10,
            width: 64,
            height: 64,
            negative: "blur".into(),
        };
        let e = base.expansions([
            ("a cat".to_string(), "fog".to_string()),
            (" ".to_string(), String::new()),
            ("a dog".to_string(), "Blur".to_string()),
        ]);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].seed, e[0].negative.as_str()), (10, "blur, fog"));
        assert_eq!((e[1].seed, e[1].negative.as_str()), (12, "blur"));
    }

    #[test]
    fn a_spec_reads_back_with_any_target_name() {
        let v = serde_json::json!({"idea": "x", "target": "mj", "style": null, "n": 1, "seed": 1, "width": 8, "height": 8});
        let s: ItemSpec = serde_json::from_value(v).unwrap();
        assert_eq!(s.target, Target::Midjourney);
        assert_eq!(serde_json::to_value(&s).unwrap()["target"], "midjourney");
        let bad = serde_json::json!({"idea": "x", "target": "nope", "style": null, "n": 1, "seed": 1, "width": 8, "height": 8});
        assert!(serde_json::from_value::<ItemSpec>(bad)
            .unwrap_err()
            .to_string()
            .contains("unknown target"));
    }
}
