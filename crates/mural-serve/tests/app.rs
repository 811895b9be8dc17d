//! Handler tests through `tower::ServiceExt::oneshot`: no sockets.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mural_serve::{app, AppState, Config};
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn state(name: &str, token: Option<&str>) -> (AppState, Dir) {
    let dir = std::env::temp_dir().join(format!("mural-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = AppState::new(Config {
        gallery: dir.join("gallery.db"),
        files: dir.join("images"),
        token: token.map(str::to_string),
        profiles: Default::default(),
        default_painter: "sketch".into(),
        env: std::sync::Arc::new(|_| None),
        addr: Some("127.0.0.1:7878".parse().unwrap()),
        public_url: None,
        limits: Default::default(),
        defaults: Default::default(),
    });
    (s, Dir(dir))
}

async fn call(s: &AppState, req: Request<Body>) -> (StatusCode, Value, Vec<u8>) {
    let resp = app(s.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v, bytes)
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn assert_openai_error(v: &Value, param: Option<&str>) {
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert!(e.as_object().unwrap().contains_key("code"), "{v}");
    assert_eq!(e["param"].as_str(), param, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn prompts_are_written_by_the_builtin_writer() {
    let (s, _d) = state("prompts", None);
    let (st, v, _) = call(
        &s,
        post(
            "/v1/prompts",
            json!({"idea": "a beach sunset", "target": "sd", "n": 3, "seed": 7}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let p = v["prompts"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(p[1]["seed"], 8);
    assert!(p[0]["prompt"].as_str().unwrap().contains("beach sunset"));
    assert!(!p[0]["negative_prompt"].as_str().unwrap().is_empty());
    assert_eq!(p[0]["params"]["steps"], 30);

    let (st, v, _) = call(
        &s,
        post("/v1/prompts", json!({"idea": "x", "target": "oil"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, Some("target"));
    let (st, v, _) = call(&s, post("/v1/prompts", json!({"idea": "x", "n": 0}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, Some("n"));
    let (st, v, _) = call(
        &s,
        post("/v1/prompts", json!({"idea": "x", "writer": "gpt-9"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, Some("writer"));
    // a body of the wrong shape is a 400, as OpenAI answers (not 422)
    let (st, v, _) = call(&s, post("/v1/prompts", json!({"idea": "x", "colour": 1}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, Some("colour"));
    let (st, v, _) = call(
        &s,
        Request::post("/v1/prompts")
            .header("content-type", "application/json")
            .body(Body::from("{oops"))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_rewritten_painted_and_served() {
    let (s, _d) = state("images", None);
    let (st, v, _) = call(&s, post("/v1/images/generations", json!({"prompt": "a red fox", "n": 2, "size": "128x128", "response_format": "b64_json"}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for d in data {
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(d["b64_json"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let revised = d["revised_prompt"].as_str().unwrap();
        assert!(
            revised.contains("red fox") && revised.len() > "a red fox".len(),
            "{revised}"
        );
    }
    assert_ne!(
        data[0]["revised_prompt"], data[1]["revised_prompt"],
        "n gives variations"
    );

    // url format points at /files/ on this server's bound address
    let req = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("host", "localhost:7878")
        .body(Body::from(
            json!({"prompt": "an owl", "size": "64x64"}).to_string(),
        ))
        .unwrap();
    let (st, v, _) = call(&s, req).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let url = v["data"][0]["url"].as_str().unwrap();
    let path = url.strip_prefix("http://127.0.0.1:7878").unwrap();
    assert!(path.starts_with("/files/mural-"), "{url}");
    let resp = app(s.clone()).oneshot(get(path)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/png");

    // mural_rewrite: false paints the prompt as given
    let (_, v, _) = call(
        &s,
        post(
            "/v1/images/generations",
            json!({"prompt": "exactly this", "size": "64x64", "mural_rewrite": false}),
        ),
    )
    .await;
    assert_eq!(v["data"][0]["revised_prompt"], "exactly this");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_errors_are_openai_shaped() {
    let (s, _d) = state("image-errors", None);
    for (body, param) in [
        (json!({"prompt": "a cat", "size": "13x13"}), "size"),
        (json!({"prompt": "a cat", "size": "big"}), "size"),
        (json!({"prompt": "  "}), "prompt"),
        (json!({"size": "64x64"}), "prompt"),
        (json!({"prompt": "a cat", "n": 11}), "n"),
        (json!({"prompt": "a cat", "model": "picasso"}), "model"),
        (
            json!({"prompt": "a cat", "response_format": "gif"}),
            "response_format",
        ),
        (
            json!({"prompt": "a cat", "model": "openai/dall-e-3"}),
            "model",
        ),
    ] {
        let (st, v, _) = call(&s, post("/v1/images/generations", body.clone())).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_openai_error(&v, Some(param));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn models_options_gallery_and_health() {
    let (s, _d) = state("lists", None);
    let (_, v, _) = call(&s, get("/v1/models")).await;
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"sketch")
            && ids.contains(&"openai/gpt-image-2.6-sunburst")
            && !ids.contains(&"openai/dall-e-3")
            && ids.contains(&"writer/builtin"),
        "{ids:?}"
    );
    let (_, v, _) = call(&s, get("/v1/options")).await;
    assert!(v["targets"].as_array().unwrap().len() >= 8);
    assert_eq!(v["default_painter"], "sketch");
    call(
        &s,
        post(
            "/v1/images/generations",
            json!({"prompt": "a lighthouse", "size": "64x64"}),
        ),
    )
    .await;
    call(
        &s,
        post(
            "/v1/images/generations",
            json!({"prompt": "a windmill", "size": "64x64"}),
        ),
    )
    .await;
    let (_, v, _) = call(&s, get("/v1/gallery?search=lighthouse&limit=5")).await;
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["idea"], "a lighthouse");
    // by gallery id, so images from any folder (the CLI's) are served
    let image = &runs[0]["images"][0];
    assert_eq!(
        image["url"].as_str().unwrap(),
        format!("/v1/images/{}/file", image["id"])
    );
    assert!(
        runs[0]["images"][0].get("file").is_none(),
        "server paths stay private"
    );
    let (st, v, _) = call(&s, get("/healthz")).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, v, _) = call(&s, get("/v1/nope")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_openai_error(&v, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_files_cannot_escape_the_image_directory() {
    let (s, d) = state("traversal", None);
    std::fs::create_dir_all(d.0.join("images")).unwrap();
    std::fs::write(d.0.join("secret.png"), b"nope").unwrap();
    std::fs::write(d.0.join("images/.hidden.png"), b"nope").unwrap();
    for path in [
        "/files/..%2Fsecret.png",
        "/files/%2E%2E%2Fsecret.png",
        "/files/..%5Csecret.png",
        "/files/.hidden.png",
        "/files/..",
        "/files/gallery.db",
        "/files/a%2Fb.png",
        "/files/%00.png",
        "/files/missing.png",
    ] {
        let (st, v, bytes) = call(&s, get(path)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(bytes, b"nope", "{path}");
        assert_openai_error(&v, None);
    }
    let (st, _, _) = call(&s, get("/files/../secret.png")).await;
    assert_ne!(st, StatusCode::OK);
    assert!(mural_serve::safe_file_name("mural-00001-0-5.png"));
    assert!(!mural_serve::safe_file_name("../x.png"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_one_mib_are_refused() {
    let (s, _d) = state("limit", None);
    let big = json!({"idea": "a".repeat(2 << 20)}).to_string();
    let req = Request::post("/v1/prompts")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let (st, v, _) = call(&s, req).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "request_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_guards_every_api_call() {
    let (s, _d) = state("token", Some("s3cret-token"));
    let (st, v, _) = call(&s, post("/v1/prompts", json!({"idea": "x"}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "invalid_api_key");
    let req = Request::post("/v1/prompts")
        .header("content-type", "application/json")
        .header("authorization", "Bearer wrong")
        .body(Body::from(json!({"idea": "x"}).to_string()))
        .unwrap();
    assert_eq!(call(&s, req).await.0, StatusCode::UNAUTHORIZED);
    let req = Request::post("/v1/prompts")
        .header("content-type", "application/json")
        .header("authorization", "Bearer s3cret-token")
        .body(Body::from(json!({"idea": "x"}).to_string()))
        .unwrap();
    assert_eq!(call(&s, req).await.0, StatusCode::OK);
    assert_eq!(
        call(&s, get("/v1/models")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // ?token= is only for the event stream (EventSource sends no headers)
    assert_eq!(
        call(&s, get("/v1/models?token=s3cret-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // the studio page and health check are open; the API behind them is not
    assert_eq!(call(&s, get("/")).await.0, StatusCode::OK);
    assert_eq!(call(&s, get("/healthz")).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_stream_prompts_images_and_done() {
    let (s, _d) = state("jobs", None);
    let (st, v, _) = call(
        &s,
        post(
            "/v1/jobs",
            json!({"idea": "a quiet harbor", "n": 2, "size": "64x64", "seed": 3}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let resp = app(s.clone())
        .oneshot(get(&format!("/v1/jobs/{id}/events")))
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(kinds, ["prompts", "image", "image", "done"], "{text}");
    assert!(text.contains("quiet harbor"));
    let (st, _, _) = call(&s, get("/v1/jobs/nope/events")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v, _) = call(&s, post("/v1/jobs", json!({"idea": "x", "style": "nope"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_openai_error(&v, Some("style"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_studio_page_is_served_with_a_strict_policy() {
    let (s, _d) = state("page", None);
    let resp = app(s.clone()).oneshot(get("/")).await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("<label for=\"idea\">"));
    let (st, _, js) = call(&s, get("/studio.js")).await;
    assert_eq!(st, StatusCode::OK);
    let js = String::from_utf8(js).unwrap();
    assert!(js.contains("textContent"));
    assert!(
        !html.contains("innerHTML") && !js.contains("innerHTML"),
        "prompt text must never be rendered as HTML"
    );
}
