//! Prompt templates in the syntax of dynamicprompts 0.31, expanded far
//! faster, plus tied negatives and escapes.
//!
//! ```text
//! a {red|blue|golden} {fox|owl} in __seasons__
//! {2$$ and $$cats|dogs|birds}          two of them, joined with " and "
//! ${animal={cat|dog}} a ${animal} and a ${animal}
//! {a red car --neg rust, dents|a blue car}   a tied negative
//! 50\% off \{literal braces\}                 escapes
//! ```
//!
//! - [`expand_all`]: combinatorial mode, the same prompts in the same order
//!   as dynamicprompts' `CombinatorialPromptGenerator` (ordered picks,
//!   clamped bounds, sorted wildcard values, its whitespace and comment
//!   rules).
//! - [`sample`]: random mode, seeded: expansion `i` uses seed `seed + i`.
//! - [`combinations`]: how many prompts combinatorial mode makes, without
//!   making them.
//!
//! Architecture invariant: expansion is pure. The only IO is
//! [`Wildcards::load_dir`], which the caller runs once.

mod eval;
pub mod parse;
pub mod wildcards;

pub use parse::{Method, Node};
pub use wildcards::{Item, Wildcards};

/// One expanded prompt and the negatives its choices carried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expansion {
    pub prompt: String,
    pub negative_prompt: String,
}

/// Why a template cannot be expanded. Each message names the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("template error at line {line}, column {column}: {message}\n  {line_text}\n  {caret}^", caret = " ".repeat(column.saturating_sub(1)))]
    Syntax {
        line: usize,
        column: usize,
        message: String,
        line_text: String,
    },
    #[error("unknown wildcard __{name}__; {}", if nearest.is_empty() { "no wildcard files were found (put NAME.txt in the wildcards directory)".to_string() } else { format!("nearest: {}", nearest.join(", ")) })]
    UnknownWildcard { name: String, nearest: Vec<String> },
    #[error("wildcards refer to each other in a cycle: {}", chain.join(" -> "))]
    WildcardCycle { chain: Vec<String> },
    #[error("unknown variable ${{{name}}}; set it with ${{{name}=...}} or give a default: ${{{name}:...}}")]
    UnknownVariable { name: String },
    #[error("variable ${{{name}}} refers to itself")]
    VariableCycle { name: String },
    #[error("the template makes {count} prompts, over --max {max}; raise --max, or drop --combinatorial to sample at random")]
    TooMany { count: u128, max: usize },
    #[error("wildcards nest deeper than {0} levels; check for a wildcard that includes itself")]
    TooDeep(usize),
    #[error("{message}")]
    Wildcards { message: String },
    #[error("the template is too complex to expand (millions of steps or combinations, or a huge prompt); pick fewer options at once, or nest wildcards and variables less")]
    TooComplex,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    root: Node,
    empty: bool,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            root: parse::parse(text)?,
            empty: text.is_empty(),
        })
    }

    pub fn root(&self) -> &Node {
        &self.root
    }
}

/// Every prompt the template makes, in dynamicprompts' combinatorial
/// order; more than `max` is an error that says how many there would be.
pub fn expand_all(
    t: &Template,
    w: &Wildcards,
    max: usize,
) -> Result<Vec<Expansion>, TemplateError> {
    if t.empty {
        return Ok(Vec::new());
    }
    let mut e = eval::Engine::new(w, 0);
    let out = e.all_root(&t.root, max.saturating_add(1))?;
    if out.len() > max {
        let count = eval::Engine::new(w, 0)
            .count_root(&t.root)?
            .max(out.len() as u128);
        return Err(TemplateError::TooMany { count, max });
    }
    Ok(out)
}

/// The first `limit` prompts of combinatorial mode (no error past it).
pub fn expand_first(
    t: &Template,
    w: &Wildcards,
    limit: usize,
) -> Result<Vec<Expansion>, TemplateError> {
    if t.empty {
        return Ok(Vec::new());
    }
    eval::Engine::new(w, 0).all_root(&t.root, limit)
}

/// How many prompts combinatorial mode makes (an upper bound when
/// options repeat each other's text, which combinatorial mode drops).
pub fn combinations(t: &Template, w: &Wildcards) -> Result<u128, TemplateError> {
    if t.empty {
        return Ok(0);
    }
    eval::Engine::new(w, 0).count_root(&t.root)
}

