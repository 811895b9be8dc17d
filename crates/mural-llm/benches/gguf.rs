//! The in-process GGUF writer against llama-cpp-python, in the same run:
//! the same GGUF, the same prompt, the same number of threads.
//!
//! - decode tok/s (greedy, exactly N tokens after the prompt, median of 3);
//!   the ratio must be at least 1.0: no overhead on top of llama.cpp;
//! - time to the first prompt, model load included (a cold writer: load,
//!   then one guarded `sd` prompt).
//!
//! ```text
//! tools/setup-llama-server.sh
//! cargo bench -p mural-llm --features llama --bench gguf
//! ```
//! `MURAL_BENCH_THREADS` (default 2) and `MURAL_BENCH_TOKENS` (default 128)
//! change the run; `MURAL_TEST_GGUF` / `MURAL_TEST_LLAMA_PYTHON` pick the
//! model and Python (default: the setup script's).

use mural_llm::gguf::Gguf;
use mural_llm::{Llm, LlmWriter, WriterProfile};
use mural_prompt::{analyze, Target, WriteRequest, Writer};
use std::process::Command;
use std::time::Instant;

fn setup(arg: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(format!("{root}/tools/setup-llama-server.sh"))
        .arg(arg)
        .output()
        .expect("run tools/setup-llama-server.sh");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let model = std::env::var("MURAL_TEST_GGUF").unwrap_or_else(|_| setup("--model"));
    let python = std::env::var("MURAL_TEST_LLAMA_PYTHON").unwrap_or_else(|_| setup("--python"));
    let threads: u32 = std::env::var("MURAL_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let tokens: usize = std::env::var("MURAL_BENCH_TOKENS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(128);
    let idea = "a red fox in the snow";
    let req = WriteRequest::new(idea, Target::Sd);
    let chat = mural_llm::instruct::chat(&analyze(idea), &req);
    let prompt = chat.completion.clone();

    // 1. cold start: load, then one guarded prompt
    let profile = WriterProfile {
        threads: Some(threads),
        ..WriterProfile::of_kind(mural_llm::WriterKind::Gguf)
    };
    let t0 = Instant::now();
    let g = Gguf::load(std::path::Path::new(&model), &profile).expect("load the model");
    let load_s = g.load_time().as_secs_f64();
    let writer = LlmWriter::new(g);
    let first = writer.write(&req).expect("write");
    let first_s = t0.elapsed().as_secs_f64();

    // 2. decode speed, interleaved with llama-cpp-python's run
    let dir = std::env::temp_dir().join(format!("mural-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prompt_file = dir.join("prompt.txt");
    std::fs::write(&prompt_file, &prompt).unwrap();
    let mut ours = Vec::new();
    for _ in 0..3 {
        let (_, secs) = writer
            .backend()
            .decode_bench(&prompt, tokens)
            .expect("decode");
        ours.push(tokens as f64 / secs);
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tools/bench/llama_cpp_python_decode.py"
    );
    let out = Command::new(&python)
        .args([
            script,
            &model,
            prompt_file.to_str().unwrap(),
            &tokens.to_string(),
            &threads.to_string(),
        ])
        .output()
        .expect("run llama-cpp-python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python's JSON");
    for _ in 0..2 {
        let (_, secs) = writer
            .backend()
            .decode_bench(&prompt, tokens)
            .expect("decode");
        ours.push(tokens as f64 / secs);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ours_med = median(ours.clone());
    let theirs = py["decode_tok_s"].as_f64().unwrap();
    println!("gguf bench: {model}");
    println!(
        "  threads {threads}, {tokens} decode tokens, prompt {} tokens",
        py["prompt_tokens"]
    );
    println!(
        "  decode  mural (llama-cpp-2 0.1.160): {ours_med:.1} tok/s (runs {:?})",
        ours.iter()
            .map(|r| (r * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    println!(
        "  decode  llama-cpp-python:             {theirs:.1} tok/s (runs {})",
        py["decode_runs"]
    );
    println!(
        "  ratio mural / llama-cpp-python: {:.3} (goal >= 1.0)",
        ours_med / theirs
    );
    println!(
        "  first prompt  mural: {first_s:.2} s (load {load_s:.2} s) -> {:?}{}",
        first[0].prompt,
        if first[0].repaired { " [repaired]" } else { "" }
    );
    println!(
        "  first prompt  llama-cpp-python (load + one raw completion): {:.2} s (load {:.2} s)",
        py["first_prompt_s"].as_f64().unwrap(),
        py["load_s"].as_f64().unwrap()
    );
    println!("  writer {}", writer.backend().name());
}
