//! Local fakes of the cloud painters added for issue 14 (Black Forest
//! Labs, Gemini, Replicate), on 127.0.0.1:0, each speaking its documented
//! wire format (see /work notes cited in the painters' module docs) and
//! checking what mural sends. Faults come from `fakes::Fault` (each
//! service's own 429 shape) and from the switches in [`Extra`].

use crate::fakes::{self, png, Fake, Fault, Server, KEY};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Switches a test flips on a fake.
#[derive(Default)]
pub struct Extra {
    /// BFL: result URLs have expired by the time they are fetched.
    pub expire: AtomicBool,
    /// BFL: the account is out of credits (402).
    pub no_credits: AtomicBool,
    /// Gemini: the model answers with text only.
    pub text_only: AtomicBool,
}

pub struct Cloud {
    pub server: Server,
    pub extra: Arc<Extra>,
}

impl std::ops::Deref for Cloud {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

type St = State<(Arc<Fake>, Arc<Extra>)>;

/// A generation route's faults, with this service's own 429 (`shape`).
async fn cloud_faulty(
    State((fake, shape)): State<(Arc<Fake>, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let limited = {
        let mut q = fake.faults.lock().unwrap();
        if q.front() == Some(&Fault::RateLimited) {
            q.pop_front();
            true
        } else {
            false
        }
    };
    if !limited {
        return fakes::faulty(State(fake), req, next).await;
    }
    fake.counter.fetch_add(1, Ordering::SeqCst);
    match shape {
        // docs.bfl.ai/api_integration/errors: 429 = too many active tasks
        "bfl" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"detail": "You have exceeded the number of active tasks (24)."})),
        )
            .into_response(),
        // google.rpc.Status with RetryInfo, and no retry-after header
        "gemini" => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
                ]
            }})),
        )
            .into_response(),
        // replicate.com/docs/topics/predictions/rate-limits: the wait is in the detail
        _ => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"detail": "Request was throttled. Your rate limit resets in ~1s."})),
        )
            .into_response(),
    }
}

fn take_refusal(fake: &Fake) -> bool {
    let mut q = fake.faults.lock().unwrap();
    if q.front() == Some(&Fault::Refuse) {
        q.pop_front();
        true
    } else {
        false
    }
}

/// Splits generation routes (faults apply) from the rest.
fn with_faults(
    shape: &'static str,
    gen: Router<(Arc<Fake>, Arc<Extra>)>,
    other: Router<(Arc<Fake>, Arc<Extra>)>,
) -> Cloud {
    let extra = Arc::new(Extra::default());
    let e = extra.clone();
    let server = fakes::start(move |fake| {
        let gen = gen.layer(middleware::from_fn_with_state(
            (fake.clone(), shape),
            cloud_faulty,
        ));
        other.merge(gen).with_state((fake, e))
    });
    Cloud { server, extra }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 90, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

// -------------------------------------------------------------------- BFL

/// Models that take `aspect_ratio` instead of width/height.
const BFL_RATIO_MODELS: &[&str] = &["flux-pro-1.1-ultra", "flux-kontext-pro", "flux-kontext-max"];
const BFL_MODELS: &[&str] = &[
    "flux-2-pro",
    "flux-2-max",
    "flux-2-flex",
    "flux-2-klein-4b",
    "flux-pro-1.1",
    "flux-pro-1.1-ultra",
    "flux-kontext-pro",
];

fn bfl_detail(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"detail": msg}))).into_response()
}

fn bfl_invalid(loc: &str, msg: &str) -> Response {
    // FastAPI's HTTPValidationError
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"detail": [{"loc": ["body", loc], "msg": msg, "type": "value_error"}]})),
    )
        .into_response()
}

/// BFL: `POST /v1/{model}`, polled at the returned `polling_url` (on a
/// path the client cannot guess), result served from `/delivery/...`.
pub fn bfl() -> Cloud {
    with_faults(
        "bfl",
        Router::new().route("/v1/{model}", post(bfl_submit)),
        Router::new()
            .route("/eu4/v1/get_result", get(bfl_result))
            .route("/delivery/{file}", get(bfl_delivery)),
    )
}

