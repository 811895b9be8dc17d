//! The `Writer` trait, and the built-in writer behind it.
//!
//! A writer turns one request (an idea, a target, N, a seed, a style) into N
//! prompts. The built-in writer is offline, instant and deterministic; LLM
//! writers implement the same trait in their own crates.

use crate::analysis::{analyze, Analysis};
use crate::compose::{compose, ComposeOptions, Structured};
use crate::scene::{scene_from, Scene};
use crate::target::{render, RenderError, Target};
use mural_knowledge::knowledge;
use serde::Serialize;
use serde_json::{Map, Value};

/// The longest idea mural accepts, in characters.
pub const MAX_IDEA_CHARS: usize = 4000;
/// The most prompts one request may ask for.
pub const MAX_N: usize = 100;

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub idea: String,
    pub target: Target,
    pub n: usize,
    /// Seed of the first prompt; prompt `i` uses `seed + i`.
    pub seed: u64,
    pub style: Option<String>,
    /// The idea is the user's own detailed prompt: keep it whole and vary
    /// only the look (`mural vary`).
    pub vary: bool,
}

impl WriteRequest {
    pub fn new(idea: impl Into<String>, target: Target) -> WriteRequest {
        WriteRequest {
            idea: idea.into(),
            target,
            n: 1,
            seed: 0,
            style: None,
            vary: false,
        }
    }
}

/// One written prompt.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Written {
    pub idea: String,
    pub target: Target,
    /// The seed that reproduces exactly this prompt.
    pub seed: u64,
    pub index: usize,
    pub prompt: String,
    pub negative_prompt: String,
    pub params: Map<String, Value>,
    /// An LLM's prompt broke an invariant twice and mural repaired it
    /// (see `mural-llm`'s fidelity guard). Shown only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repaired: bool,
}

impl Written {
    /// Adds terms to what the picture must not show (a template's tied
    /// negative, `--negative`), skipping terms already there. Midjourney
    /// has no negative prompt: the terms join its `--no` parameter, in the
    /// text and in `params`. Every other target gets them in
    /// `negative_prompt`.
    pub fn add_negative(&mut self, extra: &str) {
        let terms: Vec<&str> = extra
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if terms.is_empty() {
            return;
        }
        if self.target.is_midjourney() {
            self.add_no(&terms);
        } else {
            self.negative_prompt = merge_terms(&self.negative_prompt, &terms);
        }
    }

    fn add_no(&mut self, terms: &[&str]) {
        let (before, list, after) = match self.prompt.find(" --no ") {
            Some(at) => {
                let rest = &self.prompt[at + 6..];
                let end = rest.find(" --").unwrap_or(rest.len());
                (&self.prompt[..at], &rest[..end], &rest[end..])
            }
            None => (self.prompt.as_str(), "", ""),
        };
        let merged = merge_terms(list, terms);
        self.prompt = format!("{before} --no {merged}{after}");
        let no: Vec<Value> = merged
            .split(',')
            .map(|t| Value::String(t.trim().to_string()))
            .collect();
        self.params.insert("no".to_string(), Value::Array(no));
    }
}

