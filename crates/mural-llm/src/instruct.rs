//! What mural tells a model: per-target rules, the built-in writer's
//! analysis as guidance, and the same task as a few-shot completion for
//! base models that have no chat template.
//!
//! The conversation depends on the idea, target, style and mode only, never
//! on the seed: completion `i` differs by its seed alone, so a variation
//! reproduces from its seed wherever the backend honors seeds.

use crate::Sampling;
use mural_prompt::{Analysis, BuiltinWriter, Target, Violation, WriteRequest, Writer};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// One task for a model, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    /// For instruct models: system rules, then the request.
    pub messages: Vec<Message>,
    /// The same task as a few-shot completion prompt (base models).
    pub completion: String,
    /// Where a completion's answer ends.
    pub stop: Vec<String>,
}

/// Sampling that suits the target: tags are short, prose longer.
pub fn default_sampling(target: Target) -> Sampling {
    Sampling {
        temperature: 0.8,
        top_p: 0.95,
        max_tokens: match target {
            Target::Sd | Target::Sdxl => 120,
            Target::Midjourney | Target::MidjourneyV8 => 160,
            _ => 320,
        },
    }
}

fn describe(target: Target) -> &'static str {
    match target {
        Target::Dalle => "OpenAI's DALL-E 3",
        Target::Dalle2 => "OpenAI's DALL-E 2",
        Target::GptImage => "OpenAI's gpt-image",
        Target::Flux => "Black Forest Labs' FLUX.2",
        Target::Sd => "Stable Diffusion 1.5",
        Target::Sdxl => "Stable Diffusion XL",
        Target::Midjourney => "Midjourney V7",
        Target::MidjourneyV8 => "Midjourney V8",
        Target::Runway => "Runway's text-to-image",
        Target::Gemini => "Google's Gemini image model",
    }
}

/// The form and length rules of a target.
pub fn format_rule(target: Target) -> String {
    match target {
        Target::Sd | Target::Sdxl => "comma-separated tags, most important first, no sentences. \
             At most 75 CLIP tokens in all (about 40 words). You may weight one or two key tags \
             like (tag:1.2). Write no negative prompt: mural adds it."
            .to_string(),
        Target::Midjourney | Target::MidjourneyV8 => {
            "one paragraph of vivid prose, 25 to 60 words. Write no \
             --parameters: mural adds --ar, --stylize and --v."
                .to_string()
        }
        Target::Flux => "one paragraph of vivid, concrete prose, 30 to 80 words, the main \
             subject first. Never write \"no\" or \"without\": say what is there instead \
             (\"a deserted beach\", not \"a beach with no people\"). Keep text to render in \
             quotes and hex colors such as #0047AB exactly."
            .to_string(),
        t => {
            let words = match t {
                Target::Dalle2 => "40 to 90 words",
                Target::Flux => "50 to 110 words",
                _ => "60 to 120 words",
            };
            let chars = t
                .max_chars()
                .map(|c| format!(", under {c} characters"))
                .unwrap_or_default();
            format!("one paragraph of vivid, concrete prose, {words}{chars}.")
        }
    }
}

/// The idea's content words a prompt must keep (not the excluded ones).
fn kept_words(a: &Analysis) -> Vec<String> {
    a.content_words
        .iter()
        .filter(|w| !a.negations.contains(w))
        .cloned()
        .collect()
}