async fn bfl_submit(
    State((fake, extra)): St,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get("x-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return bfl_detail(StatusCode::FORBIDDEN, "Not authenticated");
    }
    if extra.no_credits.load(Ordering::SeqCst) {
        return bfl_detail(
            StatusCode::PAYMENT_REQUIRED,
            "Insufficient credits. Please add credits to your account.",
        );
    }
    if !BFL_MODELS.contains(&model.as_str()) {
        return bfl_detail(StatusCode::NOT_FOUND, "Not Found");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bfl_invalid("body", "invalid JSON");
    };
    if v["prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
        return bfl_invalid("prompt", "field required");
    }
    let (w, h) = if BFL_RATIO_MODELS.contains(&model.as_str()) {
        if v.get("width").is_some() || v.get("height").is_some() {
            return bfl_invalid("width", "extra fields not permitted");
        }
        let Some((a, b)) = v["aspect_ratio"].as_str().and_then(|r| r.split_once(':')) else {
            return bfl_invalid("aspect_ratio", "string like 16:9 required");
        };
        let (a, b): (f64, f64) = (a.parse().unwrap_or(1.0), b.parse().unwrap_or(1.0));
        (
            ((a / b).sqrt() * 64.0) as u32,
            ((b / a).sqrt() * 64.0) as u32,
        )
    } else {
        let (Some(w), Some(h)) = (v["width"].as_u64(), v["height"].as_u64()) else {
            return bfl_invalid("width", "width and height required");
        };
        if w % 16 != 0 || h % 16 != 0 || w < 64 || h < 64 || w * h > 4 * 1024 * 1024 {
            return bfl_invalid("width", "must be a multiple of 16, at most 4 MP");
        }
        ((w / 16) as u32, (h / 16) as u32)
    };
    if v.get("seed").is_some_and(|s| !s.is_u64()) {
        return bfl_invalid("seed", "value is not a valid integer");
    }
    let format = v["output_format"].as_str().unwrap_or("jpeg").to_string();
    if format != "jpeg" && format != "png" {
        return bfl_invalid("output_format", "must be jpeg or png");
    }
    let refuse = take_refusal(&fake);
    let base = fake.base.lock().unwrap().clone();
    let n = fake.jobs.lock().unwrap().len();
    let id = format!("bfl-task-{n:04}");
    fake.jobs.lock().unwrap().insert(
        id.clone(),
        (
            json!({"refuse": refuse, "w": w, "h": h, "format": format, "seed": v["seed"], "prompt": v["prompt"]}),
            0,
        ),
    );
    Json(json!({
        "id": id,
        "polling_url": format!("{base}/eu4/v1/get_result?id={id}"),
        "cost": 3.0, "input_mp": 0.0, "output_mp": 1.05
    }))
    .into_response()
}

async fn bfl_result(
    State((fake, _)): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if headers.get("x-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return bfl_detail(StatusCode::FORBIDDEN, "Not authenticated");
    }
    let id = q.get("id").cloned().unwrap_or_default();
    let base = fake.base.lock().unwrap().clone();
    let mut jobs = fake.jobs.lock().unwrap();
    let Some((job, polls)) = jobs.get_mut(&id) else {
        return Json(
            json!({"id": id, "status": "Task not found", "result": null, "progress": null}),
        )
        .into_response();
    };
    *polls += 1;
    if *polls < 3 {
        return Json(json!({"id": id, "status": "Pending", "result": null, "progress": 0.4}))
            .into_response();
    }
    if job["refuse"] == true {
        return Json(
            json!({"id": id, "status": "Content Moderated", "result": null, "progress": null}),
        )
        .into_response();
    }
    fake.painted.fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "id": id,
        "status": "Ready",
        "result": {
            "sample": format!("{base}/delivery/{id}.{}?se=2026-12-01T18%3A10%3A00Z&sig=c2lnbmVk", job["format"].as_str().unwrap_or("jpeg")),
            "prompt": job["prompt"],
            "seed": job["seed"],
            "start_time": 1764612000.0, "end_time": 1764612004.2, "duration": 4.2
        },
        "progress": null
    }))
    .into_response()
}

