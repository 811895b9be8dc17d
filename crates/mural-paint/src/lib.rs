//! Painters: prompt in, pixels out.
//!
//! Every backend is one type behind the small [`Painter`] trait. The
//! built-in [`SketchPainter`] draws a procedural storyboard sketch of the
//! scene (sky, setting, weather, subjects, text); it is not a neural image and
//! says so in its metadata. Remote painters (OpenAI Images, AUTOMATIC1111,
//! ComfyUI, Stability, RunwayML, BFL FLUX, Gemini, Replicate) implement the
//! same trait in [`remote`],
//! over `mural-http`'s shared retry policy.
//!
//! Architecture invariant: painters return pixels and facts about them; they
//! never write files or touch the gallery. Metadata and storage are the
//! caller's job (`mural-meta`, `mural-gallery`).

mod kind;
pub mod pool;
pub mod remote;
pub mod sketch;

pub use kind::{PainterKind, UnknownPainterKind};
pub use pool::{MemberStats, Pool};
pub use remote::{build, suggested_target, Profile};
pub use sketch::SketchPainter;

use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so `Painter` stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to paint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaintRequest {
    /// The prompt as the target formats it.
    pub prompt: String,
    pub negative_prompt: String,
    pub width: u32,
    pub height: u32,
    /// Images to paint; image `i` uses seed `seed + i`.
    pub n: usize,
    pub seed: u64,
    /// A model name, when the painter has several.
    pub model: Option<String>,
    /// The scene to draw, when the caller knows it better than the prompt
    /// says it: the pipeline gives the idea's scene for prompts the
    /// built-in writer wrote, so words the writer adds ("clouds", "open
    /// space") cannot repaint it. Only the sketch reads it; without it the
    /// sketch reads the scene of the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<mural_prompt::Scene>,
}

/// One painted image, encoded as PNG without metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Painted {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The seed that reproduces it (the painter's real seed, when it reports one).
    pub seed: u64,
    /// The prompt the painter actually used, when it rewrote ours.
    pub revised_prompt: Option<String>,
    /// Painter parameters worth recording (steps, sampler, model ...).
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// What sizes a painter accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Sizes {
    /// Any size with both sides in `min..=max`, a multiple of `step`.
    Range { min: u32, max: u32, step: u32 },
    /// Only these sizes.
    Fixed { sizes: Vec<(u32, u32)> },
    /// Free WxH within a model's rules (multiple, sides, pixels, aspect).
    Free { rule: mural_catalog::FreeSize },
}

/// A painter's limits, checked before any request is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    /// Most images one call may ask for (callers split larger requests).
    pub max_n: usize,
    pub sizes: Sizes,
    pub max_prompt_chars: Option<usize>,
}

impl Limits {
    /// The limits a catalog entry's rules set.
    pub fn from_rules(r: &mural_catalog::ImageRules) -> Limits {
        Limits {
            max_n: r.n_max.map_or(10, |n| n as usize),
            sizes: match &r.free {
                Some(f) => Sizes::Free { rule: f.clone() },
                None => Sizes::Fixed {
                    sizes: r.fixed_sizes(),
                },
            },
            max_prompt_chars: r.prompt_max.map(|m| m as usize),
        }
    }

