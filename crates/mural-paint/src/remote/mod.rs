//! Remote painters: OpenAI Images, AUTOMATIC1111/Forge, ComfyUI,
//! Stability, RunwayML, Black Forest Labs (FLUX), Google Gemini and
//! Replicate. Each speaks its service's documented wire format
//! through `mural-http`'s shared policy (timeouts, retries, rate limits,
//! secret redaction).
//!
//! A painter is built from a [`Profile`]: a `[painters.NAME]` table in
//! `mural.toml`, or just a kind with its defaults. Keys come from the
//! profile or the environment (through the lookup the caller passes), and
//! never leave the painter: they are registered as secrets with the HTTP
//! client, so no message can carry them.

pub mod a1111;
pub mod bfl;
pub mod comfyui;
pub mod gemini;
pub mod openai;
pub mod replicate;
pub mod runway;
pub mod stability;

use crate::{PaintError, Painter};
use mural_http::{Client, HttpError, Kind, Limit, Policy};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The kinds of painter this build knows, built in first.
pub const KINDS: &[&str] = &[
    "sketch",
    "openai",
    "a1111",
    "comfyui",
    "stability",
    "runway",
    "bfl",
    "gemini",
    "replicate",
];

/// A painter profile (`[painters.NAME]` in `mural.toml`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// sketch, openai, a1111, comfyui, stability, runway, bfl, gemini or replicate.
    pub kind: String,
    /// The service's base URL (each kind has a default).
    pub url: Option<String>,
    /// The model, checkpoint or endpoint to paint with.
    pub model: Option<String>,
    /// The API key itself (prefer `api_key_env` or the kind's usual variable).
    pub api_key: Option<String>,
    /// The environment variable that holds the key.
    pub api_key_env: Option<String>,
    /// AUTOMATIC1111 `--api-auth` credentials, `user:password`.
    pub api_auth: Option<String>,
    /// Generations started per minute.
    pub rate_per_minute: Option<f64>,
    /// Requests in flight at once.
    pub concurrency: Option<usize>,
    /// Seconds before one request is abandoned (and retried).
    pub timeout_s: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Milliseconds before the first retry (doubling after each).
    pub backoff_ms: Option<u64>,
    /// Seconds to wait for a queued job (ComfyUI, Runway) to finish.
    pub max_wait_s: Option<f64>,
    /// Milliseconds between status polls (ComfyUI, Runway).
    pub poll_ms: Option<u64>,
    pub steps: Option<u32>,
    pub cfg_scale: Option<f64>,
    pub sampler: Option<String>,
    pub scheduler: Option<String>,
    /// OpenAI `quality` (standard/hd for dall-e-3; low/medium/high for gpt-image).
    pub quality: Option<String>,
    /// OpenAI dall-e-3 `style` (vivid/natural), Stability `style_preset`.
    pub style: Option<String>,
    /// OpenAI `background`: transparent, opaque or auto (where the model takes it).
    pub background: Option<String>,
    /// OpenAI `output_format` (png, jpeg, webp); BFL's too.
    pub output_format: Option<String>,
    /// OpenAI `output_compression`, 0-100, for jpeg and webp.
    pub output_compression: Option<u8>,
    /// OpenAI `moderation`: auto or low.
    pub moderation: Option<String>,
    /// BFL `safety_tolerance`: 0 (strictest) to 5 on FLUX.2, 6 on FLUX.1.
    pub safety_tolerance: Option<u8>,
    /// A ComfyUI workflow exported in API format, with placeholders.
    pub workflow: Option<PathBuf>,
}

/// The writer target that suits a painter kind and model: tags for
/// Stable Diffusion servers, Runway's own budget, DALL-E 2's shorter limit.
pub fn suggested_target(kind: &str, model: &str) -> &'static str {
    match (kind, model) {
        ("openai", "dall-e-2") => "dalle2",
        ("a1111" | "forge" | "sdnext" | "comfyui" | "comfy", _) => "sdxl",
        ("stability", _) => "flux",
        ("runway" | "runwayml", _) => "runway",
        ("bfl", _) => "flux",
        // no `gemini` prose target yet: Gemini takes gpt-image's prose
        ("gemini", _) => "gpt-image",
        _ => "gpt-image",
    }
}

