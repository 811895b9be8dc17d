//! mural's integration tests: one target, topical modules.

mod util;

mod batch;
mod cli;
mod fakes;
mod fakes_cloud;
mod hostile;
mod integrity;
mod invariants;
mod knowledge;
mod paint;
mod painters;
mod painters_cloud;
mod pools;
mod serve;
mod serve_hardening;
mod sketch;
mod snapshots;
mod templates;
mod writer_cases;
mod writers;
