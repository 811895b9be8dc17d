//! `mural lint`: token counts, chunk breaks and warnings for any prompt.

use crate::analysis::analyze;
use crate::check::{terms, TermSet};
use crate::target::Target;
use crate::text::{lower_words, stem};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// Where a new 75-token CLIP chunk begins.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChunkBreak {
    /// 1-based number of the chunk that starts here.
    pub chunk: usize,
    /// Token offset at which it starts.
    pub token: usize,
    /// The words that open it.
    pub starts_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LintReport {
    pub target: Target,
    pub chars: usize,
    /// CLIP tokens of the prompt text (weights syntax and Midjourney
    /// parameters excluded), without start/end markers.
    pub clip_tokens: usize,
    pub chunks: Vec<ChunkBreak>,
    pub warnings: Vec<Warning>,
}

impl LintReport {
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}

fn w(code: &'static str, message: String) -> Warning {
    Warning { code, message }
}

/// A1111 attention syntax removed: "(cat:1.2)" -> "cat", "[dog]" -> "dog".
pub fn strip_weights(prompt: &str) -> String {
    let mut out = String::with_capacity(prompt.len());
    let mut chars = prompt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' | ')' | '[' | ']' => {}
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            ':' => {
                // ":1.2" before a closing bracket is a weight
                let rest: String = chars
                    .clone()
                    .take_while(|c| !matches!(c, ')' | ']'))
                    .collect();
                let is_weight = !rest.is_empty()
                    && rest.trim().parse::<f64>().is_ok()
                    && chars
                        .clone()
                        .nth(rest.chars().count())
                        .is_some_and(|c| c == ')' || c == ']');
                if is_weight {
                    for _ in 0..rest.chars().count() {
                        chars.next();
                    }
                } else {
                    out.push(':');
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn balanced(prompt: &str) -> bool {
    let mut depth_round = 0i32;
    let mut depth_square = 0i32;
    let mut escaped = false;
    for c in prompt.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' => depth_round += 1,
            ')' => depth_round -= 1,
            '[' => depth_square += 1,
            ']' => depth_square -= 1,
            _ => {}
        }
        if depth_round < 0 || depth_square < 0 {
            return false;
        }
    }
    depth_round == 0 && depth_square == 0
}

/// Splits a Midjourney prompt into its text and its `--` parameters.
pub fn split_midjourney(prompt: &str) -> (&str, Vec<(String, String)>) {
    let start = prompt
        .find(" --")
        .map(|i| i + 1)
        .or_else(|| prompt.starts_with("--").then_some(0));
    let Some(start) = start else {
        return (prompt, Vec::new());
    };
    let text = prompt[..start].trim_end();
    let mut params = Vec::new();
    for part in prompt[start..].split("--").skip(1) {
        let part = part.trim();
        let (name, value) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
        params.push((name.to_lowercase(), value.trim().to_string()));
    }
    (text, params)
}

/// Holds a Midjourney prompt's parameters to the version it asks for
/// (`--v`, else the target's own), from `data/midjourney.toml`.
fn check_midjourney(params: &[(String, String)], target: Target, out: &mut Vec<Warning>) {
    let table = crate::midjourney::table();
    let version = params
        .iter()
        .rev()
        .find(|(n, _)| n == "v" || n == "version")
        .map(|(_, v)| v.as_str())
        .or(target.midjourney_version())
        .unwrap_or("7");
    if !table.versions.iter().any(|v| v == version) {
        out.push(w(
            "midjourney_param",
            format!(
                "--v {version:?} must be one of {}",
                table.versions.join(", ")
            ),
        ));
    }
    let fam = crate::midjourney::family(version);
    for (name, value) in params {
        if name == "v" || name == "version" {
            continue;
        }
        if let Some(problem) = crate::midjourney::check(name, value, fam) {
            out.push(w("midjourney_param", problem));
        }
    }
}

/// Contradictions inside one prompt.
fn contradictions(text: &str, out: &mut Vec<Warning>) {
    let a = analyze(text);
    let words = lower_words(text);
    let t = terms();
    if a.is_night() && t.daylight.hits(&words) {
        out.push(w(
            "contradiction",
            "the prompt is set at night but uses daylight words (noon, sunlight, golden hour)"
                .into(),
        ));
    }
    if a.monochrome && t.colors.hits(&words) {
        out.push(w(
            "contradiction",
            "the prompt asks for black and white but names colors".into(),
        ));
    }
    for n in &a.negations {
        let s = stem(n);
        let uses = words.iter().filter(|x| stem(x) == s).count();
        let people_neg = t.people.hits(std::slice::from_ref(n));
        let people_uses = if people_neg {
            TermSet::count(&t.people, &words)
        } else {
            0
        };
        if uses > 1 || people_uses > 1 {
            out.push(w(
                "contradiction",
                format!("the prompt excludes {n:?} but also asks for it"),
            ));
        }
    }
}