impl Profile {
    /// A profile that is just a kind, with its defaults.
    pub fn of_kind(kind: &str) -> Profile {
        Profile {
            kind: kind.to_string(),
            ..Profile::default()
        }
    }

    fn policy(&self) -> Policy {
        let mut p = Policy::default();
        if let Some(t) = self.timeout_s.filter(|t| *t > 0.0 && t.is_finite()) {
            p.timeout = Duration::from_secs_f64(t);
        }
        if let Some(r) = self.max_retries {
            p.max_retries = r;
        }
        if let Some(b) = self.backoff_ms {
            p.initial_backoff = Duration::from_millis(b);
            p.max_backoff = p.max_backoff.max(p.initial_backoff);
        }
        p
    }

    fn limit(&self) -> Limit {
        Limit {
            concurrency: self.concurrency.unwrap_or(4),
            rate_per_minute: self.rate_per_minute,
        }
    }

    /// The key: the profile's own, else the named or usual variable.
    fn key(&self, usual_env: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        self.api_key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .or_else(|| env(self.api_key_env.as_deref().unwrap_or(usual_env)))
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
    }

    fn key_env<'a>(&'a self, usual_env: &'a str) -> &'a str {
        self.api_key_env.as_deref().unwrap_or(usual_env)
    }

    fn base_url(&self, default: String) -> Result<String, PaintError> {
        let url = self.url.clone().unwrap_or(default);
        let url = url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(PaintError::InvalidRequest {
                message: format!(
                    "painter url {:?} is not an http(s) URL; write it like http://127.0.0.1:7860",
                    mural_http::redact_userinfo(&url)
                ),
            });
        }
        Ok(url)
    }

    fn client(&self, url: &str, secrets: &[&str], key_hint: &str) -> Result<Client, PaintError> {
        let mut b = Client::builder(format!(
            "{} at {}",
            self.kind,
            mural_http::redact_userinfo(url)
        ))
        .policy(self.policy())
        .limit(self.limit())
        .key_hint(key_hint);
        for s in secrets {
            b = b.secret(s);
        }
        b.build().map_err(paint_error)
    }
}

/// Builds the painter a profile describes. `env` looks up environment
/// variables (keys, `OPENAI_BASE_URL`).
pub fn build(
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Painter>, PaintError> {
    match profile.kind.as_str() {
        "sketch" => Ok(Box::new(crate::SketchPainter)),
        "openai" => Ok(Box::new(openai::OpenAiPainter::new(profile, env)?)),
        "a1111" | "forge" | "sdnext" => Ok(Box::new(a1111::A1111Painter::new(profile)?)),
        "comfyui" | "comfy" => Ok(Box::new(comfyui::ComfyPainter::new(profile)?)),
        "stability" => Ok(Box::new(stability::StabilityPainter::new(profile, env)?)),
        "runway" | "runwayml" => Ok(Box::new(runway::RunwayPainter::new(profile, env)?)),
        "bfl" => Ok(Box::new(bfl::BflPainter::new(profile, env)?)),
        "gemini" => Ok(Box::new(gemini::GeminiPainter::new(profile, env)?)),
        "replicate" => Ok(Box::new(replicate::ReplicatePainter::new(profile, env)?)),
        other => Err(PaintError::InvalidRequest {
            message: format!(
                "unknown painter kind {other:?}; use one of: {}",
                KINDS.join(", ")
            ),
        }),
    }
}

/// The day lifecycles are judged by: `MURAL_TODAY` (YYYY-MM-DD, to replay
/// or test a date), else the system clock.
pub fn today(env: &dyn Fn(&str) -> Option<String>) -> Result<mural_catalog::Date, PaintError> {
    match env("MURAL_TODAY").filter(|v| !v.trim().is_empty()) {
        Some(v) => v.parse().map_err(|e| PaintError::InvalidRequest {
            message: format!("MURAL_TODAY: {e}"),
        }),
        None => Ok(mural_catalog::Date::today()),
    }
}

/// How to switch a painter's model, for lifecycle messages.
pub const SWITCH_HINT: &str = "--model {}, or model = \"{}\" in the painter profile";

/// What the model catalog says of a profile's model today: a warning for
/// a deprecated model, an error for a shut-down one (before any request).
pub fn lifecycle(
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, PaintError> {
    let Some(provider) = mural_catalog::Provider::of_kind(&profile.kind) else {
        return Ok(None);
    };
    let catalog = mural_catalog::Catalog::current();
    let model = match &profile.model {
        Some(m) => m.clone(),
        None => match catalog.default_model(provider, mural_catalog::Kind::Image) {
            Some(m) => m.id.clone(),
            None => return Ok(None),
        },
    };
    let verdict = catalog
        .judge(provider, &model, today(env)?, SWITCH_HINT)
        .map_err(|e| PaintError::InvalidRequest {
            message: e.to_string(),
        })?;
    Ok(verdict.warning(SWITCH_HINT))
}

/// An HTTP failure as a painting failure.
pub fn paint_error(e: HttpError) -> PaintError {
    match e.kind {
        Kind::Refused => PaintError::Refused { reason: e.message },
        Kind::Auth => PaintError::Auth { message: e.message },
        Kind::InvalidRequest => PaintError::InvalidRequest { message: e.message },
        Kind::Unavailable => PaintError::Unavailable {
            message: e.message,
            retry_after_ms: None,
        },
        Kind::Quota | Kind::Failed => PaintError::Failed { message: e.message },
    }
}

/// Decodes base64 image data, with or without a `data:...;base64,` prefix.
pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let s = s.trim();
    let s = match s.find(";base64,") {
        Some(i) if s.starts_with("data:") => &s[i + 8..],
        _ => s,
    };
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("the image is not valid base64 ({e})"))
}

