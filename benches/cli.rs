//! One-idea CLI process, start to exit: `mural prompt "a beach sunset"`.
//! Goal: under 20 ms. Compared in the same run with `mural --version`, the
//! cost of starting any process at all.
//!
//! cargo bench --bench cli

use criterion::{criterion_group, criterion_main, Criterion};
use std::process::Command;

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mural"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cli_process");
    group.sample_size(30);
    group.bench_function("version", |b| b.iter(|| run(&["--version"])));
    group.bench_function("prompt_dalle", |b| {
        b.iter(|| run(&["prompt", "a beach sunset", "--seed", "1"]))
    });
    group.bench_function("prompt_sd", |b| {
        b.iter(|| run(&["prompt", "a beach sunset", "--seed", "1", "--target", "sd"]))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
