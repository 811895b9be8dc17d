//! Quick throughput check over PartiPrompts (one pass, one core):
//! `cargo run --release -p mural-prompt --example speed -- sd`.
use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer};
use std::time::Instant;

fn main() {
    let target = std::env::args()
        .nth(1)
        .and_then(|t| Target::parse(&t))
        .unwrap_or(Target::Sd);
    let ideas: Vec<&str> = include_str!("../../../data/eval/PartiPrompts.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    // warm the tables
    BuiltinWriter
        .write(&WriteRequest::new("a cat", target))
        .unwrap();
    let t = Instant::now();
    let mut n = 0;
    for (i, idea) in ideas.iter().enumerate() {
        let mut req = WriteRequest::new(*idea, target);
        req.seed = i as u64;
        n += BuiltinWriter.write(&req).unwrap()[0].prompt.len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} ideas in {:.3} s: {:.0} ideas/s ({n} bytes)",
        ideas.len(),
        s,
        ideas.len() as f64 / s
    );
}
