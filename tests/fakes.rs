//! Local fakes of the painting services, on 127.0.0.1:0, speaking each
//! documented wire format and checking what mural sends (fields, sizes per
//! model, auth). Each injects faults on demand: 429 with retry-after, 500, a
//! reply slower than the client's timeout, a truncated body, a reset
//! connection, and the service's own content refusal.

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY: &str = "sk-test-LEAKCHECK-4f9c2a7e1b";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// 429 with `retry-after: 1`.
    RateLimited,
    /// 500 with an error body.
    ServerError,
    /// Replies after 3 s (past the 1 s timeout the tests configure).
    Slow,
    /// Sends half the body, then drops the connection.
    Truncated,
    /// Resets the connection before any reply.
    Reset,
    /// The service's own content refusal.
    Refuse,
}

/// A repeating fault pattern by request number (1-based): request k gets
/// the first fault whose `k % every == at`.
#[derive(Clone, Debug, Default)]
pub struct Pattern(pub Vec<(usize, usize, Fault)>);

#[derive(Default)]
pub struct Fake {
    pub faults: Mutex<VecDeque<Fault>>,
    pub pattern: Mutex<Pattern>,
    /// (method, path, headers, body) of every request, faults included.
    pub log: Mutex<Vec<(String, String, HeaderMap, Bytes)>>,
    /// Generation requests that got a good answer.
    pub painted: AtomicUsize,
    pub counter: AtomicUsize,
    /// Delay before every generation reply.
    pub delay_ms: AtomicUsize,
    /// Jobs (ComfyUI prompts, Runway tasks) and how often they were polled.
    pub jobs: Mutex<HashMap<String, (Value, usize)>>,
    pub base: Mutex<String>,
    /// ComfyUI: use the old error shape (`error` as a string).
    pub old_errors: std::sync::atomic::AtomicBool,
    /// Chat: scripted replies, in order (see `openai_chat`).
    pub chat_script: Mutex<VecDeque<String>>,
    /// Chat: refuse `n` > 1 as llama.cpp's server does.
    pub refuse_n: std::sync::atomic::AtomicBool,
}

impl Fake {
    pub fn push(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults.iter().cloned());
    }

    fn next_fault(&self) -> Option<Fault> {
        let k = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(f) = self.faults.lock().unwrap().pop_front() {
            return Some(f);
        }
        let p = self.pattern.lock().unwrap();
        p.0.iter()
            .find(|(every, at, _)| k % every == *at)
            .map(|(_, _, f)| *f)
    }

    /// Requests to `path` (any method).
    pub fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p, _, _)| p == path)
            .count()
    }

    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p, _, _)| p == path)
            .filter_map(|(_, _, _, b)| serde_json::from_slice(b).ok())
            .collect()
    }
}

pub struct Server {
    pub url: String,
    pub fake: Arc<Fake>,
    _rt: tokio::runtime::Runtime,
}

/// A listener that resets a connection when the next fault is `Reset`.
struct FaultyListener {
    inner: tokio::net::TcpListener,
    fake: Arc<Fake>,
}

impl axum::serve::Listener for FaultyListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((sock, addr)) = self.inner.accept().await else {
                continue;
            };
            let reset = {
                let mut q = self.fake.faults.lock().unwrap();
                if q.front() == Some(&Fault::Reset) {
                    q.pop_front();
                    true
                } else {
                    false
                }
            };
            if reset {
                self.fake.counter.fetch_add(1, Ordering::SeqCst);
                self.fake.log.lock().unwrap().push((
                    "RESET".into(),
                    "(reset)".into(),
                    HeaderMap::new(),
                    Bytes::new(),
                ));
                #[allow(deprecated)]
                let _ = sock.set_linger(Some(Duration::ZERO));
                drop(sock);
                continue;
            }
            return (sock, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Logs every request and closes every connection after one reply, so a
/// fault hits exactly one request.
async fn log_and_close(State(fake): State<Arc<Fake>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    fake.log.lock().unwrap().push((
        parts.method.to_string(),
        parts.uri.path().to_string(),
        parts.headers.clone(),
        bytes.clone(),
    ));
    let mut resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    resp.headers_mut()
        .insert("connection", HeaderValue::from_static("close"));
    resp
}

/// Applies the next fault to a generation request, or lets it through.
pub async fn faulty(State(fake): State<Arc<Fake>>, req: Request, next: Next) -> Response {
    let delay = fake.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    match fake.next_fault() {
        Some(Fault::RateLimited) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"error": {"message": "Rate limit reached, slow down", "type": "requests", "code": "rate_limit_exceeded"}})),
        )
            .into_response(),
        Some(Fault::ServerError) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "The server had an error while processing your request", "type": "server_error"}})),
        )
            .into_response(),
        Some(Fault::Slow) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            next.run(req).await
        }
        Some(Fault::Truncated) => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            parts.headers.insert(
                "content-length",
                HeaderValue::from_str(&bytes.len().to_string()).unwrap(),
            );
            let stream = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(half),
                Err(std::io::Error::other("cut")),
            ]);
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Some(Fault::Refuse) => {
            fake.faults.lock().unwrap().push_front(Fault::Refuse);
            next.run(req).await
        }
        Some(Fault::Reset) | None => next.run(req).await,
    }
}