    /// Checks the prompt's length against the painter's limit.
    pub fn check_prompt(&self, prompt: &str) -> Result<(), PaintError> {
        if prompt.trim().is_empty() {
            return Err(PaintError::InvalidRequest {
                message: "the prompt is empty; give the painter something to paint".into(),
            });
        }
        match self.max_prompt_chars {
            Some(max) if prompt.chars().count() > max => Err(PaintError::InvalidRequest {
                message: format!(
                    "the prompt is {} characters, over this painter's limit of {max}; shorten it or pick a target with a smaller budget",
                    prompt.chars().count()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The size this painter takes that best matches an aspect ratio: the
    /// nearest fixed size, or about a megapixel within the range.
    pub fn fit_aspect(&self, aspect: (u32, u32)) -> (u32, u32) {
        let ratio = aspect.0.max(1) as f64 / aspect.1.max(1) as f64;
        match &self.sizes {
            Sizes::Fixed { sizes } => sizes
                .iter()
                .copied()
                .min_by(|a, b| {
                    let d = |s: &(u32, u32)| ((s.0 as f64 / s.1 as f64).ln() - ratio.ln()).abs();
                    d(a).total_cmp(&d(b))
                })
                .unwrap_or((1024, 1024)),
            Sizes::Free { rule } => rule.fit(aspect, 1024 * 1024),
            Sizes::Range { min, max, step } => {
                let step = (*step).max(1);
                let snap = |v: f64| {
                    let v = ((v / step as f64).round() as u32).max(1) * step;
                    v.clamp(*min, *max)
                };
                // the long side near 1024 (or the painter's maximum)
                let long = 1024f64.min(*max as f64);
                if ratio >= 1.0 {
                    (snap(long), snap(long / ratio))
                } else {
                    (snap(long * ratio), snap(long))
                }
            }
        }
    }

    /// Checks a size; the error says what would be accepted.
    pub fn check_size(&self, width: u32, height: u32) -> Result<(), PaintError> {
        match &self.sizes {
            Sizes::Range { min, max, step } => {
                let ok = |v: u32| v >= *min && v <= *max && v % step == 0;
                if ok(width) && ok(height) {
                    Ok(())
                } else {
                    Err(PaintError::InvalidRequest {
                        message: format!(
                            "size {width}x{height} is not supported; each side must be {min} to {max}{}",
                            if *step > 1 { format!(", a multiple of {step}") } else { String::new() }
                        ),
                    })
                }
            }
            Sizes::Free { rule } => rule
                .check(width, height)
                .map_err(|message| PaintError::InvalidRequest { message }),
            Sizes::Fixed { sizes } => {
                if sizes.contains(&(width, height)) {
                    Ok(())
                } else {
                    let list: Vec<String> = sizes.iter().map(|(w, h)| format!("{w}x{h}")).collect();
                    Err(PaintError::InvalidRequest {
                        message: format!(
                            "size {width}x{height} is not supported; use one of {}",
                            list.join(", ")
                        ),
                    })
                }
            }
        }
    }
}

/// How an image was made, for IPTC DigitalSourceType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceType {
    /// Made by a procedure, not a trained model (the sketch).
    AlgorithmicMedia,
    /// Made by a trained generative model.
    TrainedAlgorithmicMedia,
}

impl SourceType {
    pub fn iptc_uri(self) -> &'static str {
        match self {
            SourceType::AlgorithmicMedia => {
                "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
            }
            SourceType::TrainedAlgorithmicMedia => {
                "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
            }
        }
    }
}

/// Why painting failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaintError {
    /// The request is wrong (size, n, prompt); fix it, don't retry.
    #[error("{message}")]
    InvalidRequest { message: String },
    /// The service refused the content (policy, moderation); don't retry.
    #[error("refused: {reason}")]
    Refused { reason: String },
    /// Credentials missing or rejected; don't retry.
    #[error("{message}")]
    Auth { message: String },
    /// Temporary trouble (timeouts, 429, 5xx); retrying can help.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_ms: Option<u64>,
    },
    /// Anything else.
    #[error("{message}")]
    Failed { message: String },
}

impl PaintError {
    pub fn retryable(&self) -> bool {
        matches!(self, PaintError::Unavailable { .. })
    }
}

/// Anything that paints.
pub trait Painter: Send + Sync {
    /// The kind, as `--painter` names it ("sketch").
    fn name(&self) -> &str;
    /// The model it paints with ("mural-sketch-1").
    fn model(&self) -> &str;
    fn limits(&self) -> Limits;
    fn source_type(&self) -> SourceType;
    /// Paints `req.n` images (at most `limits().max_n`).
    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>>;
    /// A pool's members (health, load, speed); empty for one painter.
    fn pool_stats(&self) -> Vec<MemberStats> {
        Vec::new()
    }
}

/// A thumbnail of a PNG (any color type), at most `max` pixels a side,
/// encoded as PNG.
pub fn thumbnail(png_bytes: &[u8], max: u32) -> Result<Vec<u8>, PaintError> {
    let bad = |e: &dyn std::fmt::Display| PaintError::Failed {
        message: format!("cannot read the image: {e}"),
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| bad(&e))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
    let (w, h) = (frame.width, frame.height);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    match frame.color_type {
        png::ColorType::Rgb => buf[..frame.buffer_size()]
            .chunks_exact(3)
            .for_each(|p| rgba.extend_from_slice(&[p[0], p[1], p[2], 255])),
        png::ColorType::Rgba => rgba.extend_from_slice(&buf[..frame.buffer_size()]),
        png::ColorType::Grayscale => buf[..frame.buffer_size()]
            .iter()
            .for_each(|&g| rgba.extend_from_slice(&[g, g, g, 255])),
        png::ColorType::GrayscaleAlpha => buf[..frame.buffer_size()]
            .chunks_exact(2)
            .for_each(|p| rgba.extend_from_slice(&[p[0], p[0], p[0], p[1]])),
        png::ColorType::Indexed => return Err(bad(&"indexed color")),
    }
    // opaque white underlay, then the image scaled to fit
    let src = tiny_skia::Pixmap::from_vec(
        rgba.chunks_exact(4)
            .flat_map(|p| {
                let a = p[3] as u16;
                [
                    (p[0] as u16 * a / 255) as u8,
                    (p[1] as u16 * a / 255) as u8,
                    (p[2] as u16 * a / 255) as u8,
                    p[3],
                ]
            })
            .collect(),
        tiny_skia::IntSize::from_wh(w, h).ok_or_else(|| bad(&"empty image"))?,
    )
    .ok_or_else(|| bad(&"bad pixel buffer"))?;
    let scale = (max as f32 / w.max(h) as f32).min(1.0);
    let (tw, th) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let mut dst = tiny_skia::Pixmap::new(tw, th).ok_or_else(|| bad(&"empty thumbnail"))?;
    dst.fill(tiny_skia::Color::WHITE);
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bilinear,
        ..Default::default()
    };
    dst.draw_pixmap(
        0,
        0,
        src.as_ref(),
        &paint,
        tiny_skia::Transform::from_scale(scale, scale),
        None,
    );
    sketch::encode_png(&dst)
}