async fn bfl_delivery(
    State((fake, extra)): St,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    // a signed URL: the key must not travel with it
    if headers.contains_key("x-key") || headers.contains_key("authorization") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    if extra.expire.load(Ordering::SeqCst) {
        // Azure-blob-style signed URL past its expiry
        return (
            StatusCode::FORBIDDEN,
            [("content-type", "application/xml")],
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Signed expiry time [Mon, 01 Dec 2026 18:10:00 GMT] must be after signed start time</Message></Error>",
        )
            .into_response();
    }
    let id = file.split('.').next().unwrap_or("").to_string();
    let jobs = fake.jobs.lock().unwrap();
    let Some((job, _)) = jobs.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (w, h) = (
        job["w"].as_u64().unwrap() as u32,
        job["h"].as_u64().unwrap() as u32,
    );
    if job["format"] == "png" {
        ([("content-type", "image/png")], png(w, h, 3)).into_response()
    } else {
        ([("content-type", "image/jpeg")], jpeg(w, h)).into_response()
    }
}

// ----------------------------------------------------------------- Gemini

const GEMINI_MODELS: &[&str] = &["gemini-nano-banana-2.1", "gemini-3-pro-image"];
const GEMINI_RATIOS: &[&str] = &[
    "1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9",
    "21:9",
];

fn google_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": code}})),
    )
        .into_response()
}

/// Gemini API: `POST /v1beta/models/{model}:generateContent`. Images are
/// served at 1/16 of the size the model would make, to keep tests light.
pub fn gemini() -> Cloud {
    with_faults(
        "gemini",
        Router::new()
            .route("/v1beta/models/{call}", post(gemini_generate))
            .route("/v1beta/models", get(gemini_models)),
        Router::new(),
    )
}

/// `GET /v1beta/models`: two pages, as the API pages its list.
async fn gemini_models(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
        );
    }
    let m = |id: &str| json!({"name": format!("models/{id}"), "displayName": id, "supportedGenerationMethods": ["generateContent"]});
    if q.get("pageToken").map(String::as_str) == Some("p2") {
        Json(json!({"models": [m("gemini-3-pro-image"), m("gemini-4-image-preview")]}))
            .into_response()
    } else {
        Json(json!({"models": [m("gemini-nano-banana-2.1")], "nextPageToken": "p2"}))
            .into_response()
    }
}

