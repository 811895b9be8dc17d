//! OpenAI CLIP's byte-level BPE tokenizer, used to count prompt tokens.
//!
//! Stable Diffusion's text encoder is CLIP: it reads 77 tokens, of which 75
//! are the prompt (the other two mark start and end). AUTOMATIC1111 splits a
//! longer prompt into 75-token chunks. This crate counts exactly what CLIP
//! counts, with the real vocabulary (`data/bpe_simple_vocab_16e6.txt.gz`, MIT,
//! from the `open_clip_torch` wheel; see `data/LICENSE-open_clip`).
//!
//! The merge table is built at compile time (see `build.rs`), so counting
//! needs no start-up work.
//!
//! Architecture invariant: this crate knows nothing of prompts or targets; it
//! turns text into token counts and nothing else.

use std::cell::RefCell;
use std::collections::HashMap;

include!(concat!(env!("OUT_DIR"), "/byte_ids.rs"));

static MERGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/merges.bin"));

/// Tokens in one CLIP chunk, not counting the start and end markers.
pub const CHUNK_TOKENS: usize = 75;

/// One pre-tokenized piece of the cleaned text (a word, a digit, a run of
/// punctuation) and the number of BPE tokens it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub tokens: usize,
}

/// Number of CLIP tokens in `text`, without the start and end markers.
pub fn count(text: &str) -> usize {
    let cleaned = clean(text);
    let mut n = 0;
    for_each_piece(&cleaned, |p| n += bpe_len(p));
    n
}

/// The pieces of `text` with their token counts, in order.
pub fn pieces(text: &str) -> Vec<Piece> {
    let cleaned = clean(text);
    let mut out = Vec::new();
    for_each_piece(&cleaned, |p| {
        out.push(Piece {
            text: p.to_string(),
            tokens: bpe_len(p),
        })
    });
    out
}

/// Indexes into `pieces` where a new 75-token chunk begins, splitting as
/// CLIP-based UIs do when a prompt runs over one chunk (a piece is never
/// split across chunks). Empty when everything fits in one chunk.
pub fn chunk_starts(pieces: &[Piece]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut used = 0;
    for (i, p) in pieces.iter().enumerate() {
        if used + p.tokens > CHUNK_TOKENS && used > 0 {
            starts.push(i);
            used = 0;
        }
        used += p.tokens;
    }
    starts
}

/// CLIP's text cleaning: html entities undone, curly quotes straightened (as
/// ftfy does), whitespace collapsed, lower case.
fn clean(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => '"',
            c => c,
        };
        if c.is_whitespace() {
            if !last_space {
                s.push(' ');
            }
            last_space = true;
        } else {
            for l in c.to_lowercase() {
                s.push(l);
            }
            last_space = false;
        }
    }
    if s.ends_with(' ') {
        s.pop();
    }
    if s.contains('&') {
        s = unescape_html(&s);
    }
    s
}

fn unescape_html(s: &str) -> String {
    let mut out = s.to_string();
    // twice, as CLIP's basic_clean does
    for _ in 0..2 {
        out = out
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&");
    }
    out
}

/// CLIP's pre-tokenizer:
/// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
fn for_each_piece(text: &str, mut f: impl FnMut(&str)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap();
        let len = if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        } else if c == '\'' {
            let tail = &b[i + 1..];
            let contraction = ["s", "t", "re", "ve", "m", "ll", "d"]
                .iter()
                .find(|suffix| tail.starts_with(suffix.as_bytes()));
            match contraction {
                Some(suffix) => 1 + suffix.len(),
                None => punct_run(rest),
            }
        } else if c.is_alphabetic() {
            rest.find(|ch: char| !ch.is_alphabetic())
                .unwrap_or(rest.len())
        } else if c.is_numeric() {
            c.len_utf8()
        } else {
            punct_run(rest)
        };
        f(&rest[..len]);
        i += len;
    }
}

fn punct_run(s: &str) -> usize {
    s.find(|ch: char| ch.is_whitespace() || ch.is_alphabetic() || ch.is_numeric())
        .unwrap_or(s.len())
}

fn lookup(left: u32, right: u32) -> Option<(u32, u32)> {
    let n = MERGES.len() / 16;
    let rec = |i: usize, f: usize| {
        let o = i * 16 + f * 4;
        u32::from_le_bytes(MERGES[o..o + 4].try_into().unwrap())
    };
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match (rec(mid, 0), rec(mid, 1)).cmp(&(left, right)) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some((rec(mid, 2), rec(mid, 3))),
        }
    }
    None
}

thread_local! {
    static CACHE: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
}

/// Number of BPE tokens one pre-tokenized piece becomes.
fn bpe_len(piece: &str) -> usize {
    if let Some(n) = CACHE.with(|c| c.borrow().get(piece).copied()) {
        return n;
    }
    let n = bpe(piece).len();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 50_000 {
            c.clear();
        }
        c.insert(piece.to_string(), n);
    });
    n
}

/// CLIP's BPE over token ids: repeatedly merge the adjacent pair of lowest
/// rank, every occurrence left to right, until no pair is in the table.
fn bpe(piece: &str) -> Vec<u32> {
    let bytes = piece.as_bytes();
    let mut word: Vec<u32> = bytes.iter().map(|&b| BYTE_IDS[b as usize] as u32).collect();
    if let Some(last) = word.last_mut() {
        *last += 256; // the `</w>` form
    }
    loop {
        let mut best: Option<(u32, u32, u32, u32)> = None; // rank, left, right, merged
        for w in word.windows(2) {
            if let Some((rank, merged)) = lookup(w[0], w[1]) {
                if best.is_none_or(|b| rank < b.0) {
                    best = Some((rank, w[0], w[1], merged));
                }
            }
        }
        let Some((_, left, right, merged)) = best else {
            break;
        };
        let mut out = Vec::with_capacity(word.len());
        let mut i = 0;
        while i < word.len() {
            if i + 1 < word.len() && word[i] == left && word[i + 1] == right {
                out.push(merged);
                i += 2;
            } else {
                out.push(word[i]);
                i += 1;
            }
        }
        word = out;
        if word.len() == 1 {
            break;
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_are_single_tokens() {
        assert_eq!(count("a photo of a cat"), 5);
        assert_eq!(count("beach sunset"), 2);
    }

    #[test]
    fn punctuation_and_digits_split() {
        // "(", "cat", ":", "1", ".", "2", ")"
        assert_eq!(count("(cat:1.2)"), 7);
        assert_eq!(count("1024"), 4);
    }

    #[test]
    fn contractions_and_case() {
        assert_eq!(count("It's"), count("it's"));
        assert_eq!(pieces("it's").len(), 2);
    }

    #[test]
    fn empty_text_has_no_tokens() {
        assert_eq!(count(""), 0);
        assert_eq!(count("   \n "), 0);
    }

    #[test]
    fn chunks_break_between_pieces() {
        let text = "cat ".repeat(80);
        let p = pieces(&text);
        assert_eq!(chunk_starts(&p), vec![75]);
        assert!(chunk_starts(&pieces("a cat")).is_empty());
    }
}