/// `list` (comma-separated) with `terms` added, each once (ignoring case).
fn merge_terms(list: &str, terms: &[&str]) -> String {
    let mut out = list.trim().to_string();
    let mut have: Vec<String> = list.split(',').map(|t| t.trim().to_lowercase()).collect();
    for term in terms {
        if have.contains(&term.to_lowercase()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(term);
        have.push(term.to_lowercase());
    }
    out
}

/// Why a request cannot be written. Every variant says how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    #[error("the idea is empty; give a few words, e.g. mural prompt \"a beach sunset\"")]
    EmptyIdea,
    #[error("the idea is {chars} characters, over the {max}-character limit; shorten it", max = MAX_IDEA_CHARS)]
    IdeaTooLong { chars: usize },
    #[error("-n must be between 1 and {max}, got {n}", max = MAX_N)]
    BadCount { n: usize },
    #[error("unknown style {name:?}; {}run `mural styles` to list them (e.g. {examples})", did_you_mean(.nearest))]
    UnknownStyle {
        name: String,
        /// The known style it most likely misspells.
        nearest: Option<String>,
        examples: String,
    },
    #[error("{0}")]
    Render(#[from] RenderError),
    /// A writer is set up wrong (unknown writer, missing key or model file,
    /// credentials refused): fix the setup.
    #[error("{message}")]
    Config { message: String },
    /// A writer backend failed (LLM writers); `retryable` says whether
    /// trying again can help.
    #[error("{message}")]
    Backend { message: String, retryable: bool },
}

/// "did you mean X? " for a message, or nothing.
fn did_you_mean(nearest: &Option<String>) -> String {
    nearest
        .as_deref()
        .map(|n| format!("did you mean {n}? "))
        .unwrap_or_default()
}

/// Anything that writes prompts.
pub trait Writer: Send + Sync {
    /// Short name for recipes and `--json` output ("builtin").
    fn name(&self) -> &str;
    /// Writes `req.n` prompts, in order; prompt `i` carries seed `req.seed + i`.
    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError>;

    /// Whether every prompt says only what the idea's own scene licenses,
    /// so a painter that draws scenes (the sketch) may draw the idea's
    /// scene instead of reading the prompt. The built-in writer's do; a
    /// language model's prompt is read as written.
    fn writes_from_scene(&self) -> bool {
        false
    }

    /// The same, for async callers (the pipeline): a writer that waits on
    /// the network overrides it so it waits without blocking a thread or
    /// building a runtime of its own. The default runs [`Writer::write`]
    /// in place, which suits writers that only compute (the built-in one
    /// takes a millisecond).
    fn write_async<'a>(
        &'a self,
        req: &'a WriteRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Written>, WriteError>> + Send + 'a>,
    > {
        Box::pin(std::future::ready(self.write(req)))
    }
}

/// Checks what every writer must refuse.
pub fn validate(req: &WriteRequest) -> Result<(), WriteError> {
    let chars = req.idea.chars().count();
    if req.idea.trim().is_empty() {
        return Err(WriteError::EmptyIdea);
    }
    if chars > MAX_IDEA_CHARS {
        return Err(WriteError::IdeaTooLong { chars });
    }
    if req.n == 0 || req.n > MAX_N {
        return Err(WriteError::BadCount { n: req.n });
    }
    if let Some(name) = &req.style {
        if knowledge().style(name).is_none() {
            let examples: Vec<&str> = knowledge()
                .styles
                .iter()
                .take(6)
                .map(|s| s.id.as_str())
                .collect();
            let ids = knowledge().styles.iter().map(|s| s.id.as_str());
            return Err(WriteError::UnknownStyle {
                name: name.clone(),
                nearest: crate::text::nearest(name, ids).map(str::to_string),
                examples: examples.join(", "),
            });
        }
    }
    Ok(())
}

/// The offline, deterministic writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinWriter;

impl BuiltinWriter {
    /// The structured prompt for one seed: what the sketch painter draws
    /// and what every target renders.
    pub fn structure(
        &self,
        scene: &Scene,
        a: &Analysis,
        seed: u64,
        style: Option<&str>,
        vary: bool,
    ) -> Structured {
        self.structure_for(scene, a, seed, style, vary, None)
    }

    /// [`BuiltinWriter::structure`] for one target: a tag target skips the
    /// prose's final polish.
    pub fn structure_for(
        &self,
        scene: &Scene,
        a: &Analysis,
        seed: u64,
        style: Option<&str>,
        vary: bool,
        target: Option<Target>,
    ) -> Structured {
        let style = style.and_then(|s| knowledge().style(s));
        let tags_only = target.is_some_and(|t| !t.is_prose());
        compose(
            scene,
            a,
            seed,
            ComposeOptions {
                style,
                vary,
                tags_only,
            },
        )
    }
}

impl Writer for BuiltinWriter {
    fn name(&self) -> &str {
        "builtin"
    }

    fn writes_from_scene(&self) -> bool {
        true
    }

    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        validate(req)?;
        let idea = req.idea.trim();
        let a = analyze(idea);
        let scene = scene_from(&a);
        (0..req.n)
            .map(|index| {
                let seed = req.seed.wrapping_add(index as u64);
                let s = self.structure_for(
                    &scene,
                    &a,
                    seed,
                    req.style.as_deref(),
                    req.vary,
                    Some(req.target),
                );
                let r = render(&s, req.target)?;
                Ok(Written {
                    idea: idea.to_string(),
                    target: req.target,
                    seed,
                    index,
                    prompt: r.prompt,
                    negative_prompt: r.negative_prompt,
                    params: r.params,
                    repaired: false,
                })
            })
            .collect()
    }
}

