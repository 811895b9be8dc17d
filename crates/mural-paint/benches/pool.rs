//! Pool throughput: does a batch scale with the members, and how many
//! items per second can one coordinator route?
//!
//! `cargo bench -p mural-paint --bench pool` prints two tables:
//! 1. N equal members (1, 2, 4, 8), each painting one image at a time in
//!    50 ms, driven with 2N requests in flight: throughput, and its ratio
//!    to N x one member's (the bar is 0.9).
//! 2. The coordinator's ceiling: 8 members that answer at once, many
//!    requests in flight: items per second through `Pool::paint` alone.
//!
//! It runs on one current-thread runtime, as `mural batch` does. It
//! asserts nothing (timings on a shared machine are noisy); it prints.

use mural_paint::pool::{Pool, Settings};
use mural_paint::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Profile};
use mural_paint::{Sizes, SourceType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A member that paints in a fixed time (zero: at once).
struct Fixed(Duration);

impl Painter for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn model(&self) -> &str {
        "fixed-1"
    }
    fn limits(&self) -> Limits {
        Limits {
            max_n: 1,
            sizes: Sizes::Range {
                min: 1,
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
            if !self.0.is_zero() {
                tokio::time::sleep(self.0).await;
            }
            Ok(vec![Painted {
                png: Vec::new(),
                width: req.width,
                height: req.height,
                seed: req.seed,
                revised_prompt: None,
                params: serde_json::Map::new(),
            }])
        })
    }
}

fn pool(members: usize, each: Duration, capacity: usize) -> Arc<Pool> {
    Arc::new(Pool::with_painters(
        "bench",
        None,
        (0..members)
            .map(|i| {
                (
                    format!("m{i}"),
                    Profile::of_kind(mural_paint::PainterKind::A1111),
                    Box::new(Fixed(each)) as Box<dyn Painter>,
                    capacity,
                )
            })
            .collect(),
        Settings::default(),
    ))
}

/// Paints `items` requests with `in_flight` at once; items per second.
fn drive(pool: Arc<Pool>, items: usize, in_flight: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            let (pool, next) = (pool.clone(), next.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items {
                        break;
                    }
                    let req = PaintRequest {
                        prompt: "a red fox".into(),
                        negative_prompt: String::new(),
                        width: 64,
                        height: 64,
                        n: 1,
                        seed: i as u64,
                        model: None,
                        scene: None,
                    };
                    pool.paint(&req).await.expect("paints");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        items as f64 / started.elapsed().as_secs_f64()
    })
}

fn main() {
    let each = Duration::from_millis(50);
    println!("members | items | images/s | one member's x N | ratio");
    println!("--------|-------|----------|------------------|------");
    let mut one = 0.0;
    for n in [1usize, 2, 4, 8] {
        let items = 40 * n;
        let t = drive(pool(n, each, 1), items, 2 * n);
        if n == 1 {
            one = t;
        }
        println!(
            "{n:>7} | {items:>5} | {t:>8.1} | {:>16.1} | {:.3}",
            one * n as f64,
            t / (one * n as f64)
        );
    }
    println!();
    println!("coordinator ceiling (8 instant members, capacity 64 each, 256 in flight):");
    for _ in 0..3 {
        let items = 200_000;
        let t = drive(pool(8, Duration::ZERO, 64), items, 256);
        println!(
            "  {items} items: {t:.0} items/s ({:.2} us per item)",
            1e6 / t
        );
    }
}
