//! Image files. `GET /v1/images/{id}/file` serves any gallery image by its
//! id, wherever its file is (the CLI's folders included): the gallery says
//! where, never the request. `GET /files/{name}` serves names mural could
//! have written from the server's own folder (the Images endpoint's URLs).

use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A file name mural could have written: no separators, no leading dot,
/// nothing but letters, digits, `-`, `_`, `.`, and `.png`.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.ends_with(".png")
        && !name.contains("..")
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn png(bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    resp
}

pub(crate) async fn by_name(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    if !safe_file_name(&name) {
        return Err(AppError::not_found(format!("no file {name:?}")));
    }
    let path = s.inner.files.join(&name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::not_found(format!("no file {name:?}")))?;
    Ok(png(bytes))
}

pub(crate) async fn by_id(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let missing = || AppError::not_found(format!("no image {id:?} in the gallery"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let image = s
        .with_gallery(move |g| {
            g.image(id).map_err(|e| match e {
                mural_gallery::GalleryError::NoSuchImage(_) => {
                    AppError::not_found(format!("no image {id} in the gallery"))
                }
                e => AppError::internal(e.to_string()),
            })
        })
        .await?;
    // mural records only the PNGs it wrote; anything else is not served
    let path = std::path::PathBuf::from(&image.file);
    if path.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(AppError::not_found(format!("image {id} has no PNG file")));
    }
    let bytes = tokio::fs::read(&path).await.map_err(|_| {
        AppError::not_found(format!(
            "the file of image {id} is gone (moved or deleted since it was recorded)"
        ))
    })?;
    Ok(png(bytes))
}