/// Takes a pending refusal, if the next fault is one.
fn take_refusal(fake: &Fake) -> bool {
    let mut q = fake.faults.lock().unwrap();
    if q.front() == Some(&Fault::Refuse) {
        q.pop_front();
        true
    } else {
        false
    }
}

/// Starts `routes` (with `faulty` already layered on generation routes).
pub fn start(routes: impl FnOnce(Arc<Fake>) -> Router) -> Server {
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *fake.base.lock().unwrap() = url.clone();
    let app =
        routes(fake.clone()).layer(middleware::from_fn_with_state(fake.clone(), log_and_close));
    let l = FaultyListener {
        inner: listener,
        fake: fake.clone(),
    };
    rt.spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    Server { url, fake, _rt: rt }
}

/// A PNG of the given size, one color.
/// AUTOMATIC1111's txt2img reply for the request `v`: one PNG of its size
/// and seed, the parameters echoed, and `info` as a JSON string.
pub fn a1111_reply(v: &Value) -> axum::Json<Value> {
    use base64::Engine;
    let (w, h) = (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap());
    let seed = v["seed"].as_u64().unwrap();
    let png = png(w as u32, h as u32, seed);
    let info = json!({"seed": seed, "all_seeds": [seed], "width": w, "height": h});
    axum::Json(json!({
        "images": [base64::engine::general_purpose::STANDARD.encode(png)],
        "parameters": v,
        "info": info.to_string(),
    }))
}

pub fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let c = [(seed * 37 % 256) as u8, (seed * 91 % 256) as u8, 128u8];
    let img = image::RgbImage::from_pixel(width, height, image::Rgb(c));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([20, 120, 220]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn openai_error(
    status: StatusCode,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})),
    )
        .into_response()
}

fn bearer_ok(h: &HeaderMap) -> Result<(), String> {
    let got = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if got == format!("Bearer {KEY}") {
        Ok(())
    } else {
        // like OpenAI, echo (part of) what was sent: mural must scrub it
        Err(got.trim_start_matches("Bearer ").to_string())
    }
}

// ---------------------------------------------------------------- OpenAI

/// OpenAI Images: `POST /v1/images/generations`.
pub fn openai() -> Server {
    start(|fake| {
        Router::new()
            .route("/v1/images/generations", post(openai_generate))
            .route("/v1/models", get(openai_models))
            .route("/v1/files/{name}", get(serve_file))
            .layer(middleware::from_fn_with_state(fake.clone(), faulty))
            .with_state(fake)
    })
}