/// `n` prompts in random mode; prompt `i` uses seed `seed + i`, so each
/// reproduces alone.
pub fn sample(
    t: &Template,
    w: &Wildcards,
    n: usize,
    seed: u64,
) -> Result<Vec<Expansion>, TemplateError> {
    if t.empty {
        return Ok(Vec::new());
    }
    let mut e = eval::Engine::new(w, seed);
    (0..n)
        .map(|i| {
            e.reseed(seed.wrapping_add(i as u64));
            e.draw_root(&t.root)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &str) -> Vec<String> {
        let mut w = Wildcards::new();
        let items = |v: &[&str]| {
            v.iter()
                .map(|s| Item {
                    text: s.to_string(),
                    weight: 1.0,
                })
                .collect()
        };
        w.insert("colors", items(&["red", "blue", "green"]));
        w.insert(
            "animals",
            items(&["cat", "{big|small} dog", "__colors__ bird"]),
        );
        w.insert("tpl", items(&["${season?=summer} clothes for ${season}"]));
        w.insert("loop", items(&["a __loop__"]));
        expand_all(&Template::parse(t).unwrap(), &w, 1000)
            .unwrap()
            .into_iter()
            .map(|e| e.prompt)
            .collect()
    }

    #[test]
    fn matches_dynamicprompts_on_the_basics() {
        assert_eq!(
            all("{2$$a|b|c}"),
            ["a,b", "a,c", "b,a", "b,c", "c,a", "c,b"]
        );
        assert_eq!(all("{-2$$a|b|c}").len(), 9);
        assert_eq!(all("{2$$ and $$a|b|c}")[0], "a and b");
        assert_eq!(all("{0$$a|b}"), [""]);
        assert_eq!(all("{2$$a|{a|b}}"), ["a,b", "b,a"]);
        assert_eq!(all("{a|}"), ["a", ""]);
        assert_eq!(all("{a|a|b}"), ["a", "b"]);
        assert_eq!(all("{3$$a|b}"), ["a,b", "b,a"]);
        assert_eq!(
            all("${c={red|blue}} ${c} and ${c}"),
            [
                " red and red",
                " red and blue",
                " blue and red",
                " blue and blue"
            ]
        );
        assert_eq!(all("${c=!{red|blue}} ${c} and ${c}"), [" red and red"]);
        assert_eq!(all("x {b|c} #comment"), ["x b", "x c"]);
        assert_eq!(all("%{[...]$${a|b}}"), ["[a]", "[b]"]);
        assert_eq!(all("%{pre $$x}"), ["pre x"]);
        assert_eq!(
            all("{a|{b|c}} {d|e}"),
            ["a d", "a e", "b d", "b e", "c d", "c e"]
        );
        assert_eq!(all("{2$$|$$a|b}"), ["a|b", "b|a"]);
        assert_eq!(all("__colors__"), ["blue", "green", "red"]);
        assert_eq!(
            all("__animals__"),
            [
                "blue bird",
                "green bird",
                "red bird",
                "cat",
                "big dog",
                "small dog"
            ]
        );
        assert_eq!(all("{2$$__colors__}")[0], "blue,green");
        assert_eq!(all("__tpl(season=winter)__"), [" clothes for winter"]);
        assert_eq!(all("__tpl__"), [" clothes for summer"]);
        assert_eq!(all("{__colors__|x}"), ["blue", "green", "red", "x"]);
    }

    #[test]
    fn tied_negatives_follow_their_option() {
        let t = Template::parse("a {red car --neg rust, dents|blue car} in {rain --neg dry|sun}")
            .unwrap();
        let out = expand_all(&t, &Wildcards::new(), 10).unwrap();
        assert_eq!(
            out[0],
            Expansion {
                prompt: "a red car in rain".into(),
                negative_prompt: "rust, dents, dry".into()
            }
        );
        assert_eq!(
            out[3],
            Expansion {
                prompt: "a blue car in sun".into(),
                negative_prompt: String::new()
            }
        );
    }

    #[test]
    fn errors() {
        let w = Wildcards::new();
        let e = expand_all(&Template::parse("{a|b} {c|d|e}").unwrap(), &w, 5).unwrap_err();
        assert_eq!(e, TemplateError::TooMany { count: 6, max: 5 });
        let mut w = Wildcards::new();
        w.insert(
            "colors",
            vec![Item {
                text: "red".into(),
                weight: 1.0,
            }],
        );
        w.insert(
            "loop",
            vec![Item {
                text: "a __loop__".into(),
                weight: 1.0,
            }],
        );
        let e = expand_all(&Template::parse("__colours__").unwrap(), &w, 5).unwrap_err();
        assert!(e.to_string().contains("nearest: colors"), "{e}");
        let e = expand_all(&Template::parse("__loop__").unwrap(), &w, 5).unwrap_err();
        assert!(e.to_string().contains("loop -> loop"), "{e}");
        let e = expand_all(&Template::parse("${x}").unwrap(), &w, 5).unwrap_err();
        assert!(matches!(e, TemplateError::UnknownVariable { .. }));
        let e = sample(&Template::parse("__loop__").unwrap(), &w, 1, 0).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn regression_many_equal_options_do_not_explode() {
        // found by the fuzzer: 223 picks among many equal options
        let t = "{223$$ /\"$$|||||||||,|||||||||AHAA|||AAAAAAA|||<|VVVV|||||||u|amw|x}";
        let t = Template::parse(t).unwrap();
        let start = std::time::Instant::now();
        let _ = expand_first(&t, &Wildcards::new(), 64);
        let _ = sample(&t, &Wildcards::new(), 3, 1);
        let _ = combinations(&t, &Wildcards::new());
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        let big = Template::parse(&format!(
            "{{12$${}}}",
            (0..24)
                .map(|i| format!("o{i}"))
                .collect::<Vec<_>>()
                .join("|")
        ))
        .unwrap();
        assert_eq!(expand_first(&big, &Wildcards::new(), 10).unwrap().len(), 10);
        assert!(matches!(
            expand_all(&big, &Wildcards::new(), 10),
            Err(TemplateError::TooMany { .. })
        ));
    }

    #[test]
    fn random_mode_is_seeded() {
        let t = Template::parse("{a|b|c|d} {e|f|g} __colors__ {2-3$$ and $$x|y|z}").unwrap();
        let mut w = Wildcards::new();
        w.insert(
            "colors",
            vec![
                Item {
                    text: "red".into(),
                    weight: 1.0,
                },
                Item {
                    text: "blue".into(),
                    weight: 3.0,
                },
            ],
        );
        let a = sample(&t, &w, 20, 7).unwrap();
        assert_eq!(a, sample(&t, &w, 20, 7).unwrap());
        assert_eq!(
            a[5],
            sample(&t, &w, 1, 12).unwrap()[0],
            "prompt i reproduces from seed + i"
        );
        let distinct: std::collections::BTreeSet<_> = a.iter().map(|e| &e.prompt).collect();
        assert!(distinct.len() > 10);
    }

    /// A chain of variables, each using the one before `fan` times: a few
    /// hundred characters that stand for `fan^levels` copies of the first.
    pub(crate) fn variable_chain(first: &str, levels: usize, fan: usize) -> String {
        let mut t = format!("${{v0={first}}}");
        for i in 1..levels {
            t.push_str(&format!(
                "${{v{i}={}}}",
                format!("${{v{}}}", i - 1).repeat(fan)
            ));
        }
        t.push_str(&format!("${{v{}}}", levels - 1));
        t
    }

    #[test]
    fn a_variable_chain_bomb_is_refused_in_every_mode() {
        let w = Wildcards::new();
        for first in ["{x|y}", "{@x|y}", "{2$$x|y|z}", "word"] {
            let t = variable_chain(first, 26, 4);
            assert!(t.len() <= 800, "{}", t.len());
            let t = Template::parse(&t).unwrap();
            assert_eq!(
                sample(&t, &w, 1, 3).unwrap_err(),
                TemplateError::TooComplex,
                "random mode, {first}"
            );
            assert!(
                matches!(
                    expand_all(&t, &w, 1000),
                    Err(TemplateError::TooComplex | TemplateError::TooMany { .. })
                ),
                "combinatorial mode, {first}"
            );
            assert!(expand_first(&t, &w, 1).is_err(), "{first}");
        }
        // the budget is per prompt: many ordinary prompts are fine
        let small = Template::parse(&variable_chain("{x|y}", 6, 4)).unwrap();
        let many = sample(&small, &w, 2000, 1).unwrap();
        assert_eq!(many.len(), 2000);
        assert_eq!(many[0].prompt.len(), 4usize.pow(5));
    }
}