async fn gemini_generate(
    State((fake, extra)): St,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}})),
        )
            .into_response();
    }
    let Some(model) = call.strip_suffix(":generateContent") else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "method not found");
    };
    if !GEMINI_MODELS.contains(&model) {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received.",
        );
    };
    let text = v
        .pointer("/contents/0/parts/0/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    if text.trim().is_empty() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "* GenerateContentRequest.contents: contents is not specified",
        );
    }
    let modalities = v
        .pointer("/generationConfig/responseModalities")
        .and_then(Value::as_array);
    if !modalities.is_some_and(|m| m.iter().any(|x| x == "IMAGE")) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "responseModalities must include IMAGE for this model",
        );
    }
    let ratio = v
        .pointer("/generationConfig/imageConfig/aspectRatio")
        .and_then(Value::as_str)
        .unwrap_or("1:1");
    if !GEMINI_RATIOS.contains(&ratio) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            &format!("Unsupported aspect ratio: {ratio}"),
        );
    }
    let size = v
        .pointer("/generationConfig/imageConfig/imageSize")
        .and_then(Value::as_str)
        .unwrap_or("1K");
    let k = match size {
        "1K" => 1.0,
        "2K" => 2.0,
        "4K" => 4.0,
        _ => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                &format!("imageConfig.imageSize {size:?} is not supported; use 1K, 2K or 4K"),
            )
        }
    };
    if v.pointer("/generationConfig/seed").is_some_and(|s| {
        !s.as_i64()
            .is_some_and(|s| (0..=i32::MAX as i64).contains(&s))
    }) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "generationConfig.seed: value out of range for int32",
        );
    }
    if take_refusal(&fake) {
        return Json(json!({
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []},
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            "modelVersion": model
        }))
        .into_response();
    }
    if extra.text_only.load(Ordering::SeqCst) {
        return Json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "I can describe that scene, but I will not draw it."}]}, "finishReason": "STOP", "index": 0}],
            "modelVersion": model
        }))
        .into_response();
    }
    let (a, b) = ratio.split_once(':').unwrap();
    let r: f64 = a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap();
    // about k megapixels squared at the ratio, at 1/16 scale
    let px = 1024.0 * 1024.0 * k * k / 256.0;
    let w = (px * r).sqrt().round() as u32;
    let h = (px / r).sqrt().round() as u32;
    fake.painted.fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Planning the composition.", "thought": true},
                {"text": "Here is your image."},
                {"inlineData": {"mimeType": "image/png", "data": b64(&png(w, h, 5))}}
            ]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1290, "totalTokenCount": 1299},
        "modelVersion": model,
        "responseId": "resp-1",
        "modelStatus": {"modelStage": "STABLE", "retirementTime": null, "message": ""}
    }))
    .into_response()
}

// -------------------------------------------------------------- Replicate

pub const RATIO_ONLY_VERSION: &str =
    "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";

/// The OpenAPI schemas of the fake's models, as Cog writes them.
fn replicate_schema(model: &str) -> Option<Value> {
    let input = match model {
        // replicate.com/black-forest-labs/flux-2-pro/api
        "black-forest-labs/flux-2-pro" => json!({
            "type": "object", "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "x-order": 0},
                "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}], "default": "1:1", "x-order": 2},
                "resolution": {"type": "string", "default": "1 MP", "x-order": 3},
                "width": {"type": "integer", "minimum": 256, "maximum": 2048, "x-order": 4},
                "height": {"type": "integer", "minimum": 256, "maximum": 2048, "x-order": 5},
                "safety_tolerance": {"type": "integer", "default": 2, "minimum": 1, "maximum": 5},
                "seed": {"type": "integer", "x-order": 7},
                "output_format": {"allOf": [{"$ref": "#/components/schemas/output_format"}], "default": "webp"},
                "output_quality": {"type": "integer", "default": 80, "minimum": 0, "maximum": 100}
            }
        }),
        // a model with only an aspect-ratio enum, a count and a negative prompt
        "acme/ratio-only" => json!({
            "type": "object", "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "negative_prompt": {"type": "string", "default": ""},
                "aspect_ratio": {"type": "string", "enum": ["1:1", "16:9", "9:16", "4:3", "3:4"], "default": "1:1"},
                "num_outputs": {"type": "integer", "default": 4, "minimum": 1, "maximum": 4}
            }
        }),
        _ => return None,
    };
    Some(json!({
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "components": {"schemas": {
            "Input": input,
            "Output": if model == "acme/ratio-only" {
                json!({"type": "array", "items": {"type": "string", "format": "uri"}})
            } else {
                json!({"type": "string", "format": "uri"})
            },
            "aspect_ratio": {"title": "aspect_ratio", "type": "string",
                "enum": ["match_input_image", "custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"]},
            "output_format": {"title": "output_format", "type": "string", "enum": ["webp", "jpg", "png"]}
        }}
    }))
}

fn replicate_detail(status: StatusCode, msg: &str) -> Response {
    (
        status,
        Json(json!({"title": status.canonical_reason(), "detail": msg, "status": status.as_u16()})),
    )
        .into_response()
}

