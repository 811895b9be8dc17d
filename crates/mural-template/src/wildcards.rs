//! Wildcard collections: `name -> values`, loaded from a directory the way
//! dynamicprompts loads one (txt files, and JSON/YAML files whose nested
//! keys become paths), matched with `fnmatch` globs.

use crate::TemplateError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest wildcard file read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The most bytes of wildcard files one directory may hold in all.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;

/// What a walk has read so far: bytes, and the directories seen (by their
/// real path, so a symlink loop is walked once).
#[derive(Default)]
struct Walk {
    bytes: u64,
    seen: HashSet<PathBuf>,
}

/// One wildcard value and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub text: String,
    pub weight: f64,
}

/// Every wildcard collection, by name (`colors`, `sub/trees`).
#[derive(Debug, Clone, Default)]
pub struct Wildcards {
    map: BTreeMap<String, Vec<Item>>,
}

/// Reads one wildcard file within [`MAX_FILE_BYTES`] and what is left of
/// [`MAX_TOTAL_BYTES`] (a device or a huge file stops with an error).
fn read_capped(path: &Path, walk: &mut Walk) -> Result<Vec<u8>, TemplateError> {
    let cap = MAX_FILE_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(walk.bytes));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(|e| TemplateError::Wildcards {
            message: format!("cannot read {}: {e}", path.display()),
        })?;
    if bytes.len() as u64 > cap {
        return Err(TemplateError::Wildcards {
            message: format!(
                "{} is too large: mural reads wildcard files of up to {} MiB each and {} MiB in all; split or trim it",
                path.display(),
                MAX_FILE_BYTES >> 20,
                MAX_TOTAL_BYTES >> 20
            ),
        });
    }
    walk.bytes += bytes.len() as u64;
    Ok(bytes)
}

impl Wildcards {
    pub fn new() -> Wildcards {
        Wildcards::default()
    }

