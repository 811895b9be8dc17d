//! Combinatorial expansion of 200,000 prompts from one template, against
//! the real dynamicprompts on the same machine in the same run.
//!
//! `cargo bench -p mural-template --bench expand` (dynamicprompts comes
//! from `MURAL_TEST_PYTHON`, else the venv that
//! `tools/setup-test-python.sh` makes).

use mural_template::{expand_first, Template, Wildcards};
use std::time::{Duration, Instant};

/// 10 x 10 x 10 x 10 x (5 x 4 ordered pairs) = 200,000 prompts.
const TEMPLATE: &str = "a {red|orange|yellow|green|blue|indigo|violet|black|white|grey} \
{fox|owl|cat|dog|horse|whale|crow|frog|bear|deer} in {spring|summer|autumn|winter|rain|snow|fog|wind|dusk|dawn}, \
{oil|watercolor|ink|pastel|charcoal|gouache|acrylic|pencil|fresco|mosaic} style, {2$$ and $$gold|silver|copper|bronze|jade} accents";
const N: usize = 200_000;

fn python() -> Option<String> {
    if let Some(p) = std::env::var_os("MURAL_TEST_PYTHON") {
        return Some(p.to_string_lossy().into_owned());
    }
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tools/setup-test-python.sh"
    ))
    .arg("--print")
    .output()
    .ok()?;
    let p = String::from_utf8(out.stdout).ok()?.trim().to_string();
    std::path::Path::new(&p).exists().then_some(p)
}

fn main() {
    let w = Wildcards::new();
    let t = Template::parse(TEMPLATE).unwrap();
    let first = expand_first(&t, &w, N).unwrap();
    assert_eq!(first.len(), N);
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let s = Instant::now();
            let v = expand_first(&t, &w, N).unwrap();
            let d = s.elapsed();
            assert_eq!(v.len(), N);
            d
        })
        .collect();
    times.sort();
    let rust = times[3];
    println!(
        "mural: {N} prompts in {:.1} ms (median of 7; {:.0} prompts/s)",
        rust.as_secs_f64() * 1000.0,
        N as f64 / rust.as_secs_f64()
    );
    let Some(py) = python() else {
        println!("dynamicprompts: not found; run tools/setup-test-python.sh for the comparison");
        return;
    };
    let script = format!(
        "import time, warnings\nwarnings.simplefilter('ignore')\nfrom dynamicprompts.generators import CombinatorialPromptGenerator\n\
         g = CombinatorialPromptGenerator()\nt = {TEMPLATE:?}\ns = time.perf_counter()\nout = g.generate(t, max_prompts={N})\n\
         d = time.perf_counter() - s\nassert len(out) == {N}, len(out)\nprint(d)\nprint(out[0]); print(out[-1])"
    );
    let out = std::process::Command::new(&py)
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run python");
    if !out.status.success() {
        println!(
            "dynamicprompts failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let secs: f64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN);
    assert_eq!(
        lines.next(),
        Some(first[0].prompt.as_str()),
        "same first prompt"
    );
    assert_eq!(
        lines.next(),
        Some(first[N - 1].prompt.as_str()),
        "same last prompt"
    );
    println!(
        "dynamicprompts 0.31: {N} prompts in {:.0} ms; mural is {:.0}x faster (goal: 20x)",
        secs * 1000.0,
        secs / rust.as_secs_f64()
    );
}