async fn openai_generate(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(sent) = bearer_ok(&headers) {
        return openai_error(
            StatusCode::UNAUTHORIZED,
            &format!("Incorrect API key provided: {sent}. You can find your API key at https://platform.openai.com/account/api-keys."),
            None,
            Some("invalid_api_key"),
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "We could not parse the JSON body of your request.",
            None,
            None,
        );
    };
    let model = v["model"].as_str().unwrap_or("");
    let prompt = v["prompt"].as_str().unwrap_or("");
    let n = v["n"].as_u64().unwrap_or(1);
    let size = v["size"].as_str().unwrap_or("auto");
    // what OpenAI serves on 2026-12-01: the gpt-image-2 family (free sizes);
    // the retired models answer model_not_found. `local-*` stands for
    // another server speaking the API (any size, one image a call,
    // revised prompts).
    let gpt2 = model.starts_with("gpt-image-2");
    let newest = model.starts_with("gpt-image-2.5") || model.starts_with("gpt-image-2.6");
    let local = model.starts_with("local-");
    if [
        "dall-e-2",
        "dall-e-3",
        "gpt-image-1",
        "gpt-image-1.5",
        "gpt-image-1-mini",
        "chatgpt-image-latest",
    ]
    .contains(&model)
    {
        return openai_error(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations"),
            Some("model"),
            Some("model_not_found"),
        );
    }
    if !gpt2 && !local {
        return openai_error(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            Some("model"),
            Some("model_not_found"),
        );
    }
    let max_n = if model == "local-one" { 1 } else { 10 };
    if prompt.is_empty() || prompt.chars().count() > 32000 {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "Invalid prompt length",
            Some("prompt"),
            None,
        );
    }
    if n < 1 || n > max_n {
        return openai_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid 'n': {model} supports n between 1 and {max_n}"),
            Some("n"),
            None,
        );
    }
    let (w, h): (u64, u64) = match size.split_once('x') {
        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
        None if size == "auto" => (1024, 1024),
        None => (0, 0),
    };
    let (long, short) = (w.max(h), w.min(h));
    let size_ok = local
        || (w % 16 == 0
            && h % 16 == 0
            && short > 0
            && long <= 3840
            && long <= short * 3
            && (655_360..=8_294_400).contains(&(w * h)));
    if !size_ok {
        return openai_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid size '{size}'. Both sides must be multiples of 16, the long side at most 3840, the aspect ratio within 1:3 and 3:1, and the image between 655360 and 8294400 pixels."),
            Some("size"),
            None,
        );
    }
    if gpt2 {
        for field in ["response_format", "style"] {
            if v.get(field).is_some() {
                return openai_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Unknown parameter: '{field}'."),
                    Some(field),
                    Some("unknown_parameter"),
                );
            }
        }
        let q = v["quality"].as_str().unwrap_or("auto");
        let qualities: &[&str] = if newest {
            &["low", "medium", "high", "xhigh", "max", "auto"]
        } else {
            &["low", "medium", "high", "auto"]
        };
        if !qualities.contains(&q) {
            return openai_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid value: '{q}'. Supported values are: {qualities:?}."),
                Some("quality"),
                Some("invalid_value"),
            );
        }
        if v["background"] == "transparent" && !newest {
            return openai_error(
                StatusCode::BAD_REQUEST,
                "Transparent background is not supported for this model.",
                Some("background"),
                None,
            );
        }
        let fmt = v["output_format"].as_str().unwrap_or("png");
        if v.get("output_compression").is_some() && fmt == "png" {
            return openai_error(
                StatusCode::BAD_REQUEST,
                "output_compression is only supported for jpeg and webp.",
                Some("output_compression"),
                None,
            );
        }
    }
    if prompt.to_lowercase().contains("echo the key") {
        // a careless server that puts the credential in its error text
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return openai_error(
            StatusCode::BAD_REQUEST,
            &format!("cannot paint this with credential {sent}"),
            None,
            None,
        );
    }
    if take_refusal(&fake) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {
                "message": "Your request was rejected by the safety system. If you believe this is an error, contact us.",
                "type": "image_generation_user_error",
                "param": null,
                "code": "moderation_blocked"
            }})),
        )
            .into_response();
    }
    let (w, h) = (w as u32, h as u32);
    let url_mode = v["response_format"].as_str() == Some("url");
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let img = png(w, h, i + prompt.len() as u64);
            let mut d = if url_mode {
                let name = format!("img-{}-{i}.png", fake.counter.load(Ordering::SeqCst));
                fake.jobs
                    .lock()
                    .unwrap()
                    .insert(name.clone(), (json!(b64(&img)), 0));
                json!({"url": format!("{}/v1/files/{name}", fake.base.lock().unwrap())})
            } else {
                json!({"b64_json": b64(&img)})
            };
            if local {
                d["revised_prompt"] = json!(format!("REVISED: {prompt}"));
            }
            d
        })
        .collect();
    fake.painted.fetch_add(n as usize, Ordering::SeqCst);
    let mut reply = json!({"created": 1764547200, "data": data});
    if gpt2 {
        reply["size"] = json!(size);
        reply["quality"] = v.get("quality").cloned().unwrap_or(json!("auto"));
        reply["output_format"] = v.get("output_format").cloned().unwrap_or(json!("png"));
        reply["background"] = json!("opaque");
        reply["usage"] = json!({"input_tokens": 12, "output_tokens": 4160, "total_tokens": 4172});
    }
    Json(reply).into_response()
}

/// `GET /v1/models`: what the account can use, each with its
/// `shutdown_date` (null when none is announced).
async fn openai_models(headers: HeaderMap) -> Response {
    if let Err(sent) = bearer_ok(&headers) {
        return openai_error(
            StatusCode::UNAUTHORIZED,
            &format!("Incorrect API key provided: {sent}."),
            None,
            Some("invalid_api_key"),
        );
    }
    let m = |id: &str, shutdown: Option<&str>| json!({"id": id, "object": "model", "created": 1762214400, "owned_by": "system", "shutdown_date": shutdown});
    Json(json!({"object": "list", "data": [
        m("gpt-image-2.6-sunburst", None),
        m("gpt-image-2.6-flare", None),
        m("gpt-image-2", None),
        m("gpt-6-luna", None),
        m("gpt-4o-mini", Some("2027-01-14")),
        m("gpt-image-3-preview", Some("2027-03-01")),
    ]}))
    .into_response()
}

