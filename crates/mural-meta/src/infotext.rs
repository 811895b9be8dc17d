//! AUTOMATIC1111's "infotext": the prompt lines, a `Negative prompt:` line,
//! and a last line of `Key: value` pairs. Values with a comma, a colon or a
//! newline are JSON-quoted, as A1111's `quote()` does; the parser follows
//! A1111's `parse_generation_parameters` (its `re_param` pattern and its
//! rule that the last line holds the parameters only if it has at least 3).

use serde::Serialize;

/// A1111's `quote`: JSON-quote values that contain `,`, `:` or a newline.
pub fn quote(value: &str) -> String {
    if value.contains([',', ':', '\n']) {
        serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
    } else {
        value.to_string()
    }
}

/// Builds an infotext.
pub fn infotext(prompt: &str, negative: &str, params: &[(&str, String)]) -> String {
    let mut out = prompt.to_string();
    if !negative.is_empty() {
        out.push_str("\nNegative prompt: ");
        out.push_str(negative);
    }
    let line: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}: {}", quote(v)))
        .collect();
    out.push('\n');
    out.push_str(&line.join(", "));
    out
}

/// A parsed infotext.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Infotext {
    pub prompt: String,
    pub negative_prompt: String,
    /// Parameters in order, unquoted.
    pub params: Vec<(String, String)>,
}

impl Infotext {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Where the last quoted-value scan ended, so a scan that starts inside
/// it reuses its result instead of walking the same text again.
#[derive(Default)]
struct QuoteMemo {
    /// Offset of the first body byte of the last fresh scan.
    start: usize,
    /// Offset of its closing quote (`None`: there is none before the end).
    close: Option<usize>,
    valid: bool,
}

/// The offset of the quote that closes a quoted value whose body starts at
/// `body` (`"(?:\\.|[^\\"])+"`), or `None`. A body that starts inside the
/// last scanned one starts right after a quote that scan read as escaped,
/// so the scan from there is in the same state and ends at the same quote:
/// every byte is walked once, whatever the input.
fn closing_quote(s: &str, body: usize, memo: &mut QuoteMemo, work: &mut usize) -> Option<usize> {
    if memo.valid && body > memo.start && memo.close.is_none_or(|c| body <= c) {
        return memo.close;
    }
    let mut escaped = false;
    let mut close = None;
    for (off, c) in s[body..].char_indices() {
        *work += 1;
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            close = Some(body + off);
            break;
        }
    }
    *memo = QuoteMemo {
        start: body,
        close,
        valid: true,
    };
    close
}

/// One match of A1111's
/// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` at `pos`: the key,
/// the value and where the next match may start; or, when there is no
/// match, the next position worth trying. Every position before that one
/// fails the same way (it skips the same whitespace, or it lies inside the
/// same run of key characters, which no colon ends), so skipping them
/// keeps `findall`'s results and makes the scan linear.
fn param_at(
    s: &str,
    pos: usize,
    memo: &mut QuoteMemo,
    work: &mut usize,
) -> Result<(String, String, usize), usize> {
    let rest = &s[pos..];
    let trimmed = rest.trim_start();
    *work += rest.len() - trimmed.len() + 1;
    let mut i = pos + (rest.len() - trimmed.len());
    let mut chars = s[i..].char_indices();
    let Some((_, first)) = chars.next() else {
        return Err(s.len());
    };
    if !is_word(first) {
        return Err(i + first.len_utf8());
    }
    let key_start = i;
    let mut key_end = i + first.len_utf8();
    let mut count = 1;
    for (off, c) in chars {
        *work += 1;
        if is_word(c) || c == ' ' || c == '-' || c == '/' {
            key_end = i + off + c.len_utf8();
            count += 1;
        } else {
            break;
        }
    }
    if count < 2 || !s[key_end..].starts_with(':') {
        return Err(key_end);
    }
    let key = s[key_start..key_end].to_string();
    i = key_end + 1;
    let after = &s[i..];
    *work += after.len() - after.trim_start().len();
    i += after.len() - after.trim_start().len();
    let v = &s[i..];
    // quoted value: "(?:\\.|[^\\"])+"
    if v.starts_with('"') {
        // an empty body ("") is no quoted value
        if let Some(close) = closing_quote(s, i + 1, memo, work).filter(|&c| c > i + 1) {
            let end = close + 1;
            let tail = &s[end..];
            if tail.is_empty() || tail.starts_with(',') {
                let raw = &s[i..end];
                *work += raw.len();
                let value = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
                return Ok((key, value, end + usize::from(!tail.is_empty())));
            }
        }
    }
    // plain value: [^,]*
    let len = v.find(',').unwrap_or(v.len());
    *work += len;
    let end = i + len;
    Ok((key, v[..len].to_string(), end + usize::from(end < s.len())))
}

