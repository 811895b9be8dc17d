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

use crate::{PaintError, Painter, PainterKind};
use mural_http::{Client, HttpError, Kind, Limit, Policy};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// A painter profile (`[painters.NAME]` in `mural.toml`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// sketch, openai, a1111, comfyui, stability, runway, bfl, gemini or replicate.
    #[serde(deserialize_with = "crate::kind::profile_kind")]
    pub kind: PainterKind,
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
    /// Set when `--painter` names a `[pools.NAME]`: [`build`] builds the
    /// pool's members instead (never read from a `[painters.NAME]` table).
    #[serde(skip)]
    pub pool: Option<Box<crate::pool::PoolSpec>>,
}

/// The writer target's name that suits a painter and its model (see
/// [`PainterKind::suggested_target`]); `painter` is a kind's name, as
/// `Painter::name` gives it. A painter that is no kind gets GPT Image's.
pub fn suggested_target(painter: &str, model: &str) -> &'static str {
    painter
        .parse::<PainterKind>()
        .map_or(mural_prompt::Target::GptImage, |k| {
            k.suggested_target(model)
        })
        .name()
}

impl Profile {
    /// A profile that is just a kind, with its defaults.
    pub fn of_kind(kind: PainterKind) -> Profile {
        Profile {
            kind,
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
    if let Some(pool) = &profile.pool {
        return Ok(Box::new(crate::pool::Pool::new(
            pool,
            profile.model.clone(),
            env,
        )?));
    }
    let remote: Box<dyn Painter> = match profile.kind {
        PainterKind::Sketch => return Ok(Box::new(crate::SketchPainter)),
        PainterKind::Openai => Box::new(openai::OpenAiPainter::new(profile, env)?),
        PainterKind::A1111 => Box::new(a1111::A1111Painter::new(profile)?),
        PainterKind::Comfyui => Box::new(comfyui::ComfyPainter::new(profile)?),
        PainterKind::Stability => Box::new(stability::StabilityPainter::new(profile, env)?),
        PainterKind::Runway => Box::new(runway::RunwayPainter::new(profile, env)?),
        PainterKind::Bfl => Box::new(bfl::BflPainter::new(profile, env)?),
        PainterKind::Gemini => Box::new(gemini::GeminiPainter::new(profile, env)?),
        PainterKind::Replicate => Box::new(replicate::ReplicatePainter::new(profile, env)?),
    };
    Ok(Box::new(Guarded {
        inner: remote,
        secrets: secrets(profile, env),
    }))
}

/// Every value a profile could use as a key or password: the profile's
/// own, the variable it names, the kind's usual variable, `api_auth`.
fn secrets(profile: &Profile, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let usual = match profile.kind {
        PainterKind::Openai => Some("OPENAI_API_KEY"),
        PainterKind::Stability => Some("STABILITY_API_KEY"),
        PainterKind::Runway => Some("RUNWAYML_API_SECRET"),
        PainterKind::Bfl => Some("BFL_API_KEY"),
        PainterKind::Gemini => Some("GEMINI_API_KEY"),
        PainterKind::Replicate => Some("REPLICATE_API_TOKEN"),
        PainterKind::Sketch | PainterKind::A1111 | PainterKind::Comfyui => None,
    };
    let mut out: Vec<String> = [profile.api_key_env.as_deref(), usual]
        .into_iter()
        .flatten()
        .filter_map(env)
        .chain(profile.api_key.clone())
        .map(|k| k.trim().to_string())
        .collect();
    if let Some(auth) = &profile.api_auth {
        out.push(auth.trim().to_string());
        if let Some((_, password)) = auth.trim().split_once(':') {
            out.push(password.to_string());
        }
    }
    mural_http::secret_list(out)
}

/// `bytes` with each secret (longest first) replaced by `[redacted]`, in
/// one left-to-right pass.
fn redact_bytes(bytes: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        for s in secrets {
            if bytes[i..].starts_with(s.as_bytes()) {
                out.extend_from_slice(b"[redacted]");
                i += s.len();
                continue 'outer;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The painter's PNG with every secret scrubbed from its text chunks, or
/// `None` when none holds one. A service's own metadata (an A1111 infotext,
/// a ComfyUI graph) is kept; in uncompressed text a secret becomes
/// `[redacted]`, and a compressed chunk that holds one (or that will not
/// inflate within 2 MiB, so cannot be checked) is dropped.
fn scrub_png_text(png: &[u8], secrets: &[String]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if secrets.is_empty() || !png.starts_with(SIGNATURE) {
        return None;
    }
    let holds = |text: &[u8]| {
        secrets
            .iter()
            .any(|s| text.windows(s.len()).any(|w| w == s.as_bytes()))
    };
    let inflated_holds = |data: &[u8]| match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(
        data,
        2 << 20,
    ) {
        Ok(text) => holds(&text),
        Err(_) => true,
    };
    let mut out = SIGNATURE.to_vec();
    let mut changed = false;
    let mut pos = SIGNATURE.len();
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().ok()?) as usize;
        let end = pos.checked_add(12 + len).filter(|&e| e <= png.len())?;
        let kind: [u8; 4] = png[pos + 4..pos + 8].try_into().ok()?;
        let data = &png[pos + 8..pos + 8 + len];
        let keyword_end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        let body = data.get(keyword_end + 1..).unwrap_or_default();
        let compressed = match &kind {
            b"zTXt" => Some(body.get(1..).unwrap_or_default()),
            // iTXt: flag, method, language\0, translated\0, text
            b"iTXt" if body.first() == Some(&1) => {
                body.get(2..).and_then(|b| b.splitn(3, |&c| c == 0).nth(2))
            }
            _ => None,
        };
        let is_text = matches!(&kind, b"tEXt" | b"zTXt" | b"iTXt");
        match compressed {
            Some(c) if inflated_holds(c) => changed = true,
            None if is_text && holds(data) => {
                let text = redact_bytes(data, secrets);
                out.extend_from_slice(&(text.len() as u32).to_be_bytes());
                out.extend_from_slice(&kind);
                out.extend_from_slice(&text);
                let mut h = crc32fast::Hasher::new();
                h.update(&kind);
                h.update(&text);
                out.extend_from_slice(&h.finalize().to_be_bytes());
                changed = true;
            }
            _ => out.extend_from_slice(&png[pos..end]),
        }
        pos = end;
    }
    out.extend_from_slice(&png[pos..]);
    changed.then_some(out)
}

/// A remote painter as [`build`] hands it out. Each reply's image is
/// checked against the size asked for before it is decoded, and every
/// secret is scrubbed from what the painter returns: a service may echo
/// the key back in a successful reply (inside `revised_prompt`, say), and
/// what a painter returns is stored in the gallery and the PNG.
struct Guarded {
    inner: Box<dyn Painter>,
    secrets: Vec<String>,
}

impl Guarded {
    fn scrub(&self, p: &mut crate::Painted) {
        if let Some(r) = &mut p.revised_prompt {
            *r = mural_http::redact_secrets(r, &self.secrets);
        }
        for v in p.params.values_mut() {
            self.scrub_json(v);
        }
        if let Some(png) = scrub_png_text(&p.png, &self.secrets) {
            p.png = png;
        }
    }

    fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = mural_http::redact_secrets(s, &self.secrets),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|v| self.scrub_json(v)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|v| self.scrub_json(v)),
            _ => {}
        }
    }
}