/// The writer that does not write: each prompt is the idea itself, as
/// given (for callers that asked not to have their prompt rewritten).
#[derive(Debug, Clone, Copy, Default)]
pub struct VerbatimWriter;

impl Writer for VerbatimWriter {
    fn name(&self) -> &str {
        "verbatim"
    }

    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        validate(req)?;
        Ok((0..req.n)
            .map(|index| Written {
                idea: req.idea.clone(),
                target: req.target,
                seed: req.seed.wrapping_add(index as u64),
                index,
                prompt: req.idea.clone(),
                negative_prompt: String::new(),
                params: Map::new(),
                repaired: false,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_keeps_the_idea() {
        let mut req = WriteRequest::new("exactly <this>, please", Target::Sd);
        req.n = 2;
        let w = VerbatimWriter.write(&req).unwrap();
        assert_eq!(w[1].prompt, "exactly <this>, please");
        assert_eq!(w[1].seed, 1);
        assert!(VerbatimWriter
            .write(&WriteRequest::new(" ", Target::Sd))
            .is_err());
    }

    #[test]
    fn proper_names_keep_their_capitals_and_the_ideas_article() {
        let prose = |idea: &str| write(idea, Target::Dalle, 1, 1).remove(0).prompt;
        // regression: "The taj mahal has ...", "The paris has ..."
        let taj = prose("the Taj Mahal at sunrise");
        assert!(taj.contains(". The Taj Mahal has "), "{taj}");
        let paris = prose("a street in Paris");
        assert!(paris.contains(". Paris has "), "{paris}");
        let ipa = prose("a full pint of IPA");
        assert!(ipa.contains(". IPA has "), "{ipa}");
        // a common noun at the start is no name
        let cats = prose("Cats on a sofa");
        assert!(cats.contains("The cats have "), "{cats}");
        // a Title Case idea names nothing by its capitals
        let soup = prose("A Bowl Of Chicken Soup");
        assert!(soup.contains("The chicken soup has "), "{soup}");
    }

    #[test]
    fn a_negative_joins_the_negative_prompt_or_midjourneys_no() {
        let mut sd = write("a cat", Target::Sd, 1, 1).remove(0);
        let before = sd.negative_prompt.clone();
        sd.add_negative("fog, Fog, ");
        assert!(
            sd.negative_prompt.ends_with("fog"),
            "{}",
            sd.negative_prompt
        );
        assert_eq!(sd.negative_prompt.matches("fog").count(), 1);
        assert!(sd.negative_prompt.starts_with(&before));

        let mut mj = write("a quiet beach without people", Target::Midjourney, 1, 1).remove(0);
        mj.add_negative("fog, people");
        assert!(mj.prompt.ends_with("--no people, fog"), "{}", mj.prompt);
        assert_eq!(mj.params["no"], serde_json::json!(["people", "fog"]));
        assert!(mj.negative_prompt.is_empty());

        let mut mj = write("a cat", Target::MidjourneyV8, 1, 1).remove(0);
        mj.add_negative("fog");
        assert!(mj.prompt.ends_with(" --no fog"), "{}", mj.prompt);
        assert_eq!(mj.prompt.matches("--no").count(), 1);
    }

    fn write(idea: &str, target: Target, n: usize, seed: u64) -> Vec<Written> {
        let mut req = WriteRequest::new(idea, target);
        req.n = n;
        req.seed = seed;
        BuiltinWriter.write(&req).unwrap()
    }

    #[test]
    fn bad_requests_are_refused() {
        let w = BuiltinWriter;
        assert_eq!(
            w.write(&WriteRequest::new("  \n", Target::Dalle)),
            Err(WriteError::EmptyIdea)
        );
        let long = "a".repeat(4001);
        assert!(matches!(
            w.write(&WriteRequest::new(long, Target::Dalle)),
            Err(WriteError::IdeaTooLong { chars: 4001 })
        ));
        let mut r = WriteRequest::new("a cat", Target::Dalle);
        r.n = 0;
        assert_eq!(w.write(&r), Err(WriteError::BadCount { n: 0 }));
        r.n = 101;
        assert_eq!(w.write(&r), Err(WriteError::BadCount { n: 101 }));
        r.n = 1;
        r.style = Some("nope".into());
        assert!(matches!(w.write(&r), Err(WriteError::UnknownStyle { .. })));
        r.style = Some("watercolr".into());
        let e = w.write(&r).unwrap_err().to_string();
        assert!(e.contains("did you mean watercolor?"), "{e}");
    }

    #[test]
    fn each_variation_reproduces_from_its_seed() {
        let many = write("a red fox in the snow", Target::Dalle, 4, 41);
        for w in &many {
            let one = write("a red fox in the snow", Target::Dalle, 1, w.seed);
            assert_eq!(one[0].prompt, w.prompt);
        }
    }

    #[test]
    fn beach_sunset_develops_the_sunset() {
        for seed in 0..20 {
            let p = &write("a beach sunset", Target::Dalle, 1, seed)[0].prompt;
            let words = p.split_whitespace().count();
            assert!((30..=140).contains(&words), "{words} words: {p}");
            let lower = p.to_lowercase();
            assert!(lower.contains("sun"), "{p}");
            for misfit in ["overcast", "midday", "moonlight", "neon", "studio"] {
                assert!(!lower.contains(misfit), "{misfit}: {p}");
            }
        }
    }

    #[test]
    fn watercolor_gets_no_lens_talk() {
        for seed in 0..20 {
            let p = &write("a watercolor of a heron at dawn", Target::Dalle, 1, seed)[0].prompt;
            assert!(
                !p.contains("lens") && !p.contains("mm ") && !p.contains("f/"),
                "{p}"
            );
        }
    }

    #[test]
    fn midnight_gets_no_golden_hour() {
        for seed in 0..30 {
            let p = &write("a lighthouse at midnight", Target::Dalle, 1, seed)[0]
                .prompt
                .to_lowercase();
            assert!(
                !p.contains("golden hour") && !p.contains("midday") && !p.contains("sunlight"),
                "{p}"
            );
        }
    }

    #[test]
    fn a_logo_is_a_square_design_with_only_the_given_words() {
        for seed in 0..8 {
            let w = &write(
                "a logo for a coffee shop called \"Bean There\"",
                Target::Dalle,
                1,
                seed,
            )[0];
            assert!(w.prompt.contains("\"Bean There\""), "{}", w.prompt);
            assert_eq!(w.params["size"], "1024x1024", "{}", w.prompt);
            let lower = w.prompt.to_lowercase();
            assert!(
                !lower.contains("photograph") && !lower.contains("lens"),
                "{}",
                w.prompt
            );
        }
    }

    #[test]
    fn a_sleeper_is_never_alert() {
        for seed in 0..12 {
            let p = write("two puppies sleeping on a rug", Target::Dalle, 1, seed)[0]
                .prompt
                .to_lowercase();
            for misfit in [
                "alert",
                "playful",
                "energetic",
                "bold",
                "adventurous",
                "running",
            ] {
                assert!(!p.contains(misfit), "{misfit}: {p}");
            }
        }
    }

    #[test]
    fn a_headshot_is_vertical() {
        for seed in 0..6 {
            let w = &write(
                "a headshot of a man with a gray beard",
                Target::Dalle,
                1,
                seed,
            )[0];
            assert_eq!(w.params["size"], "1024x1792", "{}", w.prompt);
        }
    }

    #[test]
    fn framing_follows_what_must_be_seen() {
        let size = |idea: &str| write(idea, Target::Dalle, 1, 1)[0].params["size"].clone();
        assert_eq!(size("a login screen for a phone app"), "1024x1792");
        assert_eq!(size("a fox chasing a rabbit across a meadow"), "1792x1024");
        assert_eq!(size("a logo of an owl for a bookstore"), "1024x1024");
    }

    #[test]
    fn each_target_gets_its_craft() {
        // Midjourney: the excluded thing leaves the text for --no
        let mj = &write("a beach without umbrellas", Target::Midjourney, 1, 2)[0].prompt;
        let (text, params) = mj.split_once(" --").unwrap();
        assert!(!text.contains("umbrella"), "{mj}");
        assert!(params.contains("no umbrellas"), "{mj}");
        // Stable Diffusion: the relation survives as a tag, the count is weighted
        let sd = &write("a red cube on top of a blue sphere", Target::Sd, 1, 2)[0];
        assert!(
            sd.prompt.contains("cube on top of blue sphere")
                || sd.prompt.contains("red cube on top of blue sphere"),
            "{}",
            sd.prompt
        );
        let sd = &write("seven candles on a table", Target::Sd, 1, 2)[0].prompt;
        assert!(sd.contains("(seven candles:1.2)"), "{sd}");
        // no "masterpiece" on a photograph
        let photo = &write("a DSLR photo of a fox", Target::Sd, 1, 2)[0].prompt;
        assert!(!photo.contains("masterpiece"), "{photo}");
    }

    #[test]
    fn flux_says_exclusions_positively() {
        for seed in 0..6 {
            let w = &write("a quiet beach without people", Target::Flux, 1, seed)[0];
            let p = w.prompt.to_lowercase();
            assert!(
                !p.contains("without") && !p.contains(" no "),
                "{}",
                w.prompt
            );
            assert!(!p.contains("people"), "{}", w.prompt);
            assert!(p.contains("deserted"), "{}", w.prompt);
            let a = crate::analyze("a quiet beach without people");
            let v = crate::check::check(&a, Target::Flux, &w.prompt, &w.negative_prompt);
            assert!(v.is_empty(), "{v:?}");
        }
        // quoted text and hex colors stay exact
        let w = &write(
            r#"a poster that says "Open #1" in #0047AB blue"#,
            Target::Flux,
            1,
            3,
        )[0];
        assert!(
            w.prompt.contains(r#""Open #1""#) && w.prompt.contains("#0047AB"),
            "{}",
            w.prompt
        );
    }

    #[test]
    fn current_targets_carry_current_models() {
        let g = &write("a red fox in the snow", Target::GptImage, 1, 1)[0];
        let model = g.params["model"].as_str().unwrap();
        let c = mural_catalog::Catalog::builtin();
        let m = c.find(mural_catalog::Provider::Openai, model).unwrap();
        assert_eq!(m.status, mural_catalog::Status::Active);
        let size = g.params["size"].as_str().unwrap();
        let (w, h) = size.split_once('x').unwrap();
        let free = m.image.as_ref().unwrap().free.as_ref().unwrap();
        assert!(
            free.check(w.parse().unwrap(), h.parse().unwrap()).is_ok(),
            "{size}"
        );
        let gem = &write("a red fox in the snow", Target::Gemini, 1, 1)[0];
        let gm = gem.params["model"].as_str().unwrap();
        let rules = c
            .find(mural_catalog::Provider::Google, gm)
            .unwrap()
            .image
            .as_ref()
            .unwrap();
        assert!(rules
            .aspect_ratios
            .iter()
            .any(|r| r == &gem.params["aspectRatio"]));
        let v8 = &write("a red fox in the snow", Target::MidjourneyV8, 1, 1)[0].prompt;
        assert!(v8.contains("--v 8.1"), "{v8}");
        assert!(crate::lint(v8, Target::MidjourneyV8).is_clean(), "{v8}");
        let v7 = &write("a red fox in the snow", Target::Midjourney, 1, 1)[0].prompt;
        assert!(v7.contains("--v 7"), "{v7}");
    }
}
