//! Image metadata: what mural writes into every PNG, and what it can read
//! back from mural's own files and from AUTOMATIC1111, ComfyUI and InvokeAI.
//!
//! mural writes three things:
//! - a tEXt chunk `parameters` in AUTOMATIC1111's infotext format, which
//!   A1111's PNG Info tab, Civitai and other tools read;
//! - an iTXt chunk `mural` with the full JSON recipe;
//! - an XMP packet (iTXt `XML:com.adobe.xmp`) with the IPTC
//!   DigitalSourceType.
//!
//! Architecture invariant: this crate works on bytes. It never opens files
//! and never sees API keys; callers pass only what belongs in the image.

mod infotext;

pub use infotext::{infotext, parse_infotext, quote, Infotext};

use serde::Serialize;
use serde_json::Value;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Why metadata could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetaError {
    #[error("not a PNG file (the PNG signature is missing)")]
    NotPng,
    #[error("corrupt PNG: {0}")]
    Corrupt(String),
    /// A compressed text chunk inflates past [`MAX_CHUNK_TEXT`], or all of
    /// them together past [`MAX_TOTAL_TEXT`] (a decompression bomb).
    #[error("{} (a decompression bomb?); mural inflates at most {} MiB of text per chunk and {} MiB in all", if *total { format!("the compressed text chunks up to {keyword:?} inflate to more than {} MiB in all", MAX_TOTAL_TEXT >> 20) } else { format!("the compressed text chunk {keyword:?} inflates to more than {} MiB", limit >> 20) }, MAX_CHUNK_TEXT >> 20, MAX_TOTAL_TEXT >> 20)]
    TextTooLarge {
        keyword: String,
        limit: usize,
        total: bool,
    },
}

/// The most text one compressed chunk (zTXt, or iTXt with its compression
/// flag) may inflate to. Real metadata (an infotext, a ComfyUI graph) is
/// far smaller; a few hundred KiB of deflate can inflate to gigabytes.
pub const MAX_CHUNK_TEXT: usize = 2 << 20;

/// The most text all compressed chunks of one image may inflate to.
pub const MAX_TOTAL_TEXT: usize = 8 << 20;

/// What mural embeds in an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Embed<'a> {
    /// AUTOMATIC1111 infotext (see [`infotext`]).
    pub parameters: &'a str,
    /// mural's JSON recipe.
    pub recipe: &'a Value,
    /// IPTC DigitalSourceType URI.
    pub digital_source_type: &'a str,
}

/// The keywords mural owns; old copies are replaced, never duplicated.
const OWN_KEYWORDS: &[&str] = &["parameters", "mural", "XML:com.adobe.xmp"];

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + data.len());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
    out
}

fn text_chunk(keyword: &str, text: &str) -> Vec<u8> {
    // tEXt is Latin-1; anything else goes in iTXt.
    if text.chars().all(|c| (c as u32) < 256 && c != '\0') {
        let mut data: Vec<u8> = keyword.bytes().collect();
        data.push(0);
        data.extend(text.chars().map(|c| c as u8));
        chunk(b"tEXt", &data)
    } else {
        itxt_chunk(keyword, text)
    }
}

fn itxt_chunk(keyword: &str, text: &str) -> Vec<u8> {
    let mut data: Vec<u8> = keyword.bytes().collect();
    data.extend_from_slice(&[0, 0, 0, 0, 0]); // null, uncompressed, method, empty lang, empty translated
    data.extend_from_slice(text.as_bytes());
    chunk(b"iTXt", &data)
}

/// The XMP packet that records how the image was made.
pub fn xmp_packet(digital_source_type: &str) -> String {
    format!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <Iptc4xmpExt:DigitalSourceType>{digital_source_type}</Iptc4xmpExt:DigitalSourceType>
   <xmp:CreatorTool>mural {}</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"#,
        env!("CARGO_PKG_VERSION")
    )
}

/// One PNG chunk: its type, its data, and the whole chunk's bytes.
type Chunk<'a> = ([u8; 4], &'a [u8], &'a [u8]);

