//! Why a run or an item did not finish: the item's own failure (typed by
//! the stage that failed and how), or a failure of mural's own storage.

use mural_gallery::GalleryError;
use mural_paint::PaintError;
use mural_prompt::WriteError;
use std::path::PathBuf;

/// The stage an item failed in, with the writer's or painter's name as the
/// user chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Writer(String),
    Painter(String),
}

impl Stage {
    pub fn writer(name: impl Into<String>) -> Stage {
        Stage::Writer(name.into())
    }

    pub fn painter(name: impl Into<String>) -> Stage {
        Stage::Painter(name.into())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stage::Writer(n) => write!(f, "writer {n}"),
            Stage::Painter(n) => write!(f, "painter {n}"),
        }
    }
}

/// Why an item did not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemError {
    /// The service refused the content; trying again will not help.
    #[error("{stage} refused: {reason}")]
    Refused { stage: Stage, reason: String },
    /// The item or the setup is wrong (unknown style, bad size, a key the
    /// service rejects): the user must change something.
    #[error("{stage}: {message}")]
    Invalid { stage: Stage, message: String },
    /// The writer or painter failed (after its retries); trying again may
    /// help.
    #[error("{stage}: {message}")]
    Failed { stage: Stage, message: String },
    /// Stopped before it finished, as asked; what was kept stays kept.
    #[error("cancelled")]
    Cancelled,
}

impl ItemError {
    pub fn from_paint(stage: Stage, e: PaintError) -> ItemError {
        match e {
            PaintError::Refused { reason } => ItemError::Refused { stage, reason },
            PaintError::InvalidRequest { message } | PaintError::Auth { message } => {
                ItemError::Invalid { stage, message }
            }
            e => ItemError::Failed {
                stage,
                message: e.to_string(),
            },
        }
    }

    pub fn from_write(stage: Stage, e: WriteError) -> ItemError {
        match e {
            WriteError::Backend { message, .. } => ItemError::Failed { stage, message },
            e => ItemError::Invalid {
                stage,
                message: e.to_string(),
            },
        }
    }

    /// The stage that failed (none for a cancelled item).
    pub fn stage(&self) -> Option<&Stage> {
        match self {
            ItemError::Refused { stage, .. }
            | ItemError::Invalid { stage, .. }
            | ItemError::Failed { stage, .. } => Some(stage),
            ItemError::Cancelled => None,
        }
    }

    /// The message without the stage.
    pub fn message(&self) -> &str {
        match self {
            ItemError::Refused { reason: m, .. }
            | ItemError::Invalid { message: m, .. }
            | ItemError::Failed { message: m, .. } => m,
            ItemError::Cancelled => "cancelled",
        }
    }
}

/// A failure of mural's own storage: fatal for the whole command.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Gallery(#[from] GalleryError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot add metadata to the image: {0}")]
    Meta(#[from] mural_meta::MetaError),
    #[error("the out folder {0} is not valid UTF-8, so its images could not be recorded exactly; pick a folder whose path is UTF-8")]
    NonUtf8Path(String),
    #[error("cannot record the recipe: {0}")]
    Recipe(#[from] crate::recipe::RecipeError),
}

/// Either an item's own failure or a fatal one.
#[derive(Debug, thiserror::Error)]
pub enum PaintItemError {
    #[error(transparent)]
    Item(#[from] ItemError),
    #[error(transparent)]
    Fatal(#[from] PipelineError),
}

impl From<GalleryError> for PaintItemError {
    fn from(e: GalleryError) -> Self {
        PaintItemError::Fatal(e.into())
    }
}
