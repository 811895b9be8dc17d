//! The one use case of mural: a run, from a resolved [`ItemSpec`] to PNGs
//! on disk with their recipe inside and rows in the gallery.
//!
//! [`Studio::run`] is the whole sequence (check, record, write, add
//! negatives, paint, keep, finish), and the only one: `mural imagine`,
//! `rerun`, `imagine --resume`, every batch item ([`batch`]) and every
//! server endpoint call it. Callers choose the parts (which writer, which
//! painter, where files go) and how to show progress ([`Event`]); they
//! never sequence the stages themselves.
//!
//! Keeping is crash-safe: a file is written to a temp name and hard-linked
//! to its final name (never replacing one), then recorded. If the process
//! dies between the two, the next attempt finds the file by its recipe
//! and records it instead of painting it again. A file is adopted only if
//! its recipe holds this run's *key*, a random 128-bit value made when the
//! run starts and never reused, so a run never takes another run's file,
//! even one whose id came back (a new database, a shared out folder).
//! One process paints a run at a time: the run holds its lease
//! ([`mural_gallery::Gallery::lease`]).
//!
//! Architecture invariant: this crate never sees API keys (painters keep
//! them) and knows no HTTP, terminal or flag; it sequences writer,
//! painter, metadata and gallery. The recipe ([`recipe`]) is its format.

pub mod batch;
mod error;
pub mod export;
pub mod files;
mod keep;
pub mod recipe;
pub mod replay;
mod run;
mod spec;

pub use error::{ItemError, PaintItemError, PipelineError, Stage};
pub use keep::Kept;
pub use recipe::{BatchRef, ImageRecipe, Recipe, RecipeError, RECIPE_VERSION};
pub use replay::{Recorded, Replay};
pub use run::{Event, Finished, RunFailed, Start, Studio};
pub use spec::{default_size, join_negative, ItemSpec};

/// A fresh seed below 2^32 (every painter takes it), for a request that
/// names none.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish() % 4_294_967_296
}

/// A fresh run key: 128 random bits from the operating system, as 32 hex
/// digits. It names one run forever (see [`Recipe::run_key`]).
pub fn run_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // no OS randomness: the clock, the process and a per-process
        // hasher seed, still never the same twice in practice
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            h.write_u32(std::process::id());
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