impl Painter for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn limits(&self) -> crate::Limits {
        self.inner.limits()
    }
    fn source_type(&self) -> crate::SourceType {
        self.inner.source_type()
    }
    fn paint<'a>(
        &'a self,
        req: &'a crate::PaintRequest,
    ) -> crate::BoxFuture<'a, Result<Vec<crate::Painted>, PaintError>> {
        Box::pin(async move {
            let mut out = ASKED
                .scope((req.width, req.height), self.inner.paint(req))
                .await?;
            for p in &mut out {
                self.scrub(p);
            }
            Ok(out)
        })
    }
}

/// The day lifecycles are judged by: `MURAL_TODAY` (YYYY-MM-DD, to replay
/// or test a date), else the system clock.
pub fn today(env: &dyn Fn(&str) -> Option<String>) -> Result<mural_catalog::Date, PaintError> {
    mural_catalog::today(env).map_err(|message| PaintError::InvalidRequest { message })
}

/// How to switch a painter's model, for lifecycle messages.
pub const SWITCH_HINT: &str = "--model {}, or model = \"{}\" in the painter profile";

/// What the model catalog says of a profile's model today: a warning for
/// a deprecated model, an error for a shut-down one (before any request).
pub fn lifecycle(
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, PaintError> {
    if let Some(pool) = &profile.pool {
        // each member's model, as the pool paints with it
        let mut warnings: Vec<String> = Vec::new();
        for (_, p, _) in &pool.members {
            let mut p = p.clone();
            if profile.model.is_some() {
                p.model = profile.model.clone();
            }
            if let Some(w) = lifecycle(&p, env)? {
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
        }
        return Ok((!warnings.is_empty()).then(|| warnings.join("\n")));
    }
    let Some(provider) = mural_catalog::Provider::of_kind(profile.kind.as_str()) else {
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

/// The longest side a painter's image may declare, whatever was asked.
pub const MAX_SIDE: u32 = 16384;

/// How many times the pixels asked for a painter's image may declare: a
/// painter may upscale (AUTOMATIC1111's hires fix doubles each side), but
/// an image far larger than asked is a broken or hostile reply, and
/// decoding it could take gigabytes.
pub const MAX_PIXELS_OVER_ASKED: u64 = 4;

tokio::task_local! {
    /// The size the caller asked for, while a painter built by [`build`]
    /// paints: replies are checked against it before they are decoded.
    static ASKED: (u32, u32);
}

/// Why an image in a reply cannot be used.
enum ImageProblem {
    /// Cut off or garbled: worth fetching again.
    Unreadable(String),
    /// Larger than asked for: the same server would send it again.
    TooLarge(String),
}

impl ImageProblem {
    fn message(self) -> String {
        match self {
            ImageProblem::Unreadable(m) | ImageProblem::TooLarge(m) => m,
        }
    }
}

/// Checks the size an image declares in its header against what was asked
/// (when a painter built by [`build`] is painting) and [`MAX_SIDE`].
fn check_declared(width: u32, height: u32) -> Result<(), ImageProblem> {
    let asked = ASKED.try_with(|a| *a).ok();
    let pixels = width as u64 * height as u64;
    let over = match asked {
        Some((w, h)) => pixels > MAX_PIXELS_OVER_ASKED * (w as u64 * h as u64).max(1),
        None => false,
    };
    if width > MAX_SIDE || height > MAX_SIDE || over {
        let asked = asked.map_or(String::new(), |(w, h)| format!(" for a {w}x{h} request"));
        return Err(ImageProblem::TooLarge(format!(
            "the painter sent a {width}x{height} image{asked}, larger than mural accepts (at most {MAX_PIXELS_OVER_ASKED}x the pixels asked for, {MAX_SIDE} a side); it was refused before decoding"
        )));
    }
    Ok(())
}

fn image_to_png(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), ImageProblem> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    let unreadable = |m: String| ImageProblem::Unreadable(m);
    if bytes.starts_with(PNG) {
        let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
        d.set_ignore_text_chunk(true);
        let r = d
            .read_info()
            .map_err(|e| unreadable(format!("the PNG cannot be read ({e})")))?;
        let (w, h) = (r.info().width, r.info().height);
        check_declared(w, h)?;
        return Ok((bytes.to_vec(), w, h));
    }
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(format!("the reply is not an image mural can read ({e})")))
    };
    let (w, h) = reader()?
        .into_dimensions()
        .map_err(|e| unreadable(format!("the reply is not an image mural can read ({e})")))?;
    check_declared(w, h)?;
    let img = reader()?
        .decode()
        .map_err(|e| unreadable(format!("the reply is not an image mural can read ({e})")))?;
    let (w, h) = (img.width(), img.height());
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| unreadable(format!("cannot re-encode the image as PNG ({e})")))?;
    Ok((out.into_inner(), w, h))
}

