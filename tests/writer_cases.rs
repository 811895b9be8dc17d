//! The public writer cases (`data/eval/writer_cases.jsonl`, rules in
//! `data/eval/README.md`): what a fitting prompt for each idea must not
//! say, and what it must develop. The same rules as
//! `data/eval/check_writer_cases.py`, applied to the library's writer.

use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer, Written};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

fn write(idea: &str, target: Target, n: usize) -> Vec<Written> {
    let mut req = WriteRequest::new(idea, target);
    req.n = n;
    req.seed = 1;
    BuiltinWriter.write(&req).unwrap()
}

fn ci(rx: &str) -> Regex {
    RegexBuilder::new(rx)
        .case_insensitive(true)
        .build()
        .unwrap()
}

fn without_idea(text: &str, idea: &str) -> String {
    ci(&regex::escape(idea)).replace_all(text, " ").into_owned()
}

fn size_of(w: &Written) -> Option<(u64, u64)> {
    if let Some(s) = w.params.get("size").and_then(Value::as_str) {
        let (a, b) = s.split_once('x')?;
        return Some((a.parse().ok()?, b.parse().ok()?));
    }
    Some((
        w.params.get("width")?.as_u64()?,
        w.params.get("height")?.as_u64()?,
    ))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What one case falls short of (empty: it passes).
fn judge(case: &Value) -> Vec<String> {
    let idea = case["idea"].as_str().unwrap();
    let dalle = write(idea, Target::Dalle, 4);
    let sd = write(idea, Target::Sd, 4);
    let mut bad = Vec::new();
    for rx in strs(&case["not"]) {
        let r = ci(&rx);
        if let Some(w) = dalle
            .iter()
            .chain(&sd)
            .find(|w| r.is_match(&without_idea(&w.prompt, idea)))
        {
            bad.push(format!(
                "says /{rx}/ ({} #{}): {}",
                w.target, w.index, w.prompt
            ));
        }
    }
    for group in case["any"].as_array().into_iter().flatten() {
        let rs: Vec<Regex> = strs(group).iter().map(|r| ci(r)).collect();
        let hits: Vec<bool> = dalle
            .iter()
            .map(|w| {
                let t = without_idea(&w.prompt, idea);
                rs.iter().any(|r| r.is_match(&t))
            })
            .collect();
        if !hits[0] || hits.iter().filter(|h| **h).count() < 3 {
            bad.push(format!(
                "never develops {:?} ({}/4): {}",
                strs(group),
                hits.iter().filter(|h| **h).count(),
                dalle[0].prompt
            ));
        }
    }
    if let Some(want) = case["aspect"].as_str() {
        for w in &dalle {
            let ok = size_of(w).is_some_and(|(x, y)| match want {
                "portrait" => y > x,
                "square" => x == y,
                _ => x > y,
            });
            if !ok {
                bad.push(format!("wants {want}, got {:?}", w.params.get("size")));
                break;
            }
        }
    }
    let word = |w: &str| ci(&format!(r"\b{w}\b"));
    for w in strs(&case["sd_neg"]) {
        if !word(&w).is_match(&sd[0].negative_prompt) || word(&w).is_match(&sd[0].prompt) {
            bad.push(format!(
                "sd: {w:?} belongs in the negative only: {:?}",
                sd[0]
            ));
        }
    }
    for rx in strs(&case["not_sd"]) {
        let r = Regex::new(&rx).unwrap();
        if let Some(w) = sd.iter().find(|w| r.is_match(&w.prompt)) {
            bad.push(format!("sd tags match /{rx}/: {}", w.prompt));
        }
    }
    for rx in strs(&case["sd_neg_not"]) {
        if ci(&rx).is_match(&sd[0].negative_prompt) {
            bad.push(format!("sd negative says /{rx}/"));
        }
    }
    let mj_no = strs(&case["mj_no"]);
    if !mj_no.is_empty() {
        let mj = &write(idea, Target::Midjourney, 1)[0].prompt;
        let (text, params) = mj.split_once(" --").unwrap_or((mj, ""));
        for w in mj_no {
            let listed = ci(&format!(r"no [^-]*\b{w}\b")).is_match(params);
            if word(&w).is_match(text) || !listed {
                bad.push(format!("midjourney: {w:?} belongs in --no only: {mj}"));
            }
        }
    }
    bad
}

#[test]
fn public_writer_cases_pass() {
    let cases = crate::util::json_lines(include_str!("../data/eval/writer_cases.jsonl"));
    assert_eq!(cases.len(), 50);
    let mut failed = Vec::new();
    for c in &cases {
        let bad = judge(c);
        if !bad.is_empty() {
            failed.push(format!("{}:\n    {}", c["idea"], bad.join("\n    ")));
        }
    }
    eprintln!(
        "{}/{} writer cases pass\n{}",
        cases.len() - failed.len(),
        cases.len(),
        failed.join("\n")
    );
    assert!(
        failed.len() <= 2,
        "{} of {} cases fail:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

/// Ideas the writer once got wrong (`tests/data/writer/regressions.jsonl`,
/// the same format and rules as the public cases): every one must pass.
#[test]
fn regression_ideas_the_writer_once_got_wrong_pass() {
    let cases = crate::util::json_lines(include_str!("data/writer/regressions.jsonl"));
    assert!(!cases.is_empty());
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let bad = judge(c);
            (!bad.is_empty()).then(|| format!("{}:\n    {}", c["idea"], bad.join("\n    ")))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
