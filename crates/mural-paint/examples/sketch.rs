//! Writes a sketch: `cargo run -p mural-paint --example sketch -- "a beach sunset" out.png [WxH] [seed]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prompt = args.get(1).map(String::as_str).unwrap_or("a beach sunset");
    let out = args.get(2).map(String::as_str).unwrap_or("sketch.png");
    let (w, h) =
        mural_paint::parse_size(args.get(3).map(String::as_str).unwrap_or("768x512")).unwrap();
    let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    std::fs::write(
        out,
        mural_paint::sketch::render_png(prompt, w, h, seed).unwrap(),
    )
    .unwrap();
}