/// Any image the services send (PNG, JPEG, WebP) as PNG, with its size.
pub fn to_png(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG) {
        let d = png::Decoder::new(std::io::Cursor::new(bytes));
        let r = d
            .read_info()
            .map_err(|e| format!("the PNG cannot be read ({e})"))?;
        let (w, h) = (r.info().width, r.info().height);
        return Ok((bytes.to_vec(), w, h));
    }
    let img = image::load_from_memory(bytes)
        .map_err(|e| format!("the reply is not an image mural can read ({e})"))?;
    let (w, h) = (img.width(), img.height());
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("cannot re-encode the image as PNG ({e})"))?;
    Ok((out.into_inner(), w, h))
}

/// A whole reply's image bytes, or a retry if they are cut off or garbled.
pub(crate) fn image_verdict(bytes: &[u8]) -> mural_http::Verdict<(Vec<u8>, u32, u32)> {
    match to_png(bytes) {
        Ok(v) => mural_http::Verdict::Done(v),
        Err(message) => mural_http::Verdict::Retry {
            message,
            retry_after: None,
        },
    }
}

/// Downloads an image (a URL a service handed back) as PNG, with the
/// shared retries; a cut-off or garbled image is fetched again.
pub(crate) async fn fetch_image(
    client: &mural_http::Client,
    what: &str,
    build: impl Fn(&mural_http::reqwest::Client) -> mural_http::reqwest::RequestBuilder,
) -> Result<(Vec<u8>, u32, u32), PaintError> {
    client
        .fetch(what, build, |r| {
            if let Some(v) = client.classify(r) {
                return v;
            }
            image_verdict(&r.body)
        })
        .await
        .map_err(paint_error)
}

/// Sleeps between polls of a queued job.
pub(crate) async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The nearest names to `wanted` among `known` (for "did you mean").
pub fn nearest<'a>(wanted: &str, known: &'a [String]) -> Vec<&'a str> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (edit_distance(&w, &k.to_lowercase()), k.as_str()))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_jpeg_to_png() {
        let img = image::RgbImage::from_pixel(8, 4, image::Rgb([200, 10, 10]));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let (png, w, h) = to_png(jpeg.get_ref()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!((w, h), (8, 4));
        assert!(to_png(b"<html>").is_err());
    }

    #[test]
    fn base64_with_or_without_data_prefix() {
        assert_eq!(decode_b64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_b64("data:image/png;base64,aGk=").unwrap(), b"hi");
        assert!(decode_b64("!!").is_err());
    }

    #[test]
    fn nearest_names() {
        let known = vec!["sd_xl_base_1.0".to_string(), "v1-5-pruned".to_string()];
        assert_eq!(nearest("sd_xl_base", &known)[0], "sd_xl_base_1.0");
    }

    #[test]
    fn unknown_kind_lists_the_kinds() {
        let e = build(&Profile::of_kind("dalle"), &|_| None).err().unwrap();
        assert!(e.to_string().contains("openai, a1111"), "{e}");
    }
}
