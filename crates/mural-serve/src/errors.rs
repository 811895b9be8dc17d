//! Every error leaves as OpenAI's `{"error": {"message", "type", "param",
//! "code"}}`: handlers return [`AppError`], [`ApiJson`] maps body
//! rejections to it (type errors are 400, as OpenAI answers), and
//! [`openai_shaped`] rewrites whatever axum itself answers (405, query and
//! path rejections) into the same shape.

use crate::{AppState, BODY_LIMIT};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mural_pipeline::ItemError;
use serde_json::json;
use std::borrow::Cow;

/// An OpenAI-shaped error.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<Cow<'static, str>>,
    pub code: Option<&'static str>,
    /// Seconds for a `retry-after` header (429 and 503).
    pub retry_after: Option<u64>,
}

impl AppError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    pub fn invalid(param: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
            .param(Cow::Borrowed(param))
    }

    pub(crate) fn param(mut self, param: impl Into<Cow<'static, str>>) -> AppError {
        self.param = Some(param.into());
        self
    }

    pub(crate) fn code(mut self, code: &'static str) -> AppError {
        self.code = Some(code);
        self
    }

    pub(crate) fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "invalid_request_error", message).code("not_found")
    }

    pub(crate) fn internal(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    pub(crate) fn unauthorized() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "missing or wrong token: send Authorization: Bearer <MURAL_TOKEN>",
        )
        .code("invalid_api_key")
    }

    pub(crate) fn forbidden_host(host: &str) -> AppError {
        AppError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            format!(
                "Host {host:?} is not this server: without MURAL_TOKEN only localhost, 127.0.0.1 and [::1] are served (a guard against DNS rebinding); use one of those, or set MURAL_TOKEN"
            ),
        )
        .code("host_not_allowed")
    }

    /// Painting is at its bound and the queue is full.
    pub(crate) fn busy(retry_after: u64) -> AppError {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "the server is painting as much as it can and its queue is full; retry after the retry-after seconds",
        )
        .code("rate_limit_exceeded");
        e.retry_after = Some(retry_after);
        e
    }

    pub(crate) fn body_timeout(secs: u64) -> AppError {
        AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            format!("the request body did not arrive within {secs} s"),
        )
        .code("request_timeout")
    }

    pub(crate) fn painter_failed(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_GATEWAY, "server_error", message).code("painter_failed")
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "message": self.message, "type": self.kind, "param": self.param, "code": self.code,
        }});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> AppError {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(
                status,
                "invalid_request_error",
                format!("the request body is over {BODY_LIMIT} bytes"),
            )
            .code("request_too_large");
        }
        let text = r.body_text();
        let mut e = AppError::new(
            // OpenAI answers a body of the wrong shape with 400, not 422
            if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            "invalid_request_error",
            format!("the body is not the JSON this endpoint takes: {text}"),
        );
        if let JsonRejection::JsonDataError(_) = r {
            e.param = field_of(&text).map(Cow::Owned);
        }
        e
    }
}

/// The field a serde data error names: `n: invalid type ...` (axum keeps
/// serde's path) or ``unknown field `colour` ``.
fn field_of(text: &str) -> Option<String> {
    let detail = text.split_once("target type: ").map_or(text, |(_, d)| d);
    if let Some(rest) = detail.split_once("unknown field `").map(|(_, r)| r) {
        return rest.split_once('`').map(|(f, _)| f.to_string());
    }
    if let Some(rest) = detail.split_once("missing field `").map(|(_, r)| r) {
        return rest.split_once('`').map(|(f, _)| f.to_string());
    }
    let (path, _) = detail.split_once(": ")?;
    let simple = !path.is_empty()
        && path
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'[' | b']'));
    (simple && path != ".").then(|| path.to_string())
}

impl From<ItemError> for AppError {
    fn from(e: ItemError) -> AppError {
        match e {
            ItemError::Refused { reason, .. } => {
                AppError::invalid("prompt", format!("the painter refused: {reason}"))
                    .code("content_policy_violation")
            }
            e @ ItemError::Invalid { .. } => AppError::invalid("prompt", e.to_string()),
            e @ ItemError::Failed { .. } => AppError::painter_failed(e.to_string()),
            ItemError::Cancelled => AppError::invalid("prompt", "the request was cancelled"),
        }
    }
}

/// `Json` whose rejections are OpenAI-shaped errors, and whose body must
/// arrive within the server's body timeout (a slow body is a 408).
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    Json<T>: FromRequest<AppState, Rejection = JsonRejection>,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.limits().body_timeout;
        tokio::select! {
            r = tokio::time::timeout(limit, Json::<T>::from_request(req, state)) => match r {
                Ok(r) => Ok(ApiJson(r?.0)),
                Err(_) => Err(AppError::body_timeout(limit.as_secs().max(1))),
            },
            _ = state.stopped() => Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "the server is shutting down; send the request again once it is back",
            )
            .code("shutting_down")),
        }
    }
}

/// Rewrites an error axum answered itself (405 with an empty body, a
/// `text/plain` query or path rejection, a 413) into OpenAI's shape,
/// keeping its status and headers (`allow` on a 405).
/// Error bodies are scrubbed of the server's own paths on the way out.
pub(crate) async fn openai_shaped(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (mut parts, body) = resp.into_parts();
    // error bodies are small; anything larger is cut
    let text = axum::body::to_bytes(body, 256 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    if is_json {
        return Response::from_parts(parts, axum::body::Body::from(s.scrub(&text)));
    }
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        format!("{path} does not take {method}; it takes {allowed}")
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => Some("method_not_allowed"),
        StatusCode::NOT_FOUND => Some("not_found"),
        StatusCode::PAYLOAD_TOO_LARGE => Some("request_too_large"),
        _ => None,
    };
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request_error"
    };
    let mut e = AppError::new(status, kind, s.scrub(&message));
    e.code = code;
    // a bad query or path is a 400, as OpenAI answers
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        e.status = StatusCode::BAD_REQUEST;
    }
    let shaped = e.into_response();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.status = shaped.status();
    Response::from_parts(parts, shaped.into_body())
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn the_field_of_a_serde_error_becomes_the_param() {
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: n: invalid type: string \"two\", expected usize at line 1 column 9").as_deref(),
            Some("n")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `idea`").as_deref(),
            Some("colour")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: missing field `idea` at line 1 column 2").as_deref(),
            Some("idea")
        );
        assert_eq!(field_of("expected value at line 1 column 1"), None);
    }
}
