//! mural's prompt stages: idea -> analysis -> structured prompt -> target text.
pub mod analysis;
pub mod text;
