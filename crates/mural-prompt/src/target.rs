//! Structured prompt -> target text.
//!
//! DALL-E, GPT Image and Flux read prose; Stable Diffusion reads weighted
//! tags within CLIP's 75 tokens plus a negative prompt; Midjourney reads
//! prose plus `--ar/--stylize/--v` parameters.

use crate::compose::{Part, Sentence, Structured};
use crate::text::lower_words;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Where a prompt is going.
///
/// Its name (`name`, `Display`, serde) is canonical ("gpt-image");
/// `FromStr` and serde's `Deserialize` also accept the spellings
/// `data/targets.toml` lists ("gpt-image-2", "mj"), and an unknown name is
/// an [`UnknownTarget`] that lists the names. A CLI flag takes it with
/// clap's `value_parser!(Target)`, which uses `FromStr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Dalle,
    Dalle2,
    GptImage,
    Flux,
    Sd,
    Sdxl,
    /// Midjourney V7 (`--v 7`): the safe default while V7 and V8 take
    /// different parameters.
    Midjourney,
    /// Midjourney V8.x (`--v 8.1`).
    MidjourneyV8,
    /// RunwayML Gen-4 Image: prose, at most 1,000 characters.
    Runway,
    /// Google's Gemini image models: prose, an aspect ratio.
    Gemini,
}

impl Target {
    pub const ALL: [Target; 10] = [
        Target::GptImage,
        Target::Dalle,
        Target::Dalle2,
        Target::Flux,
        Target::Sd,
        Target::Sdxl,
        Target::Midjourney,
        Target::MidjourneyV8,
        Target::Runway,
        Target::Gemini,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Dalle => "dalle",
            Target::Dalle2 => "dalle2",
            Target::GptImage => "gpt-image",
            Target::Flux => "flux",
            Target::Sd => "sd",
            Target::Sdxl => "sdxl",
            Target::Midjourney => "midjourney",
            Target::MidjourneyV8 => "midjourney-v8",
            Target::Runway => "runway",
            Target::Gemini => "gemini",
        }
    }

    /// Parses a target name; accepts the spellings `data/targets.toml`
    /// lists ("gpt-image-2", "mj"). `dalle` and `dalle2` are the retired
    /// DALL-E models' styles (OpenAI shut both down on 2026-05-12), kept
    /// for prompts meant for servers that still speak them.
    pub fn parse(s: &str) -> Option<Target> {
        let s = s.trim().to_lowercase();
        let spec = specs().iter().find(|t| {
            t.name == s
                || t.aliases.contains(&s)
                || t.alias_prefixes.iter().any(|p| s.starts_with(p.as_str()))
        })?;
        Target::ALL.into_iter().find(|t| t.name() == spec.name)
    }

    /// This target's rules (`data/targets.toml`).
    pub fn spec(self) -> &'static Spec {
        let i = Target::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or_default();
        &spec_index()[i]
    }

    /// Midjourney, any version.
    pub fn is_midjourney(self) -> bool {
        matches!(self, Target::Midjourney | Target::MidjourneyV8)
    }

    /// The Midjourney version this target writes.
    pub fn midjourney_version(self) -> Option<&'static str> {
        let t = crate::midjourney::table();
        match self {
            Target::Midjourney => Some(t.v7.as_str()),
            Target::MidjourneyV8 => Some(t.v8.as_str()),
            _ => None,
        }
    }

    /// FLUX.2 takes no negative prompt: exclusions are said positively.
    pub fn rephrases_exclusions(self) -> bool {
        self.spec().rephrase_exclusions
    }

    pub fn names() -> String {
        Target::ALL.map(|t| t.name()).join(", ")
    }

    /// Prose targets get sentences; the others get tags.
    pub fn is_prose(self) -> bool {
        self.spec().form != Form::Tags
    }

    /// The most characters a prompt for this target may have.
    pub fn max_chars(self) -> Option<usize> {
        self.spec().max_chars
    }

    /// The most CLIP tokens the positive prompt may have.
    pub fn max_clip_tokens(self) -> Option<usize> {
        self.spec().clip_budget.then_some(mural_clip::CHUNK_TOKENS)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no target's: the message suggests the nearest name and
/// lists them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target {name:?}; {}use one of: {}", self.hint(), Target::names())]
pub struct UnknownTarget {
    pub name: String,
}

impl UnknownTarget {
    fn hint(&self) -> String {
        crate::text::nearest(&self.name, Target::ALL.map(|t| t.name()))
            .map(|n| format!("did you mean {n}? "))
            .unwrap_or_default()
    }
}

impl FromStr for Target {
    type Err = UnknownTarget;

    /// [`Target::parse`], with an error that lists the targets.
    fn from_str(s: &str) -> Result<Target, UnknownTarget> {
        Target::parse(s).ok_or_else(|| UnknownTarget {
            name: s.to_string(),
        })
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// How a target's prompt is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    Prose,
    Tags,
    Midjourney,
}

/// How `params` carry the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeParam {
    /// `"size": "WxH"`.
    Size,
    /// `"width"`, `"height"`.
    Wh,
    /// `"ratio": "W:H"`.
    Ratio,
    /// The catalog model's nearest `"aspectRatio"`.
    Aspect,
    /// None (Midjourney writes `--ar` in the text).
    None,
}

/// The sizes a target takes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SizeList {
    /// "catalog": the provider's current model's own rules.
    Catalog(String),
    Fixed(Vec<String>),
}