async fn serve_file(State(fake): State<Arc<Fake>>, Path(name): Path<String>) -> Response {
    use base64::Engine;
    match fake.jobs.lock().unwrap().get(&name) {
        Some((v, _)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .unwrap_or_default();
            ([("content-type", "image/png")], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---------------------------------------------------------------- A1111

pub const A1111_MODELS: &[&str] = &[
    "sd_xl_base_1.0.safetensors [31e35c80fc]",
    "v1-5-pruned-emaonly.safetensors [6ce0161689]",
];

/// AUTOMATIC1111: `/sdapi/v1/txt2img`, `/sdapi/v1/sd-models`, basic auth
/// `bob:hunter2-secret`.
pub fn a1111() -> Server {
    start(|fake| {
        let gen = Router::new()
            .route("/sdapi/v1/txt2img", post(a1111_txt2img))
            .layer(middleware::from_fn_with_state(fake.clone(), faulty));
        Router::new()
            .route("/sdapi/v1/sd-models", get(a1111_models))
            .merge(gen)
            .with_state(fake)
    })
}

fn basic_ok(h: &HeaderMap) -> bool {
    use base64::Engine;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:hunter2-secret")
    );
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

async fn a1111_models(headers: HeaderMap) -> Response {
    if !basic_ok(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Incorrect username or password"})),
        )
            .into_response();
    }
    Json(
        A1111_MODELS
            .iter()
            .map(|t| json!({"title": t, "model_name": t.split(" [").next().unwrap().trim_end_matches(".safetensors").trim_end_matches(".ckpt"), "hash": "31e35c80", "filename": format!("/models/{t}")}))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn a1111_txt2img(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if !basic_ok(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Incorrect username or password"})),
        )
            .into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [{"msg": "invalid JSON"}]})),
        )
            .into_response();
    };
    // FastAPI-style validation of the fields mural must send
    let mut problems = Vec::new();
    for (k, ok) in [
        ("prompt", v["prompt"].is_string()),
        ("negative_prompt", v["negative_prompt"].is_string()),
        ("seed", v["seed"].is_i64() || v["seed"].is_u64()),
        ("steps", v["steps"].is_u64()),
        ("cfg_scale", v["cfg_scale"].is_number()),
        ("width", v["width"].as_u64().is_some_and(|w| w % 8 == 0)),
        ("height", v["height"].as_u64().is_some_and(|h| h % 8 == 0)),
        ("sampler_name", v["sampler_name"].is_string()),
        ("scheduler", v["scheduler"].as_str() == Some("Automatic")),
        ("batch_size", v["batch_size"].is_u64()),
    ] {
        if !ok {
            problems.push(json!({"loc": ["body", k], "msg": format!("field {k} is missing or invalid"), "type": "value_error"}));
        }
    }
    if let Some(c) = v.pointer("/override_settings/sd_model_checkpoint") {
        if !A1111_MODELS.contains(&c.as_str().unwrap_or("")) {
            problems
                .push(json!({"loc": ["body", "override_settings"], "msg": "unknown checkpoint"}));
        }
    }
    if !problems.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": problems})),
        )
            .into_response();
    }
    let seed = v["seed"].as_u64().unwrap();
    let n = v["batch_size"].as_u64().unwrap();
    let (w, h) = (
        v["width"].as_u64().unwrap() as u32,
        v["height"].as_u64().unwrap() as u32,
    );
    // A1111 returns the real seeds in `info`, a JSON string
    let seeds: Vec<u64> = (0..n).map(|i| seed + i).collect();
    let info = json!({
        "prompt": v["prompt"], "all_prompts": vec![v["prompt"].clone(); n as usize],
        "seed": seed, "all_seeds": seeds, "steps": v["steps"], "cfg_scale": v["cfg_scale"],
        "sampler_name": v["sampler_name"], "sd_model_name": "sd_xl_base_1.0", "sd_model_hash": "31e35c80fc",
        "width": w, "height": h,
    });
    fake.painted.fetch_add(n as usize, Ordering::SeqCst);
    Json(json!({
        "images": seeds.iter().map(|s| b64(&png(w / 8, h / 8, *s))).collect::<Vec<_>>(),
        "parameters": v,
        "info": info.to_string(),
    }))
    .into_response()
}

// ---------------------------------------------------------------- ComfyUI

pub const COMFY_CKPTS: &[&str] = &["sdxl.safetensors", "v1-5.ckpt"];

