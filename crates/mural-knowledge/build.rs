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
    let bytes = postcard::to_allocvec(&blob).expect("the world serializes");
    let out_dir = std::env::var("OUT_DIR").unwrap();
    let out = Path::new(&out_dir).join("world.bin");
    std::fs::write(out, bytes).expect("write world.bin");

    // Line indexes of the sorted WordNet tables (little-endian u32 line
    // starts), so a lookup binary-searches lines with no start-up scan.
    for table in ["nouns", "plurals", "senses", "hypernyms"] {
        let path = data.join("wordnet").join(format!("{table}.tsv"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut idx: Vec<u8> = Vec::new();
        let mut start = 0usize;
        while start < text.len() {
            idx.extend_from_slice(&(start as u32).to_le_bytes());
            start = match text[start..].iter().position(|&b| b == b'\n') {
                Some(p) => start + p + 1,
                None => text.len(),
            };
        }
        std::fs::write(Path::new(&out_dir).join(format!("{table}.idx")), idx)
            .expect("write a table index");
    }
}
