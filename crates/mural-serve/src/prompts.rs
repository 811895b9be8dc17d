//! `POST /v1/prompts`: the writer alone (builtin, verbatim, or a writer
//! profile of `mural.toml`), on a blocking thread (an LLM writer calls out).

use crate::{ApiJson, AppError, AppState};
use axum::extract::State;
use axum::Json;
use mural_pipeline::random_seed;
use mural_prompt::{WriteError, WriteRequest, Written};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PromptsRequest {
    idea: String,
    target: Option<String>,
    n: Option<usize>,
    seed: Option<u64>,
    style: Option<String>,
    writer: Option<String>,
}

/// One written prompt.
#[derive(Serialize)]
pub(crate) struct Prompt {
    pub prompt: String,
    pub negative_prompt: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub seed: u64,
}

impl From<Written> for Prompt {
    fn from(w: Written) -> Prompt {
        Prompt {
            prompt: w.prompt,
            negative_prompt: w.negative_prompt,
            params: w.params,
            seed: w.seed,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct PromptsResponse {
    prompts: Vec<Prompt>,
}

pub(crate) async fn prompts(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<PromptsRequest>,
) -> Result<Json<PromptsResponse>, AppError> {
    let w = s.writer(r.writer.as_deref())?;
    let req = WriteRequest {
        idea: r.idea,
        target: s.request_target(r.target.as_deref(), "gpt-image")?,
        n: r.n.unwrap_or(1),
        seed: r.seed.unwrap_or_else(random_seed),
        style: s.request_style(r.style.as_deref()),
        vary: false,
    };
    let name = w.name().to_string();
    // awaited on the server's runtime: an LLM writer waits without a thread
    let written = w.write_async(&req).await.map_err(|e| {
        let param = match &e {
            WriteError::BadCount { .. } => "n",
            WriteError::UnknownStyle { .. } => "style",
            WriteError::Backend { message, .. } => {
                return AppError::painter_failed(s.scrub(&format!("writer {name}: {message}")))
                    .code("writer_failed")
            }
            _ => "idea",
        };
        AppError::invalid(param, e.to_string())
    })?;
    Ok(Json(PromptsResponse {
        prompts: written.into_iter().map(Prompt::from).collect(),
    }))
}