fn replicate_auth(h: &HeaderMap) -> Result<(), Box<Response>> {
    if h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}")) {
        Ok(())
    } else {
        Err(Box::new(replicate_detail(
            StatusCode::UNAUTHORIZED,
            "You did not pass a valid authentication token",
        )))
    }
}

/// Replicate: model schemas, predictions by model or by version, polled
/// at `urls.get`; outputs served from `/delivery/...`.
pub fn replicate() -> Cloud {
    with_faults(
        "replicate",
        Router::new()
            .route(
                "/v1/models/{owner}/{name}/predictions",
                post(replicate_create_by_model),
            )
            .route("/v1/predictions", post(replicate_create_by_version)),
        Router::new()
            .route("/v1/models/{owner}/{name}", get(replicate_model))
            .route(
                "/v1/models/{owner}/{name}/versions/{version}",
                get(replicate_version),
            )
            .route("/v1/predictions/{id}", get(replicate_get))
            .route("/delivery/{id}/{file}", get(replicate_delivery)),
    )
}

fn version_of(model: &str) -> String {
    if model == "acme/ratio-only" {
        RATIO_ONLY_VERSION.to_string()
    } else {
        "2856b5e5c6e0e1c1e5f0a6a8f7b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8".to_string()
    }
}

async fn replicate_model(
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
) -> Response {
    if let Err(r) = replicate_auth(&headers) {
        return *r;
    }
    let model = format!("{owner}/{name}");
    let Some(schema) = replicate_schema(&model) else {
        return replicate_detail(StatusCode::NOT_FOUND, "Not found.");
    };
    Json(json!({
        "url": format!("https://replicate.com/{model}"),
        "owner": owner, "name": name, "visibility": "public",
        "latest_version": {"id": version_of(&model), "created_at": "2026-11-02T10:00:00Z", "cog_version": "0.16.8", "openapi_schema": schema}
    }))
    .into_response()
}

