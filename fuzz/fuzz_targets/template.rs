//! Any text: parsing never panics, and a template that parses expands
//! (combinatorial, random, counted) without panicking or recursing away,
//! even with wildcards that refer to each other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mural_template::{combinations, expand_first, sample, Item, Template, Wildcards};

fn wildcards() -> Wildcards {
    let mut w = Wildcards::new();
    let items = |v: &[&str]| v.iter().map(|s| Item { text: s.to_string(), weight: 1.0 }).collect();
    w.insert("colors", items(&["red", "blue", "{light|dark} green"]));
    w.insert("a", items(&["x __b__", "y"]));
    w.insert("b", items(&["__a__ z"]));
    w.insert("self", items(&["{__self__|q}"]));
    w.insert("vars", items(&["${v?=one} and ${v}"]));
    w
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Template::parse(text) else { return };
    let w = wildcards();
    let _ = expand_first(&t, &w, 64);
    let _ = sample(&t, &w, 3, data.len() as u64);
    let _ = combinations(&t, &w);
});
