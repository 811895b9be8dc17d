//! mural's integration tests: one target, topical modules.

mod util;

mod batch;
mod cli;
mod cli_ux;
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
mod run_path;
mod serve;
mod serve_hardening;
mod sketch;
mod snapshots;
mod studio;
mod templates;
mod writer_cases;
mod writers;
