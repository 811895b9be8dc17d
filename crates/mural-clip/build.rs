//! Turns OpenAI CLIP's `bpe_simple_vocab_16e6.txt.gz` (committed as shipped in
//! the `open_clip_torch` wheel) into a compact merge table, so the tokenizer
//! needs no start-up work: 16-byte records `(left, right, rank, merged)`, all
//! little-endian u32, sorted by `(left, right)` for binary search.
//!
//! Token ids follow CLIP's `SimpleTokenizer`: 256 byte symbols, the same with
//! `</w>`, then one id per merge; a string produced by two merges keeps the id
//! of the later one, as Python's `dict(zip(vocab, range(...)))` does.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

const MERGES: usize = 49152 - 256 - 2;

fn byte_symbols() -> Vec<(u8, char)> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.iter()
        .zip(cs)
        .map(|(&b, c)| (b as u8, char::from_u32(c).unwrap()))
        .collect()
}

fn main() {
    let src = "data/bpe_simple_vocab_16e6.txt.gz";
    println!("cargo:rerun-if-changed={src}");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(src).expect("open CLIP vocab"))
        .read_to_string(&mut text)
        .expect("decompress CLIP vocab");
    let merges: Vec<(&str, &str)> = text
        .split('\n')
        .skip(1)
        .take(MERGES)
        .map(|l| l.split_once(' ').expect("merge line has two symbols"))
        .collect();
    assert_eq!(merges.len(), MERGES);

    let symbols = byte_symbols();
    let mut vocab: Vec<String> = symbols.iter().map(|(_, c)| c.to_string()).collect();
    vocab.extend(symbols.iter().map(|(_, c)| format!("{c}</w>")));
    vocab.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
    let mut id: HashMap<&str, u32> = HashMap::new();
    for (i, s) in vocab.iter().enumerate() {
        id.insert(s.as_str(), i as u32); // last wins, as in Python
    }
    let mut table: Vec<[u32; 4]> = merges
        .iter()
        .enumerate()
        .map(|(rank, (a, b))| {
            let joined = format!("{a}{b}");
            [id[a], id[b], rank as u32, id[joined.as_str()]]
        })
        .collect();
    table.sort_unstable_by_key(|r| (r[0], r[1]));
    table.dedup_by_key(|r| (r[0], r[1]));
    let mut bytes = Vec::with_capacity(table.len() * 16);
    for rec in &table {
        for v in rec {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    // byte value -> id of its symbol (the `</w>` form is id + 256)
    let mut byte_ids = [0u16; 256];
    for (i, (b, _)) in symbols.iter().enumerate() {
        byte_ids[*b as usize] = i as u16;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("merges.bin"), bytes).unwrap();
    std::fs::write(
        out.join("byte_ids.rs"),
        format!("const BYTE_IDS: [u16; 256] = {byte_ids:?};\n"),
    )
    .unwrap();
}