async fn replicate_version(
    headers: HeaderMap,
    Path((owner, name, version)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = replicate_auth(&headers) {
        return *r;
    }
    let model = format!("{owner}/{name}");
    match replicate_schema(&model) {
        Some(schema) if version == version_of(&model) => Json(json!({
            "id": version, "created_at": "2026-11-02T10:00:00Z", "cog_version": "0.16.8", "openapi_schema": schema
        }))
        .into_response(),
        _ => replicate_detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// Checks an input against the schema as Replicate does (422 otherwise).
fn replicate_check(model: &str, input: &Value) -> Result<(), String> {
    let schema = replicate_schema(model).ok_or("model not found")?;
    let props = schema
        .pointer("/components/schemas/Input/properties")
        .unwrap();
    let obj = input.as_object().ok_or("input must be an object")?;
    if obj
        .get("prompt")
        .and_then(Value::as_str)
        .is_none_or(|p| p.trim().is_empty())
    {
        return Err("input: prompt is required".into());
    }
    for (k, v) in obj {
        let Some(p) = props.get(k) else {
            return Err(format!("input: Additional property {k} is not allowed"));
        };
        let allowed = p.get("enum").cloned().or_else(|| {
            p.pointer("/allOf/0/$ref")
                .and_then(Value::as_str)
                .and_then(|r| schema.pointer(&r[1..]))
                .and_then(|t| t.get("enum").cloned())
        });
        if let Some(Value::Array(a)) = allowed {
            if !a.contains(v) {
                return Err(format!("input.{k}: {v} is not one of {a:?}"));
            }
        }
        for (bound, ok) in [("minimum", true), ("maximum", false)] {
            if let (Some(b), Some(x)) = (p.get(bound).and_then(Value::as_f64), v.as_f64()) {
                if (ok && x < b) || (!ok && x > b) {
                    return Err(format!("input.{k}: must be {bound} {b}"));
                }
            }
        }
    }
    Ok(())
}

fn replicate_create(fake: &Fake, model: &str, version: &str, body: &Value) -> Response {
    if let Err(e) = replicate_check(model, &body["input"]) {
        return replicate_detail(StatusCode::UNPROCESSABLE_ENTITY, &e);
    }
    let refuse = take_refusal(fake);
    let base = fake.base.lock().unwrap().clone();
    let n = fake.jobs.lock().unwrap().len();
    let id = format!("qz7mfxlkw3vdpygt1o8hbn{n:04}");
    let p = json!({
        "id": id, "model": model, "version": version, "input": body["input"],
        "logs": "", "output": null, "data_removed": false, "error": null, "status": "starting",
        "created_at": "2026-12-01T18:00:00.000000Z", "started_at": null, "completed_at": null,
        "source": "api",
        "urls": {
            "web": format!("https://replicate.com/p/{id}"),
            "get": format!("{base}/v1/predictions/{id}"),
            "cancel": format!("{base}/v1/predictions/{id}/cancel")
        }
    });
    fake.jobs
        .lock()
        .unwrap()
        .insert(id, (json!({"refuse": refuse, "prediction": p.clone()}), 0));
    (StatusCode::CREATED, Json(p)).into_response()
}

async fn replicate_create_by_model(
    State((fake, _)): St,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = replicate_auth(&headers) {
        return *r;
    }
    let model = format!("{owner}/{name}");
    if replicate_schema(&model).is_none() {
        return replicate_detail(StatusCode::NOT_FOUND, "Not found.");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return replicate_detail(StatusCode::BAD_REQUEST, "invalid JSON");
    };
    replicate_create(&fake, &model, &version_of(&model), &v)
}

async fn replicate_create_by_version(
    State((fake, _)): St,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = replicate_auth(&headers) {
        return *r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return replicate_detail(StatusCode::BAD_REQUEST, "invalid JSON");
    };
    let version = v["version"].as_str().unwrap_or("");
    let Some(model) = ["acme/ratio-only", "black-forest-labs/flux-2-pro"]
        .into_iter()
        .find(|m| version_of(m) == version)
    else {
        return replicate_detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "version: invalid version or not permitted",
        );
    };
    replicate_create(&fake, model, version, &v)
}

async fn replicate_get(
    State((fake, _)): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = replicate_auth(&headers) {
        return *r;
    }
    let base = fake.base.lock().unwrap().clone();
    let mut jobs = fake.jobs.lock().unwrap();
    let Some((job, polls)) = jobs.get_mut(&id) else {
        return replicate_detail(StatusCode::NOT_FOUND, "Not found.");
    };
    *polls += 1;
    let mut p = job["prediction"].clone();
    match *polls {
        1 => p["status"] = json!("processing"),
        _ if job["refuse"] == true => {
            p["status"] = json!("failed");
            p["error"] =
                json!("NSFW content detected. Try running it again, or try a different prompt.");
        }
        _ => {
            p["status"] = json!("succeeded");
            let url = format!("{base}/delivery/{id}/out-0.png");
            p["output"] = if p["model"] == "acme/ratio-only" {
                json!([url])
            } else {
                json!(url)
            };
            p["metrics"] = json!({"predict_time": 4.2});
            if *polls == 2 {
                fake.painted.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    Json(p).into_response()
}

async fn replicate_delivery(
    State((fake, _)): St,
    headers: HeaderMap,
    Path((id, _file)): Path<(String, String)>,
) -> Response {
    if headers.contains_key("authorization") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let jobs = fake.jobs.lock().unwrap();
    let Some((job, _)) = jobs.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let input = &job["prediction"]["input"];
    let (w, h) = match (input["width"].as_u64(), input["height"].as_u64()) {
        (Some(w), Some(h)) => ((w / 16) as u32, (h / 16) as u32),
        _ => match input["aspect_ratio"].as_str().unwrap_or("1:1") {
            "16:9" => (64, 36),
            "9:16" => (36, 64),
            "4:3" => (64, 48),
            "3:4" => (48, 64),
            _ => (64, 64),
        },
    };
    ([("content-type", "image/png")], png(w, h, 9)).into_response()
}
