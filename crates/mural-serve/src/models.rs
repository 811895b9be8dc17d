//! `GET /v1/models`, `GET /v1/models/{id}` (OpenAI's model list: painters
//! and writers) and `GET /v1/options` (what the studio's pickers offer).

use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::Json;
use mural_prompt::Target;
use serde::Serialize;

/// One entry of OpenAI's model list, with mural's fields.
#[derive(Serialize, Clone)]
pub(crate) struct Model {
    id: String,
    object: &'static str,
    created: u64,
    owned_by: String,
    mural_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mural_painter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mural_writer: Option<String>,
    /// Serialized (as `null` when none) for catalog models only.
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_date: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mural_lifecycle: Option<&'static str>,
}

impl Model {
    fn new(id: impl Into<String>, owned_by: impl Into<String>, kind: &'static str) -> Model {
        Model {
            id: id.into(),
            object: "model",
            created: 0,
            owned_by: owned_by.into(),
            mural_kind: kind,
            mural_painter: None,
            mural_writer: None,
            shutdown_date: None,
            mural_lifecycle: None,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ModelList {
    object: &'static str,
    data: Vec<Model>,
}

fn model_list(s: &AppState) -> Vec<Model> {
    let mut data = vec![
        Model::new("sketch", "mural", "painter"),
        Model::new("a1111", "local", "painter"),
        Model::new("comfyui", "local", "painter"),
    ];
    // every hosted image model the catalog has that still works, with its
    // shutdown date as OpenAI's own list carries it
    let catalog = mural_catalog::Catalog::current();
    for m in catalog.models() {
        if m.kind != mural_catalog::Kind::Image || m.status == mural_catalog::Status::Shutdown {
            continue;
        }
        let kind = match m.provider {
            mural_catalog::Provider::Google => "gemini",
            p => p.as_str(),
        };
        data.push(Model {
            shutdown_date: Some(m.shutdown.map(|d| d.to_string())),
            mural_lifecycle: Some(m.status.as_str()),
            ..Model::new(format!("{kind}/{}", m.id), m.provider.as_str(), "painter")
        });
    }
    for (name, p) in &s.inner.profiles {
        data.push(Model {
            mural_painter: Some(p.kind.to_string()),
            ..Model::new(name, "profile", "painter")
        });
    }
    for w in ["builtin", "verbatim"] {
        data.push(Model::new(format!("writer/{w}"), "mural", "writer"));
    }
    for (name, w) in &s.inner.writers {
        data.push(Model {
            mural_writer: Some(w.kind.to_string()),
            ..Model::new(format!("writer/{name}"), "profile", "writer")
        });
    }
    data
}

pub(crate) async fn models(State(s): State<AppState>) -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: model_list(&s),
    })
}

/// `GET /v1/models/{id}`; ids may hold a slash (`openai/gpt-image-2`).
pub(crate) async fn model(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Model>, AppError> {
    model_list(&s)
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "the model {id:?} does not exist; GET /v1/models lists them"
            ))
            .param("model")
            .code("model_not_found")
        })
}

#[derive(Serialize)]
pub(crate) struct StyleOption {
    id: String,
    description: String,
}

/// Everything the studio's pickers offer.
#[derive(Serialize)]
pub(crate) struct Options {
    targets: Vec<&'static str>,
    styles: Vec<StyleOption>,
    writers: Vec<String>,
    painters: Vec<String>,
    default_painter: String,
    /// `[defaults]` from mural.toml, for the pickers to start on.
    default_writer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_target: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_n: Option<usize>,
}

pub(crate) async fn options(State(s): State<AppState>) -> Json<Options> {
    let d = &s.inner.defaults;
    let styles = mural_knowledge::knowledge()
        .styles
        .iter()
        .map(|st| StyleOption {
            id: st.id.to_string(),
            description: st.description.to_string(),
        })
        .collect();
    Json(Options {
        targets: Target::ALL.iter().map(|t| t.name()).collect(),
        styles,
        writers: s.writer_names(),
        painters: s.painter_names(),
        default_painter: s.inner.default_painter.clone(),
        default_writer: d.writer.clone().unwrap_or_else(|| "builtin".to_string()),
        default_target: d.target.map(|t| t.name()),
        default_style: d.style.clone(),
        default_size: d.size.clone(),
        default_n: d.n,
    })
}
