//! The template parser: a hand-written recursive descent that follows
//! dynamicprompts 0.31's pyparsing grammar, quirks included (where comments
//! may go, which characters end a literal, how whitespace around options is
//! kept), plus mural's two extensions: backslash escapes and tied
//! negatives (`--neg`).

use crate::TemplateError;

/// How a node is sampled when it says so itself (`{~a|b}`, `__@x__`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Random,
    Combinatorial,
    Cyclical,
}

impl Method {
    pub fn is_nonfinite(self) -> bool {
        !matches!(self, Method::Combinatorial)
    }
}

/// One option of a variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub weight: f64,
    pub node: Node,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Lit(String),
    Seq(Vec<Node>),
    Variant {
        opts: Vec<Opt>,
        min: usize,
        max: usize,
        sep: String,
        method: Option<Method>,
    },
    Wildcard {
        path: Box<Node>,
        method: Option<Method>,
        vars: Vec<(String, Node)>,
    },
    Assign {
        name: String,
        value: Box<Node>,
        immediate: bool,
        overwrite: bool,
    },
    Access {
        name: String,
        default: Option<Box<Node>>,
    },
    Wrap {
        wrapper: Box<Node>,
        inner: Box<Node>,
    },
    /// mural: `positive --neg negative`; the second part goes to the
    /// negative prompt when this part of the template is chosen.
    Tied {
        pos: Box<Node>,
        neg: Box<Node>,
    },
}

impl Node {
    pub fn method(&self) -> Option<Method> {
        match self {
            Node::Variant { method, .. } | Node::Wildcard { method, .. } => *method,
            _ => None,
        }
    }
}

/// The deepest nesting the parser accepts.
pub const MAX_DEPTH: usize = 200;

/// The tied-negative marker.
pub const NEG_MARKER: &str = "--neg";

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    Variant,
    Path,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    depth: usize,
    /// The furthest position a failed attempt reached, and why.
    furthest: (usize, String),
}

