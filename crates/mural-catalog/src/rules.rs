//! An image model's request rules, and the checks a request must pass
//! before it is sent.

use serde::{Deserialize, Serialize};

/// How a model's images come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Base64 in the reply only (no URL).
    B64,
    /// A URL to download.
    Url,
    /// Either, as asked (`response_format`).
    B64OrUrl,
}

/// Free WxH sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeSize {
    /// Each side is a multiple of this.
    pub multiple: u32,
    /// The longest side allowed.
    #[serde(default)]
    pub max_side: Option<u32>,
    #[serde(default)]
    pub min_side: Option<u32>,
    #[serde(default)]
    pub min_pixels: Option<u64>,
    #[serde(default)]
    pub max_pixels: Option<u64>,
    /// Long side over short side, at most.
    #[serde(default)]
    pub max_aspect: Option<f64>,
}

impl FreeSize {
    /// Checks WxH; the error says what is allowed.
    pub fn check(&self, w: u32, h: u32) -> Result<(), String> {
        let m = self.multiple.max(1);
        let (long, short) = (w.max(h), w.min(h));
        let px = u64::from(w) * u64::from(h);
        let rule = self.describe();
        let fail = |why: String| Err(format!("size {w}x{h} {why}; {rule}"));
        if w % m != 0 || h % m != 0 {
            return fail(format!("is not a multiple of {m} on each side"));
        }
        if let Some(max) = self.max_side.filter(|max| long > *max) {
            return fail(format!("has a side over {max}"));
        }
        if let Some(min) = self.min_side.filter(|min| short < *min) {
            return fail(format!("has a side under {min}"));
        }
        if let Some(min) = self.min_pixels.filter(|min| px < *min) {
            return fail(format!("has fewer than {min} pixels"));
        }
        if let Some(max) = self.max_pixels.filter(|max| px > *max) {
            return fail(format!("has more than {max} pixels"));
        }
        if let Some(a) = self.max_aspect {
            if short == 0 || f64::from(long) / f64::from(short) > a + 1e-9 {
                return fail(format!("is wider than {a}:1"));
            }
        }
        Ok(())
    }

    /// The rule in words.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.max_side {
            Some(max) => format!("sides are multiples of {} up to {max}", self.multiple),
            None => format!("sides are multiples of {}", self.multiple),
        }];
        if let Some(v) = self.min_side {
            parts.push(format!("at least {v}"));
        }
        match (self.min_pixels, self.max_pixels) {
            (Some(a), Some(b)) => parts.push(format!("{a} to {b} pixels")),
            (None, Some(b)) => parts.push(format!("at most {b} pixels")),
            (Some(a), None) => parts.push(format!("at least {a} pixels")),
            (None, None) => {}
        }
        if let Some(a) = self.max_aspect {
            parts.push(format!("no wider than {a}:1"));
        }
        parts.join(", ")
    }

    /// The allowed size nearest an aspect ratio, with about `pixels`
    /// pixels (clamped to the model's range).
    pub fn fit(&self, aspect: (u32, u32), pixels: u64) -> (u32, u32) {
        let m = self.multiple.max(1);
        let mut ratio = f64::from(aspect.0.max(1)) / f64::from(aspect.1.max(1));
        if let Some(a) = self.max_aspect {
            ratio = ratio.clamp(1.0 / a, a);
        }
        let mut px = pixels as f64;
        if let Some(min) = self.min_pixels {
            px = px.max(min as f64);
        }
        if let Some(max) = self.max_pixels {
            px = px.min(max as f64);
        }
        let snap = |v: f64, up: bool| {
            let k = v / f64::from(m);
            let k = if up { k.ceil() } else { k.floor() };
            let v = (k as u32).max(1) * m;
            match self.max_side {
                Some(max) => v.min(max / m * m),
                None => v,
            }
        };
        // try rounding each side down, then up, and keep the first that fits
        let w = (px * ratio).sqrt();
        let h = w / ratio;
        for (uw, uh) in [(false, false), (true, true), (true, false), (false, true)] {
            let (a, b) = (snap(w, uw), snap(h, uh));
            if self.check(a, b).is_ok() {
                return (a, b);
            }
        }
        let side = snap(px.sqrt(), false);
        (side, side)
    }
}

/// One entry of a fixed size list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSize {
    /// The model picks.
    Auto,
    Exact(u32, u32),
}

impl ImageSize {
    pub fn parse(s: &str) -> Option<ImageSize> {
        if s.eq_ignore_ascii_case("auto") {
            return Some(ImageSize::Auto);
        }
        let (w, h) = s.split_once('x')?;
        Some(ImageSize::Exact(w.parse().ok()?, h.parse().ok()?))
    }
}

/// What a model takes in a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRules {
    /// A fixed list of sizes ("1024x1024", "auto").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<String>,
    /// Or free sizes within these bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<FreeSize>,
    /// Named output resolutions ("1K", "2K", "4K"), for APIs that take one
    /// with an aspect ratio (Gemini's `imageSize`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<String>,
    /// Aspect ratios, for APIs that take one instead of WxH.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aspect_ratios: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub background: Vec<String>,
    /// `output_format` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<String>,
    /// `output_compression` (0-100) is taken.
    #[serde(default)]
    pub compression: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moderation: Vec<String>,
    /// Images per request.
    #[serde(default)]
    pub n_max: Option<u32>,
    /// The prompt's limit in characters.
    #[serde(default)]
    pub prompt_max: Option<u32>,
    /// Request fields the model rejects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejects: Vec<String>,
    #[serde(default)]
    pub response: Option<Response>,
}