/// Splits a PNG into its chunks, checking lengths and checksums.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, MetaError> {
    if png.len() < 8 || &png[..8] != SIGNATURE {
        return Err(MetaError::NotPng);
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < png.len() {
        if pos + 12 > png.len() {
            return Err(MetaError::Corrupt("a chunk is cut short".into()));
        }
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .filter(|&e| e <= png.len())
            .ok_or_else(|| MetaError::Corrupt("a chunk runs past the end of the file".into()))?;
        let kind: [u8; 4] = png[pos + 4..pos + 8].try_into().unwrap();
        let data = &png[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(png[end - 4..end].try_into().unwrap());
        let mut h = crc32fast::Hasher::new();
        h.update(&kind);
        h.update(data);
        if h.finalize() != crc {
            return Err(MetaError::Corrupt(format!(
                "bad checksum in the {} chunk",
                String::from_utf8_lossy(&kind)
            )));
        }
        out.push((kind, data, &png[pos..end]));
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    if out.first().map(|c| &c.0) != Some(b"IHDR") {
        return Err(MetaError::Corrupt("the first chunk is not IHDR".into()));
    }
    if out.last().map(|c| &c.0) != Some(b"IEND") {
        return Err(MetaError::Corrupt("the IEND chunk is missing".into()));
    }
    Ok(out)
}

fn keyword_of(kind: &[u8; 4], data: &[u8]) -> Option<String> {
    if matches!(kind, b"tEXt" | b"iTXt" | b"zTXt") {
        let end = data.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&data[..end]).into_owned())
    } else {
        None
    }
}

/// Returns `png` with mural's metadata chunks placed right after IHDR
/// (replacing any earlier copies of the same keywords).
pub fn embed(png: &[u8], meta: &Embed) -> Result<Vec<u8>, MetaError> {
    let parts = chunks(png)?;
    let mut out = Vec::with_capacity(png.len() + 4096);
    out.extend_from_slice(SIGNATURE);
    for (i, (kind, data, whole)) in parts.iter().enumerate() {
        if keyword_of(kind, data).is_some_and(|k| OWN_KEYWORDS.contains(&k.as_str())) {
            continue;
        }
        out.extend_from_slice(whole);
        if i == 0 {
            out.extend(text_chunk("parameters", meta.parameters));
            let recipe = serde_json::to_string(meta.recipe).unwrap_or_else(|_| "{}".into());
            out.extend(itxt_chunk("mural", &recipe));
            out.extend(itxt_chunk(
                "XML:com.adobe.xmp",
                &xmp_packet(meta.digital_source_type),
            ));
        }
    }
    Ok(out)
}

/// Everything `mural info` reports about an image.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// mural's own recipe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mural: Option<Value>,
    /// AUTOMATIC1111 (also Forge, SD.Next, mural) infotext, parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a1111: Option<Infotext>,
    /// ComfyUI's API-format graph (`prompt`) and UI graph (`workflow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comfyui_prompt: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comfyui_workflow: Option<Value>,
    /// InvokeAI's `invokeai_metadata`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invokeai: Option<Value>,
    /// IPTC DigitalSourceType from the XMP packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    /// Other text chunks, as they are.
    pub other_text: Vec<(String, String)>,
}

impl ImageInfo {
    /// Which tools wrote the metadata found.
    pub fn sources(&self) -> Vec<&'static str> {
        let mut s = Vec::new();
        if self.mural.is_some() {
            s.push("mural");
        }
        if self.a1111.is_some() {
            s.push("a1111");
        }
        if self.comfyui_prompt.is_some() || self.comfyui_workflow.is_some() {
            s.push("comfyui");
        }
        if self.invokeai.is_some() {
            s.push("invokeai");
        }
        s
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Inflates zlib data to at most `limit` bytes.
fn inflate(data: &[u8], keyword: &str, limit: usize) -> Result<Option<Vec<u8>>, MetaError> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    match decompress_to_vec_zlib_with_limit(data, limit) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => Err(MetaError::TextTooLarge {
            keyword: keyword.to_string(),
            limit,
            total: limit < MAX_CHUNK_TEXT,
        }),
        // garbled text is skipped, as a reader of foreign files should
        Err(_) => Ok(None),
    }
}

