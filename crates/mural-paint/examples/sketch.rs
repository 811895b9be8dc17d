//! Writes sketches of ideas, one PNG each, and a contact sheet of them all:
//! `cargo run -p mural-paint --example sketch -- out_dir WxH seed "idea" ["idea" ...]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).map(String::as_str).unwrap_or(".");
    let (w, h) =
        mural_paint::parse_size(args.get(2).map(String::as_str).unwrap_or("768x512")).unwrap();
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let ideas: Vec<&String> = args.iter().skip(4).collect();
    let cols = 4u32;
    let rows = (ideas.len() as u32).div_ceil(cols).max(1);
    let mut sheet = tiny_skia::Pixmap::new(cols * (w + 8), rows * (h + 8)).unwrap();
    sheet.fill(tiny_skia::Color::WHITE);
    for (i, idea) in ideas.iter().enumerate() {
        let pm = mural_paint::sketch::render(idea, w, h, seed).unwrap();
        let path = format!("{out}/{i:02}.png");
        std::fs::write(&path, mural_paint::sketch::encode_png(&pm).unwrap()).unwrap();
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        sheet.draw_pixmap(
            (c * (w + 8)) as i32,
            (r * (h + 8)) as i32,
            pm.as_ref(),
            &tiny_skia::PixmapPaint::default(),
            tiny_skia::Transform::identity(),
            None,
        );
        println!("{path}\t{idea}");
        if std::env::var_os("SCENE").is_some() {
            let scene = mural_prompt::scene_of(idea);
            println!(
                "  framing {} {}",
                mural_prompt::framing_of(&scene),
                serde_json::to_string(&scene).unwrap()
            );
        }
    }
    std::fs::write(
        format!("{out}/sheet.png"),
        mural_paint::sketch::encode_png(&sheet).unwrap(),
    )
    .unwrap();
}
