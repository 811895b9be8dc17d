//! The fidelity guard: an LLM that drops the user's subject never goes
//! unnoticed.
//!
//! [`shape`] formats a model's text for the target the way the built-in
//! writer would (tags for Stable Diffusion, Midjourney's parameters from the
//! built-in writer, its negative prompt). [`violations`] holds it to the
//! spine's own invariants (`mural_prompt::check`): every content word and
//! all quoted text survive, nothing contradicts the idea, and the target's
//! budget holds. [`repair`] mends what a second try did not: it drops
//! contradicting sentences or tags, puts the idea's subject back in, trims to
//! the budget, and falls back to the built-in writer's prompt if that is
//! still not enough.

use mural_prompt::{
    check, lower_words, scene_from, subject_tag, Analysis, Forbidden, Licence, Rule, Target,
    Violation, Written,
};

/// The invariants an LLM's prompt is held to.
pub const RULES: &[Rule] = &[
    Rule::DroppedWord,
    Rule::QuoteChanged,
    Rule::Contradiction,
    Rule::CameraTerms,
    Rule::Budget,
    Rule::RepeatedPhrase,
    Rule::Echo,
    Rule::TooShort,
    Rule::Misfit,
];

/// The fewest words a prompt for `target` may have beyond the idea's own:
/// a prompt that only restates the idea is too thin to use.
fn min_extra_words(target: Target) -> usize {
    match target {
        Target::Sd | Target::Sdxl => 4,
        Target::Midjourney | Target::MidjourneyV8 | Target::Dalle2 | Target::Runway => 6,
        _ => 10,
    }
}

/// Whether the prompt repeats the instructions it was given ("Keep the same
/// theme throughout", "the main subject"): any four-word run of the
/// instructions that is not in the idea.
fn echoes_instructions(a: &Analysis, target: Target, prompt: &str) -> Option<String> {
    let rules = format!(
        "{} {} keep the same theme throughout the main subject. write the prompt. \
         here is the prompt. do not add text. return only the prompt. one prompt per line",
        crate::instruct::system(a, target, false),
        crate::instruct::format_rule(target)
    );
    let rw = lower_words(&rules);
    let iw = lower_words(&a.idea);
    let pw = lower_words(prompt);
    let echoed = pw
        .windows(4)
        .find(|w| rw.windows(4).any(|r| r == *w) && !iw.windows(4).any(|i| i == *w));
    if let Some(w) = echoed {
        return Some(w.join(" "));
    }
    // a short instruction fragment on its own ("the main subject")
    ["main subject", "same theme", "the prompt", "as an ai"]
        .iter()
        .find(|p| prompt.to_lowercase().contains(*p) && !a.idea.to_lowercase().contains(*p))
        .map(|p| p.to_string())
}

/// Markup, template tokens and links: chat debris, never a picture's words.
fn markup(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    let tag = lower.as_bytes().windows(2).any(|w| {
        w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'|' || w[1] == b'!')
    });
    if tag {
        return Some("markup tags");
    }
    for (needle, what) in [
        ("[/", "markup tags"),
        ("{{", "template braces"),
        ("http://", "a link"),
        ("https://", "a link"),
        ("www.", "a link"),
        ("```", "a code fence"),
    ] {
        if lower.contains(needle) {
            return Some(what);
        }
    }
    None
}

fn tags_target(t: Target) -> bool {
    matches!(t, Target::Sd | Target::Sdxl)
}

/// Midjourney's parameters as the built-in writer set them (" --ar ...").
fn mj_params(draft: &Written) -> &str {
    crate::instruct::split_params(&draft.prompt).1
}

fn split_tags(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.split([',', '\n', ';'])
        .map(|t| t.trim().trim_end_matches('.').trim().to_string())
        .filter(|t| !t.is_empty())
        .filter(|t| seen.insert(t.to_lowercase()))
        .collect()
}

/// Sentences of prose, each with its closing punctuation.
fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        if c == '"' {
            in_quote = !in_quote;
        }
        let end = matches!(c, '.' | '!' | '?')
            && !in_quote
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if end {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The model's text as a prompt for `target`, with the negative prompt.
pub fn shape(target: Target, text: &str, draft: &Written) -> (String, String) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let prompt = if tags_target(target) {
        split_tags(&text).join(", ")
    } else if target.is_midjourney() {
        // mural sets the parameters; the model's own are dropped
        let body = crate::instruct::strip_params(&text).trim();
        if body.is_empty() {
            String::new()
        } else {
            format!("{body}{}", mj_params(draft))
        }
    } else {
        text
    };
    let negative = negative_for(&prompt, &draft.negative_prompt);
    (prompt, negative)
}