/// Python's `str.expandtabs()` (pyparsing expands tabs before parsing).
fn expand_tabs(s: &str) -> String {
    if !s.contains('\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut col = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// Parses a template.
pub fn parse(template: &str) -> Result<Node, TemplateError> {
    if !template.is_empty() && template.chars().all(char::is_alphanumeric) {
        return Ok(Node::Lit(template.to_string()));
    }
    let text = expand_tabs(template);
    let mut p = Parser {
        s: &text,
        b: text.as_bytes(),
        depth: 0,
        furthest: (0, String::new()),
    };
    let (node, end) = p.prompt(0, Ctx::Top)?;
    let end = p.skip_ignorables(end);
    let end = p.skip_ws(end);
    if end < p.b.len() {
        return Err(p.error_at(end));
    }
    Ok(node)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn single_or_seq(mut tokens: Vec<Node>) -> Node {
    if tokens.len() == 1 {
        tokens.pop().unwrap_or(Node::Seq(Vec::new()))
    } else {
        Node::Seq(tokens)
    }
}

impl<'a> Parser<'a> {
    fn at(&self, i: usize, pat: &str) -> bool {
        self.b.get(i..i + pat.len()) == Some(pat.as_bytes())
    }

    fn fail(&mut self, at: usize, why: impl Into<String>) {
        if at >= self.furthest.0 {
            self.furthest = (at, why.into());
        }
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.b.len() && is_ws(self.b[i]) {
            i += 1;
        }
        i
    }

    /// `Opt(White())`.
    fn opt_ws(&self, i: usize) -> usize {
        self.skip_ws(i)
    }

    fn eol(&self, i: usize) -> usize {
        self.s[i..].find('\n').map_or(self.b.len(), |k| i + k)
    }

    /// Skips comments (`#...`, `//...`, `/* */`), each with the whitespace
    /// before it, as pyparsing's ignorables do.
    fn skip_ignorables(&self, mut i: usize) -> usize {
        loop {
            let j = self.skip_ws(i);
            if self.at(j, "#") || self.at(j, "//") {
                i = self.eol(j);
            } else if self.at(j, "/*") {
                match self.s[j + 2..].find("*/") {
                    Some(k) => i = j + 2 + k + 2,
                    None => return i,
                }
            } else {
                return i;
            }
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("the template nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// `ZeroOrMore(chunk)`, split at a tied-negative marker.
    fn prompt(&mut self, mut i: usize, ctx: Ctx) -> Result<(Node, usize), TemplateError> {
        let mut tokens = Vec::new();
        let mut neg: Option<Vec<Node>> = None;
        loop {
            let j = self.skip_ignorables(i);
            if ctx == Ctx::Path && self.b.get(j) == Some(&b'(') {
                break;
            }
            match self.chunk(j, ctx)? {
                Some((node, k)) if k > j => {
                    // a literal may hold the tied-negative marker
                    if let (Node::Lit(text), Ctx::Top | Ctx::Variant) = (&node, ctx) {
                        if let Some((before, after)) = split_neg(text) {
                            match &mut neg {
                                Some(n) => n.push(Node::Lit(text.clone())),
                                None => {
                                    if !before.is_empty() {
                                        tokens.push(Node::Lit(before));
                                    }
                                    let mut n = Vec::new();
                                    if !after.is_empty() {
                                        n.push(Node::Lit(after));
                                    }
                                    neg = Some(n);
                                }
                            }
                            i = k;
                            continue;
                        }
                    }
                    match &mut neg {
                        Some(n) => n.push(node),
                        None => tokens.push(node),
                    }
                    i = k;
                }
                _ => break,
            }
        }
        let pos = single_or_seq(tokens);
        Ok(match neg {
            Some(n) => (
                Node::Tied {
                    pos: Box::new(pos),
                    neg: Box::new(single_or_seq(n)),
                },
                i,
            ),
            None => (pos, i),
        })
    }

    fn chunk(&mut self, i: usize, ctx: Ctx) -> Result<Option<(Node, usize)>, TemplateError> {
        if i >= self.b.len() {
            return Ok(None);
        }
        if ctx == Ctx::Top {
            if let Some(r) = self.assignment(i)? {
                return Ok(Some(r));
            }
        }
        if let Some(r) = self.access(i, ctx == Ctx::Path)? {
            return Ok(Some(r));
        }
        if ctx != Ctx::Path {
            if let Some(r) = self.wrap(i)? {
                return Ok(Some(r));
            }
        }
        if let Some(r) = self.variants(i)? {
            return Ok(Some(r));
        }
        if ctx != Ctx::Path {
            if let Some(r) = self.wildcard(i)? {
                return Ok(Some(r));
            }
        }
        if ctx == Ctx::Path {
            if let Some(r) = self.literals(i, Ctx::Path) {
                return Ok(Some(r));
            }
            return Ok(self.literals(i, Ctx::Variant));
        }
        Ok(self.literals(i, ctx))
    }

    /// One literal run: stops at a character the context reserves, or at
    /// `__`. A backslash escapes the next reserved character.
    fn literal(&self, mut i: usize, ctx: Ctx) -> Option<(String, usize)> {
        let start = i;
        let mut out = String::new();
        while i < self.b.len() {
            let c = self.b[i];
            if self.at(i, "__") {
                break;
            }
            if c == b'\\' {
                if let Some(&n) = self.b.get(i + 1) {
                    if b"{}|$_#%~@!()\\:".contains(&n) {
                        out.push(n as char);
                        i += 2;
                        continue;
                    }
                }
            }
            let reserved: &[u8] = match ctx {
                Ctx::Top => b"#{$%",
                Ctx::Variant => b"#{$%|}",
                Ctx::Path => b"#{$%)(",
            };
            if reserved.contains(&c) {
                break;
            }
            let len = utf8_len(c);
            out.push_str(&self.s[i..i + len]);
            i += len;
        }
        (i > start).then_some((out, i))
    }

    /// `OneOrMore(literal)`: pieces split by comments are joined with a space.
    fn literals(&self, mut i: usize, ctx: Ctx) -> Option<(Node, usize)> {
        let mut pieces: Vec<String> = Vec::new();
        loop {
            let j = if pieces.is_empty() {
                i
            } else {
                self.skip_ignorables(i)
            };
            if ctx == Ctx::Path && self.b.get(j) == Some(&b'(') {
                break;
            }
            match self.literal(j, ctx) {
                Some((text, k)) => {
                    pieces.push(text);
                    i = k;
                }
                None => break,
            }
        }
        (!pieces.is_empty()).then(|| (Node::Lit(pieces.join(" ")), i))
    }

    fn name(&self, i: usize) -> Option<(String, usize)> {
        let first = *self.b.get(i)?;
        if !(first.is_ascii_alphabetic() || first == b'_' || first == b'-') {
            return None;
        }
        let mut j = i + 1;
        while j < self.b.len()
            && (self.b[j].is_ascii_alphanumeric() || self.b[j] == b'_' || self.b[j] == b'-')
        {
            j += 1;
        }
        Some((self.s[i..j].to_string(), j))
    }

    fn assignment(&mut self, i: usize) -> Result<Option<(Node, usize)>, TemplateError> {
        if !self.at(i, "${") {
            return Ok(None);
        }
        let j = self.opt_ws(i + 2);
        let Some((name, j)) = self.name(j) else {
            self.fail(j, "expected a variable name after \"${\"");
            return Ok(None);
        };
        let mut j = self.opt_ws(j);
        let overwrite = if self.at(j, "?") {
            j += 1;
            false
        } else {
            true
        };
        if !self.at(j, "=") {
            return Ok(None);
        }
        j += 1;
        let immediate = if self.at(j, "!") {
            j += 1;
            true
        } else {
            false
        };
        let j = self.opt_ws(j);
        self.enter(i)?;
        let (value, j) = self.prompt(j, Ctx::Variant)?;
        self.depth -= 1;
        let j = self.opt_ws(j);
        if !self.at(j, "}") {
            self.fail(
                j,
                format!("expected \"}}\" to close the variable \"${{{name}=\""),
            );
            return Ok(None);
        }
        Ok(Some((
            Node::Assign {
                name,
                value: Box::new(value),
                immediate,
                overwrite,
            },
            j + 1,
        )))
    }

    fn access(&mut self, i: usize, in_path: bool) -> Result<Option<(Node, usize)>, TemplateError> {
        if !self.at(i, "${") {
            return Ok(None);
        }
        let j = self.opt_ws(i + 2);
        let Some((name, j)) = self.name(j) else {
            self.fail(j, "expected a variable name after \"${\"");
            return Ok(None);
        };
        let mut j = self.opt_ws(j);
        let mut default = None;
        if self.at(j, ":") {
            let k = self.opt_ws(j + 1);
            self.enter(i)?;
            let (d, k) = self.prompt(k, Ctx::Variant)?;
            self.depth -= 1;
            default = Some(d);
            j = k;
        }
        let j = self.opt_ws(j);
        if !self.at(j, "}") {
            self.fail(j, format!("expected \"}}\" to close \"${{{name}\""));
            return Ok(None);
        }
        if in_path {
            // in a wildcard path the default must be plain text, and is the
            // variable's own name when missing
            let d = match default {
                Some(Node::Lit(t)) => t.trim().to_string(),
                Some(Node::Seq(v)) if v.is_empty() => name.clone(),
                None => name.clone(),
                Some(_) => {
                    return Err(self.error(
                        i,
                        "a variable in a wildcard path may only default to plain text",
                    ));
                }
            };
            return Ok(Some((
                Node::Access {
                    name,
                    default: Some(Box::new(Node::Lit(d))),
                },
                j + 1,
            )));
        }
        Ok(Some((
            Node::Access {
                name,
                default: default.map(Box::new),
            },
            j + 1,
        )))
    }

    fn wrap(&mut self, i: usize) -> Result<Option<(Node, usize)>, TemplateError> {
        if !self.at(i, "%{") {
            return Ok(None);
        }
        self.enter(i)?;
        let j = self.opt_ws(i + 2);
        let (wrapper, j) = self.prompt(j, Ctx::Variant)?;
        let j = self.opt_ws(j);
        if !self.at(j, "$$") {
            self.depth -= 1;
            self.fail(
                j,
                "expected \"$$\" between the wrapper and the text in \"%{...}\"",
            );
            return Ok(None);
        }
        let j = self.opt_ws(j + 2);
        let (inner, j) = self.prompt(j, Ctx::Variant)?;
        self.depth -= 1;
        if !self.at(j, "}") {
            self.fail(j, "expected \"}\" to close \"%{\"");
            return Ok(None);
        }
        Ok(Some((
            Node::Wrap {
                wrapper: Box::new(wrapper),
                inner: Box::new(inner),
            },
            j + 1,
        )))
    }

    fn int(&self, i: usize) -> Option<(usize, usize)> {
        let mut j = i;
        while j < self.b.len() && self.b[j].is_ascii_digit() {
            j += 1;
        }
        (j > i).then(|| (self.s[i..j].parse().unwrap_or(usize::MAX), j))
    }

    /// `{N$$`, `{N-M$$`, `{-M$$`, `{N-$$`, each optionally `SEP$$`.
    fn bound(&self, i: usize) -> Option<(Option<usize>, Option<usize>, String, usize)> {
        let (lo, hi, j) = if let Some((a, j)) = self.int(i) {
            if self.at(j, "-") {
                match self.int(j + 1) {
                    Some((b, k)) => (Some(a), Some(b), k),
                    None => (Some(a), None, j + 1),
                }
            } else {
                (Some(a), Some(a), j)
            }
        } else if self.at(i, "-") {
            let (b, k) = self.int(i + 1)?;
            (None, Some(b), k)
        } else {
            return None;
        };
        if !self.at(j, "$$") {
            return None;
        }
        let j = j + 2;
        // a custom separator: printable ASCII and spaces, no $ { }
        let mut k = j;
        while k < self.b.len() {
            let c = self.b[k];
            if (c == b' ' || (33..=126).contains(&c)) && !b"${}".contains(&c) {
                k += 1;
            } else {
                break;
            }
        }
        if k > j && self.at(k, "$$") {
            return Some((lo, hi, self.s[j..k].to_string(), k + 2));
        }
        Some((lo, hi, ",".to_string(), j))
    }

    fn weight(&self, i: usize) -> Option<(f64, usize)> {
        let mut j = i;
        if j < self.b.len() && (self.b[j] == b'+' || self.b[j] == b'-') {
            j += 1;
        }
        let digits = |mut k: usize| {
            let s = k;
            while k < self.b.len() && self.b[k].is_ascii_digit() {
                k += 1;
            }
            (k, k - s)
        };
        let (k, n1) = digits(j);
        let mut end = k;
        let mut real = false;
        if self.at(k, ".") {
            let (k2, n2) = digits(k + 1);
            if n1 > 0 || n2 > 0 {
                end = k2;
                real = true;
            }
        }
        if !real {
            // an integer weight: digits only, no sign
            if n1 == 0 || j != i {
                return None;
            }
        }
        if !self.at(end, "::") {
            return None;
        }
        let w: f64 = self.s[i..end].parse().ok()?;
        Some((w, end + 2))
    }

    fn variants(&mut self, i: usize) -> Result<Option<(Node, usize)>, TemplateError> {
        if !self.at(i, "{") {
            return Ok(None);
        }
        self.enter(i)?;
        let mut j = self.opt_ws(i + 1);
        let method = match self.b.get(j) {
            Some(b'~') => Some(Method::Random),
            Some(b'!') => Some(Method::Combinatorial),
            Some(b'@') => Some(Method::Cyclical),
            _ => None,
        };
        if method.is_some() {
            j += 1;
        }
        let mut bound = None;
        if let Some((lo, hi, sep, k)) = self.bound(j) {
            bound = Some((lo, hi, sep));
            j = k;
        }
        let mut j = self.opt_ws(j);
        let mut opts = Vec::new();
        loop {
            let k = self.opt_ws(self.skip_ignorables(j));
            let (weight, k) = self.weight(k).unwrap_or((1.0, k));
            let (node, k) = self.prompt(k, Ctx::Variant)?;
            let k = self.opt_ws(k);
            opts.push(Opt { weight, node });
            let k2 = self.skip_ignorables(k);
            if self.at(k2, "|") {
                j = k2 + 1;
            } else {
                j = k;
                break;
            }
        }
        self.depth -= 1;
        let j = self.opt_ws(self.skip_ignorables(j));
        if !self.at(j, "}") {
            self.fail(
                j,
                format!("expected \"}}\" to close the \"{{\" at {}", self.place(i)),
            );
            return Ok(None);
        }
        let n = opts.len();
        let (min, max, sep) = match bound {
            None => (1, 1, ",".to_string()),
            Some((lo, hi, sep)) => {
                let lo = lo.unwrap_or(1);
                let hi = hi.unwrap_or(n);
                (lo.min(hi), lo.max(hi), sep)
            }
        };
        Ok(Some((
            Node::Variant {
                opts,
                min,
                max,
                sep,
                method,
            },
            j + 1,
        )))
    }

    fn wildcard(&mut self, i: usize) -> Result<Option<(Node, usize)>, TemplateError> {
        if !self.at(i, "__") {
            return Ok(None);
        }
        self.enter(i)?;
        let mut j = i + 2;
        let method = match self.b.get(j) {
            Some(b'~') => Some(Method::Random),
            Some(b'!') => Some(Method::Combinatorial),
            Some(b'@') => Some(Method::Cyclical),
            _ => None,
        };
        if method.is_some() {
            j += 1;
        }
        let (path, k) = self.prompt(j, Ctx::Path)?;
        self.depth -= 1;
        if k == j {
            self.fail(j, "expected a wildcard name after \"__\"");
            return Ok(None);
        }
        let mut k = k;
        let mut vars = Vec::new();
        let v = self.opt_ws(k);
        if self.at(v, "(") {
            if let Some(close) = self.s[v + 1..].find(')') {
                if close > 0 {
                    let spec = &self.s[v + 1..v + 1 + close];
                    for pair in spec.split(',') {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        let value = value.trim();
                        let node = if !value.is_empty() && value.chars().all(char::is_alphanumeric)
                        {
                            Node::Lit(value.to_string())
                        } else {
                            parse(value)?
                        };
                        vars.push((key.trim().to_string(), node));
                    }
                    k = v + 1 + close + 1;
                }
            }
        }
        if !self.at(k, "__") {
            self.fail(
                k,
                format!(
                    "expected \"__\" to close the wildcard opened at {}",
                    self.place(i)
                ),
            );
            return Ok(None);
        }
        Ok(Some((
            Node::Wildcard {
                path: Box::new(path),
                method,
                vars,
            },
            k + 2,
        )))
    }

    fn place(&self, at: usize) -> String {
        let (line, col) = line_col(self.s, at);
        format!("line {line}, column {col}")
    }

    fn error(&self, at: usize, message: impl Into<String>) -> TemplateError {
        let (line, column) = line_col(self.s, at);
        let line_text = self.s.lines().nth(line - 1).unwrap_or("").to_string();
        TemplateError::Syntax {
            line,
            column,
            message: message.into(),
            line_text,
        }
    }

    /// The error for text that could not be parsed at `at`.
    fn error_at(&self, at: usize) -> TemplateError {
        let c = self.b[at];
        // an opening brace with no match is the usual cause
        if c == b'{' || self.at(at, "%{") || self.at(at, "${") {
            let open = if c == b'{' { at } else { at + 1 };
            if !has_close(self.b, open) {
                let what = &self.s[at..open + 1];
                return self.error(
                    at,
                    format!(
                        "\"{what}\" is never closed; add \"}}\" or write \\{{ for a literal brace"
                    ),
                );
            }
        }
        if self.furthest.0 >= at && !self.furthest.1.is_empty() {
            return self.error(self.furthest.0.min(self.b.len()), self.furthest.1.clone());
        }
        let message = match c {
            b'$' => "a lone \"$\"; write \\$ for a literal dollar sign".to_string(),
            b'%' => "a lone \"%\"; write \\% for a literal percent sign".to_string(),
            b'_' => "a wildcard \"__name\" is never closed with \"__\"; write \\_\\_ for literal underscores".to_string(),
            b'}' => "a \"}\" with no \"{\"; write \\} for a literal brace".to_string(),
            b'|' => "a \"|\" outside any \"{...}\"; write \\| for a literal bar".to_string(),
            _ => format!("unexpected {:?}", self.s[at..].chars().next().unwrap_or(' ')),
        };
        self.error(at, message)
    }
}

fn has_close(b: &[u8], open: usize) -> bool {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(s: &str, at: usize) -> (usize, usize) {
    let at = at.min(s.len());
    let before = &s[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Splits a literal at the tied-negative marker (` --neg `, or at the
/// start or end of the literal).
fn split_neg(text: &str) -> Option<(String, String)> {
    let mut from = 0;
    while let Some(k) = text[from..].find(NEG_MARKER) {
        let at = from + k;
        let end = at + NEG_MARKER.len();
        let before_ok = at == 0 || text[..at].ends_with(char::is_whitespace);
        let after_ok = end == text.len() || text[end..].starts_with(char::is_whitespace);
        if before_ok && after_ok {
            return Some((
                text[..at].trim_end().to_string(),
                text[end..].trim_start().to_string(),
            ));
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Node {
        Node::Lit(s.into())
    }

    #[test]
    fn literals_and_comments() {
        assert_eq!(parse("a #c\nb").unwrap(), lit("a  \nb"));
        assert_eq!(parse("x // kept").unwrap(), lit("x // kept"));
        assert_eq!(parse("\tx").unwrap(), lit("        x"));
    }

    #[test]
    fn variants_keep_trailing_space() {
        let Node::Variant { opts, .. } = parse("{ a | b }").unwrap() else {
            panic!()
        };
        assert_eq!(opts[0].node, lit("a "));
        assert_eq!(opts[1].node, lit("b "));
    }

    #[test]
    fn bounds_and_separators() {
        let Node::Variant { min, max, sep, .. } = parse("{2$$ and $$a|b|c}").unwrap() else {
            panic!()
        };
        assert_eq!((min, max, sep.as_str()), (2, 2, " and "));
        let Node::Variant { min, max, .. } = parse("{-2$$a|b|c}").unwrap() else {
            panic!()
        };
        assert_eq!((min, max), (1, 2));
        let Node::Variant { min, max, .. } = parse("{2-$$a|b|c}").unwrap() else {
            panic!()
        };
        assert_eq!((min, max), (2, 3));
    }

    #[test]
    fn weights_need_no_spaces() {
        let Node::Variant { opts, .. } = parse("{0.5::a|2::b|1 cat}").unwrap() else {
            panic!()
        };
        assert_eq!(
            (opts[0].weight, opts[1].weight, opts[2].weight),
            (0.5, 2.0, 1.0)
        );
        assert_eq!(opts[2].node, lit("1 cat"));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            parse(r"50\% off \{not\} a\_\_b \| \$5 \#1").unwrap(),
            lit("50% off {not} a__b | $5 #1")
        );
    }

    #[test]
    fn tied_negatives() {
        let Node::Variant { opts, .. } = parse("{a red car --neg rust, dents|a blue car}").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            opts[0].node,
            Node::Tied {
                pos: Box::new(lit("a red car")),
                neg: Box::new(lit("rust, dents"))
            }
        );
        assert_eq!(opts[1].node, lit("a blue car"));
        // not a marker inside a word
        assert_eq!(parse("x --negative y").unwrap(), lit("x --negative y"));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("a {red|blue fox").unwrap_err();
        let TemplateError::Syntax {
            column, message, ..
        } = &e
        else {
            panic!()
        };
        assert_eq!(*column, 3, "{e}");
        assert!(message.contains("never closed"), "{e}");
        assert!(e.to_string().contains("\n  a {red|blue fox\n    ^"), "{e}");
        assert!(parse("50% off").unwrap_err().to_string().contains("\\%"));
        assert!(parse("a__b").unwrap_err().to_string().contains("\"__\""));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let t = "{".repeat(10_000) + &"}".repeat(10_000);
        assert!(parse(&t).unwrap_err().to_string().contains("nests deeper"));
    }
}
