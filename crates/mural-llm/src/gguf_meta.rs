//! Reads a GGUF file's header and string metadata (architecture, name,
//! fine-tune, chat template) without loading the model, so a bad file gets
//! an error that names it and the reason before llama.cpp sees it.
//!
//! Layout (GGUF v2/v3, little-endian): magic `GGUF`, version u32, tensor
//! count u64, metadata count u64, then per key: a string key (u64 length +
//! bytes), a u32 value type, and the value.

use mural_prompt::WriteError;
use std::collections::BTreeMap;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// What mural needs to know about a model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GgufInfo {
    pub path: PathBuf,
    pub version: u32,
    /// `general.architecture` ("gemma3", "llama", "qwen2").
    pub architecture: String,
    /// String metadata, tokenizer vocabularies left out.
    pub strings: BTreeMap<String, String>,
}

impl GgufInfo {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.strings.get(key).map(String::as_str)
    }

    pub fn chat_template(&self) -> Option<&str> {
        self.get("tokenizer.chat_template")
    }

    /// Whether this is an instruction-tuned model, by its metadata: it has
    /// a chat template and its fine-tune or name says instruct or chat.
    pub fn looks_instruct(&self) -> bool {
        if self.chat_template().is_none() {
            return false;
        }
        let marks = |s: &str| {
            let s = s.to_lowercase();
            s.contains("instruct")
                || s.contains("chat")
                || s.split(|c: char| !c.is_alphanumeric()).any(|w| w == "it")
        };
        [
            "general.finetune",
            "general.name",
            "general.basename",
            "general.type",
        ]
        .iter()
        .filter_map(|k| self.get(k))
        .any(marks)
            || marks(&self.file_stem())
    }

    /// The file's name without `.gguf` ("model" if it has none).
    pub fn file_stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string())
    }

    /// A short name for recipes: `general.name`, else the file stem.
    pub fn display_name(&self) -> String {
        self.get("general.name")
            .map(str::to_string)
            .unwrap_or_else(|| self.file_stem())
    }
}

fn bad(path: &Path, why: impl std::fmt::Display) -> WriteError {
    WriteError::Config {
        message: format!("cannot use the model {}: {why}", path.display()),
    }
}

struct Reader<R> {
    r: R,
}

impl<R: Read + Seek> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let n = i64::try_from(n).map_err(|_| invalid("a length is out of range"))?;
        self.r.seek_relative(n)
    }
    fn string(&mut self, limit: u64) -> std::io::Result<Option<String>> {
        let len = self.u64()?;
        if len > limit {
            self.skip(len)?;
            return Ok(None);
        }
        let mut b = vec![0u8; len as usize];
        self.r.read_exact(&mut b)?;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }
    /// Skips one value of type `t`.
    fn skip_value(&mut self, t: u32, depth: u32) -> std::io::Result<()> {
        match t {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => self.string(0).map(|_| ()),
            9 if depth < 4 => {
                let inner = self.u32()?;
                let count = self.u64()?;
                let width = match inner {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match width {
                    Some(w) => self.skip(
                        count
                            .checked_mul(w)
                            .ok_or_else(|| invalid("an array is too long"))?,
                    ),
                    None => {
                        for _ in 0..count {
                            self.skip_value(inner, depth + 1)?;
                        }
                        Ok(())
                    }
                }
            }
            t => Err(invalid(&format!("unknown metadata type {t}"))),
        }
    }
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads a model file's header. Errors name the file and the reason:
/// missing, unreadable, not a GGUF, too old, cut off.
pub fn inspect(path: &Path) -> Result<GgufInfo, WriteError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => bad(path, "no such file; check the path (gguf:PATH)"),
        _ => bad(path, format!("{e}")),
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(bad(path, "it is a directory; give the .gguf file itself"));
    }
    let mut r = Reader {
        r: BufReader::with_capacity(1 << 16, file),
    };
    let magic: [u8; 4] = r
        .bytes()
        .map_err(|_| bad(path, "not a GGUF file (it is shorter than a GGUF header)"))?;
    if &magic != b"GGUF" {
        let hint = if magic.starts_with(b"PK") || magic.starts_with(&[0x80]) {
            " (it looks like a PyTorch or safetensors checkpoint; convert it with llama.cpp's convert_hf_to_gguf.py)"
        } else {
            ""
        };
        return Err(bad(
            path,
            format!("not a GGUF file (it does not start with \"GGUF\"){hint}"),
        ));
    }
    let cut = |e: std::io::Error| bad(path, format!("the GGUF header is damaged or cut off ({e})"));
    let version = r.u32().map_err(cut)?;
    if !(2..=3).contains(&version) {
        return Err(bad(
            path,
            format!("GGUF version {version} is not supported (2 and 3 are); re-convert the model with a recent llama.cpp"),
        ));
    }
    let _tensors = r.u64().map_err(cut)?;
    let count = r.u64().map_err(cut)?;
    let mut info = GgufInfo {
        path: path.to_path_buf(),
        version,
        ..GgufInfo::default()
    };
    for _ in 0..count {
        let key = r.string(1 << 16).map_err(cut)?.unwrap_or_default();
        let t = r.u32().map_err(cut)?;
        if t == 8 {
            if let Some(v) = r.string(1 << 20).map_err(cut)? {
                info.strings.insert(key, v);
            }
        } else {
            r.skip_value(t, 0).map_err(cut)?;
        }
    }
    info.architecture = info
        .get("general.architecture")
        .ok_or_else(|| {
            bad(
                path,
                "the GGUF has no general.architecture; re-convert the model",
            )
        })?
        .to_string();
    Ok(info)
}