/// The built-in writer's negative prompt, less the terms the model's
/// prompt asks for ("photo" when the model chose a photograph).
pub fn negative_for(prompt: &str, negative: &str) -> String {
    let words: Vec<String> = lower_words(prompt);
    let asks = |term: &str| {
        lower_words(term).iter().any(|t| {
            t.len() >= 4
                && words.iter().any(|w| {
                    w.len() >= 4 && (w.starts_with(t.as_str()) || t.starts_with(w.as_str()))
                })
        })
    };
    negative
        .split(", ")
        .filter(|t| !t.trim().is_empty() && !asks(t))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The broken invariants of a shaped prompt.
pub fn violations(a: &Analysis, target: Target, prompt: &str, negative: &str) -> Vec<Violation> {
    if prompt.trim().is_empty() {
        return vec![Violation {
            rule: Rule::Budget,
            detail: "the prompt is empty".to_string(),
        }];
    }
    let mut out: Vec<Violation> = check(a, target, prompt, negative)
        .into_iter()
        .filter(|v| RULES.contains(&v.rule))
        .collect();
    if let Some(e) = echoes_instructions(a, target, prompt) {
        out.push(Violation {
            rule: Rule::Echo,
            detail: format!("the prompt repeats the instructions ({e:?}), not a description"),
        });
    }
    let extra = lower_words(prompt)
        .len()
        .saturating_sub(lower_words(&a.idea).len());
    let body_words = if target.is_midjourney() {
        lower_words(crate::instruct::strip_params(prompt))
            .len()
            .saturating_sub(lower_words(&a.idea).len())
    } else {
        extra
    };
    if body_words < min_extra_words(target) {
        out.push(Violation {
            rule: Rule::TooShort,
            detail: format!(
                "the prompt adds {body_words} words to the idea; {target} needs at least {} words of description",
                min_extra_words(target)
            ),
        });
    }
    let licence = licence_for(a);
    let units = if tags_target(target) {
        split_tags(prompt)
    } else {
        split_sentences(crate::instruct::strip_params(prompt))
    };
    if let Some(u) = units.iter().find(|u| !licence.allows(u)) {
        out.push(Violation {
            rule: Rule::Misfit,
            detail: format!("{u:?} says something that does not fit the idea"),
        });
    }
    if let Some(what) = markup(prompt).filter(|_| markup(&a.idea).is_none()) {
        out.push(Violation {
            rule: Rule::Debris,
            detail: format!("the prompt contains {what}, not a description"),
        });
    }
    out
}

fn sentence_case(idea: &str) -> String {
    let idea = idea.trim();
    let mut c = idea.chars();
    let mut s = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    if !s.ends_with(['.', '!', '?', '"']) {
        s.push('.');
    }
    s
}

/// What the knowledge rules out for this idea (the built-in writer's own
/// licence: misfit details for the subject, its state, setting and era).
fn licence_for(a: &Analysis) -> Licence {
    Licence::for_scene(&scene_from(a), a)
}

/// Mends a prompt the model could not get right twice.
pub fn repair(a: &Analysis, target: Target, prompt: &str, draft: &Written) -> String {
    let forbid = Forbidden::for_analysis(a);
    let licence = licence_for(a);
    let tags = tags_target(target);
    let body = if target.is_midjourney() {
        crate::instruct::strip_params(prompt)
    } else {
        prompt
    };
    // 1. drop what contradicts the idea
    let mut units: Vec<String> = if tags {
        split_tags(body)
    } else {
        split_sentences(body)
    };
    let idea_markup = markup(&a.idea).is_some();
    let mut seen = std::collections::HashSet::new();
    units.retain(|u| {
        forbid.allows(u)
            && licence.allows(u)
            && (!a.non_photographic() || forbid.no_camera(u))
            && (idea_markup || markup(u).is_none())
            && seen.insert(u.to_lowercase())
    });
    // 2. the subject goes back in, first
    let join = |units: &[String]| {
        let text = if tags {
            units.join(", ")
        } else {
            units.join(" ")
        };
        shape(target, &text, draft).0
    };
    let lost = |p: &str| {
        violations(a, target, p, &draft.negative_prompt)
            .iter()
            .any(|v| v.rule == Rule::DroppedWord || v.rule == Rule::QuoteChanged)
    };
    if units.is_empty() || lost(&join(&units)) {
        let subject = if tags {
            subject_tag(&a.idea, &a.negations, false)
        } else {
            sentence_case(&a.idea)
        };
        units.insert(0, subject);
    }
    // 3. trim to the budget, never the subject
    let over = |p: &str| {
        violations(a, target, p, &draft.negative_prompt)
            .iter()
            .any(|v| v.rule == Rule::Budget)
    };
    while units.len() > 1 && over(&join(&units)) {
        units.pop();
    }
    let mended = join(&units);
    if violations(a, target, &mended, &draft.negative_prompt).is_empty() {
        mended
    } else {
        // 4. the built-in writer's prompt keeps every invariant
        draft.prompt.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mural_prompt::{analyze, BuiltinWriter, WriteRequest, Writer};

    fn draft(idea: &str, t: Target) -> Written {
        BuiltinWriter
            .write(&WriteRequest::new(idea, t))
            .unwrap()
            .remove(0)
    }

    #[test]
    fn a_dropped_subject_is_caught_and_put_back() {
        let idea = "a red fox in the snow";
        let a = analyze(idea);
        let d = draft(idea, Target::Dalle);
        let (p, n) = shape(
            Target::Dalle,
            "A lovely animal in winter, soft light falling over quiet white hills and frosted pines.",
            &d,
        );
        let v = violations(&a, Target::Dalle, &p, &n);
        assert!(v.iter().any(|v| v.rule == Rule::DroppedWord), "{v:?}");
        let fixed = repair(&a, Target::Dalle, &p, &d);
        assert!(fixed.starts_with("A red fox in the snow."), "{fixed}");
        assert!(fixed.contains("soft light"), "{fixed}");
        assert!(violations(&a, Target::Dalle, &fixed, &n).is_empty());
    }

    #[test]
    fn quoted_text_must_stay_verbatim() {
        let idea = "a neon sign that says \"Open Late\"";
        let a = analyze(idea);
        let d = draft(idea, Target::Flux);
        let v = violations(
            &a,
            Target::Flux,
            "A neon sign that says OPEN LATE, glowing.",
            "",
        );
        assert!(v.iter().any(|v| v.rule == Rule::QuoteChanged), "{v:?}");
        let fixed = repair(
            &a,
            Target::Flux,
            "A neon sign that says OPEN LATE, glowing.",
            &d,
        );
        assert!(fixed.contains("\"Open Late\""), "{fixed}");
    }

    #[test]
    fn sd_tags_are_trimmed_to_75_clip_tokens() {
        let idea = "a castle on a hill";
        let a = analyze(idea);
        let d = draft(idea, Target::Sd);
        let long: Vec<String> = (0..60).map(|i| format!("detail{i} tag")).collect();
        let text = format!("castle, hill, {}", long.join(", "));
        let (p, n) = shape(Target::Sd, &text, &d);
        assert!(violations(&a, Target::Sd, &p, &n)
            .iter()
            .any(|v| v.rule == Rule::Budget));
        let fixed = repair(&a, Target::Sd, &p, &d);
        assert!(violations(&a, Target::Sd, &fixed, &n).is_empty(), "{fixed}");
        assert!(fixed.starts_with("castle, hill"), "{fixed}");
        assert!(mural_clip::count(&fixed) <= 75);
    }

    #[test]
    fn contradictions_are_cut_out() {
        let idea = "a lighthouse at midnight";
        let a = analyze(idea);
        let d = draft(idea, Target::Dalle);
        let text = "A lighthouse at midnight, its beam sweeping the dark sea in long arcs. Golden hour sunlight warms the rocks. Stars fill the sky.";
        assert!(violations(&a, Target::Dalle, text, "")
            .iter()
            .any(|v| v.rule == Rule::Contradiction));
        let fixed = repair(&a, Target::Dalle, text, &d);
        assert!(!fixed.contains("sunlight"), "{fixed}");
        assert!(fixed.contains("Stars fill the sky."), "{fixed}");
    }

    #[test]
    fn midjourney_params_come_from_mural() {
        let idea = "a koi pond";
        let d = draft(idea, Target::Midjourney);
        let (p, _) = shape(
            Target::Midjourney,
            "A koi pond in autumn, orange and white fish gliding under floating maple leaves --ar 99:1 --v 3",
            &d,
        );
        assert!(p.starts_with("A koi pond in autumn, orange and white fish gliding under floating maple leaves --ar "), "{p}");
        assert!(!p.contains("99:1"), "{p}");
        assert!(
            violations(&analyze(idea), Target::Midjourney, &p, "").is_empty(),
            "{p}"
        );
    }

    #[test]
    fn chat_debris_and_loops_are_caught_and_cut() {
        let idea = "a red fox in the snow";
        let a = analyze(idea);
        let d = draft(idea, Target::Dalle);
        let text = "A red fox in the snow. <p>I am a fox.</p> Soft snow falls on the red fox, dusting its russet coat and bushy tail. Soft snow falls on the red fox, dusting its russet coat and bushy tail.";
        let v = violations(&a, Target::Dalle, text, "");
        assert!(v.iter().any(|v| v.rule == Rule::Debris), "{v:?}");
        assert!(v.iter().any(|v| v.rule == Rule::RepeatedPhrase), "{v:?}");
        let fixed = repair(&a, Target::Dalle, text, &d);
        assert_eq!(
            fixed,
            "A red fox in the snow. Soft snow falls on the red fox, dusting its russet coat and bushy tail."
        );
    }

    #[test]
    fn an_echoed_instruction_is_rejected() {
        // what gemma-3-270m answered on the real llama.cpp server
        let idea = "a beach sunset";
        let a = analyze(idea);
        let text = "A beach sunset. Keep the same theme throughout (the main subject)";
        let v = violations(&a, Target::Dalle, text, "");
        assert!(v.iter().any(|v| v.rule == Rule::Echo), "{v:?}");
        assert!(v.iter().any(|v| v.rule == Rule::TooShort), "{v:?}");
        let fixed = repair(&a, Target::Dalle, text, &draft(idea, Target::Dalle));
        assert!(!fixed.contains("same theme"), "{fixed}");
    }

    #[test]
    fn a_prompt_that_only_restates_the_idea_is_too_short() {
        let idea = "a red fox in the snow";
        let a = analyze(idea);
        let v = violations(&a, Target::Dalle, "A red fox in the snow, soft light.", "");
        assert!(v.iter().any(|v| v.rule == Rule::TooShort), "{v:?}");
        let (p, n) = shape(
            Target::Sd,
            "red fox, snow, russet fur, bushy tail, falling flakes, pine forest",
            &draft(idea, Target::Sd),
        );
        assert!(!violations(&a, Target::Sd, &p, &n)
            .iter()
            .any(|v| v.rule == Rule::TooShort));
    }

    #[test]
    fn details_the_knowledge_rules_out_are_misfits() {
        let idea = "a penguin on an ice floe";
        let a = analyze(idea);
        let text = "A penguin on an ice floe, sleek black-and-white plumage gleaming. Steam curls from a plate of crumbs beside it. Dark water laps at the edge of the ice.";
        let v = violations(&a, Target::Dalle, text, "");
        assert!(v.iter().any(|v| v.rule == Rule::Misfit), "{v:?}");
        let fixed = repair(&a, Target::Dalle, text, &draft(idea, Target::Dalle));
        assert!(!fixed.contains("Steam"), "{fixed}");
    }

    #[test]
    fn the_negative_prompt_does_not_fight_the_prompt() {
        assert_eq!(
            negative_for(
                "a professional photograph of a fox",
                "photo, blurry, watermark"
            ),
            "blurry, watermark"
        );
    }

    #[test]
    fn an_empty_reply_falls_back_to_a_whole_prompt() {
        let idea = "two cats on a sofa";
        let a = analyze(idea);
        let d = draft(idea, Target::Sd);
        let fixed = repair(&a, Target::Sd, "", &d);
        assert!(
            violations(&a, Target::Sd, &fixed, &d.negative_prompt).is_empty(),
            "{fixed}"
        );
    }
}
