//! Runs the invariant checks over PartiPrompts and prints a summary:
//! `cargo run --release -p mural-prompt --example parti_report [RULE]`.
use mural_prompt::{analyze, check, BuiltinWriter, Target, WriteRequest, Writer};
use std::collections::BTreeMap;

fn main() {
    let show = std::env::args().nth(1);
    let tsv = include_str!("../../../data/eval/PartiPrompts.tsv");
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut shown = 0;
    for (i, line) in tsv.lines().skip(1).enumerate() {
        let idea = line.split('\t').next().unwrap().trim();
        let a = analyze(idea);
        for target in Target::ALL {
            let mut req = WriteRequest::new(idea, target);
            req.seed = i as u64;
            let w = &BuiltinWriter.write(&req).unwrap()[0];
            for v in check(&a, target, &w.prompt, &w.negative_prompt) {
                *counts.entry(v.rule.as_str()).or_default() += 1;
                if show.as_deref() == Some(v.rule.as_str()) && shown < 15 {
                    shown += 1;
                    println!(
                        "[{target}] {idea:?}: {}\n    {}\n    NEG {}",
                        v.detail, w.prompt, w.negative_prompt
                    );
                }
            }
        }
    }
    println!("{counts:?}");
}