    /// Adds (or replaces) a collection.
    pub fn insert(&mut self, name: &str, values: Vec<Item>) {
        self.map.insert(name.to_string(), values);
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Loads every `.txt`, `.json` and `.yaml` file under `dir` (hidden
    /// directories skipped). A missing directory is an empty collection.
    pub fn load_dir(dir: &Path) -> Result<Wildcards, TemplateError> {
        let mut w = Wildcards::new();
        if dir.is_dir() {
            w.walk(dir, dir, &mut Walk::default())?;
        }
        Ok(w)
    }

    fn walk(&mut self, root: &Path, dir: &Path, seen: &mut Walk) -> Result<(), TemplateError> {
        let io = |e: std::io::Error, p: &Path| TemplateError::Wildcards {
            message: format!("cannot read {}: {e}", p.display()),
        };
        if let Ok(real) = std::fs::canonicalize(dir) {
            if !seen.seen.insert(real) {
                return Ok(());
            }
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(e, dir))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') {
                    self.walk(root, &path, seen)?;
                }
                continue;
            }
            let rel_dir = path
                .parent()
                .and_then(|p| p.strip_prefix(root).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = path
                .extension()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let qualify = |n: &str| {
                if rel_dir.is_empty() {
                    n.to_string()
                } else {
                    format!("{rel_dir}/{n}")
                }
            };
            match ext.as_str() {
                "txt" => {
                    let bytes = read_capped(&path, seen)?;
                    let text = String::from_utf8_lossy(&bytes);
                    let values = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(|l| Item {
                            text: l.to_string(),
                            weight: 1.0,
                        })
                        .collect();
                    self.map.insert(qualify(&stem), values);
                }
                "json" | "yaml" => {
                    let text = String::from_utf8(read_capped(&path, seen)?).map_err(|_| {
                        TemplateError::Wildcards {
                            message: format!(
                                "{} is not UTF-8 text; save it as UTF-8",
                                path.display()
                            ),
                        }
                    })?;
                    let data: Value = if ext == "json" {
                        serde_json::from_str(&text).map_err(|e| TemplateError::Wildcards {
                            message: format!("{}: not valid JSON ({e})", path.display()),
                        })?
                    } else {
                        serde_yaml::from_str(&text).map_err(|e| TemplateError::Wildcards {
                            message: format!("{}: not valid YAML ({e})", path.display()),
                        })?
                    };
                    match &data {
                        Value::Object(_) => self.structured(&data, &rel_dir, ""),
                        Value::Array(a) => {
                            let values: Vec<Item> = a
                                .iter()
                                .filter_map(|v| v.as_str())
                                .map(|s| Item {
                                    text: s.to_string(),
                                    weight: 1.0,
                                })
                                .collect();
                            if !values.is_empty() {
                                self.map.insert(qualify(&stem), values);
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A JSON/YAML mapping: nested keys become path segments.
    fn structured(&mut self, v: &Value, root_prefix: &str, prefix: &str) {
        let Some(o) = v.as_object() else { return };
        for (key, value) in o {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}/{key}")
            };
            let full = if root_prefix.is_empty() {
                name.clone()
            } else {
                format!("{root_prefix}/{name}")
            };
            match value {
                Value::String(s) if !s.is_empty() => {
                    self.map
                        .insert(full, list_items(&[Value::String(s.clone())]));
                }
                Value::Array(a) if !a.is_empty() => {
                    self.map.insert(full, list_items(a));
                }
                Value::Object(m) if !m.is_empty() => self.structured(value, root_prefix, &name),
                _ => {}
            }
        }
    }

    /// The values a wildcard pattern names: every matching collection,
    /// deduplicated and sorted; a name with no match also tries `**/name`.
    pub fn values(&self, pattern: &str) -> Vec<Item> {
        let pattern = clean(pattern);
        let mut out = self.matching(&pattern);
        if out.is_empty() && !pattern.starts_with("**") {
            out = self.matching(&format!("**/{pattern}"));
        }
        let mut seen = Vec::with_capacity(out.len());
        for item in out {
            if !seen.contains(&item) {
                seen.push(item);
            }
        }
        seen.sort_by(|a, b| a.text.cmp(&b.text));
        seen
    }

    fn matching(&self, pattern: &str) -> Vec<Item> {
        if !pattern.contains(['*', '?', '[']) {
            return self.map.get(pattern).cloned().unwrap_or_default();
        }
        self.map
            .iter()
            .filter(|(name, _)| fnmatch(name, pattern))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect()
    }
}

fn list_items(a: &[Value]) -> Vec<Item> {
    let mut out = Vec::new();
    for item in a {
        match item {
            Value::String(s) if !s.is_empty() => {
                if s.as_bytes()[0].is_ascii_digit() && s.contains("::") {
                    if let Some((w, content)) = s.rsplit_once("::") {
                        if let Ok(w) = w.trim().parse::<f64>() {
                            out.push(Item {
                                text: content.to_string(),
                                weight: w,
                            });
                            continue;
                        }
                    }
                }
                out.push(Item {
                    text: s.clone(),
                    weight: 1.0,
                });
            }
            Value::Object(o) => {
                let weight = o.get("weight").and_then(Value::as_f64).unwrap_or(1.0);
                let content = o
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .or_else(|| o.get("content").and_then(Value::as_str))
                    .unwrap_or("");
                if !content.is_empty() {
                    out.push(Item {
                        text: content.to_string(),
                        weight,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// dynamicprompts' `clean_wildcard`: no wrap, `/` separators, no `/` at
/// the ends.
fn clean(w: &str) -> String {
    let w = w.strip_prefix("__").unwrap_or(w);
    let w = w.strip_suffix("__").unwrap_or(w);
    let mut out = String::with_capacity(w.len());
    let mut last_slash = false;
    for c in w.chars() {
        let c = if c == '\\' { '/' } else { c };
        if c == '/' {
            if !last_slash {
                out.push('/');
            }
            last_slash = true;
        } else {
            out.push(c);
            last_slash = false;
        }
    }
    out.trim_matches('/').to_string()
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` (any run, `/` included), `?`,
/// `[abc]`, `[!abc]`.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn class(p: &[char], pi: usize, c: char) -> Option<(bool, usize)> {
        let mut i = pi + 1;
        let negate = p.get(i) == Some(&'!');
        if negate {
            i += 1;
        }
        let start = i;
        let mut matched = false;
        while i < p.len() {
            if p[i] == ']' && i > start {
                return Some((matched != negate, i + 1));
            }
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None // no closing bracket: '[' is literal
    }
    let (mut ni, mut pi) = (0, 0);
    let (mut star_p, mut star_n) = (None, 0);
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star_p = Some(pi);
                    star_n = ni;
                    pi += 1;
                    continue;
                }
                '?' => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                '[' => match class(&p, pi, n[ni]) {
                    Some((true, next)) => {
                        ni += 1;
                        pi = next;
                        continue;
                    }
                    Some((false, _)) => {}
                    None => {
                        if n[ni] == '[' {
                            ni += 1;
                            pi += 1;
                            continue;
                        }
                    }
                },
                c if c == n[ni] => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star_p {
            Some(sp) => {
                star_n += 1;
                ni = star_n;
                pi = sp + 1;
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_fnmatch() {
        assert!(fnmatch("colors/warm", "colors*"));
        assert!(fnmatch("a/b/trees", "**/trees"));
        assert!(!fnmatch("trees", "**/trees"));
        assert!(fnmatch("cat1", "cat[0-9]"));
        assert!(!fnmatch("cat1", "cat[!0-9]"));
        assert!(fnmatch("x", "?"));
    }

    #[test]
    fn values_are_sorted_and_deduplicated() {
        let mut w = Wildcards::new();
        let items = |v: &[&str]| {
            v.iter()
                .map(|s| Item {
                    text: s.to_string(),
                    weight: 1.0,
                })
                .collect()
        };
        w.insert("colors", items(&["red", "blue", "red"]));
        w.insert("sub/trees", items(&["oak", "elm"]));
        assert_eq!(
            w.values("colors")
                .iter()
                .map(|i| i.text.as_str())
                .collect::<Vec<_>>(),
            ["blue", "red"]
        );
        assert_eq!(w.values("trees").len(), 2, "falls back to **/trees");
        assert_eq!(w.values("__sub//trees/__").len(), 2);
    }

    #[test]
    fn structured_items_with_weights() {
        let v: Value = serde_json::json!(["2::apple", "pear", {"text": "fig", "weight": 3}, 5, ""]);
        let items = list_items(v.as_array().unwrap());
        assert_eq!(items.len(), 3);
        assert_eq!((items[0].text.as_str(), items[0].weight), ("apple", 2.0));
        assert_eq!((items[2].text.as_str(), items[2].weight), ("fig", 3.0));
    }
}