/// ComfyUI: `/prompt`, `/history/{id}`, `/view`, `/object_info/...`.
pub fn comfyui() -> Server {
    start(|fake| {
        let gen = Router::new()
            .route("/prompt", post(comfy_prompt))
            .layer(middleware::from_fn_with_state(fake.clone(), faulty));
        Router::new()
            .route("/history/{id}", get(comfy_history))
            .route("/view", get(comfy_view))
            .route("/object_info/{node}", get(comfy_object_info))
            .merge(gen)
            .with_state(fake)
    })
}

async fn comfy_object_info(Path(node): Path<String>) -> Response {
    Json(json!({ node: {"input": {"required": {"ckpt_name": [COMFY_CKPTS, {}]}}}})).into_response()
}

fn comfy_invalid(fake: &Fake, node: &str, class: &str, message: &str, details: &str) -> Response {
    let node_errors = json!({ node: {"errors": [{"type": "value_not_in_list", "message": message, "details": details, "extra_info": {}}],
        "dependent_outputs": ["9"], "class_type": class}});
    let body = if fake.old_errors.load(Ordering::SeqCst) {
        json!({"error": "Prompt outputs failed validation", "node_errors": node_errors})
    } else {
        json!({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}, "node_errors": node_errors})
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn comfy_prompt(State(fake): State<Arc<Fake>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "invalid_prompt", "message": "invalid JSON"}, "node_errors": {}}))).into_response();
    };
    let Some(graph) = v["prompt"].as_object() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "no_prompt", "message": "No prompt provided"}, "node_errors": {}}))).into_response();
    };
    let mut seed = 0;
    let mut size = (64u32, 64u32);
    let mut has_output = false;
    for (id, node) in graph {
        let class = node["class_type"].as_str().unwrap_or("");
        let inputs = &node["inputs"];
        match class {
            "CheckpointLoaderSimple" => {
                let c = inputs["ckpt_name"].as_str().unwrap_or("");
                if !COMFY_CKPTS.contains(&c) {
                    return comfy_invalid(
                        &fake,
                        id,
                        class,
                        "Value not in list",
                        &format!("ckpt_name: '{c}' not in {COMFY_CKPTS:?}"),
                    );
                }
            }
            "KSampler" => {
                if !inputs["seed"].is_u64()
                    || !inputs["steps"].is_u64()
                    || !inputs["cfg"].is_number()
                {
                    return comfy_invalid(
                        &fake,
                        id,
                        class,
                        "Failed to convert an input value to a INT value",
                        "seed, steps",
                    );
                }
                seed = inputs["seed"].as_u64().unwrap();
            }
            "EmptyLatentImage" => {
                size = (
                    inputs["width"].as_u64().unwrap_or(0) as u32,
                    inputs["height"].as_u64().unwrap_or(0) as u32,
                );
                if size.0 == 0 || size.1 == 0 {
                    return comfy_invalid(&fake, id, class, "Value smaller than min", "width");
                }
            }
            "CLIPTextEncode" if inputs["text"].as_str().is_none_or(|t| t.contains("{{")) => {
                return comfy_invalid(&fake, id, class, "Required input is missing", "text");
            }
            "SaveImage" => has_output = true,
            "" => return comfy_invalid(&fake, id, "?", "missing class_type", ""),
            _ => {}
        }
    }
    if !has_output {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs"}, "node_errors": []}))).into_response();
    }
    let n = fake.jobs.lock().unwrap().len();
    let id = format!("6f0b2d1e-0000-4000-8000-{n:012}");
    let file = format!("mural_{n:05}_.png");
    let entry = json!({
        "prompt": [n, id, v["prompt"], {}, ["9"]],
        "outputs": {"9": {"images": [{"filename": file, "subfolder": "", "type": "output"}]}},
        "status": {"status_str": "success", "completed": true, "messages": []},
        "size": [size.0, size.1], "seed": seed,
    });
    fake.jobs.lock().unwrap().insert(id.clone(), (entry, 0));
    fake.painted.fetch_add(1, Ordering::SeqCst);
    Json(json!({"prompt_id": id, "number": n, "node_errors": {}})).into_response()
}

async fn comfy_history(State(fake): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    let mut jobs = fake.jobs.lock().unwrap();
    match jobs.get_mut(&id) {
        // the first poll finds the job still queued: ComfyUI returns {}
        Some((entry, polls)) => {
            *polls += 1;
            if *polls < 2 {
                Json(json!({})).into_response()
            } else {
                Json(json!({ id: entry.clone() })).into_response()
            }
        }
        None => Json(json!({})).into_response(),
    }
}

