//! Expands templates the way `tools/templates/compare.py` asks:
//! reads a JSON array of templates on stdin, prints a JSON array with, for
//! each, the combinatorial expansions (at most `max`) or `"ERR ..."`.
//!
//! `cargo run -p mural-template --example expand -- WILDCARDS_DIR [MAX] < templates.json`

use mural_template::{expand_first, Template, Wildcards};
use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_default();
    let max: usize = args.next().and_then(|m| m.parse().ok()).unwrap_or(1000);
    let w = Wildcards::load_dir(std::path::Path::new(&dir)).expect("wildcards");
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    let templates: Vec<String> = serde_json::from_str(&input).expect("a JSON array of strings");
    let out: Vec<serde_json::Value> = templates
        .iter()
        .map(
            |t| match Template::parse(t).and_then(|t| expand_first(&t, &w, max)) {
                Ok(v) => serde_json::json!(v.into_iter().map(|e| e.prompt).collect::<Vec<_>>()),
                Err(e) => serde_json::json!(format!("ERR {e}")),
            },
        )
        .collect();
    println!("{}", serde_json::Value::Array(out));
}