/// Contradictions the knowledge knows of: what the prompt's own setting,
/// states, era and kind of artifact rule out, and lens talk for a medium
/// made by hand.
fn knowledge_conflicts(text: &str, out: &mut Vec<Warning>) {
    // The scene is what the prompt opens with (the subject, its setting
    // and state, up to the first comma or period); the rest of the prompt
    // is held to it.
    let first = first_sentence(text);
    let first = first.split(',').next().unwrap_or(first);
    let a = analyze(first);
    let scene = crate::scene::scene_from(&a);
    let words = lower_words(text);
    let world = mural_knowledge::world();
    // the writer's own matching: a term and its inflections ("steam",
    // "steaming"), not every word sharing a stem ("landed", "landing gear")
    let bases: Vec<String> = words.iter().map(|x| crate::compose::base(x)).collect();
    let has = |term: &str| {
        let t: Vec<String> = lower_words(term)
            .iter()
            .map(|x| crate::compose::base(x))
            .collect();
        !t.is_empty()
            && bases.windows(t.len()).any(|win| {
                win.iter().zip(&t).enumerate().all(|(i, (w, x))| {
                    if i + 1 == t.len() {
                        crate::compose::inflects(x, w)
                    } else {
                        w == x
                    }
                })
            })
    };
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(p) = scene.setting.as_ref().filter(|p| p.stated) {
        for s in world.setting_chain(&p.id) {
            for n in &s.never {
                if has(n) {
                    found.push((n.clone(), format!("a {} scene", s.id.replace('_', " "))));
                }
            }
        }
    }
    for e in &scene.entities {
        for st in &e.states {
            if let Some(f) = world.state(st) {
                for n in &f.excludes {
                    if has(n) {
                        found.push((n.clone(), format!("a {st} {}", e.lemma)));
                    }
                }
            }
        }
    }
    if let Some(era) = scene.era.as_deref().and_then(|e| world.era(e)) {
        for n in &era.anachronisms {
            if has(n) {
                found.push((n.clone(), format!("the {}", era.id.replace('_', " "))));
            }
        }
    }
    if let Some(x) = scene.artifact.as_deref().and_then(|x| world.artifact(x)) {
        if x.lettering != "allowed" && a.quoted.is_empty() {
            for n in [
                "lettering",
                "typography",
                "text",
                "words",
                "letters",
                "wordmark",
            ] {
                if has(n) {
                    found.push((
                        n.into(),
                        format!("a {} with no words given", x.id.replace('_', " ")),
                    ));
                }
            }
        }
    }
    if a.non_photographic() && crate::check::camera_count(text, &words) > 0 {
        out.push(w(
            "contradiction",
            "lens or camera words in a medium made by hand (a watercolor has no lens)".into(),
        ));
    }
    found.sort();
    found.dedup_by(|x, y| x.0 == y.0);
    for (term, why) in found {
        out.push(w("contradiction", format!("{term:?} does not fit {why}")));
    }
}

/// The text up to the end of its first sentence (quotes kept whole).
fn first_sentence(text: &str) -> &str {
    let mut in_quote = false;
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => in_quote = !in_quote,
            b'.' | b'!' | b'?' if !in_quote && b.get(i + 1).is_none_or(|n| *n == b' ') => {
                return &text[..i];
            }
            _ => {}
        }
    }
    text
}

/// The contradictions in a text, without budgets or syntax.
pub fn conflicts(text: &str) -> Vec<Warning> {
    let mut out = Vec::new();
    contradictions(text, &mut out);
    knowledge_conflicts(text, &mut out);
    out
}

