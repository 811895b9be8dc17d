//! Prints the analysis and the scene of an idea as JSON, then the built-in
//! writer's prompts:
//! `cargo run -p mural-prompt --example analyze -- "a red fox" [N] [TARGET]`.
use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer};

fn main() {
    let idea = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let target = std::env::args()
        .nth(3)
        .and_then(|t| Target::parse(&t))
        .unwrap_or(Target::Dalle);
    let scene = mural_prompt::scene_of(&idea);
    println!("{}", serde_json::to_string(&scene).unwrap());
    let mut req = WriteRequest::new(idea, target);
    req.n = n;
    req.seed = 1;
    for w in BuiltinWriter.write(&req).unwrap_or_default() {
        println!(
            "\n[{}] {}\n  neg: {}\n  {:?}",
            w.index, w.prompt, w.negative_prompt, w.params
        );
    }
}
