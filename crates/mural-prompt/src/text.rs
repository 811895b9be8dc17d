//! Small text utilities shared by the analyzer, the writer and the checks.

/// One word of a text, with its byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub lower: String,
    pub start: usize,
    pub end: usize,
}

/// Words: runs of letters and digits, with inner apostrophes, hyphens and
/// periods kept ("dog's", "wet-on-wet", "f/8" splits, "6.1" stays).
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::with_capacity(text.len() / 5 + 1);
    let mut it = text.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut prev = c;
        let mut end = start + c.len_utf8();
        while let Some(&(pos, c)) = it.peek() {
            if c.is_alphanumeric() {
                prev = c;
                end = pos + c.len_utf8();
                it.next();
                continue;
            }
            if matches!(c, '\'' | '\u{2019}' | '-' | '.') {
                // a joiner counts only between two word characters (and a
                // period only between digits: "6.1")
                let next = text[pos + c.len_utf8()..].chars().next();
                let joins = next.is_some_and(|n| {
                    n.is_alphanumeric()
                        && (c != '.' || (prev.is_ascii_digit() && n.is_ascii_digit()))
                });
                if joins {
                    it.next();
                    let (npos, n) = it.next().expect("peeked");
                    prev = n;
                    end = npos + n.len_utf8();
                    continue;
                }
            }
            break;
        }
        let w = &text[start..end];
        let lower = if w
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            w.to_string()
        } else {
            w.to_lowercase().replace('\u{2019}', "'")
        };
        out.push(Word {
            text: w,
            lower,
            start,
            end,
        });
    }
    out
}

/// The lower-case words of `text`, as owned strings: the words every check
/// of this crate counts.
pub fn lower_words(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.lower).collect()
}

/// Normal form of a word for "did this word survive" checks: lower case,
/// possessive and plural endings removed, so inflections match.
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase().replace('\u{2019}', "'");
    let w = w
        .strip_suffix("'s")
        .or_else(|| w.strip_suffix('\''))
        .unwrap_or(&w)
        .to_string();
    if let Some(s) = mural_knowledge::singular(&w) {
        return s;
    }
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = w.strip_suffix(suffix) {
            if stem.len() >= 3 {
                return stem.to_string();
            }
        }
    }
    w
}

/// "a" or "an" for the word that follows.
pub fn article_for(next: &str) -> &'static str {
    let lower = next.to_lowercase();
    let an_exceptions = ["hour", "honest", "honor", "honour", "heir", "herb"];
    let a_exceptions = [
        "uni", "use", "usu", "uti", "one", "once", "eu", "ewe", "ute", "uro", "ufo", "u-", "uk",
        "ukulele",
    ];
    if an_exceptions.iter().any(|e| lower.starts_with(e)) {
        return "an";
    }
    if a_exceptions.iter().any(|e| lower.starts_with(e)) {
        return "a";
    }
    // spoken letters and numbers: "an 8-bit", "an 18th", "an 11"
    if lower.starts_with('8') || lower.starts_with("11") || lower.starts_with("18") {
        return "an";
    }
    match lower.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// Fixes "a"/"an" before the next word in text the writer generated.
pub fn fix_articles(text: &str) -> String {
    let ws = words(text);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for pair in ws.windows(2) {
        let (w, next) = (&pair[0], &pair[1]);
        if w.lower == "a" || w.lower == "an" {
            // only when separated by plain spaces
            if text[w.end..next.start].chars().all(|c| c == ' ') {
                let want = article_for(next.text);
                if want != w.lower {
                    out.push_str(&text[last..w.start]);
                    let upper = w.text.starts_with('A');
                    out.push_str(&if upper {
                        capitalize(want)
                    } else {
                        want.to_string()
                    });
                    last = w.end;
                }
            }
        }
    }
    out.push_str(&text[last..]);
    out
}

/// First letter in upper case.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Joins phrases as "a and b", "a, b, and c" (the serial comma keeps
/// phrases that contain "and" apart).
pub fn join_list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        2 => format!("{} and {}", items[0], items[1]),
        n => format!("{}, and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// Word-set Jaccard similarity of two texts.
pub fn jaccard(a: &str, b: &str) -> f64 {
    use std::collections::BTreeSet;
    let sa: BTreeSet<String> = lower_words(a).into_iter().collect();
    let sb: BTreeSet<String> = lower_words(b).into_iter().collect();
    let inter = sa.intersection(&sb).count() as f64;
    let union = sa.union(&sb).count() as f64;
    if union == 0.0 {
        1.0
    } else {
        inter / union
    }
}

/// Edit distance (optimal string alignment: insertions, deletions,
/// substitutions and swaps of two neighbours each cost 1), over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // three rows: two back (for swaps), one back, current
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate `name` most likely misspells, for a "did you mean"
/// hint: the nearest by edit distance (case-insensitive), if it is within
/// a third of the name's length (at least one edit); else a candidate the
/// name is the start of ("water" for "watercolor"). Ties go to the first.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return None;
    }
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    let mut prefix: Option<&'a str> = None;
    for c in candidates {
        let lower = c.to_lowercase();
        if lower == name {
            return Some(c);
        }
        let d = edit_distance(&name, &lower);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
        if prefix.is_none() && name.chars().count() >= 3 && lower.starts_with(&name) {
            prefix = Some(c);
        }
    }
    best.map(|(_, c)| c).or(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_punctuation() {
        let w: Vec<_> = words("a dog's wet-on-wet v6.1, f/8!")
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(w, ["a", "dog's", "wet-on-wet", "v6.1", "f", "8"]);
    }

    #[test]
    fn articles() {
        assert_eq!(fix_articles("a owl and an cat"), "an owl and a cat");
        assert_eq!(
            fix_articles("A oil painting of a hour"),
            "An oil painting of an hour"
        );
        assert_eq!(
            fix_articles("a unicorn, a European city, an 8-bit game"),
            "a unicorn, a European city, an 8-bit game"
        );
    }

    #[test]
    fn stems_match_inflections() {
        assert_eq!(stem("Cats"), stem("cat"));
        assert_eq!(stem("mice"), stem("mouse"));
        assert_eq!(stem("dog's"), stem("dog"));
    }

    #[test]
    fn nearest_names_a_likely_misspelling() {
        let targets = ["gpt-image", "flux", "sd", "midjourney", "midjourney-v8"];
        assert_eq!(nearest("midjurney", targets), Some("midjourney"));
        assert_eq!(nearest("MIDJOURNYE", targets), Some("midjourney"));
        assert_eq!(nearest("flx", targets), Some("flux"));
        assert_eq!(nearest("gpt", targets), Some("gpt-image"));
        assert_eq!(nearest("banana", targets), None);
        assert_eq!(nearest("", targets), None);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn jaccard_bounds() {
        assert_eq!(jaccard("a b", "a b"), 1.0);
        assert_eq!(jaccard("a b", "c d"), 0.0);
    }
}