async fn comfy_view(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let jobs = fake.jobs.lock().unwrap();
    let want = q.get("filename").cloned().unwrap_or_default();
    if q.get("type").map(String::as_str) != Some("output") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    for (entry, _) in jobs.values() {
        if entry
            .pointer("/outputs/9/images/0/filename")
            .and_then(Value::as_str)
            == Some(want.as_str())
        {
            let w = entry["size"][0].as_u64().unwrap_or(64) as u32;
            let h = entry["size"][1].as_u64().unwrap_or(64) as u32;
            return (
                [("content-type", "image/png")],
                png(w / 8, h / 8, entry["seed"].as_u64().unwrap_or(0)),
            )
                .into_response();
        }
    }
    StatusCode::NOT_FOUND.into_response()
}

// ---------------------------------------------------------------- Stability

pub const STABILITY_RATIOS: &[&str] = &[
    "16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21",
];

/// Stability v2beta: `POST /v2beta/stable-image/generate/{core,ultra,sd3}`.
pub fn stability() -> Server {
    start(|fake| {
        Router::new()
            .route(
                "/v2beta/stable-image/generate/{endpoint}",
                post(stability_generate),
            )
            .layer(middleware::from_fn_with_state(fake.clone(), faulty))
            .with_state(fake)
    })
}

fn stability_error(status: StatusCode, name: &str, error: &str) -> Response {
    (
        status,
        Json(json!({"id": "0123456789abcdef", "name": name, "errors": [error]})),
    )
        .into_response()
}

async fn stability_generate(
    State(fake): State<Arc<Fake>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    if bearer_ok(&headers).is_err() {
        return stability_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid API key",
        );
    }
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("image/*") {
        return stability_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "accept: must be image/* or application/json",
        );
    }
    if !["core", "ultra", "sd3"].contains(&endpoint.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut fields = HashMap::new();
    while let Ok(Some(f)) = form.next_field().await {
        let name = f.name().unwrap_or("").to_string();
        fields.insert(name, f.text().await.unwrap_or_default());
    }
    let prompt = fields.get("prompt").cloned().unwrap_or_default();
    if prompt.is_empty() || prompt.len() > 10_000 {
        return stability_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "prompt: cannot be empty",
        );
    }
    let ratio = fields
        .get("aspect_ratio")
        .cloned()
        .unwrap_or_else(|| "1:1".into());
    if !STABILITY_RATIOS.contains(&ratio.as_str()) {
        return stability_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "aspect_ratio: must be one of the listed ratios",
        );
    }
    let seed: u64 = match fields.get("seed").map(|s| s.parse::<u64>()) {
        Some(Ok(s)) if s <= 4_294_967_294 => s,
        None => 0,
        _ => {
            return stability_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "seed: must be 0 to 4294967294",
            )
        }
    };
    if fields.get("output_format").map(String::as_str) != Some("png") {
        return stability_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "output_format: mural asks for png",
        );
    }
    if endpoint == "sd3" && fields.contains_key("model") && !fields["model"].starts_with("sd3") {
        return stability_error(StatusCode::BAD_REQUEST, "bad_request", "model: unknown");
    }
    if take_refusal(&fake) {
        // the content filter: 200 with a finish-reason header
        return (
            [
                ("finish-reason", "CONTENT_FILTERED"),
                ("seed", "0"),
                ("content-type", "image/png"),
            ],
            png(8, 8, 0),
        )
            .into_response();
    }
    let (w, h) = match ratio.as_str() {
        "16:9" => (1344, 768),
        "9:16" => (768, 1344),
        _ => (1024, 1024),
    };
    fake.painted.fetch_add(1, Ordering::SeqCst);
    let seed_header = seed.to_string();
    (
        [
            ("finish-reason", "SUCCESS"),
            ("seed", seed_header.as_str()),
            ("content-type", "image/png"),
        ],
        png(w / 16, h / 16, seed),
    )
        .into_response()
}

// ---------------------------------------------------------------- Runway

pub const RUNWAY_RATIOS: &[&str] = &[
    "1920:1080",
    "1080:1920",
    "1024:1024",
    "1360:768",
    "1080:1080",
    "1168:880",
    "1440:1080",
    "1080:1440",
    "1808:768",
    "2112:912",
];

/// RunwayML: `POST /v1/text_to_image`, `GET /v1/tasks/{id}`; the output is
/// a JPEG at a pre-signed URL.
pub fn runway() -> Server {
    start(|fake| {
        let gen = Router::new()
            .route("/v1/text_to_image", post(runway_create))
            .layer(middleware::from_fn_with_state(fake.clone(), faulty));
        Router::new()
            .route("/v1/tasks/{id}", get(runway_task))
            .route("/output/{id}", get(runway_output))
            .merge(gen)
            .with_state(fake)
    })
}

