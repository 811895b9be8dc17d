//! `POST /v1/images/generations`: OpenAI Images, but `prompt` is an idea
//! the writer rewrites (as DALL-E 3 does) before any painter paints it;
//! `"mural_rewrite": false` sends the prompt as is. URLs point at
//! `/files/{name}` under the bound address (never `Host`).

use crate::run::{Cancel, Generation};
use crate::{ApiJson, AppError, AppState};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

/// OpenAI's `CreateImageRequest`, plus mural's fields.
#[derive(Deserialize)]
pub(crate) struct ImagesRequest {
    prompt: Option<String>,
    model: Option<String>,
    n: Option<usize>,
    size: Option<String>,
    response_format: Option<String>,
    /// Accepted for compatibility; the painter profile decides.
    #[allow(dead_code)]
    quality: Option<String>,
    #[allow(dead_code)]
    style: Option<String>,
    #[allow(dead_code)]
    user: Option<String>,
    /// mural: `false` paints the prompt exactly as given.
    mural_rewrite: Option<bool>,
    mural_target: Option<String>,
    mural_style: Option<String>,
    mural_writer: Option<String>,
    mural_seed: Option<u64>,
    /// mural: appended to the written negative prompt.
    mural_negative: Option<String>,
    /// OpenAI's streaming of partial images: not implemented, refused.
    stream: Option<bool>,
}

/// One image of OpenAI's `ImagesResponse`: a URL or the PNG in base64.
#[derive(Serialize)]
pub(crate) struct ImageData {
    revised_prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b64_json: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ImagesResponse {
    created: u64,
    data: Vec<ImageData>,
}

pub(crate) async fn images(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<ImagesRequest>,
) -> Result<Json<ImagesResponse>, AppError> {
    if r.stream == Some(true) {
        return Err(AppError::invalid(
            "stream",
            "stream: true is not supported here; leave it out for one reply with every image (the studio's POST /v1/jobs streams progress)",
        ));
    }
    let format = r.response_format.as_deref().unwrap_or("url");
    if format != "url" && format != "b64_json" {
        return Err(AppError::invalid(
            "response_format",
            format!("response_format must be url or b64_json, got {format:?}"),
        ));
    }
    let g = Generation {
        idea: r.prompt.unwrap_or_default(),
        target: r.mural_target,
        style: r.mural_style,
        writer: r.mural_writer,
        painter: r.model,
        n: r.n.unwrap_or(1),
        seed: r.mural_seed,
        size: r.size,
        rewrite: r.mural_rewrite.unwrap_or(true),
        negative: r.mural_negative,
    };
    let prepared = s.prepare(&g)?;
    let admission = s.admit()?;
    let outcome = s
        .run(prepared, admission, Cancel::default(), |_| {}, |_| {})
        .await?;
    // from the bound address, never from `Host` (DNS rebinding)
    let base = &s.inner.base_url;
    let mut data = Vec::new();
    for k in &outcome.kept {
        let name = std::path::Path::new(&k.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut item = ImageData {
            revised_prompt: k.prompt.clone(),
            url: None,
            b64_json: None,
        };
        if format == "b64_json" {
            use base64::Engine;
            let bytes = std::fs::read(&k.file)
                .map_err(|e| AppError::internal(format!("cannot read {name}: {e}")))?;
            item.b64_json = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        } else {
            item.url = Some(format!("{base}/files/{name}"));
        }
        data.push(item);
    }
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(Json(ImagesResponse { created, data }))
}
