//! The kinds of painter this build knows.

use mural_prompt::Target;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A kind of painter: `kind = "a1111"` in a `[painters.NAME]` profile, the
/// first part of `--painter a1111/MODEL`. Its name (`as_str`, `Display`,
/// serde, and clap's `ValueEnum` under the `clap` feature) is lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "clap", value(rename_all = "lower"))]
pub enum PainterKind {
    /// The built-in storyboard sketch (no service).
    #[default]
    Sketch,
    /// OpenAI Images (and servers that speak it).
    Openai,
    /// AUTOMATIC1111 or Forge (`/sdapi/v1`).
    A1111,
    /// ComfyUI.
    Comfyui,
    /// Stability AI.
    Stability,
    /// RunwayML.
    Runway,
    /// Black Forest Labs (FLUX).
    Bfl,
    /// Google Gemini.
    Gemini,
    /// Replicate.
    Replicate,
}

impl PainterKind {
    /// Every kind, the built-in one first.
    pub const ALL: [PainterKind; 9] = [
        PainterKind::Sketch,
        PainterKind::Openai,
        PainterKind::A1111,
        PainterKind::Comfyui,
        PainterKind::Stability,
        PainterKind::Runway,
        PainterKind::Bfl,
        PainterKind::Gemini,
        PainterKind::Replicate,
    ];

    /// The kind's name ("a1111").
    pub fn as_str(self) -> &'static str {
        match self {
            PainterKind::Sketch => "sketch",
            PainterKind::Openai => "openai",
            PainterKind::A1111 => "a1111",
            PainterKind::Comfyui => "comfyui",
            PainterKind::Stability => "stability",
            PainterKind::Runway => "runway",
            PainterKind::Bfl => "bfl",
            PainterKind::Gemini => "gemini",
            PainterKind::Replicate => "replicate",
        }
    }

    /// Every kind's name, comma-separated, for messages.
    pub fn names() -> String {
        PainterKind::ALL.map(PainterKind::as_str).join(", ")
    }

    /// The writer target that suits this kind and model: tags for Stable
    /// Diffusion servers, Runway's own budget, DALL-E 2's shorter limit.
    pub fn suggested_target(self, model: &str) -> Target {
        match self {
            PainterKind::Openai if model == "dall-e-2" => Target::Dalle2,
            PainterKind::A1111 | PainterKind::Comfyui => Target::Sdxl,
            PainterKind::Stability | PainterKind::Bfl => Target::Flux,
            PainterKind::Runway => Target::Runway,
            PainterKind::Gemini => Target::Gemini,
            PainterKind::Sketch | PainterKind::Openai | PainterKind::Replicate => Target::GptImage,
        }
    }
}

impl fmt::Display for PainterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no painter kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown painter kind {name:?}; use one of: {}", PainterKind::names())]
pub struct UnknownPainterKind {
    pub name: String,
}

impl FromStr for PainterKind {
    type Err = UnknownPainterKind;

    /// A kind's exact name ("a1111", not "A1111" or "forge").
    fn from_str(s: &str) -> Result<PainterKind, UnknownPainterKind> {
        PainterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownPainterKind {
                name: s.to_string(),
            })
    }
}

impl Serialize for PainterKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PainterKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PainterKind, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// `kind = "..."` in a `[painters.NAME]` profile: an unknown kind says
/// that the profile has it, and lists the kinds.
pub(crate) fn profile_kind<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<PainterKind, D::Error> {
    let name = std::borrow::Cow::<str>::deserialize(d)?;
    name.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "a painter profile has kind {name:?}; use one of: {}",
            PainterKind::names()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD_KINDS: [&str; 9] = [
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

    #[test]
    fn painter_kinds_keep_their_names_through_parse_display_and_serde() {
        assert_eq!(PainterKind::ALL.map(PainterKind::as_str), OLD_KINDS);
        for k in PainterKind::ALL {
            assert_eq!(k.as_str().parse::<PainterKind>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<PainterKind>(&json).unwrap(), k);
        }
        assert_eq!(PainterKind::default(), PainterKind::Sketch);
    }

    #[test]
    fn an_unknown_painter_kind_lists_the_kinds() {
        let e = "dalle".parse::<PainterKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown painter kind \"dalle\"; use one of: sketch, openai, a1111, comfyui, stability, runway, bfl, gemini, replicate"
        );
        assert!("A1111".parse::<PainterKind>().is_err());
        assert!("".parse::<PainterKind>().is_err());
        let e = serde_json::from_str::<PainterKind>("\"dalle\"").unwrap_err();
        assert!(
            e.to_string().starts_with("unknown painter kind \"dalle\""),
            "{e}"
        );
    }

    #[test]
    fn a_profile_with_an_unknown_kind_says_so_and_lists_the_kinds() {
        let p: crate::Profile = toml::from_str("kind = \"a1111\"\nurl = \"http://x\"\n").unwrap();
        assert_eq!(p.kind, PainterKind::A1111);
        let e = toml::from_str::<crate::Profile>("kind = \"dalle\"\n").unwrap_err();
        assert!(
            e.message()
                .starts_with("a painter profile has kind \"dalle\"; use one of: sketch, openai,"),
            "{e}"
        );
    }

    #[test]
    fn each_kind_suggests_its_target() {
        let t = |k: PainterKind, m: &str| k.suggested_target(m).name();
        assert_eq!(t(PainterKind::Openai, "dall-e-2"), "dalle2");
        assert_eq!(t(PainterKind::Openai, "gpt-image-2"), "gpt-image");
        assert_eq!(t(PainterKind::A1111, ""), "sdxl");
        assert_eq!(t(PainterKind::Comfyui, ""), "sdxl");
        assert_eq!(t(PainterKind::Stability, ""), "flux");
        assert_eq!(t(PainterKind::Bfl, ""), "flux");
        assert_eq!(t(PainterKind::Runway, ""), "runway");
        assert_eq!(t(PainterKind::Gemini, ""), "gemini");
        assert_eq!(t(PainterKind::Replicate, ""), "gpt-image");
        assert_eq!(t(PainterKind::Sketch, ""), "gpt-image");
    }

    #[cfg(feature = "clap")]
    #[test]
    fn clap_takes_the_same_names() {
        use clap::ValueEnum;
        for k in PainterKind::ALL {
            let v = k.to_possible_value().unwrap();
            assert_eq!(v.get_name(), k.as_str());
            assert_eq!(
                <PainterKind as ValueEnum>::from_str(k.as_str(), false),
                Ok(k)
            );
        }
        assert_eq!(PainterKind::value_variants(), &PainterKind::ALL);
    }
}