fn runway_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

fn runway_headers_ok(h: &HeaderMap) -> Result<(), Box<Response>> {
    if bearer_ok(h).is_err() {
        return Err(Box::new(runway_error(
            StatusCode::UNAUTHORIZED,
            "Invalid API secret",
        )));
    }
    if h.get("x-runway-version").and_then(|v| v.to_str().ok()) != Some("2024-11-06") {
        return Err(Box::new(runway_error(
            StatusCode::BAD_REQUEST,
            "X-Runway-Version header is missing or invalid",
        )));
    }
    Ok(())
}

async fn runway_create(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = runway_headers_ok(&headers) {
        return *r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return runway_error(StatusCode::BAD_REQUEST, "invalid JSON");
    };
    if v["model"].as_str() != Some("gen4_image") {
        return runway_error(StatusCode::BAD_REQUEST, "model: must be gen4_image");
    }
    let prompt = v["promptText"].as_str().unwrap_or("");
    if prompt.is_empty() || prompt.chars().count() > 1000 {
        return runway_error(
            StatusCode::BAD_REQUEST,
            "promptText: must be 1 to 1000 characters",
        );
    }
    if !RUNWAY_RATIOS.contains(&v["ratio"].as_str().unwrap_or("")) {
        return runway_error(StatusCode::BAD_REQUEST, "ratio: invalid");
    }
    if v["seed"].as_u64().is_none_or(|s| s > 4_294_967_295) {
        return runway_error(StatusCode::BAD_REQUEST, "seed: invalid");
    }
    let refuse = take_refusal(&fake);
    let n = fake.jobs.lock().unwrap().len();
    let id = format!("17f20503-6c24-4c16-946b-{n:012}");
    fake.jobs.lock().unwrap().insert(
        id.clone(),
        (json!({"refuse": refuse, "ratio": v["ratio"]}), 0),
    );
    Json(json!({"id": id})).into_response()
}

