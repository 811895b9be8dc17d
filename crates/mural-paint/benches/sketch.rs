//! The sketch painter at 1024x1024, PNG encoding included.
//! Goal: at most 50 ms. The scene is read from the text each time, and
//! icons are parsed once per process (as in a long batch).
//! Measured 2026-12-01 on the shared 2-core dev machine: 16-36 ms each.
//!
//! cargo bench -p mural-paint --bench sketch

use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sketch_1024");
    group.sample_size(20);
    for (name, prompt) in [
        (
            "beach_sunset",
            "A photograph of a beach sunset, the sun just touching the horizon, palm trees",
        ),
        ("snowy_village_night", "a snowy village at night"),
        ("city_rain", "a city street at night in the rain"),
        ("three_apples", "three red apples on a table in a kitchen"),
        ("balloons", "five hot air balloons over a meadow at sunrise"),
        ("sign", "a wooden sign that says \"OPEN\" on a beach"),
        ("logo", "a coffee shop logo"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                mural_paint::sketch::render_png(prompt, 1024, 1024, 1)
                    .unwrap()
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