/// Every parameter of the last line, as `re.findall` finds them; `work`
/// counts the characters examined (linear in the line's length).
fn find_params_counted(line: &str, work: &mut usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut memo = QuoteMemo::default();
    let mut pos = 0;
    while pos < line.len() {
        match param_at(line, pos, &mut memo, work) {
            Ok((k, v, next)) => {
                out.push((k, v));
                pos = next;
            }
            Err(next) => pos = next,
        }
    }
    out
}

fn find_params(line: &str) -> Vec<(String, String)> {
    find_params_counted(line, &mut 0)
}

/// Parses an infotext as AUTOMATIC1111 does.
pub fn parse_infotext(text: &str) -> Infotext {
    let text = text.trim();
    let mut lines: Vec<&str> = text.split('\n').collect();
    let mut last = lines.pop().unwrap_or("");
    let params = find_params(last);
    let params = if params.len() < 3 {
        lines.push(last);
        last = "";
        let _ = last;
        Vec::new()
    } else {
        params
    };
    let mut out = Infotext {
        params,
        ..Default::default()
    };
    let mut done_with_prompt = false;
    for line in lines {
        let mut line = line.trim();
        if let Some(rest) = line.strip_prefix("Negative prompt:") {
            done_with_prompt = true;
            line = rest.trim();
        }
        let target = if done_with_prompt {
            &mut out.negative_prompt
        } else {
            &mut out.prompt
        };
        if !target.is_empty() {
            target.push('\n');
        }
        target.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_a1111() {
        assert_eq!(quote("Euler a"), "Euler a");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("x: y"), "\"x: y\"");
        assert_eq!(quote("two\nlines"), "\"two\\nlines\"");
        assert_eq!(quote("café, \"q\""), "\"café, \\\"q\\\"\"");
    }

    #[test]
    fn parses_a_real_a1111_infotext() {
        let text = "a photo of a cat, (masterpiece:1.2)\nsecond prompt line\nNegative prompt: blurry, lowres\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: abc123, Model: sd_xl_base_1.0, Version: v1.10.1";
        let p = parse_infotext(text);
        assert_eq!(
            p.prompt,
            "a photo of a cat, (masterpiece:1.2)\nsecond prompt line"
        );
        assert_eq!(p.negative_prompt, "blurry, lowres");
        assert_eq!(p.get("Steps"), Some("20"));
        assert_eq!(p.get("Sampler"), Some("DPM++ 2M"));
        assert_eq!(p.get("Size"), Some("512x768"));
        assert_eq!(p.get("Version"), Some("v1.10.1"));
    }

    #[test]
    fn round_trips_quoted_values() {
        let params = [
            ("Steps", "1".to_string()),
            ("Sampler", "sketch".to_string()),
            ("Seed", "42".to_string()),
            ("Model", "mural-sketch-1, procedural".to_string()),
            ("Note", "a: b\nc".to_string()),
        ];
        let text = infotext(
            "A beach sunset, the sun just touching the horizon.",
            "",
            &params,
        );
        let p = parse_infotext(&text);
        assert_eq!(
            p.prompt,
            "A beach sunset, the sun just touching the horizon."
        );
        assert_eq!(p.negative_prompt, "");
        for (k, v) in &params {
            assert_eq!(p.get(k), Some(v.as_str()), "{k}");
        }
    }

    #[test]
    fn short_last_line_is_prompt() {
        let p = parse_infotext("just a prompt\nwith: two lines");
        assert_eq!(p.prompt, "just a prompt\nwith: two lines");
        assert!(p.params.is_empty());
    }

    // The quadratic original, kept as the reference for what findall finds.

    /// One match of A1111's
    /// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` at `pos`.
    fn naive_param_at(s: &str, pos: usize) -> Option<(String, String, usize)> {
        let rest = &s[pos..];
        let trimmed = rest.trim_start();
        let mut i = pos + (rest.len() - trimmed.len());
        let mut chars = s[i..].char_indices();
        let (_, first) = chars.next()?;
        if !is_word(first) {
            return None;
        }
        let key_start = i;
        let mut key_end = i + first.len_utf8();
        let mut count = 1;
        for (off, c) in chars {
            if is_word(c) || c == ' ' || c == '-' || c == '/' {
                key_end = i + off + c.len_utf8();
                count += 1;
            } else {
                break;
            }
        }
        if count < 2 || !s[key_end..].starts_with(':') {
            return None;
        }
        let key = s[key_start..key_end].to_string();
        i = key_end + 1;
        let after = &s[i..];
        i += after.len() - after.trim_start().len();
        let v = &s[i..];
        // quoted value: "(?:\\.|[^\\"])+"
        if let Some(body) = v.strip_prefix('"') {
            let mut escaped = false;
            let mut len = 0;
            for (off, c) in body.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    len = off;
                    break;
                }
            }
            if len > 0 {
                let end = i + 1 + len + 1;
                let tail = &s[end..];
                if tail.is_empty() || tail.starts_with(',') {
                    let raw = &s[i..end];
                    let value =
                        serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
                    return Some((key, value, end + usize::from(!tail.is_empty())));
                }
            }
        }
        // plain value: [^,]*
        let len = v.find(',').unwrap_or(v.len());
        let end = i + len;
        Some((key, v[..len].to_string(), end + usize::from(end < s.len())))
    }

    fn naive_find_params(line: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < line.len() {
            match naive_param_at(line, pos) {
                Some((k, v, next)) if next > pos => {
                    out.push((k, v));
                    pos = next;
                }
                _ => {
                    pos += line[pos..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        out
    }

    /// A tiny deterministic generator of hostile little lines.
    fn lines_from(alphabet: &[&str], count: usize, len: usize) -> Vec<String> {
        let mut x: u64 = 0x2545F4914F6CDD1D;
        (0..count)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_linear_scan_finds_what_the_regex_finds() {
        let alphabet = [
            "a", "b", " ", ":", ",", "\"", "\\", "-", "/", "\t", "é", "1",
        ];
        for len in [3, 8, 20, 40] {
            for line in lines_from(&alphabet, 3000, len) {
                assert_eq!(find_params(&line), naive_find_params(&line), "{line:?}");
            }
        }
    }

    #[test]
    fn a_huge_parameters_line_is_parsed_in_linear_work() {
        // shapes that made the old scan walk the rest of the line from
        // every position: 256 KiB each
        let n = 256 * 1024;
        let shapes = [
            "a".repeat(n),
            "ab ".repeat(n / 3),
            format!("{}x", " ".repeat(n)),
            "Key: \"x, ".repeat(n / 9),
            "Key: \"\\\", ".repeat(n / 11),
            "a-b/c d".repeat(n / 7),
        ];
        for line in &shapes {
            let mut work = 0;
            let params = find_params_counted(line, &mut work);
            assert!(
                work <= 4 * line.len() + 16,
                "{} characters examined for a line of {} ({:?}...)",
                work,
                line.len(),
                &line[..20]
            );
            // and the infotext around it parses whole
            let text = format!("a prompt\nNegative prompt: blurry\n{line}");
            let p = parse_infotext(&text);
            assert_eq!(p.params.len(), params.len());
            if params.len() < 3 {
                assert!(
                    p.negative_prompt.ends_with(line.trim()),
                    "the line falls back to the prompt's text"
                );
            }
        }
        // a huge line of real parameters keeps every one
        let line: Vec<String> = (0..20_000)
            .map(|i| format!("Key {i}: \"v, {i}\""))
            .collect();
        let p = parse_infotext(&format!("p\n{}", line.join(", ")));
        assert_eq!(p.params.len(), 20_000);
        assert_eq!(p.get("Key 19999"), Some("v, 19999"));
    }
}
