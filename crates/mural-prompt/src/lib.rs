//! mural's prompt stages, in the order data flows:
//!
//! idea -> [`analysis`] -> [`compose`] (structured prompt) -> [`target`]
//! (target text), driven by the [`writer`]. [`check`] holds the invariants
//! every writer's output must keep, and [`lint`] reports on any prompt.
//!
//! Architecture invariant: this crate is pure. It does no IO, reads no
//! environment and knows nothing of HTTP, files or terminals; the same
//! request and seed give byte-identical output on every machine.

pub mod analysis;
pub mod check;
pub mod compose;
pub mod lint;
pub mod midjourney;
pub mod scene;
pub mod target;
pub mod text;
pub mod writer;

pub use analysis::{analyze, Analysis};
pub use compose::Structured;
pub use lint::{lint, LintReport};
pub use scene::{scene_from, scene_of, Scene};
pub use target::Target;
pub use text::nearest;
pub use writer::{BuiltinWriter, VerbatimWriter, WriteError, WriteRequest, Writer, Written};
