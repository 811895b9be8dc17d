//! mural's prompt stages, in the order data flows: idea -> analysis ->
//! scene -> structured prompt -> target text, driven by a [`Writer`].
//!
//! The API is what this root exports; the stages themselves (modules
//! `analysis`, `scene`, `compose`, `target`, `writer`, `check`, `lint`,
//! `text`, `midjourney`) are internal and may change shape freely.
//!
//! - **Writing:** [`Writer`], [`WriteRequest`], [`Written`], [`WriteError`]
//!   (with [`RenderError`]), [`validate`] (the limits every writer shares),
//!   [`BuiltinWriter`] and [`VerbatimWriter`].
//! - **Targets:** [`Target`], parsed with `FromStr` ([`UnknownTarget`]).
//! - **Reading an idea:** [`analyze`] -> [`Analysis`]; [`scene_of`] and
//!   [`scene_from`] -> [`Scene`] (with its parts, [`Entity`], [`Place`] ...);
//!   [`framing_of`], the framing the built-in writer gives a scene.
//! - **Lint:** [`lint`] -> [`LintReport`].
//! - **Invariants:** [`check`] -> [`Violation`]s, each naming its [`Rule`].
//! - **For writers outside this crate** (the LLM writers' fidelity guard),
//!   the same judgments the built-in writer composes with: [`Forbidden`],
//!   [`Licence`], [`subject_tag`], [`medium_phrase`], [`lower_words`], and
//!   [`jaccard`] to measure how much variations differ.
//!
//! Architecture invariant: this crate is pure. It does no IO, reads no
//! environment and knows nothing of HTTP, files or terminals; the same
//! request and seed give byte-identical output on every machine.

mod analysis;
mod check;
mod compose;
mod lint;
mod midjourney;
mod scene;
mod target;
mod text;
mod writer;

pub use analysis::{analyze, Analysis, Subject};
pub use check::{check, Forbidden, Rule, Violation};
pub use compose::{framing_of, medium_phrase, Licence};
pub use lint::{lint, ChunkBreak, LintReport, Warning};
pub use scene::{
    scene_from, scene_of, Action, Attributes, Entity, Language, Place, Relation, Scene,
};
pub use target::{subject_tag, RenderError, Target, UnknownTarget};
pub use text::{jaccard, lower_words, nearest};
pub use writer::{
    validate, BuiltinWriter, VerbatimWriter, WriteError, WriteRequest, Writer, Written,
    MAX_IDEA_CHARS, MAX_N,
};