/// Any image the services send (PNG, JPEG, WebP) as PNG, with its size.
/// The size its header declares is checked before anything is decoded.
pub fn to_png(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    image_to_png(bytes).map_err(ImageProblem::message)
}

/// A whole reply's image bytes, or a retry if they are cut off or garbled
/// (an image larger than asked for fails at once).
pub(crate) fn image_verdict(bytes: &[u8]) -> mural_http::Verdict<(Vec<u8>, u32, u32)> {
    match image_to_png(bytes) {
        Ok(v) => mural_http::Verdict::Done(v),
        Err(ImageProblem::TooLarge(m)) => {
            mural_http::Verdict::Fail(HttpError::new(Kind::Failed, m))
        }
        Err(ImageProblem::Unreadable(message)) => mural_http::Verdict::Retry {
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

/// The largest file a profile names (a ComfyUI workflow) that is read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads a UTF-8 file a profile names, at most [`MAX_FILE_BYTES`] (a
/// device or a huge file stops with an error instead of filling memory).
pub(crate) fn read_text_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {} MiB, more than mural reads",
            MAX_FILE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
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
        // a kind is typed: an unknown one is refused when it is read
        let e = "dalle".parse::<PainterKind>().unwrap_err();
        assert!(e.to_string().contains("openai, a1111"), "{e}");
        let e = toml::from_str::<Profile>("kind = \"dalle\"").unwrap_err();
        assert!(e.to_string().contains("openai, a1111"), "{e}");
    }

    /// A PNG whose header declares `w`x`h` (the pixels are never read).
    fn png_declaring(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 1, 1);
            enc.set_color(png::ColorType::Rgb);
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(&[0; 3]).unwrap();
        }
        // rewrite IHDR's size and checksum
        out[16..20].copy_from_slice(&w.to_be_bytes());
        out[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = {
            let mut c = 0xffff_ffffu32;
            for &b in &out[12..29] {
                c ^= b as u32;
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        };
        out[29..33].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([1, 2, 3]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_larger_than_asked_is_refused_before_decoding() {
        let refused = |v: mural_http::Verdict<(Vec<u8>, u32, u32)>| match v {
            mural_http::Verdict::Fail(e) => e.message,
            other => panic!("not refused: {other:?}"),
        };
        // 20000x20000 for 512x512: the header alone says no
        let m =
            refused(ASKED.sync_scope((512, 512), || image_verdict(&png_declaring(20000, 20000))));
        assert!(m.contains("20000x20000 image for a 512x512 request"), "{m}");
        // a JPEG is checked before it is decoded too: 16x the pixels asked
        let m = refused(ASKED.sync_scope((256, 256), || image_verdict(&jpeg(1024, 1024))));
        assert!(m.contains("1024x1024 image for a 256x256 request"), "{m}");
        // up to 4x the pixels is a painter's upscale, and fine
        let ok = ASKED
            .sync_scope((256, 256), || to_png(&jpeg(512, 512)))
            .unwrap();
        assert_eq!((ok.1, ok.2), (512, 512));
        // outside a painter built by `build`, only the hard cap holds
        assert!(to_png(&png_declaring(MAX_SIDE + 1, 1))
            .unwrap_err()
            .contains("larger than mural accepts"));
        assert_eq!(to_png(&png_declaring(64, 64)).unwrap().1, 64);
        // a garbled image is worth another try; a huge one is not
        assert!(matches!(
            image_verdict(b"\x89PNG\r\n\x1a\ngarbage"),
            mural_http::Verdict::Retry { .. }
        ));
    }

    /// A painter whose reply echoes its key.
    struct Echo(&'static str);

    impl Painter for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn model(&self) -> &str {
            "echo-1"
        }
        fn limits(&self) -> crate::Limits {
            crate::Limits {
                max_n: 1,
                sizes: crate::Sizes::Fixed {
                    sizes: vec![(64, 64)],
                },
                max_prompt_chars: None,
            }
        }
        fn source_type(&self) -> crate::SourceType {
            crate::SourceType::TrainedAlgorithmicMedia
        }
        fn paint<'a>(
            &'a self,
            req: &'a crate::PaintRequest,
        ) -> crate::BoxFuture<'a, Result<Vec<crate::Painted>, PaintError>> {
            Box::pin(async move {
                assert_eq!(ASKED.try_with(|a| *a).ok(), Some((req.width, req.height)));
                let mut params = serde_json::Map::new();
                params.insert("task".into(), serde_json::json!({"echo": [self.0]}));
                Ok(vec![crate::Painted {
                    png: Vec::new(),
                    width: 64,
                    height: 64,
                    seed: 1,
                    revised_prompt: Some(format!("a cat, paid by {}", self.0)),
                    params,
                }])
            })
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_key_echoed_in_a_successful_reply_is_scrubbed() {
        let key = "sk-echo-0123456789";
        let mut p = Profile::of_kind(PainterKind::Openai);
        p.api_key_env = Some("MY_KEY".into());
        let env = |k: &str| (k == "MY_KEY").then(|| format!(" {key} "));
        let g = Guarded {
            inner: Box::new(Echo(key)),
            secrets: secrets(&p, &env),
        };
        let req = crate::PaintRequest {
            prompt: "a cat".into(),
            negative_prompt: String::new(),
            width: 64,
            height: 64,
            n: 1,
            seed: 1,
            model: None,
            scene: None,
        };
        let out = g.paint(&req).await.unwrap();
        assert_eq!(
            out[0].revised_prompt.as_deref(),
            Some("a cat, paid by [redacted]")
        );
        assert_eq!(out[0].params["task"]["echo"][0], "[redacted]");
        // api_auth passwords are secrets too
        let mut p = Profile::of_kind(PainterKind::A1111);
        p.api_auth = Some("bob:hunter2-secret".into());
        assert!(secrets(&p, &|_| None).contains(&"hunter2-secret".to_string()));
    }

    #[test]
    fn a_key_in_the_painters_png_text_is_scrubbed() {
        let key = "sk-echo-0123456789".to_string();
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            let mut h = crc32fast::Hasher::new();
            h.update(kind);
            h.update(data);
            c.extend_from_slice(&h.finalize().to_be_bytes());
            c
        };
        let z = |t: &str| miniz_oxide::deflate::compress_to_vec_zlib(t.as_bytes(), 6);
        let plain = png_declaring(1, 1);
        let mut png = plain[..33].to_vec();
        png.extend(chunk(
            b"tEXt",
            format!("parameters\0a cat, by {key}").as_bytes(),
        ));
        png.extend(chunk(
            b"zTXt",
            &[b"Comment\0\0".as_slice(), &z(&key)].concat(),
        ));
        png.extend(chunk(
            b"iTXt",
            &[b"prompt\0\x01\0\0\0".as_slice(), &z("{\"3\": {}}")].concat(),
        ));
        png.extend_from_slice(&plain[33..]);
        assert!(scrub_png_text(&plain, std::slice::from_ref(&key)).is_none());
        let out = scrub_png_text(&png, std::slice::from_ref(&key)).unwrap();
        assert!(!out.windows(key.len()).any(|w| w == key.as_bytes()));
        // still a valid PNG, with the service's other metadata kept
        let d = png::Decoder::new(std::io::Cursor::new(&out));
        let r = d.read_info().unwrap();
        let info = r.info();
        assert_eq!(
            info.uncompressed_latin1_text[0].text,
            "a cat, by [redacted]"
        );
        assert!(
            info.compressed_latin1_text.is_empty(),
            "the zTXt with the key is dropped"
        );
        assert_eq!(info.utf8_text[0].keyword, "prompt");
        assert_eq!(
            redact_bytes(b"xdactx", &["dact".to_string()]),
            b"x[redacted]x"
        );
    }
}