/// The keyword and text of a tEXt, zTXt or iTXt chunk (`None` for other
/// chunks and for text that cannot be read). Compressed text inflates
/// within [`MAX_CHUNK_TEXT`] and what is `left` of [`MAX_TOTAL_TEXT`].
fn text_of(
    kind: &[u8; 4],
    data: &[u8],
    left: &mut usize,
) -> Result<Option<(String, String)>, MetaError> {
    let Some(nul) = data.iter().position(|&b| b == 0) else {
        return Ok(None);
    };
    let keyword = latin1(&data[..nul]);
    let rest = &data[nul + 1..];
    let mut inflated = |compressed: &[u8], keyword: &str| -> Result<Option<Vec<u8>>, MetaError> {
        let got = inflate(compressed, keyword, (*left).min(MAX_CHUNK_TEXT))?;
        if let Some(v) = &got {
            *left -= v.len();
        }
        Ok(got)
    };
    let text = match kind {
        b"tEXt" => Some(latin1(rest)),
        b"zTXt" => match rest.split_first() {
            Some((0, compressed)) => inflated(compressed, &keyword)?.map(|t| latin1(&t)),
            _ => None,
        },
        b"iTXt" => {
            // flag, method, language\0, translated keyword\0, text
            let (flag, method) = match rest {
                [f, m, ..] => (*f, *m),
                _ => return Ok(None),
            };
            let mut fields = rest[2..].splitn(3, |&b| b == 0);
            let (Some(_lang), Some(_translated), Some(body)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Ok(None);
            };
            let bytes = match (flag, method) {
                (0, _) => Some(body.to_vec()),
                (1, 0) => inflated(body, &keyword)?,
                _ => None,
            };
            bytes.and_then(|b| String::from_utf8(b).ok())
        }
        _ => None,
    };
    Ok(text.map(|t| (keyword, t)))
}

