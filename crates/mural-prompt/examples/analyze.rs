//! Prints the analysis of an idea as JSON:
//! `cargo run -p mural-prompt --example analyze -- "a red fox"`.
fn main() {
    let idea = std::env::args().nth(1).unwrap_or_default();
    let a = mural_prompt::analyze(&idea);
    println!("{}", serde_json::to_string_pretty(&a).unwrap());
}