/// The style parameter a target sets by look.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleParam {
    pub photographic: String,
    pub other: String,
}

/// One target's rules (`data/targets.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub alias_prefixes: Vec<String>,
    pub form: Form,
    pub max_chars: Option<usize>,
    pub note: Option<String>,
    /// Whose current default image model `params.model` names.
    pub provider: Option<mural_catalog::Provider>,
    pub sizes: Option<SizeList>,
    pub size: SizeParam,
    #[serde(default)]
    pub params: Map<String, Value>,
    pub style_param: Option<StyleParam>,
    #[serde(default)]
    pub rephrase_exclusions: bool,
    #[serde(default)]
    pub clip_budget: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    targets: Vec<Spec>,
}

/// Every target's rules, in the file's order.
pub fn specs() -> &'static [Spec] {
    static T: OnceLock<Vec<Spec>> = OnceLock::new();
    T.get_or_init(
        || match toml::from_str::<Table>(include_str!("../data/targets.toml")) {
            Ok(t) => t.targets,
            // held to the schema by `tests::every_target_has_its_rules`
            Err(e) => unreachable!("data/targets.toml: {e}"),
        },
    )
}

/// The rules in `Target::ALL`'s order.
fn spec_index() -> &'static [Spec] {
    static I: OnceLock<Vec<Spec>> = OnceLock::new();
    I.get_or_init(|| {
        Target::ALL
            .iter()
            .map(|t| {
                specs()
                    .iter()
                    .find(|s| s.name == t.name())
                    .cloned()
                    .unwrap_or_else(|| unreachable!("no rules for target {t}"))
            })
            .collect()
    })
}

/// A prompt ready for one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rendered {
    pub prompt: String,
    pub negative_prompt: String,
    pub params: Map<String, Value>,
}

/// Why a prompt cannot be rendered for a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the idea alone is {len} characters, over {target}'s limit of {limit}; shorten it or pick another target")]
    TooLong {
        target: Target,
        len: usize,
        limit: usize,
    },
}

/// Renders a structured prompt for `target`.
pub fn render(s: &Structured, target: Target) -> Result<Rendered, RenderError> {
    match target.spec().form {
        Form::Tags => Ok(render_tags(s, target)),
        Form::Midjourney => Ok(render_midjourney(s, target)),
        Form::Prose => render_prose(s, target),
    }
}

/// Which sentences go first when a prompt must shrink: the least
/// important first; the subject, counts, relations and quoted text stay.
fn drop_rank(part: Part) -> u8 {
    match part {
        Part::Others => 0,
        Part::Framing => 1,
        Part::Setting => 2,
        Part::Look => 3,
        Part::Medium => 4,
        Part::Light => 5,
        Part::Relation | Part::Count => 6,
        Part::Subject | Part::Text => 7,
    }
}

fn fit_prose(
    s: &Structured,
    target: Target,
    mut parts: Vec<Sentence>,
) -> Result<String, RenderError> {
    let Some(limit) = target.max_chars() else {
        return Ok(join_sentences(&parts));
    };
    loop {
        let text = join_sentences(&parts);
        if text.chars().count() <= limit {
            return Ok(text);
        }
        let droppable = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| drop_rank(p.part) < 7)
            .min_by_key(|(i, p)| (drop_rank(p.part), usize::MAX - i))
            .map(|(i, _)| i);
        if let Some(i) = droppable {
            parts.remove(i);
            continue;
        }
        let bare = s.subject.trim().to_string();
        if bare.chars().count() <= limit {
            return Ok(bare);
        }
        return Err(RenderError::TooLong {
            target,
            len: bare.chars().count(),
            limit,
        });
    }
}

