//! mural's integration tests: one target, topical modules.

mod util;

mod cli;
mod invariants;
mod paint;
mod snapshots;
