//! What every request passes before a handler: the `Host` check (DNS
//! rebinding), the token, and the headers every response carries.

use crate::{AppError, AppState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use subtle::ConstantTimeEq;

/// Without a token, only loopback host names are served: a web page that
/// rebinds its DNS name to 127.0.0.1 still sends its own name in `Host`,
/// so it cannot read the gallery or paint (as Jupyter and Ollama do).
pub(crate) async fn host(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.inner.token.is_none() {
        let from_uri = req.uri().authority().map(|a| a.as_str().to_string());
        let from_header = req
            .headers()
            .get(header::HOST)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
        for h in [from_uri, from_header].into_iter().flatten() {
            if !loopback_host(&h, s.inner.addr) {
                return AppError::forbidden_host(&h).into_response();
            }
        }
    }
    next.run(req).await
}

/// `localhost`, `127.0.0.1`, `[::1]` (or the bound loopback address), with
/// no port or the bound one.
pub(crate) fn loopback_host(host: &str, bound: Option<SocketAddr>) -> bool {
    let host = host.trim();
    let (name, port) = match host.rsplit_once(':') {
        // `[::1]` alone has colons inside the brackets
        Some((n, p)) if !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    if let Some(p) = port {
        let Ok(p) = p.parse::<u16>() else {
            return false;
        };
        if bound.is_some_and(|b| b.port() != p) {
            return false;
        }
    }
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    match ip.parse::<IpAddr>() {
        Ok(ip) => {
            ip == IpAddr::from([127, 0, 0, 1])
                || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                || bound.is_some_and(|b| b.ip() == ip && ip.is_loopback())
        }
        Err(_) => false,
    }
}

/// `Authorization: Bearer <MURAL_TOKEN>` (the scheme in any case).
pub(crate) async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.inner.token {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        if !bearer.is_some_and(|b| same(b, token)) {
            return AppError::unauthorized().into_response();
        }
    }
    next.run(req).await
}

/// The token from the header, or, on the event stream only (EventSource
/// cannot send headers), from `?token=` (percent-decoded).
pub(crate) async fn auth_or_query(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.inner.token {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .is_some_and(|b| same(b, token));
        let query = req
            .uri()
            .query()
            .and_then(query_token)
            .is_some_and(|q| same(&q, token));
        if !(bearer || query) {
            return AppError::unauthorized().into_response();
        }
    }
    next.run(req).await
}

fn bearer_token(v: &str) -> Option<&str> {
    let (scheme, rest) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// The percent-decoded value of `token=` in a query string.
pub(crate) fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let v = kv.strip_prefix("token=")?;
        percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    })
}

/// Constant-time in the token's bytes (only a length mismatch is quick).
fn same(given: &str, token: &str) -> bool {
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

/// Headers on every response: no MIME sniffing, no framing, no referrer.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_pass_the_host_check() {
        let bound: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        for ok in [
            "localhost",
            "LocalHost:7878",
            "127.0.0.1",
            "127.0.0.1:7878",
            "[::1]",
            "[::1]:7878",
        ] {
            assert!(loopback_host(ok, Some(bound)), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7878",
            "localhost.evil.example",
            "127.0.0.1.nip.io:7878",
            "localhost:7879",
            "127.0.0.1:99999",
            "[::1]:1",
            "0.0.0.0:7878",
            "",
        ] {
            assert!(!loopback_host(bad, Some(bound)), "{bad}");
        }
        // another loopback address, when it is the bound one
        let other: SocketAddr = "127.0.0.2:80".parse().unwrap();
        assert!(loopback_host("127.0.0.2", Some(other)));
        assert!(!loopback_host("127.0.0.2", Some(bound)));
    }

    #[test]
    fn bearer_is_any_case_and_query_tokens_are_decoded() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(
            query_token("a=1&token=a%2Bb%2Fc%3D%3D").as_deref(),
            Some("a+b/c==")
        );
        assert_eq!(query_token("tokens=x"), None);
        assert!(same("abc", "abc") && !same("abd", "abc") && !same("ab", "abc"));
    }
}
