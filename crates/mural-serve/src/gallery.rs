//! `GET /v1/gallery`: runs, newest first, each image with the URL of its
//! file by id (`/v1/images/{id}/file`), so images the CLI made show too.
//! The server's own paths stay private: no `file` leaves.

use crate::{AppError, AppState};
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct GalleryQuery {
    search: Option<String>,
    limit: Option<usize>,
}

/// The URL an image's file is served at.
pub(crate) fn image_url(id: i64) -> String {
    format!("/v1/images/{id}/file")
}

#[derive(Serialize)]
pub(crate) struct GalleryImage {
    id: i64,
    index: usize,
    url: String,
    prompt: String,
    negative_prompt: String,
    seed: u64,
    width: u32,
    height: u32,
    recipe: Value,
    created_at: String,
}

#[derive(Serialize)]
pub(crate) struct GalleryRun {
    id: i64,
    created_at: String,
    finished_at: Option<String>,
    status: String,
    idea: String,
    recipe: Value,
    error: Option<String>,
    images: Vec<GalleryImage>,
}

#[derive(Serialize)]
pub(crate) struct GalleryResponse {
    runs: Vec<GalleryRun>,
}

impl From<mural_gallery::Run> for GalleryRun {
    fn from(mut r: mural_gallery::Run) -> GalleryRun {
        // the folder the images went to is the server's own path
        if let Some(o) = r.recipe.as_object_mut() {
            o.remove("out");
        }
        GalleryRun {
            id: r.id,
            created_at: r.created_at,
            finished_at: r.finished_at,
            status: r.status.to_string(),
            idea: r.idea,
            recipe: r.recipe,
            error: r.error,
            images: r
                .images
                .into_iter()
                .map(|i| GalleryImage {
                    id: i.id,
                    index: i.index,
                    url: image_url(i.id),
                    prompt: i.prompt,
                    negative_prompt: i.negative_prompt,
                    seed: i.seed,
                    width: i.width,
                    height: i.height,
                    recipe: i.recipe,
                    created_at: i.created_at,
                })
                .collect(),
        }
    }
}

pub(crate) async fn gallery(
    State(s): State<AppState>,
    Query(q): Query<GalleryQuery>,
) -> Result<Json<GalleryResponse>, AppError> {
    let runs = s
        .with_gallery(move |g| {
            let search = q.search.filter(|x| !x.trim().is_empty());
            g.list(search.as_deref(), q.limit.unwrap_or(50).min(500))
                .map_err(|e| AppError::internal(e.to_string()))
        })
        .await?;
    Ok(Json(GalleryResponse {
        runs: runs.into_iter().map(GalleryRun::from).collect(),
    }))
}