fn join_sentences(parts: &[Sentence]) -> String {
    parts
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn size_for(target: Target, aspect: (u32, u32)) -> (u32, u32) {
    let spec = target.spec();
    let fixed: Vec<(u32, u32)> = match &spec.sizes {
        Some(SizeList::Fixed(list)) => list
            .iter()
            .filter_map(|s| {
                let (w, h) = s.split_once('x')?;
                Some((w.parse().ok()?, h.parse().ok()?))
            })
            .collect(),
        // the current model's own sizes, from the catalog
        Some(SizeList::Catalog(_)) => {
            return spec
                .provider
                .and_then(catalog_rules)
                .map(|(_, r)| r.fit_aspect(aspect, 1024 * 1024))
                .unwrap_or((1024, 1024))
        }
        None => Vec::new(),
    };
    let ratio = aspect.0.max(1) as f64 / aspect.1.max(1) as f64;
    fixed
        .into_iter()
        .min_by(|a, b| {
            let da = ((a.0 as f64 / a.1 as f64).ln() - ratio.ln()).abs();
            let db = ((b.0 as f64 / b.1 as f64).ln() - ratio.ln()).abs();
            da.total_cmp(&db)
        })
        .unwrap_or((1024, 1024))
}

/// The catalog's default image model of a provider, with its rules.
fn catalog_rules(
    p: mural_catalog::Provider,
) -> Option<(&'static str, &'static mural_catalog::ImageRules)> {
    let m = mural_catalog::Catalog::current().default_model(p, mural_catalog::Kind::Image)?;
    Some((m.id.as_str(), m.image.as_ref()?))
}

/// FLUX.2 reads every word it is given, "no" included: the opening loses
/// its exclusion clause, and a sentence says positively what is there.
fn positive_exclusions(s: &Structured, mut parts: Vec<Sentence>) -> Vec<Sentence> {
    if s.negations.is_empty() {
        return parts;
    }
    let Some(first) = parts.first_mut() else {
        return parts;
    };
    let kept = without_negations(&first.text, &s.negations);
    if kept.trim().is_empty() || kept == first.text {
        return parts;
    }
    first.text = kept;
    let populating = s.negations.iter().any(|n| crate::check::populates(n));
    let text = if populating {
        "The scene is deserted and quiet, empty all around."
    } else {
        "Only what is named is in view, plain and uncluttered."
    };
    parts.insert(
        1,
        Sentence {
            part: Part::Subject,
            text: text.to_string(),
        },
    );
    parts
}

fn render_prose(s: &Structured, target: Target) -> Result<Rendered, RenderError> {
    let parts = if target.rephrases_exclusions() {
        positive_exclusions(s, s.prose.clone())
    } else {
        s.prose.clone()
    };
    let prompt = fit_prose(s, target, parts)?;
    let (w, h) = size_for(target, s.aspect);
    let spec = target.spec();
    let mut params = Map::new();
    let model = spec.provider.and_then(catalog_rules);
    if let Some((id, _)) = model {
        params.insert("model".into(), json!(id));
    }
    for (k, v) in &spec.params {
        params.insert(k.clone(), v.clone());
    }
    match spec.size {
        SizeParam::Size => {
            params.insert("size".into(), json!(format!("{w}x{h}")));
        }
        SizeParam::Wh => {
            params.insert("width".into(), json!(w));
            params.insert("height".into(), json!(h));
        }
        SizeParam::Ratio => {
            params.insert("ratio".into(), json!(format!("{w}:{h}")));
        }
        SizeParam::Aspect => {
            if let Some(r) = model.and_then(|(_, r)| r.nearest_ratio(s.aspect.0, s.aspect.1)) {
                params.insert("aspectRatio".into(), json!(r));
            }
        }
        SizeParam::None => {}
    }
    if let Some(st) = &spec.style_param {
        let style = if s.photographic {
            &st.photographic
        } else {
            &st.other
        };
        params.insert("style".into(), json!(style));
    }
    Ok(Rendered {
        prompt,
        negative_prompt: String::new(),
        params,
    })
}

fn render_midjourney(s: &Structured, target: Target) -> Rendered {
    let version = target.midjourney_version().unwrap_or("7");
    // Midjourney tends to draw any word it reads, so what the idea excludes
    // leaves the text and goes to --no; the text stays short and front-loaded.
    let mut parts = s.short.clone();
    if let Some(first) = parts.first_mut() {
        if !s.negations.is_empty() {
            first.text = without_negations(&first.text, &s.negations);
        }
    }
    let text = join_sentences(&parts);
    let (aw, ah) = reduce(s.aspect);
    let mut prompt = format!(
        "{text} --ar {aw}:{ah} --stylize {} --v {version}",
        s.stylize
    );
    if s.photographic {
        prompt.push_str(" --style raw");
    }
    if !s.negations.is_empty() {
        prompt.push_str(&format!(" --no {}", s.negations.join(", ")));
    }
    let mut params = Map::new();
    params.insert("ar".into(), json!(format!("{aw}:{ah}")));
    params.insert("stylize".into(), json!(s.stylize));
    params.insert("v".into(), json!(version));
    if s.photographic {
        params.insert("style".into(), json!("raw"));
    }
    if !s.negations.is_empty() {
        params.insert("no".into(), json!(s.negations));
    }
    Rendered {
        prompt,
        negative_prompt: String::new(),
        params,
    }
}

/// A sentence with its negation clause removed ("a beach without umbrellas"
/// -> "a beach"; "a park with no people, only pigeons" -> "a park, only
/// pigeons"). Quoted text is never touched.
pub fn without_negations(text: &str, negations: &[String]) -> String {
    let k = mural_knowledge::knowledge();
    let negs = &k.lexicon.terms.negations;
    let quotes = crate::analysis::quoted_spans(text);
    let ws = crate::text::words(text);
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let in_quote = quotes
            .iter()
            .any(|&(s, e, _)| ws[i].start >= s && ws[i].end <= e);
        let neg = !in_quote
            && negs.contains(&ws[i].lower)
            && ws[i + 1..].iter().take(3).any(|w| {
                negations
                    .iter()
                    .any(|n| crate::text::stem(n) == crate::text::stem(&w.lower))
            });
        if !neg {
            i += 1;
            continue;
        }
        let mut start = i;
        if i > 0 && ws[i - 1].lower == "with" {
            start = i - 1;
        }
        let mut j = i + 1;
        let mut last = i;
        while j < ws.len() {
            let w = &ws[j].lower;
            if negations
                .iter()
                .any(|n| crate::text::stem(n) == crate::text::stem(w))
            {
                last = j;
            } else if !matches!(
                w.as_str(),
                "or" | "and" | "any" | "a" | "an" | "the" | "nor"
            ) {
                break;
            }
            if text[ws[j].end..].starts_with(',') && j >= last {
                break;
            }
            j += 1;
        }
        cut.push((ws[start].start, ws[last].end));
        i = last + 1;
    }
    let mut out = String::new();
    let mut pos = 0;
    for (s, e) in cut {
        out.push_str(&text[pos..s]);
        pos = e;
    }
    out.push_str(&text[pos..]);
    let mut out = out.replace(" ,", ",").replace(" .", ".");
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    let out = out.replace(",,", ",").replace(", .", ".");
    out.trim().trim_start_matches(',').trim().to_string()
}

