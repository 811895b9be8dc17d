//! Built-in writer throughput over all 1,632 PartiPrompts, per target.
//! Goal: at least 5,000 ideas/s on one core for `--target sd`.
//!
//! cargo bench -p mural-prompt --bench writer

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mural_prompt::{BuiltinWriter, Target, WriteRequest, Writer};

fn ideas() -> Vec<String> {
    include_str!("../../../data/eval/PartiPrompts.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

fn bench(c: &mut Criterion) {
    let ideas = ideas();
    let mut group = c.benchmark_group("write_partiprompts");
    group.throughput(Throughput::Elements(ideas.len() as u64));
    group.sample_size(10);
    for target in [Target::Sd, Target::Dalle, Target::Midjourney] {
        group.bench_function(target.name(), |b| {
            b.iter(|| {
                let mut n = 0;
                for (i, idea) in ideas.iter().enumerate() {
                    let mut req = WriteRequest::new(idea.as_str(), target);
                    req.seed = i as u64;
                    n += BuiltinWriter.write(&req).unwrap()[0].prompt.len();
                }
                n
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("analyze");
    group.throughput(Throughput::Elements(ideas.len() as u64));
    group.sample_size(10);
    group.bench_function("partiprompts", |b| {
        b.iter(|| {
            ideas
                .iter()
                .map(|i| mural_prompt::analyze(i).content_words.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