/// The optional fields of an image request, as a painter would send them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageAsk<'a> {
    pub width: u32,
    pub height: u32,
    pub n: u32,
    pub prompt: &'a str,
    pub quality: Option<&'a str>,
    pub background: Option<&'a str>,
    pub format: Option<&'a str>,
    pub compression: Option<u8>,
    pub moderation: Option<&'a str>,
    /// Fields the request will carry, to hold against `rejects`.
    pub fields: &'a [&'a str],
}

impl ImageRules {
    /// The fixed sizes, parsed.
    pub fn fixed_sizes(&self) -> Vec<(u32, u32)> {
        self.sizes
            .iter()
            .filter_map(|s| match ImageSize::parse(s) {
                Some(ImageSize::Exact(w, h)) => Some((w, h)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self.sizes.iter().find(|s| ImageSize::parse(s).is_none()) {
            return Err(format!("size {bad:?} is not WxH or auto"));
        }
        if !self.sizes.is_empty() && self.free.is_some() {
            return Err("give either a fixed size list or free sizes, not both".into());
        }
        if let Some(f) = &self.free {
            if f.multiple == 0 || f.max_side == Some(0) {
                return Err("free sizes need a multiple (and any max_side) above 0".into());
            }
            if matches!((f.min_pixels, f.max_pixels), (Some(a), Some(b)) if a > b) {
                return Err("min_pixels is above max_pixels".into());
            }
        }
        if let Some(bad) = self.aspect_ratios.iter().find(|a| parse_ratio(a).is_none()) {
            return Err(format!("aspect ratio {bad:?} is not W:H"));
        }
        if self.n_max == Some(0) {
            return Err("n_max is 0".into());
        }
        if !self.background.is_empty() && self.rejects.iter().any(|r| r == "background") {
            return Err("background has values but is also rejected".into());
        }
        Ok(())
    }

    /// Checks a request against the rules; the error names the field and
    /// what is allowed.
    pub fn check(&self, ask: &ImageAsk<'_>) -> Result<(), String> {
        if let Some(field) = ask
            .fields
            .iter()
            .find(|f| self.rejects.iter().any(|r| r == *f))
        {
            return Err(format!("this model does not take {field}; remove it"));
        }
        if let Some(f) = &self.free {
            f.check(ask.width, ask.height)?;
        } else if !self.sizes.is_empty() {
            let fixed = self.fixed_sizes();
            if !fixed.contains(&(ask.width, ask.height)) {
                return Err(format!(
                    "size {}x{} is not supported; use one of {}",
                    ask.width,
                    ask.height,
                    self.sizes
                        .iter()
                        .filter(|s| !s.eq_ignore_ascii_case("auto"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let Some(max) = self.n_max.filter(|m| ask.n > *m) {
            return Err(format!(
                "n={} is over this model's {max} images a request",
                ask.n
            ));
        }
        if let Some(max) = self.prompt_max {
            let len = ask.prompt.chars().count();
            if len > max as usize {
                return Err(format!(
                    "the prompt is {len} characters, over this model's limit of {max}; shorten it"
                ));
            }
        }
        one_of("quality", ask.quality, &self.quality)?;
        one_of("background", ask.background, &self.background)?;
        one_of("output_format", ask.format, &self.formats)?;
        one_of("moderation", ask.moderation, &self.moderation)?;
        if let Some(c) = ask.compression {
            if !self.compression {
                return Err("this model does not take output_compression; remove it".into());
            }
            if c > 100 {
                return Err(format!("output_compression {c} is over 100; use 0 to 100"));
            }
            if ask.format.is_none_or(|f| f == "png") {
                return Err(
                    "output_compression needs output_format jpeg or webp; set one of them".into(),
                );
            }
        }
        Ok(())
    }

    /// The allowed size nearest an aspect ratio.
    pub fn fit_aspect(&self, aspect: (u32, u32), pixels: u64) -> (u32, u32) {
        let ratio = f64::from(aspect.0.max(1)) / f64::from(aspect.1.max(1));
        if let Some(f) = &self.free {
            return f.fit(aspect, pixels);
        }
        self.fixed_sizes()
            .into_iter()
            .min_by(|a, b| {
                let d = |s: &(u32, u32)| {
                    ((f64::from(s.0) / f64::from(s.1)).ln() - ratio.ln()).abs()
                        + ((f64::from(s.0) * f64::from(s.1)).ln() - (pixels as f64).ln()).abs()
                            * 0.01
                };
                d(a).total_cmp(&d(b))
            })
            .unwrap_or((1024, 1024))
    }

    /// The listed aspect ratio nearest WxH.
    pub fn nearest_ratio(&self, w: u32, h: u32) -> Option<&str> {
        let want = (f64::from(w.max(1)) / f64::from(h.max(1))).ln();
        self.aspect_ratios
            .iter()
            .filter_map(|a| parse_ratio(a).map(|r| (a.as_str(), (r.ln() - want).abs())))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(a, _)| a)
    }
}

fn one_of(field: &str, value: Option<&str>, allowed: &[String]) -> Result<(), String> {
    let Some(v) = value else { return Ok(()) };
    if allowed.is_empty() {
        return Err(format!("this model does not take {field}; remove it"));
    }
    if allowed.iter().any(|a| a == v) {
        Ok(())
    } else {
        Err(format!(
            "{field} {v:?} is not supported; use one of {}",
            allowed.join(", ")
        ))
    }
}

/// "16:9" as 16/9.
pub fn parse_ratio(s: &str) -> Option<f64> {
    let (a, b) = s.split_once(':')?;
    let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a > 0.0 && b > 0.0).then_some(a / b)
}