/// Parses "WxH" (1 to 4096 a side unless the painter says otherwise).
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .trim()
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("size {s:?} is not WxH; write it like 1024x768"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("size {s:?} is not WxH; write it like 1024x768"))
    };
    let (w, h) = (parse(w)?, parse(h)?);
    if w == 0 || h == 0 {
        return Err(format!(
            "size {s:?} has a zero side; each side must be at least 1"
        ));
    }
    if w > 4096 || h > 4096 {
        return Err(format!(
            "size {s:?} is over 4096 a side; use 4096x4096 or less"
        ));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_or_explain() {
        assert_eq!(parse_size("1024x768"), Ok((1024, 768)));
        assert!(parse_size("0x0").unwrap_err().contains("zero"));
        assert!(parse_size("5000x10").unwrap_err().contains("4096"));
        assert!(parse_size("big").unwrap_err().contains("WxH"));
    }

    #[test]
    fn thumbnails_fit_the_box() {
        let png = sketch::render_png("a red fox", 400, 200, 1).unwrap();
        let t = thumbnail(&png, 100).unwrap();
        let d = png::Decoder::new(std::io::Cursor::new(&t))
            .read_info()
            .unwrap();
        assert_eq!((d.info().width, d.info().height), (100, 50));
        assert!(thumbnail(b"nope", 10).is_err());
    }

    #[test]
    fn retryable_errors() {
        assert!(PaintError::Unavailable {
            message: "503".into(),
            retry_after_ms: None
        }
        .retryable());
        assert!(!PaintError::Refused {
            reason: "policy".into()
        }
        .retryable());
    }
}
