//! Reviewed snapshots of the built-in writer's prose, so any change to what
//! it writes shows up in review. Update with `INSTA_UPDATE=always cargo test`
//! (or `cargo insta review`) and read the diff before committing.

use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer};

const IDEAS: &[&str] = &[
    "a beach sunset",
    "a snowy village at night",
    "three cats on a windowsill",
    "a bowl of ramen",
    "a portrait of an old fisherman",
    "a watercolor of a heron at dawn",
    "a logo for a coffee shop called \"Bean There\"",
    "a sign that says \"Very Deep Learning\"",
    "a city street at night without people",
    "a black and white photo of a lighthouse in a storm",
    "bond",
    "a harbor in the style of Cezanne",
    "pixel art of a knight fighting a dragon",
    "a red sports car on a mountain road, aerial view",
    "A smiling sloth is wearing a leather jacket, a cowboy hat, a kilt and a bowtie. The sloth is holding a quarterstaff and a big book.",
];

fn render(idea: &str) -> String {
    let mut out = String::new();
    for target in [Target::Dalle, Target::Sd, Target::Midjourney] {
        let mut req = WriteRequest::new(idea, target);
        req.seed = 42;
        let w = &BuiltinWriter.write(&req).unwrap()[0];
        out.push_str(&format!("[{target}]\n{}\n", w.prompt));
        if !w.negative_prompt.is_empty() {
            out.push_str(&format!("Negative prompt: {}\n", w.negative_prompt));
        }
        out.push('\n');
    }
    out
}

#[test]
fn writer_snapshots() {
    for (i, idea) in IDEAS.iter().enumerate() {
        insta::with_settings!({ description => *idea, omit_expression => true }, {
            insta::assert_snapshot!(format!("idea_{i:02}"), render(idea));
        });
    }
}
