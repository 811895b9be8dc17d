//! The studio page, its script and styles: embedded files (no build
//! step), under a strict Content-Security-Policy.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

const STUDIO: &str = include_str!("../assets/index.html");
const STUDIO_JS: &str = include_str!("../assets/studio.js");
const STUDIO_CSS: &str = include_str!("../assets/studio.css");

/// The studio's policy: its script and styles are files from this server,
/// nothing inline runs, and no page may frame it.
pub const STUDIO_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) async fn page() -> Response {
    let mut resp = Html(STUDIO).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STUDIO_CSP),
    );
    resp
}

pub(crate) async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        STUDIO_JS,
    )
        .into_response()
}

pub(crate) async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STUDIO_CSS,
    )
        .into_response()
}
