//! Reading what the user hands mural (images, idea and batch files, stdin,
//! the config) with a cap on its size, and making stored or foreign text
//! safe to print on a terminal.

use crate::cli::usage;
use anyhow::Result;
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// The largest image `mural info` reads. Real images with metadata are a
/// few MiB; the cap only stops a device or a huge file from eating memory.
pub const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// The largest text file (ideas, batch, config) or stdin mural reads.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

fn mib(n: u64) -> u64 {
    n >> 20
}

/// Reads at most `cap` bytes of `r`; more is an error naming `what`.
fn read_capped(r: impl Read, cap: u64, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| usage(format!("cannot read {what}: {e}")))?;
    if out.len() as u64 > cap {
        return Err(usage(format!(
            "{what} is larger than {} MiB, more than mural reads; give it a smaller file",
            mib(cap)
        )));
    }
    Ok(out)
}

/// Reads a file of at most `cap` bytes. `what` names it in messages
/// ("--file \"ideas.txt\""); a size over the cap is refused before reading
/// when the file says its size, and after `cap` bytes when it cannot
/// (a device, a pipe).
pub fn read_file(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| {
        usage(format!(
            "cannot read {what}: {e}; check the path and permissions"
        ))
    })?;
    if let Ok(m) = f.metadata() {
        if m.is_dir() {
            return Err(usage(format!("cannot read {what}: it is a directory")));
        }
        if m.is_file() && m.len() > cap {
            return Err(usage(format!(
                "{what} is {} MiB, more than the {} MiB mural reads; give it a smaller file",
                mib(m.len()),
                mib(cap)
            )));
        }
    }
    read_capped(f, cap, what)
}

/// Reads stdin, at most [`MAX_TEXT_BYTES`].
pub fn read_stdin(what: &str) -> Result<Vec<u8>> {
    read_capped(std::io::stdin().lock(), MAX_TEXT_BYTES, what)
}

/// Text from the gallery or a foreign file made safe to print: C0 and C1
/// control characters (ESC, BEL, CSI, OSC, ...) and DEL are shown as
/// escapes (`\u{1b}`), so stored text cannot drive the terminal (change
/// its title, write the clipboard, hide lines). `multiline` keeps `\n`
/// and `\t` where the layout has room for them; otherwise they are shown
/// as escapes too. JSON output is never passed through this: it stays exact.
pub fn printable(s: &str, multiline: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t'));
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// An idea as typed on the command line, tidied: runs of whitespace
/// (spaces, tabs, newlines) become one space and the ends are trimmed,
/// except inside double-quoted spans ("a sign that says \"OPEN  24h\""),
/// which are kept byte for byte because their text is meant exactly. A
/// quote with no closing quote quotes nothing.
pub fn idea_text(idea: &str) -> String {
    let mut out = String::with_capacity(idea.len());
    let mut rest = idea;
    let mut pending_space = false;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            pending_space = true;
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        let quoted = (c == '"')
            .then(|| rest[1..].find('"'))
            .flatten()
            .map(|close| &rest[..close + 2]);
        let piece = quoted.unwrap_or(&rest[..c.len_utf8()]);
        out.push_str(piece);
        rest = &rest[piece.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_sent() {
        let s = "a\u{1b}]52;c;aGk=\u{7}b\u{9b}31mc\r\u{7f}\nd\te";
        let one = printable(s, false);
        assert_eq!(
            one,
            "a\\u{1b}]52;c;aGk=\\u{7}b\\u{9b}31mc\\r\\u{7f}\\nd\\te"
        );
        let multi = printable(s, true);
        assert!(multi.contains("\nd\te"));
        assert!(!multi
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'));
        assert!(matches!(printable("café ☕", false), Cow::Borrowed(_)));
    }

    #[test]
    fn idea_whitespace_collapses_outside_quotes() {
        assert_eq!(
            idea_text("  a   red\tfox \n\n in  snow "),
            "a red fox in snow"
        );
        assert_eq!(
            idea_text("a sign  saying \"OPEN  24\th\"  at   night"),
            "a sign saying \"OPEN  24\th\" at night"
        );
        assert_eq!(idea_text("a \"b  c\"\"d  e\" f"), "a \"b  c\"\"d  e\" f");
        assert_eq!(idea_text("an  \"unclosed   quote"), "an \"unclosed quote");
        assert_eq!(idea_text("café   ☕  \"é  ☕\""), "café ☕ \"é  ☕\"");
        assert_eq!(idea_text(" \t\n "), "");
    }
}