fn quoted_list(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The system prompt: who the model writes for and the rules it keeps.
pub fn system(a: &Analysis, target: Target, vary: bool) -> String {
    let mut s = format!(
        "You write image prompts for {}. Form: {}\nRules:\n",
        describe(target),
        format_rule(target)
    );
    let kept = kept_words(a);
    let _ = writeln!(
        s,
        "1. Keep every word of the idea; drop, replace or contradict none of them{}.",
        if kept.is_empty() {
            String::new()
        } else {
            format!(" (above all: {})", quoted_list(&kept))
        }
    );
    if a.quoted.is_empty() {
        s.push_str("2. Keep any quoted text exactly as written, inside double quotes.\n");
    } else {
        let _ = writeln!(
            s,
            "2. Keep the quoted text exactly as written, inside double quotes: {}.",
            quoted_list(&a.quoted)
        );
    }
    s.push_str(
        "3. Add details that fit the subject and the medium: light, composition, palette, \
         mood, texture. Contradict nothing in the idea.",
    );
    let mut fits = Vec::new();
    if a.non_photographic() {
        fits.push(format!(
            "it is {}, not a photograph: no lens or camera words",
            a.medium
                .as_deref()
                .map(mural_prompt::medium_phrase)
                .unwrap_or_else(|| "an artwork".to_string())
        ));
    }
    if a.is_night() {
        fits.push("it is night: no sunlight, daylight or golden hour".to_string());
    }
    if a.monochrome {
        fits.push("it is black and white: name no colors".to_string());
    }
    if !a.negations.is_empty() {
        fits.push(format!(
            "the idea excludes {}: do not add them",
            a.negations.join(", ")
        ));
    }
    if !fits.is_empty() {
        let _ = write!(s, " Here {}.", fits.join("; "));
    }
    s.push('\n');
    if vary {
        s.push_str(
            "4. The idea is the user's own prompt: keep all of it and vary only the look \
             (lighting, palette, composition, medium, mood).\n",
        );
    }
    s.push_str(
        "Reply with the prompt text only: no title, no preamble, no notes, no quotes around it.",
    );
    s
}

/// The built-in writer's reading of the idea, as guidance.
pub fn analysis_notes(a: &Analysis) -> String {
    let mut notes = Vec::new();
    if let Some(s) = a.subjects.first() {
        let cat = format!("{:?}", s.category).to_lowercase();
        notes.push(format!("main subject: {} ({cat})", s.noun));
    }
    for (label, v) in [
        ("scene", &a.scene),
        ("time", &a.time),
        ("weather", &a.weather),
        ("season", &a.season),
        ("medium", &a.medium),
        ("mood", &a.mood),
        ("composition", &a.composition),
        ("in the style of", &a.artist),
    ] {
        if let Some(v) = v {
            notes.push(format!("{label}: {v}"));
        }
    }
    if !a.colors.is_empty() {
        notes.push(format!("colors: {}", a.colors.join(", ")));
    }
    if a.monochrome {
        notes.push("black and white".to_string());
    }
    if !a.negations.is_empty() {
        notes.push(format!("excluded: {}", a.negations.join(", ")));
    }
    if !a.quoted.is_empty() {
        notes.push(format!("text to show verbatim: {}", quoted_list(&a.quoted)));
    }
    notes
        .iter()
        .map(|n| format!("- {n}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Ideas for the few-shot examples of a completion prompt.
const EXAMPLES: &[&str] = &["a red fox in the snow", "a lighthouse on a cliff at dusk"];

/// A Midjourney prompt split into its text and its parameters
/// (" --ar 16:9 ..."); the parameters are empty when there are none.
pub fn split_params(prompt: &str) -> (&str, &str) {
    match prompt.find(" --") {
        Some(i) => (prompt[..i].trim_end(), &prompt[i..]),
        None => (prompt, ""),
    }
}

/// The text without Midjourney's parameters.
pub fn strip_params(prompt: &str) -> &str {
    split_params(prompt).0
}

/// The conversation for a request.
pub fn chat(a: &Analysis, req: &WriteRequest) -> Chat {
    let target = req.target;
    let mut system = system(a, target, req.vary);
    if let Some(style) = &req.style {
        if let Some(s) = mural_knowledge::knowledge().style(style) {
            let _ = write!(system, "\nStyle: {} ({}).", s.id, s.description);
        }
    }
    let notes = analysis_notes(a);
    let user = format!(
        "Idea: {}\n\nA reading of the idea, as guidance:\n{}\n\nWrite one {} prompt for this idea.",
        req.idea.trim(),
        if notes.is_empty() {
            "- (nothing special)".to_string()
        } else {
            notes
        },
        target.name()
    );
    // few-shot: the built-in writer's own prompts for fixed example ideas
    let mut completion = format!(
        "Image prompts for {}, written from short ideas. Each prompt keeps every word of its idea and adds vivid detail.\n\n",
        describe(target)
    );
    for (k, ex) in EXAMPLES.iter().enumerate() {
        let mut r = WriteRequest::new(*ex, target);
        r.seed = 7 + k as u64;
        r.style = req.style.clone();
        if let Ok(w) = BuiltinWriter.write(&r) {
            let _ = write!(
                completion,
                "Idea: {ex}\nPrompt: {}\n\n",
                strip_params(&w[0].prompt)
            );
        }
    }
    let _ = write!(completion, "Idea: {}\nPrompt:", req.idea.trim());
    Chat {
        messages: vec![
            Message {
                role: Role::System,
                content: system,
            },
            Message {
                role: Role::User,
                content: user,
            },
        ],
        completion,
        stop: vec!["\n".to_string(), "Idea:".to_string()],
    }
}

/// The second try: the first answer, what it broke, and the request again.
pub fn again(chat: &Chat, a: &Analysis, target: Target, first: &str, bad: &[Violation]) -> Chat {
    let mut c = chat.clone();
    let problems: Vec<&str> = bad.iter().map(|v| v.detail.as_str()).collect();
    let kept = kept_words(a);
    c.messages.push(Message {
        role: Role::Assistant,
        content: first.to_string(),
    });
    c.messages.push(Message {
        role: Role::User,
        content: format!(
            "That prompt breaks the rules: {}. Write it again as {} Keep every word of the idea ({}){}. Reply with the prompt only.",
            problems.join("; "),
            format_rule(target),
            quoted_list(&kept),
            if a.quoted.is_empty() {
                String::new()
            } else {
                format!(" and the quoted text verbatim ({})", quoted_list(&a.quoted))
            }
        ),
    });
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use mural_prompt::analyze;

    #[test]
    fn system_prompt_states_the_rules_for_each_target() {
        let a =
            analyze("a watercolor of a heron at midnight without people, sign reading \"OPEN\"");
        let sd = system(&a, Target::Sd, false);
        assert!(sd.contains("75 CLIP tokens"), "{sd}");
        assert!(sd.contains("\"heron\""), "{sd}");
        assert!(sd.contains("\"OPEN\""), "{sd}");
        assert!(sd.contains("no lens or camera words"), "{sd}");
        assert!(sd.contains("no sunlight"), "{sd}");
        assert!(sd.contains("excludes people"), "{sd}");
        let mj = system(&a, Target::Midjourney, false);
        assert!(mj.contains("--parameters"), "{mj}");
        let d2 = system(&a, Target::Dalle2, false);
        assert!(d2.contains("under 1000 characters"), "{d2}");
    }

    #[test]
    fn the_conversation_does_not_depend_on_the_seed() {
        let a = analyze("a beach sunset");
        let mut r = WriteRequest::new("a beach sunset", Target::Dalle);
        let one = chat(&a, &r);
        r.seed = 99;
        r.n = 4;
        assert_eq!(chat(&a, &r), one);
        assert!(one.messages[1].content.contains("main subject"));
        assert!(one.completion.ends_with("Idea: a beach sunset\nPrompt:"));
        assert!(one
            .completion
            .contains("Idea: a red fox in the snow\nPrompt: "));
    }

    #[test]
    fn completion_examples_carry_no_midjourney_params() {
        let a = analyze("a cat");
        let c = chat(&a, &WriteRequest::new("a cat", Target::Midjourney));
        assert!(!c.completion.contains("--ar"), "{}", c.completion);
    }
}