/// Writes a minimal GGUF header with string metadata (for tests).
pub fn write_test_header(path: &Path, strings: &[(&str, &str)]) -> std::io::Result<()> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&(strings.len() as u64 + 1).to_le_bytes());
    let s = |b: &mut Vec<u8>, v: &str| {
        b.extend_from_slice(&(v.len() as u64).to_le_bytes());
        b.extend_from_slice(v.as_bytes());
    };
    // one array value, to exercise skipping
    s(&mut b, "tokenizer.ggml.tokens");
    b.extend_from_slice(&9u32.to_le_bytes());
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&2u64.to_le_bytes());
    s(&mut b, "<s>");
    s(&mut b, "hello");
    for (k, v) in strings {
        s(&mut b, k);
        b.extend_from_slice(&8u32.to_le_bytes());
        s(&mut b, v);
    }
    std::fs::write(path, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mural-gguf-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn reads_strings_and_skips_arrays() {
        let p = tmp("ok.gguf");
        write_test_header(
            &p,
            &[
                ("general.architecture", "gemma3"),
                ("general.name", "Gemma 3 270m It"),
                ("tokenizer.chat_template", "{{ messages }}"),
            ],
        )
        .unwrap();
        let i = inspect(&p).unwrap();
        assert_eq!(i.architecture, "gemma3");
        assert!(i.looks_instruct());
        assert_eq!(i.display_name(), "Gemma 3 270m It");
    }

    #[test]
    fn a_base_model_is_not_instruct() {
        let p = tmp("base.gguf");
        write_test_header(
            &p,
            &[
                ("general.architecture", "gemma3"),
                ("general.name", "Gemma 3 270m"),
                ("tokenizer.chat_template", "{{ messages }}"),
            ],
        )
        .unwrap();
        assert!(!inspect(&p).unwrap().looks_instruct());
    }

    #[test]
    fn errors_name_the_file_and_the_reason() {
        let missing = tmp("nope.gguf");
        let e = inspect(&missing).unwrap_err().to_string();
        assert!(e.contains("nope.gguf") && e.contains("no such file"), "{e}");
        let p = tmp("model.safetensors");
        std::fs::write(&p, b"{\"__metadata__\": {}}").unwrap();
        let e = inspect(&p).unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors") && e.contains("not a GGUF"),
            "{e}"
        );
        let p = tmp("cut.gguf");
        std::fs::write(&p, b"GGUF\x03\x00\x00\x00\x00").unwrap();
        let e = inspect(&p).unwrap_err().to_string();
        assert!(e.contains("cut off"), "{e}");
    }
}