/// Reads the metadata of a PNG.
pub fn read(png: &[u8]) -> Result<ImageInfo, MetaError> {
    // Validate the chunk structure first, for a clear error on damage.
    let parts = chunks(png)?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    // the text is read below, within limits; the profile is not needed
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let reader = decoder
        .read_info()
        .map_err(|e| MetaError::Corrupt(e.to_string()))?;
    let info = reader.info();
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut left = MAX_TOTAL_TEXT;
    for (kind, data, _) in &parts {
        if let Some(t) = text_of(kind, data, &mut left)? {
            texts.push(t);
        }
    }
    let mut out = ImageInfo {
        width: info.width,
        height: info.height,
        ..Default::default()
    };
    for (k, v) in texts {
        match k.as_str() {
            "parameters" => out.a1111 = Some(parse_infotext(&v)),
            "mural" => out.mural = serde_json::from_str(&v).ok(),
            "prompt" => out.comfyui_prompt = serde_json::from_str(&v).ok(),
            "workflow" => out.comfyui_workflow = serde_json::from_str(&v).ok(),
            "invokeai_metadata" => out.invokeai = serde_json::from_str(&v).ok(),
            "XML:com.adobe.xmp" => {
                out.digital_source_type = v
                    .split("<Iptc4xmpExt:DigitalSourceType>")
                    .nth(1)
                    .and_then(|r| r.split('<').next())
                    .map(str::to_string);
            }
            _ => out.other_text.push((k, v)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny valid PNG, written with the png crate, with extra text chunks.
    pub(crate) fn tiny_png(texts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 2);
            enc.set_color(png::ColorType::Rgb);
            for (k, v) in texts {
                enc.add_text_chunk(k.to_string(), v.to_string()).unwrap();
            }
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0; 12]).unwrap();
        }
        out
    }

    #[test]
    fn embed_then_read_round_trips() {
        let recipe = serde_json::json!({"idea": "a beach sunset", "seed": 7});
        let params = infotext(
            "a \"quoted\" prompt",
            "blurry",
            &[
                ("Steps", "1".into()),
                ("Seed", "7".into()),
                ("Size", "2x2".into()),
            ],
        );
        let png = embed(
            &tiny_png(&[]),
            &Embed {
                parameters: &params,
                recipe: &recipe,
                digital_source_type:
                    "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            },
        )
        .unwrap();
        let info = read(&png).unwrap();
        assert_eq!(info.mural, Some(recipe));
        let a = info.a1111.unwrap();
        assert_eq!(a.prompt, "a \"quoted\" prompt");
        assert_eq!(a.negative_prompt, "blurry");
        assert_eq!(
            info.digital_source_type.as_deref(),
            Some("http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia")
        );
        // embedding twice replaces, never duplicates
        let again = embed(
            &png,
            &Embed {
                parameters: "x\nSteps: 1, Seed: 2, Size: 2x2",
                recipe: &serde_json::json!({}),
                digital_source_type: "y",
            },
        )
        .unwrap();
        let count = String::from_utf8_lossy(&again)
            .matches("parameters")
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn reads_comfyui_and_invokeai_chunks() {
        let png = tiny_png(&[
            (
                "prompt",
                r#"{"3": {"class_type": "KSampler", "inputs": {"seed": 5}}}"#,
            ),
            ("workflow", r#"{"nodes": []}"#),
            (
                "invokeai_metadata",
                r#"{"positive_prompt": "a cat", "seed": 9}"#,
            ),
        ]);
        let info = read(&png).unwrap();
        assert_eq!(info.comfyui_prompt.unwrap()["3"]["class_type"], "KSampler");
        assert!(info.comfyui_workflow.is_some());
        assert_eq!(info.invokeai.unwrap()["seed"], 9);
        assert!(info.mural.is_none());
    }

    #[test]
    fn bad_files_get_clear_errors() {
        assert_eq!(read(b"hello, not a png"), Err(MetaError::NotPng));
        let mut png = tiny_png(&[]);
        let n = png.len();
        png[n - 20] ^= 0xff; // damage a chunk
        assert!(matches!(read(&png), Err(MetaError::Corrupt(_))));
        let png = tiny_png(&[]);
        assert!(matches!(
            read(&png[..png.len() - 6]),
            Err(MetaError::Corrupt(_))
        ));
    }

    /// `png` with extra chunks right after IHDR.
    fn with_chunks(png: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
        let ihdr_end = 8 + 12 + 13;
        let mut out = png[..ihdr_end].to_vec();
        for c in extra {
            out.extend_from_slice(c);
        }
        out.extend_from_slice(&png[ihdr_end..]);
        out
    }

    fn ztxt(keyword: &str, text: &[u8]) -> Vec<u8> {
        let mut data = keyword.as_bytes().to_vec();
        data.extend_from_slice(&[0, 0]);
        data.extend(miniz_oxide::deflate::compress_to_vec_zlib(text, 9));
        chunk(b"zTXt", &data)
    }

    fn compressed_itxt(keyword: &str, text: &str) -> Vec<u8> {
        let mut data = keyword.as_bytes().to_vec();
        data.extend_from_slice(&[0, 1, 0, 0, 0]);
        data.extend(miniz_oxide::deflate::compress_to_vec_zlib(
            text.as_bytes(),
            9,
        ));
        chunk(b"iTXt", &data)
    }

    #[test]
    fn compressed_text_is_read_within_limits() {
        let png = with_chunks(
            &tiny_png(&[]),
            &[
                ztxt("parameters", b"a cat\nSteps: 20, Seed: 5, Size: 2x2"),
                compressed_itxt("Comment", "caf\u{e9} au lait"),
            ],
        );
        let info = read(&png).unwrap();
        assert_eq!(info.a1111.unwrap().get("Seed"), Some("5"));
        assert_eq!(
            info.other_text,
            vec![("Comment".to_string(), "caf\u{e9} au lait".to_string())]
        );
    }

    #[test]
    fn a_decompression_bomb_in_a_text_chunk_is_refused() {
        // 64 MiB of zeros deflate to about 64 KiB
        let bomb = ztxt("parameters", &vec![0u8; 64 << 20]);
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        let e = read(&with_chunks(&tiny_png(&[]), &[bomb])).unwrap_err();
        assert_eq!(
            e,
            MetaError::TextTooLarge {
                keyword: "parameters".into(),
                limit: MAX_CHUNK_TEXT,
                total: false
            }
        );
        assert!(e.to_string().contains("decompression bomb"), "{e}");
        // many chunks under the per-chunk limit still meet the total
        let one = ztxt("Comment", &vec![b'a'; MAX_CHUNK_TEXT - 1]);
        let many = vec![one; MAX_TOTAL_TEXT / MAX_CHUNK_TEXT + 1];
        let e = read(&with_chunks(&tiny_png(&[]), &many)).unwrap_err();
        assert!(
            matches!(e, MetaError::TextTooLarge { total: true, .. }),
            "{e:?}"
        );
    }
}