fn reduce((w, h): (u32, u32)) -> (u32, u32) {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(w, h).max(1);
    (w / g, h / g)
}

/// The idea as a tag: articles and auxiliaries dropped outside quotes,
/// the negation clause moved to the negative prompt, sentences joined by
/// commas. Every content word stays.
pub fn subject_tag(idea: &str, negations: &[String], aggressive: bool) -> String {
    let quotes = crate::analysis::quoted_spans(idea);
    let k = mural_knowledge::knowledge();
    let light: &[&str] = &[
        "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "that", "which",
    ];
    let negs = &k.lexicon.terms.negations;
    let ws = crate::text::words(idea);
    let mut out = String::new();
    let mut last = 0;
    let mut skip_until = 0;
    for (i, w) in ws.iter().enumerate() {
        if quotes.iter().any(|&(s, e, _)| w.start >= s && w.end <= e) {
            continue;
        }
        let drop_negation =
            negs.contains(&w.lower) && ws.get(i + 1).is_some_and(|n| negations.contains(&n.lower));
        if drop_negation {
            // drop "without people or cars" up to the last negated noun
            let mut j = i + 1;
            while j < ws.len()
                && (negations.contains(&ws[j].lower)
                    || matches!(ws[j].lower.as_str(), "or" | "and" | "any"))
            {
                j += 1;
            }
            while j > i + 1 && !negations.contains(&ws[j - 1].lower) {
                j -= 1;
            }
            skip_until = j;
        }
        let dropped = i < skip_until
            || light.contains(&w.lower.as_str())
            || (aggressive && k.lexicon.stopwords.contains(&w.lower));
        if dropped {
            out.push_str(&idea[last..w.start]);
            last = w.end;
        }
    }
    out.push_str(&idea[last..]);
    // tidy outside quotes: sentence ends become commas, spaces collapse
    let kept = crate::analysis::quoted_spans(&out);
    let mut tidy = String::with_capacity(out.len());
    let mut pos = 0;
    for (s, e, _) in kept
        .iter()
        .chain(std::iter::once(&(out.len(), out.len(), String::new())))
    {
        tidy.push_str(&out[pos..*s].replace(['.', ';'], ",").replace(" ,", ","));
        tidy.push_str(&out[*s..*e]);
        pos = *e;
    }
    while tidy.contains("  ") {
        tidy = tidy.replace("  ", " ");
    }
    while tidy.contains(",,") || tidy.contains(", ,") {
        tidy = tidy.replace(",,", ",").replace(", ,", ",");
    }
    tidy.trim()
        .trim_matches(|c: char| c == ',' || c.is_whitespace())
        .to_string()
}

