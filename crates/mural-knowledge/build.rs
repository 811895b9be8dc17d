//! Reads the world files (`data/concepts/*.toml`, `data/world/*.toml`),
//! checks them against `src/world_types.rs`, and stores them as one postcard
//! blob in OUT_DIR, which `world.rs` embeds. The TOML stays the source of
//! truth; the blob only spares every process the TOML parse of thousands
//! of frames. Reference checks live in the crate's tests.

#[path = "src/world_types.rs"]
#[allow(dead_code)]
mod world_types;

use std::path::Path;
use world_types::{Vocab, WorldBlob, WorldFile};

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    println!("cargo:rerun-if-changed=src/world_types.rs");
    let mut files = Vec::new();
    for dir in ["concepts", "world"] {
        let dir = data.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            println!("cargo:rerun-if-changed={}", p.display());
            files.push(p);
        }
    }
    let mut blob = WorldBlob::default();
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let name = format!(
            "{}/{}",
            p.parent().unwrap().file_name().unwrap().to_string_lossy(),
            p.file_name().unwrap().to_string_lossy()
        );
        if name.ends_with("/vocab.toml") {
            blob.vocab = toml::from_str::<Vocab>(&text)
                .unwrap_or_else(|e| panic!("data/{name} is invalid: {e}"));
            continue;
        }
        let file: WorldFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("data/{name} is invalid: {e}"));
        blob.files.push((name, file));
    }
    let out_dir = std::env::var("OUT_DIR").unwrap();
    let out = Path::new(&out_dir);

    // Concept frames are many and an idea needs a handful: each is stored
    // on its own, found through sorted tables, and decoded only when asked.
    let mut frames: Vec<u8> = Vec::new();
    let mut by_id: Vec<(String, usize, usize)> = Vec::new();
    let mut by_word: Vec<(String, String)> = Vec::new();
    let mut long_starts: Vec<String> = Vec::new();
    for (name, file) in blob.files.iter_mut() {
        for c in std::mem::take(&mut file.concept) {
            let bytes = postcard::to_allocvec(&c).expect("a frame serializes");
            by_id.push((c.id.clone(), frames.len(), bytes.len()));
            frames.extend(bytes);
            for w in &c.words {
                by_word.push((w.to_lowercase(), c.id.clone()));
            }
            let own = c.id.split('.').next().unwrap_or("").replace('_', " ");
            for n in std::iter::once(&own).chain(&c.words) {
                let ws: Vec<&str> = n.split(' ').collect();
                if ws.len() >= 3 {
                    long_starts.push(ws[0].to_lowercase());
                }
            }
            blob.concept_sources.push((name.clone(), c.id.clone()));
        }
    }
    by_id.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut ids = String::new();
    for (id, off, len) in &by_id {
        ids.push_str(&format!("{id}\t{off},{len}\n"));
    }
    by_word.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
    let mut words = String::new();
    let mut i = 0;
    while i < by_word.len() {
        let w = &by_word[i].0;
        let mut ids: Vec<&str> = Vec::new();
        while i < by_word.len() && &by_word[i].0 == w {
            ids.push(&by_word[i].1);
            i += 1;
        }
        words.push_str(&format!("{w}\t{}\n", ids.join(",")));
    }
    long_starts.sort();
    long_starts.dedup();
    blob.long_name_starts = long_starts;
    std::fs::write(out.join("frames.bin"), frames).expect("write frames.bin");
    write_table(out, "frame_ids", &ids);
    write_table(out, "frame_words", &words);

    let bytes = postcard::to_allocvec(&blob).expect("the world serializes");
    std::fs::write(out.join("world.bin"), bytes).expect("write world.bin");

    // Line indexes of the sorted WordNet tables (little-endian u32 line
    // starts), so a lookup binary-searches lines with no start-up scan.
    for table in ["nouns", "plurals", "senses", "hypernyms"] {
        let path = data.join("wordnet").join(format!("{table}.tsv"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::write(out.join(format!("{table}.idx")), line_index(&text))
            .expect("write a table index");
    }
}

/// Little-endian u32 starts of every line.
fn line_index(text: &[u8]) -> Vec<u8> {
    let mut idx: Vec<u8> = Vec::new();
    let mut start = 0usize;
    while start < text.len() {
        idx.extend_from_slice(&(start as u32).to_le_bytes());
        start = match text[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start + p + 1,
            None => text.len(),
        };
    }
    idx
}

/// A sorted table and its line index, in OUT_DIR.
fn write_table(out: &Path, name: &str, text: &str) {
    std::fs::write(out.join(format!("{name}.tsv")), text).expect("write a table");
    std::fs::write(out.join(format!("{name}.idx")), line_index(text.as_bytes()))
        .expect("write a table index");
}