async fn runway_task(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = runway_headers_ok(&headers) {
        return *r;
    }
    let base = fake.base.lock().unwrap().clone();
    let mut jobs = fake.jobs.lock().unwrap();
    let Some((job, polls)) = jobs.get_mut(&id) else {
        return runway_error(StatusCode::NOT_FOUND, "Task not found");
    };
    *polls += 1;
    let status = match *polls {
        1 => "PENDING",
        2 => "THROTTLED",
        3 => "RUNNING",
        _ if job["refuse"] == true => "FAILED",
        _ => "SUCCEEDED",
    };
    let mut t = json!({"id": id, "status": status, "createdAt": "2026-11-22T12:00:00.000Z"});
    match status {
        "RUNNING" => t["progress"] = json!(0.5),
        "FAILED" => {
            t["failure"] = json!("The prompt was flagged by content moderation.");
            t["failureCode"] = json!("SAFETY.INPUT.TEXT");
        }
        "SUCCEEDED" => {
            t["output"] = json!([format!("{base}/output/{id}")]);
            fake.painted.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }
    Json(t).into_response()
}

async fn runway_output(headers: HeaderMap) -> Response {
    // pre-signed: the key must not be sent here
    if headers.contains_key("authorization") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    ([("content-type", "image/jpeg")], jpeg(96, 54)).into_response()
}

// ------------------------------------------------------------ OpenAI chat

/// The idea in a chat request's user message ("Idea: ...").
fn chat_idea(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .find_map(|m| {
            m["content"]
                .as_str()?
                .lines()
                .find_map(|l| l.strip_prefix("Idea: ").map(str::to_string))
        })
        .unwrap_or_default()
}

/// A good prompt for the idea, different per seed and choice.
fn chat_good(idea: &str, seed: u64, choice: usize) -> String {
    // lights that fit any scene, so the guard's knowledge finds no misfit
    let light = [
        "soft diffused light",
        "dramatic side light",
        "gentle even light",
        "cool soft light",
    ];
    let view = [
        "wide establishing view",
        "intimate close-up",
        "low angle",
        "aerial view",
    ];
    let k = (seed as usize + choice) % 4;
    format!(
        "{idea}, {}, {}, rich textures and fine detail, balanced composition",
        light[k],
        view[(k + 1) % 4]
    )
}

/// OpenAI chat completions: `POST /v1/chat/completions`, as OpenAI,
/// llama.cpp's server and Ollama speak it. Checks the bearer key when one
/// is sent, the body's shape, and answers with scripted replies:
/// - any text: that choice's content;
/// - `@good`: a good prompt for the idea;
/// - `@malformed`: a 200 whose body is not JSON;
/// - `@nochoices`: a 200 JSON body without `choices`;
/// - `@int-code-error`: a 500 whose error `code` is a number.
///
/// `refuse_n` answers `n` > 1 with llama.cpp's 400 (an integer code).
/// `stream: true` answers with server-sent events, a few bytes at a time.
pub fn openai_chat() -> Server {
    async fn chat(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
        if headers.get("authorization").is_some() {
            if let Err(sent) = bearer_ok(&headers) {
                return openai_error(
                    StatusCode::UNAUTHORIZED,
                    &format!("Incorrect API key provided: {sent}. You can find your API key at https://platform.openai.com/account/api-keys."),
                    None,
                    Some("invalid_api_key"),
                );
            }
        }
        let Ok(b) = serde_json::from_slice::<Value>(&body) else {
            return openai_error(StatusCode::BAD_REQUEST, "body is not JSON", None, None);
        };
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["role"].as_str()).collect())
            .unwrap_or_default();
        if !b["model"].is_string() || roles.first() != Some(&"system") || !roles.contains(&"user") {
            return openai_error(
                StatusCode::BAD_REQUEST,
                "model and messages (system, user) are required",
                Some("messages"),
                None,
            );
        }
        if b.get("max_tokens").is_none() && b.get("max_completion_tokens").is_none() {
            return openai_error(StatusCode::BAD_REQUEST, "set max_tokens", None, None);
        }
        // like OpenAI's reasoning models: default sampling only
        if b["model"].as_str().is_some_and(|m| m.starts_with("o3"))
            && b.get("temperature").is_some()
        {
            return openai_error(
                StatusCode::BAD_REQUEST,
                "Unsupported value: 'temperature' does not support 0.8 with this model. Only the default (1) value is supported.",
                Some("temperature"),
                Some("unsupported_value"),
            );
        }
        let n = b["n"].as_u64().unwrap_or(1) as usize;
        if n > 1 && fake.refuse_n.load(Ordering::SeqCst) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"code": 400, "message": "Only one completion choice is allowed", "type": "invalid_request_error"}})),
            )
                .into_response();
        }
        let seed = b["seed"].as_u64().unwrap_or(0);
        let idea = chat_idea(&b);
        let mut contents = Vec::new();
        for choice in 0..n {
            let next = fake.chat_script.lock().unwrap().pop_front();
            let text = match next.as_deref() {
                None | Some("@good") => chat_good(&idea, seed, choice),
                Some("@malformed") => {
                    return (StatusCode::OK, [("content-type", "application/json")], "{\"choices\": [ {\"mess").into_response()
                }
                Some("@nochoices") => return Json(json!({"object": "chat.completion", "id": "x"})).into_response(),
                Some("@int-code-error") => {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(json!({"error": {"code": 500, "message": "model crashed", "type": "server_error"}})),
                    )
                        .into_response()
                }
                Some(t) => t.to_string(),
            };
            contents.push(text);
        }
        fake.painted.fetch_add(1, Ordering::SeqCst);
        if b["stream"] == json!(true) {
            let mut events = String::new();
            for (i, c) in contents.iter().enumerate() {
                events.push_str(&format!("data: {}\n\n", json!({"object": "chat.completion.chunk", "choices": [{"index": i, "delta": {"role": "assistant"}}]})));
                for word in c.split_inclusive(' ') {
                    events.push_str(&format!("data: {}\n\n", json!({"object": "chat.completion.chunk", "choices": [{"index": i, "delta": {"content": word}}]})));
                }
            }
            events.push_str("data: [DONE]\n\n");
            let chunks: Vec<Result<Bytes, std::io::Error>> = events
                .into_bytes()
                .chunks(13)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            return (
                [("content-type", "text/event-stream")],
                Body::from_stream(futures_util::stream::iter(chunks)),
            )
                .into_response();
        }
        let choices: Vec<Value> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": "stop"}))
            .collect();
        Json(json!({"id": "chatcmpl-1", "object": "chat.completion", "model": b["model"], "choices": choices})).into_response()
    }
    // a local server's model list (llama.cpp's and vLLM's need no key)
    async fn models() -> Json<Value> {
        Json(json!({"object": "list", "data": [
            {"id": "local", "object": "model", "created": 1762214400, "owned_by": "llamacpp"},
            {"id": "other:7b", "object": "model", "created": 1762214400, "owned_by": "llamacpp"}
        ]}))
    }
    start(|fake| {
        Router::new()
            .route(
                "/v1/chat/completions",
                post(chat).layer(middleware::from_fn_with_state(fake.clone(), faulty)),
            )
            .route("/v1/models", get(models))
            .with_state(fake)
    })
}
