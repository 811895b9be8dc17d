//! Batch figures, printed (run: `cargo bench -p mural-pipeline --bench batch`).
//!
//! 1. mural's own overhead per image: a batch against a painter that
//!    answers at once with a ready 512x512 PNG, so all the time is mural's
//!    (writing the prompt, the journal, metadata, the file, the gallery).
//! 2. Throughput at a fixed rate limit: a painter limited by mural-http's
//!    limiter to 600 images a minute, 100 ms per image, concurrency 8. The
//!    batch should run at the limit.

use mural_gallery::Gallery;
use mural_http::{Limit, Limiter};
use mural_paint::{
    BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType,
};
use mural_pipeline::batch::{self, Defaults};
use mural_pipeline::Studio;
use mural_prompt::BuiltinWriter;
use std::time::{Duration, Instant};

struct FakePainter {
    png: Vec<u8>,
    latency: Duration,
    limiter: Limiter,
}

impl Painter for FakePainter {
    fn name(&self) -> &str {
        "fake"
    }
    fn model(&self) -> &str {
        "fake-1"
    }
    fn limits(&self) -> Limits {
        Limits {
            max_n: 1,
            sizes: Sizes::Range {
                min: 64,
                max: 4096,
                step: 1,
            },
            max_prompt_chars: None,
        }
    }
    fn source_type(&self) -> SourceType {
        SourceType::TrainedAlgorithmicMedia
    }
    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            let _permit = self.limiter.enter().await;
            if !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            Ok(vec![Painted {
                png: self.png.clone(),
                width: 512,
                height: 512,
                seed: req.seed,
                revised_prompt: None,
                params: Default::default(),
            }])
        })
    }
}

fn run(items: usize, painter: &FakePainter, concurrency: usize, tag: &str) -> Duration {
    let dir = std::env::temp_dir().join(format!("mural-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let gallery = Gallery::open(&dir.join("gallery.db")).unwrap();
    let ideas: Vec<String> = include_str!("../../../data/eval/PartiPrompts.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .take(items)
        .map(str::to_string)
        .collect();
    let d = Defaults {
        target: mural_prompt::Target::Sdxl,
        style: None,
        n: 1,
        width: 512,
        height: 512,
        seed: 1,
    };
    let specs = batch::parse(&ideas.join("\n"), &d, |_| Ok((512, 512))).unwrap();
    let specs: Vec<_> = specs
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    let id = gallery
        .create_batch("bench", "x", &serde_json::json!({}), &specs)
        .unwrap();
    let studio = Studio {
        gallery: &gallery,
        painter,
        painter_label: "fake",
        writer: &BuiltinWriter,
        out: &out,
        cancel: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let summary = rt
        .block_on(batch::run(&studio, id, concurrency, &|_| {}))
        .unwrap();
    let took = t.elapsed();
    assert_eq!(summary.done, specs.len());
    drop(gallery);
    let _ = std::fs::remove_dir_all(&dir);
    took
}

fn main() {
    let png = mural_paint::sketch::render_png("a beach sunset", 512, 512, 1).unwrap();
    // 1. overhead per image
    let instant = FakePainter {
        png: png.clone(),
        latency: Duration::ZERO,
        limiter: Limiter::new(Limit::default()),
    };
    run(20, &instant, 8, "warm");
    let mut per_image: Vec<f64> = (0..5)
        .map(|i| run(200, &instant, 8, &format!("o{i}")).as_secs_f64() * 1000.0 / 200.0)
        .collect();
    per_image.sort_by(f64::total_cmp);
    println!(
        "overhead per image (prompt, journal, metadata, file, gallery; 512x512 PNG): median {:.2} ms, min {:.2} ms, max {:.2} ms (goal < 5 ms)",
        per_image[2], per_image[0], per_image[4]
    );
    // 2. throughput at the rate limit
    let limit = 600.0;
    let limited = FakePainter {
        png,
        latency: Duration::from_millis(100),
        limiter: Limiter::new(Limit {
            concurrency: 8,
            rate_per_minute: Some(limit),
        }),
    };
    let n = 100;
    let took = run(n, &limited, 8, "rate");
    let per_min = n as f64 / took.as_secs_f64() * 60.0;
    println!(
        "throughput at a {limit:.0}/min limit, concurrency 8, 100 ms per image: {per_min:.0}/min over {n} images ({:.1}% of the limit)",
        per_min / limit * 100.0
    );
}
