//! mural's integration tests: one target, topical modules.

mod util;

mod batch;
mod cli;
mod fakes;
mod invariants;
mod knowledge;
mod paint;
mod painters;
mod serve;
mod sketch;
mod snapshots;
mod templates;
mod writer_cases;
mod writers;