fn render_tags(s: &Structured, target: Target) -> Rendered {
    let budget = mural_clip::CHUNK_TOKENS;
    // the idea without what it excludes: that goes to the negative prompt
    let idea = if s.negations.is_empty() {
        s.subject.clone()
    } else {
        without_negations(&s.subject, &s.negations)
    };
    let mut subject = subject_tag(&idea, &s.negations, false);
    if mural_clip::count(&subject) > budget {
        subject = subject_tag(&idea, &s.negations, true);
    }
    // Tags by priority; added while they fit the budget. The fragile part
    // of the idea (a count) is weighted, not the whole idea.
    let mut candidates: Vec<String> = Vec::new();
    candidates.extend(s.lead_tag.iter().cloned());
    for wgt in &s.weighted {
        candidates.push(if target == Target::Sd {
            format!("({wgt}:1.2)")
        } else {
            format!("({wgt}:1.1)")
        });
    }
    candidates.extend(s.tags.iter().cloned());
    candidates.extend(s.quality.iter().cloned());
    let subject_words = lower_words(&subject);
    let mut used = mural_clip::count(&subject);
    let mut tags = vec![subject];
    let mut seen: Vec<String> = vec![tags[0].to_lowercase()];
    for c in candidates {
        let c = c.trim().trim_matches(',').trim().to_string();
        let key = c.to_lowercase();
        // skip repeats, and tags the subject already says ("sunset")
        let said = !c.starts_with('(') && lower_words(&c).iter().all(|w| subject_words.contains(w));
        if seen.contains(&key) || c.is_empty() || said {
            continue;
        }
        // ", " adds one token between word-edged tags; where punctuation
        // meets the comma (")," is one piece) count the whole prompt.
        let edge = |s: &str| {
            s.starts_with(|ch: char| !ch.is_alphanumeric())
                || s.ends_with(|ch: char| !ch.is_alphanumeric())
        };
        let total = if edge(&c) || tags.last().is_some_and(|t| edge(t)) {
            mural_clip::count(&format!("{}, {c}", tags.join(", ")))
        } else {
            used + 1 + mural_clip::count(&c)
        };
        if total <= budget {
            used = total;
            tags.push(c);
            seen.push(key);
        }
    }
    // The negative prompt gets the same budget, and never fights the
    // positive one.
    let positive_words: Vec<String> = tags.iter().flat_map(|t| lower_words(t)).collect();
    let mut negative: Vec<String> = Vec::new();
    for n in &s.negative {
        let nw = lower_words(n);
        let fights = !s.negations.contains(n) && nw.iter().all(|w| positive_words.contains(w));
        if fights {
            continue;
        }
        let trial = if negative.is_empty() {
            n.clone()
        } else {
            format!("{}, {n}", negative.join(", "))
        };
        if mural_clip::count(&trial) <= budget {
            negative.push(n.clone());
        }
    }
    let (w, h) = size_for(target, s.aspect);
    let mut params = Map::new();
    params.insert("width".into(), json!(w));
    params.insert("height".into(), json!(h));
    params.insert(
        "steps".into(),
        json!(if target == Target::Sd { 30 } else { 35 }),
    );
    params.insert(
        "cfg_scale".into(),
        json!(if target == Target::Sd { 7.0 } else { 6.0 }),
    );
    params.insert("sampler_name".into(), json!("DPM++ 2M"));
    params.insert("scheduler".into(), json!("Karras"));
    Rendered {
        prompt: tags.join(", "),
        negative_prompt: negative.join(", "),
        params,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_target_has_its_rules() {
        assert_eq!(specs().len(), Target::ALL.len());
        for t in Target::ALL {
            assert_eq!(t.spec().name, t.name());
            assert_eq!(Target::parse(t.name()), Some(t));
            for a in &t.spec().aliases {
                assert_eq!(Target::parse(a), Some(t), "{a}");
            }
            let (w, h) = size_for(t, (16, 9));
            assert!(w >= h, "{t}: {w}x{h}");
        }
        assert_eq!(
            Target::parse("gpt-image-2.6-sunburst"),
            Some(Target::GptImage)
        );
        assert_eq!(Target::parse("dalle4"), None);
    }
    use super::*;

    #[test]
    fn target_names_round_trip() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.name()), Some(t));
        }
        assert_eq!(Target::parse("dall-e-3"), Some(Target::Dalle));
        assert_eq!(Target::parse("nope"), None);
    }

    #[test]
    fn target_from_str_takes_aliases_and_lists_the_names() {
        for t in Target::ALL {
            assert_eq!(t.name().parse::<Target>(), Ok(t));
            assert_eq!(t.to_string().to_uppercase().parse::<Target>(), Ok(t));
            for a in &t.spec().aliases {
                assert_eq!(a.parse::<Target>(), Ok(t), "{a}");
            }
        }
        assert_eq!(" MJ ".parse::<Target>(), Ok(Target::Midjourney));
        assert_eq!("gpt-image-2".parse::<Target>(), Ok(Target::GptImage));
        let e = "dalle4".parse::<Target>().unwrap_err();
        assert_eq!(e.name, "dalle4");
        assert_eq!(
            e.to_string(),
            format!(
                "unknown target \"dalle4\"; did you mean dalle? use one of: {}",
                Target::names()
            )
        );
        let far = "zzzzzzzz".parse::<Target>().unwrap_err().to_string();
        assert!(!far.contains("did you mean"), "{far}");
        assert!(e.to_string().contains(
            "gpt-image, dalle, dalle2, flux, sd, sdxl, midjourney, midjourney-v8, runway, gemini"
        ));
    }

    #[test]
    fn target_serde_writes_the_name_and_reads_aliases() {
        for t in Target::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.name()));
            assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), t);
            for a in &t.spec().aliases {
                assert_eq!(
                    serde_json::from_value::<Target>(json!(a)).unwrap(),
                    t,
                    "{a}"
                );
            }
        }
        // the names serde wrote before (kebab-case variants) still read
        assert_eq!(
            serde_json::from_str::<Target>("\"midjourney-v8\"").unwrap(),
            Target::MidjourneyV8
        );
        #[derive(Deserialize)]
        struct Req {
            target: Target,
        }
        let r: Req = toml::from_str("target = \"mj\"").unwrap();
        assert_eq!(r.target, Target::Midjourney);
        let e = serde_json::from_str::<Target>("\"nope\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown target \"nope\"; use one of: gpt-image, dalle"),
            "{e}"
        );
        assert!(serde_json::from_str::<Target>("3").is_err());
    }

    #[test]
    fn subject_tags_drop_articles_not_content() {
        assert_eq!(subject_tag("a beach sunset", &[], false), "beach sunset");
        assert_eq!(
            subject_tag(
                "A city street at night without people or cars",
                &["people".into(), "cars".into()],
                false
            ),
            "city street at night"
        );
        assert_eq!(
            subject_tag("a sign that says \"The End\". It is red.", &[], false),
            "sign says \"The End\", It red"
        );
    }

    #[test]
    fn sizes_follow_aspect() {
        assert_eq!(size_for(Target::Dalle, (16, 9)), (1792, 1024));
        assert_eq!(size_for(Target::Sd, (2, 3)), (512, 768));
        assert_eq!(size_for(Target::Sdxl, (1, 1)), (1024, 1024));
    }
}
