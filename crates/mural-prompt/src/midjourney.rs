//! Midjourney's parameters by version, from `data/midjourney.toml`: what
//! the midjourney targets write and what `lint` holds a prompt to.

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The version the `midjourney` target writes.
    pub v7: String,
    /// The version the `midjourney-v8` target writes.
    pub v8: String,
    /// Every `--v` value lint accepts.
    pub versions: Vec<String>,
    pub params: Vec<Param>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// `W:H`, whole numbers.
    Ratio,
    /// Free text (URLs, codes, words).
    Text,
    /// No value.
    Flag,
    /// A value or none.
    Optional,
    /// One of `values`.
    Choice,
    /// A number within `min..=max`.
    Number,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub names: Vec<String>,
    /// The version families ("7", "8") that take it.
    pub families: Vec<String>,
    pub kind: ValueKind,
    #[serde(default)]
    pub values: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// What to use instead where it is not taken.
    pub hint: Option<String>,
}

pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(
        || match toml::from_str(include_str!("../data/midjourney.toml")) {
            Ok(t) => t,
            // held to the schema by `tests::the_table_parses`
            Err(e) => unreachable!("data/midjourney.toml: {e}"),
        },
    )
}

/// The family a version belongs to: "7", "8", or None for older ones.
pub fn family(version: &str) -> Option<&'static str> {
    match version.split('.').next() {
        Some("7") => Some("7"),
        Some("8") => Some("8"),
        _ => None,
    }
}

/// Checks one parameter for a version family; the problem in words.
pub fn check(name: &str, value: &str, fam: Option<&str>) -> Option<String> {
    let t = table();
    let all: Vec<&Param> = t
        .params
        .iter()
        .filter(|p| p.names.iter().any(|n| n == name))
        .collect();
    if all.is_empty() {
        return Some(format!("unknown Midjourney parameter --{name}"));
    }
    let fitting = match fam {
        Some(f) => all
            .iter()
            .find(|p| p.families.iter().any(|x| x == f))
            .copied(),
        // an older version: no version gating
        None => all.first().copied(),
    };
    let Some(p) = fitting else {
        let hint = all.iter().find_map(|p| p.hint.as_deref());
        return Some(match (fam, hint) {
            (Some(f), Some(h)) => format!("--{name} is not a V{f} parameter; {h}"),
            (Some(f), None) => format!("--{name} is not a V{f} parameter; remove it"),
            (None, _) => format!("--{name} is not taken by this version"),
        });
    };
    let v = value.trim();
    match p.kind {
        ValueKind::Ratio => {
            let ok = v
                .split_once(':')
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .is_some_and(|(a, b)| a > 0 && b > 0);
            (!ok).then(|| format!("--{name} {v:?} must be W:H with whole numbers, like --ar 16:9"))
        }
        ValueKind::Text => v.is_empty().then(|| format!("--{name} needs a value")),
        ValueKind::Flag => (!v.is_empty()).then(|| format!("--{name} takes no value")),
        ValueKind::Optional => None,
        ValueKind::Choice => (!p.values.iter().any(|x| x == v)).then(|| {
            let on = fam.map(|f| format!(" on V{f}")).unwrap_or_default();
            format!("--{name} {v:?} must be one of {}{on}", p.values.join(", "))
        }),
        ValueKind::Number => {
            let n: Option<f64> = v.parse().ok();
            let (lo, hi) = (p.min.unwrap_or(0.0), p.max.unwrap_or(f64::MAX));
            (!n.is_some_and(|n| n >= lo && n <= hi)).then(|| {
                let on = fam.map(|f| format!(" on V{f}")).unwrap_or_default();
                format!("--{name} {v:?} must be a number from {lo} to {hi}{on}")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses() {
        let t = table();
        assert!(t.versions.contains(&t.v7) && t.versions.contains(&t.v8));
        assert_eq!(family(&t.v7), Some("7"));
        assert_eq!(family(&t.v8), Some("8"));
        for p in &t.params {
            assert!(!p.names.is_empty());
            assert!(p.families.iter().all(|f| f == "7" || f == "8"));
        }
    }

    #[test]
    fn parameters_are_gated_by_version() {
        assert_eq!(check("oref", "https://x/a.png", Some("7")), None);
        let e = check("oref", "https://x/a.png", Some("8")).unwrap();
        assert!(
            e.contains("not a V8 parameter") && e.contains("--edit"),
            "{e}"
        );
        assert!(check("hd", "", Some("7")).unwrap().contains("V8 only"));
        assert_eq!(check("hd", "", Some("8")), None);
        assert_eq!(check("q", "2", Some("7")), None);
        assert!(check("q", "2", Some("8")).is_some());
        assert!(check("q", ".5", Some("7")).is_some());
        assert!(check("weird", "5000", Some("7")).is_some());
        assert!(check("cref", "u", Some("7")).unwrap().contains("--oref"));
        assert!(check("zoom", "2", Some("7")).unwrap().contains("unknown"));
        // older versions are not gated
        assert_eq!(check("cref", "u", None), None);
    }
}