/// Lints a prompt for a target.
pub fn lint(prompt: &str, target: Target) -> LintReport {
    let mut warnings = Vec::new();
    let (text, mj_params) = if target.is_midjourney() {
        split_midjourney(prompt)
    } else {
        (prompt, Vec::new())
    };
    let clip_text = if target.is_prose() {
        text.to_string()
    } else {
        if !balanced(text) {
            warnings.push(w(
                "syntax",
                "unbalanced ( ) or [ ] in weights; escape literal brackets as \\( \\)".into(),
            ));
        }
        strip_weights(text)
    };
    let pieces = mural_clip::pieces(&clip_text);
    let clip_tokens: usize = pieces.iter().map(|p| p.tokens).sum();
    let starts = mural_clip::chunk_starts(&pieces);
    let chunks = starts
        .iter()
        .enumerate()
        .map(|(i, &p)| ChunkBreak {
            chunk: i + 2,
            token: pieces[..p].iter().map(|x| x.tokens).sum(),
            starts_at: pieces[p..]
                .iter()
                .take(4)
                .map(|x| x.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    if let Some(max) = target.max_clip_tokens() {
        if clip_tokens > max {
            warnings.push(w(
                "over_budget",
                format!("{clip_tokens} CLIP tokens, over the {max}-token budget; tokens after {max} start a new chunk and weaken the prompt"),
            ));
        }
    }
    let chars = prompt.chars().count();
    if let Some(max) = target.max_chars() {
        if chars > max {
            warnings.push(w(
                "too_long",
                format!("{chars} characters, over {target}'s limit of {max}"),
            ));
        }
    }
    if target.is_midjourney() {
        check_midjourney(&mj_params, target, &mut warnings);
    }
    if prompt.trim().is_empty() {
        warnings.push(w("empty", "the prompt is empty".into()));
    }
    contradictions(text, &mut warnings);
    knowledge_conflicts(text, &mut warnings);
    LintReport {
        target,
        chars,
        clip_tokens,
        chunks,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_stripped() {
        assert_eq!(strip_weights("(cat:1.2), [dog], (a:b)"), "cat, dog, a:b");
    }

    #[test]
    fn sd_budget() {
        let long = "cat, ".repeat(60);
        let r = lint(&long, Target::Sd);
        assert!(r.clip_tokens > 75);
        assert_eq!(r.chunks.len(), 1);
        assert_eq!(r.warnings[0].code, "over_budget");
        assert!(lint("(beach sunset:1.2), palm trees", Target::Sd).is_clean());
    }

    #[test]
    fn midjourney_params() {
        assert!(lint("a fox --ar 16:9 --stylize 250 --v 6.1", Target::Midjourney).is_clean());
        let r = lint(
            "a fox --ar 16.5:9 --stylize 2000 --chaos 101 --v 9 --bogus",
            Target::Midjourney,
        );
        assert_eq!(r.warnings.len(), 5, "{:?}", r.warnings);
    }

    #[test]
    fn midjourney_params_the_version_does_not_take_are_reported() {
        // V7 (the midjourney target's version) takes --oref, not --hd
        let r = lint(
            "a fox --ar 1:1 --oref https://x/a.png --ow 100 --v 7",
            Target::Midjourney,
        );
        assert!(r.is_clean(), "{:?}", r.warnings);
        let r = lint("a fox --ar 1:1 --hd --v 7", Target::Midjourney);
        assert!(
            r.warnings[0].message.contains("--hd is not a V7 parameter"),
            "{:?}",
            r.warnings
        );
        // V8, from --v or from the target
        let r = lint("a fox --oref https://x/a.png --v 8.1", Target::Midjourney);
        assert!(
            r.warnings[0]
                .message
                .contains("--oref is not a V8 parameter"),
            "{:?}",
            r.warnings
        );
        let r = lint("a fox --weird 10 --q 2", Target::MidjourneyV8);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        assert!(lint("a fox --hd --q 4", Target::MidjourneyV8).is_clean());
    }

    #[test]
    fn contradictions_found() {
        let r = lint("a street at night, bright midday sun", Target::Dalle);
        assert_eq!(r.warnings[0].code, "contradiction");
        let r = lint("a black and white photo of a red car", Target::Dalle);
        assert_eq!(r.warnings[0].code, "contradiction");
        let r = lint("a beach without people, crowds of people", Target::Dalle);
        assert_eq!(r.warnings[0].code, "contradiction");
    }

    #[test]
    fn dalle_length() {
        let r = lint(&"word ".repeat(300), Target::Dalle2);
        assert!(r.warnings.iter().any(|w| w.code == "too_long"));
    }

    #[test]
    fn unbalanced_weights() {
        assert!(lint("(cat:1.2, dog", Target::Sd)
            .warnings
            .iter()
            .any(|w| w.code == "syntax"));
    }
}
