//! Reading prompts out of what a model said.
//!
//! Models wrap their answer in many ways: a JSON array, a numbered or
//! bulleted list, plain lines, a `<think>` block first, quotes around the
//! prompt, "Prompt:" labels, code fences, a "Here are ..." preamble. This
//! module tries, in order: JSON, a numbered list, then lines.

use serde_json::Value;

/// Removes reasoning blocks: `<think>...</think>` (and `<thinking>`,
/// `<reasoning>`), an unclosed block at the end, or everything before a
/// closing tag whose opening the server already cut.
pub fn strip_thinking(text: &str) -> String {
    let mut s = text.to_string();
    for tag in ["think", "thinking", "reasoning"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        loop {
            let lower = s.to_lowercase();
            match (lower.find(&open), lower.find(&close)) {
                (Some(o), Some(c)) if o < c => {
                    s.replace_range(o..c + close.len(), " ");
                }
                (Some(o), _) => {
                    s.truncate(o);
                }
                (None, Some(c)) => {
                    s.replace_range(..c + close.len(), " ");
                }
                (None, None) => break,
            }
        }
    }
    s
}

/// Cleans one candidate: labels, markdown emphasis, wrapping quotes,
/// whitespace. Quotes inside the prompt stay.
pub fn clean(candidate: &str) -> String {
    let mut s = candidate.trim().replace("**", "");
    s = s
        .trim_matches(|c: char| c == '`' || c.is_whitespace())
        .to_string();
    // "Prompt:", "Prompt 2:", "Variation 1 -", "SD prompt:"
    loop {
        let lower = s.to_lowercase();
        let label = [
            "prompt",
            "variation",
            "option",
            "positive prompt",
            "image prompt",
        ]
        .iter()
        .find_map(|l| {
            let rest = lower.strip_prefix(l)?;
            let digits = rest
                .trim_start()
                .trim_start_matches(|c: char| c.is_ascii_digit());
            let after = digits.trim_start();
            let sep = after
                .chars()
                .next()
                .filter(|c| matches!(c, ':' | '-' | '–' | '—'))?;
            Some(s.len() - after.len() + sep.len_utf8())
        });
        match label {
            Some(cut) => s = s[cut..].trim().to_string(),
            None => break,
        }
    }
    let pairs = [('"', '"'), ('“', '”'), ('\'', '\''), ('«', '»')];
    for (o, c) in pairs {
        if s.starts_with(o) && s.ends_with(c) && s.chars().count() > 1 {
            let inner = &s[o.len_utf8()..s.len() - c.len_utf8()];
            // only when they wrap the whole prompt, not quoted text inside it
            if !inner.contains(o) && !inner.contains(c) {
                s = inner.trim().to_string();
            }
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn from_json(v: &Value) -> Option<Vec<String>> {
    let item = |x: &Value| match x {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => ["prompt", "text", "description"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string)),
        _ => None,
    };
    match v {
        Value::Array(a) => {
            let out: Vec<String> = a.iter().filter_map(item).collect();
            (!out.is_empty()).then_some(out)
        }
        Value::Object(o) => {
            if let Some(list) = ["prompts", "variations"].iter().find_map(|k| o.get(*k)) {
                return from_json(list);
            }
            item(v).map(|s| vec![s])
        }
        _ => None,
    }
}

fn json_candidates(text: &str) -> Option<Vec<String>> {
    for (open, close) in [('[', ']'), ('{', '}')] {
        if let (Some(s), Some(e)) = (text.find(open), text.rfind(close)) {
            if s < e {
                if let Ok(v) = serde_json::from_str::<Value>(&text[s..=e]) {
                    if let Some(out) = from_json(&v) {
                        return Some(out);
                    }
                }
            }
        }
    }
    None
}

/// "1. text", "2) text", "3: text", "- text", "* text", "• text".
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.trim_start_matches(|c: char| c.is_ascii_digit());
    if digits.len() < t.len() && t.len() - digits.len() <= 3 {
        let mut rest = digits.chars();
        if matches!(rest.next(), Some('.' | ')' | ':')) && rest.next() == Some(' ') {
            return Some(digits[2..].trim());
        }
    }
    for b in ["- ", "* ", "• "] {
        if let Some(r) = t.strip_prefix(b) {
            return Some(r.trim());
        }
    }
    None
}

/// A line that introduces the answer rather than being one.
fn preamble(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    let words = l.split_whitespace().count();
    (l.ends_with(':') && words < 14)
        || (words < 16
            && [
                "here is",
                "here are",
                "here's",
                "sure",
                "certainly",
                "okay",
                "ok,",
            ]
            .iter()
            .any(|p| l.starts_with(p)))
}

/// The prompts in one reply. `want` is how many are still wanted: plain
/// lines are several prompts only when there are exactly that many (a
/// server that ignored `n` and listed them); otherwise they are one prompt
/// in several paragraphs.
pub fn candidates(reply: &str, want: usize) -> Vec<String> {
    let text = strip_thinking(reply);
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(list) = json_candidates(&text) {
        return list
            .iter()
            .map(|s| clean(s))
            .filter(|s| !s.is_empty())
            .collect();
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !preamble(l))
        .collect();
    let items: Vec<String> = {
        let mut items: Vec<String> = Vec::new();
        let mut in_list = false;
        for l in &lines {
            match list_item(l) {
                Some(it) => {
                    items.push(it.to_string());
                    in_list = true;
                }
                // a continuation line of the item before
                None if in_list => {
                    if let Some(last) = items.last_mut() {
                        last.push(' ');
                        last.push_str(l.trim());
                    }
                }
                None => {}
            }
        }
        items
    };
    let out: Vec<String> = if items.len() >= 2 || (items.len() == 1 && lines.len() == 1) {
        items
    } else if want > 1 && lines.len() == want {
        lines.iter().map(|l| l.to_string()).collect()
    } else {
        vec![lines.join(" ")]
    };
    out.iter()
        .map(|s| clean(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `want` prompts from the replies: one per reply when there are enough
/// replies, else every prompt of every reply in order. Missing ones are
/// `None`.
pub fn spread(replies: &[String], want: usize) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = if replies.len() >= want {
        replies
            .iter()
            .take(want)
            .map(|r| candidates(r, 1).into_iter().next())
            .collect()
    } else {
        replies
            .iter()
            .flat_map(|r| candidates(r, want))
            .take(want)
            .map(Some)
            .collect()
    };
    out.resize(want, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array_first() {
        let r = "Here are your prompts:\n```json\n[\"a fox, snow\", \"a fox at dusk\"]\n```";
        assert_eq!(candidates(r, 2), vec!["a fox, snow", "a fox at dusk"]);
        let r = r#"{"prompts": [{"prompt": "one"}, {"prompt": "two"}]}"#;
        assert_eq!(candidates(r, 2), vec!["one", "two"]);
    }

    #[test]
    fn numbered_list_then_lines() {
        let r = "1. A red fox in deep snow,\n   soft blue light\n2) A red fox at dawn\n3: A red fox, close-up";
        assert_eq!(
            candidates(r, 3),
            vec![
                "A red fox in deep snow, soft blue light",
                "A red fox at dawn",
                "A red fox, close-up"
            ]
        );
        assert_eq!(candidates("first\nsecond", 2), vec!["first", "second"]);
        // paragraphs of one prompt stay one prompt
        assert_eq!(
            candidates("A fox.\nIn snow.\nAt dusk.", 2),
            vec!["A fox. In snow. At dusk."]
        );
        // one prompt asked for: its lines are one prompt
        assert_eq!(candidates("A fox.\nIn snow.", 1), vec!["A fox. In snow."]);
    }

    #[test]
    fn thinking_blocks_are_stripped() {
        assert_eq!(
            candidates("<think>the user wants a fox</think>\nA red fox", 1),
            vec!["A red fox"]
        );
        assert_eq!(
            candidates("the user wants</think>A red fox", 1),
            vec!["A red fox"]
        );
        assert!(candidates("<think>still thinking", 1).is_empty());
    }

    #[test]
    fn labels_and_wrapping_quotes_go_but_inner_quotes_stay() {
        assert_eq!(clean("**Prompt 1:** \"A red fox\""), "A red fox");
        assert_eq!(
            clean("A sign that reads \"OPEN\" in neon"),
            "A sign that reads \"OPEN\" in neon"
        );
        assert_eq!(clean("“A misty lake”"), "A misty lake");
        assert_eq!(
            clean("\"OPEN\" sign, \"CLOSED\" sign"),
            "\"OPEN\" sign, \"CLOSED\" sign"
        );
    }

    #[test]
    fn spread_takes_one_per_reply_or_splits_one_reply() {
        let r = vec!["1. a\n2. b".to_string(), "c".to_string()];
        assert_eq!(spread(&r, 2), vec![Some("a".into()), Some("c".into())]);
        let r = vec!["[\"a\", \"b\", \"c\"]".to_string()];
        assert_eq!(spread(&r, 2), vec![Some("a".into()), Some("b".into())]);
        assert_eq!(spread(&r, 4)[3], None);
    }
}
