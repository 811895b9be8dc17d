//! Image files: saved without ever replacing one, and found again by
//! their embedded recipe after an interruption.
//!
//! Every name is derived from (run, index, seed): `mural-RRRRR-I-S.png`,
//! or `mural-RRRRR-I-S-N.png` when an older file has the name. So finding
//! an image an interrupted attempt saved means looking up those few names,
//! never listing the folder (which may hold tens of thousands of files).

use crate::PipelineError;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many names one stem may take (`stem.png`, `stem-1.png` ...).
pub const MAX_NAMES: usize = 1000;

/// A temp file this old is left from a process that died while writing
/// (a save takes milliseconds): swept by [`sweep_stale_temps`].
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// The file stem of image `index` of run `run_id` painted from `seed`
/// (the seed asked for, so the name is known before painting), with a
/// few words of the idea so a folder of images reads at a glance:
/// `mural-00012-0-7-red-fox-snow`.
pub fn stem(run_id: i64, index: usize, seed: u64, idea: &str) -> String {
    let plain = legacy_stem(run_id, index, seed);
    match slug(idea) {
        s if s.is_empty() => plain,
        s => format!("{plain}-{s}"),
    }
}

/// The stem mural used before names carried the idea; still looked up,
/// so a run an older mural was painting is finished without repainting.
pub fn legacy_stem(run_id: i64, index: usize, seed: u64) -> String {
    format!("mural-{run_id:05}-{index}-{seed}")
}

/// Words that say nothing about the picture, left out of names.
const FILLER: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "and", "with", "by", "for", "to", "from", "is",
    "are", "its", "into", "over", "under",
];

/// Up to four content words of `idea`, lowercase ASCII letters and digits
/// joined by `-`, at most 40 bytes. Letters outside ASCII are dropped (a
/// name must be safe in every file system and URL), so an idea in another
/// script may give no words at all.
pub fn slug(idea: &str) -> String {
    let mut out = String::new();
    let words = idea
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .filter(|w| !FILLER.contains(&w.as_str()))
        .take(4);
    for w in words {
        if out.len() + w.len() + 1 > 40 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    out
}

/// The `n`th name a stem may take.
pub fn name(stem: &str, n: usize) -> String {
    if n == 0 {
        format!("{stem}.png")
    } else {
        format!("{stem}-{n}.png")
    }
}

/// The temp file a save of `stem` writes first. `tag` is the run key (one
/// process paints a run at a time: it holds the run's lease), so an
/// interrupted save's temp file is found by name too.
pub fn temp_name(stem: &str, tag: &str) -> String {
    format!(".{stem}.{tag}.tmp")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` under `dir/stem.png` without ever replacing a file: a
/// temp file first (synced), then a hard link to the final name, which
/// fails if the name is taken, so the next free `stem-N.png` is used. The
/// temp file is removed whatever happens (a full disk included).
pub fn save_new(dir: &Path, stem: &str, tag: &str, bytes: &[u8]) -> Result<PathBuf, PipelineError> {
    save_with(dir, stem, tag, |f| f.write_all(bytes))
}

fn save_with(
    dir: &Path,
    stem: &str,
    tag: &str,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<PathBuf, PipelineError> {
    let tmp = dir.join(temp_name(stem, tag));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    let mut result = None;
    for n in 0..MAX_NAMES {
        let path = dir.join(name(stem, n));
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => {
                result = Some(Ok(path));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                result = Some(Err(io_err(&path)(e)));
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    result.unwrap_or_else(|| {
        Err(PipelineError::Io {
            path: dir.join(name(stem, 0)),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a thousand files already have this name",
            ),
        })
    })
}

/// Removes mural temp files (`.mural-*.tmp`) older than `max_age` from
/// `dir`: what a process killed mid-save left. Run once per command, not
/// per image. Returns how many were removed.
pub fn sweep_stale_temps(dir: &Path, max_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(".mural-") && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= max_age);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The file operations [`find_kept_in`] may use: reading, and removing
/// one named file. There is deliberately no way to list a directory.
pub trait Lookup {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    fn remove(&self, path: &Path);
}

/// The real file system.
pub struct Disk;

impl Lookup for Disk {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn remove(&self, path: &Path) {
        let _ = std::fs::remove_file(path);
    }
}

/// The image an interrupted attempt may have saved.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub run_id: i64,
    /// The run's key; `None` for a run recorded by a mural that had none.
    pub run_key: Option<&'a str>,
    pub index: usize,
    /// The seed asked for (the name's).
    pub seed: u64,
    /// The written prompt (checked for a run without a key).
    pub prompt: &'a str,
    /// The run's idea (its words are in the name).
    pub idea: &'a str,
}

/// The file of the wanted image in `dir`, if an earlier attempt of this
/// same run saved it: matched by the run key inside its recipe, never by
/// the name or the run id alone (ids restart with a new database). A temp
/// file the interrupted save left is removed.
pub fn find_kept(dir: &Path, want: &Wanted) -> Option<(PathBuf, Value)> {
    find_kept_in(&Disk, dir, want)
}

/// [`find_kept`] over any [`Lookup`].
pub fn find_kept_in(fs: &dyn Lookup, dir: &Path, want: &Wanted) -> Option<(PathBuf, Value)> {
    let named = stem(want.run_id, want.index, want.seed, want.idea);
    let legacy = legacy_stem(want.run_id, want.index, want.seed);
    if let Some(found) = find_in(fs, dir, &named, want) {
        return Some(found);
    }
    if legacy != named {
        return find_in(fs, dir, &legacy, want);
    }
    None
}

fn find_in(fs: &dyn Lookup, dir: &Path, stem: &str, want: &Wanted) -> Option<(PathBuf, Value)> {
    if let Some(key) = want.run_key {
        fs.remove(&dir.join(temp_name(stem, key)));
    }
    for n in 0..MAX_NAMES {
        let path = dir.join(name(stem, n));
        let bytes = match fs.read(&path) {
            Ok(b) => b,
            // names are taken in order: the first free one ends the search
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(_) => continue,
        };
        let Ok(info) = mural_meta::read(&bytes) else {
            continue;
        };
        let Some(mut recipe) = info.mural else {
            continue;
        };
        if belongs(&recipe, want) {
            recipe["width"] = info.width.into();
            recipe["height"] = info.height.into();
            return Some((path, recipe));
        }
    }
    None
}

/// Whether an embedded recipe is the wanted image of this very run.
fn belongs(recipe: &Value, want: &Wanted) -> bool {
    let same_place = recipe["run_id"].as_i64() == Some(want.run_id)
        && recipe["index"].as_u64() == Some(want.index as u64);
    match want.run_key {
        Some(key) => same_place && recipe["run_key"].as_str() == Some(key),
        // a run from before run keys: the best proof left is the same
        // place, no key, and the same prompt
        None => {
            same_place
                && recipe.get("run_key").is_none()
                && recipe["prompt"].as_str() == Some(want.prompt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mural-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn never_replaces_a_file() {
        let dir = temp_dir("replace");
        let a = save_new(&dir, "x", "k", b"one").unwrap();
        let b = save_new(&dir, "x", "k", b"two").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert!(b.ends_with("x-1.png"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_failed_save_leaves_no_temp_file() {
        let dir = temp_dir("full");
        let err = save_with(&dir, "mural-00001-0-7", "k", |f| {
            f.write_all(b"half a pn")?;
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            ))
        })
        .unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn only_stale_mural_temp_files_are_swept() {
        let dir = temp_dir("sweep");
        let old = SystemTime::now() - Duration::from_secs(7200);
        for name in [".mural-00001-0-7.abc.tmp", "keep.tmp"] {
            let f = std::fs::File::create(dir.join(name)).unwrap();
            f.set_modified(old).unwrap();
        }
        std::fs::write(dir.join(".mural-00002-0-7.abc.tmp"), b"fresh").unwrap();
        assert_eq!(sweep_stale_temps(&dir, STALE_TEMP_AGE), 1);
        assert!(!dir.join(".mural-00001-0-7.abc.tmp").exists());
        assert!(dir.join("keep.tmp").exists(), "not mural's");
        assert!(
            dir.join(".mural-00002-0-7.abc.tmp").exists(),
            "a save in progress"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A `Lookup` that records every path it is asked about.
    struct Recording(RefCell<Vec<PathBuf>>);

    impl Lookup for Recording {
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            self.0.borrow_mut().push(path.to_path_buf());
            Disk.read(path)
        }
        fn remove(&self, path: &Path) {
            self.0.borrow_mut().push(path.to_path_buf());
            Disk.remove(path)
        }
    }

    fn png_with(recipe: &Value) -> Vec<u8> {
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, 4, 4);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0u8; 48]).unwrap();
        }
        mural_meta::embed(
            &png,
            &mural_meta::Embed {
                parameters: "a fox\nSteps: 1",
                recipe,
                digital_source_type:
                    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            },
        )
        .unwrap()
    }

    #[test]
    fn find_kept_looks_up_only_this_items_names_and_never_lists_the_folder() {
        let dir = temp_dir("lookup");
        // ten thousand other images would make no difference: none is read
        for i in 0..50 {
            std::fs::write(dir.join(format!("mural-00009-{i}-1.png")), b"x").unwrap();
        }
        let stem = stem(3, 1, 42, "");
        // an older run 3 (another database) took the plain name
        let other =
            serde_json::json!({"run_id": 3, "index": 1, "run_key": "old", "prompt": "a fox"});
        std::fs::write(dir.join(name(&stem, 0)), png_with(&other)).unwrap();
        let ours =
            serde_json::json!({"run_id": 3, "index": 1, "run_key": "new", "prompt": "a fox"});
        std::fs::write(dir.join(name(&stem, 1)), png_with(&ours)).unwrap();
        std::fs::write(dir.join(temp_name(&stem, "new")), b"half").unwrap();

        let fs = Recording(RefCell::new(Vec::new()));
        let want = Wanted {
            run_id: 3,
            run_key: Some("new"),
            index: 1,
            seed: 42,
            prompt: "a fox",
            idea: "",
        };
        let (path, recipe) = find_kept_in(&fs, &dir, &want).expect("adopted");
        assert_eq!(path, dir.join("mural-00003-1-42-1.png"));
        assert_eq!(recipe["run_key"], "new");
        assert_eq!(
            (recipe["width"].as_u64(), recipe["height"].as_u64()),
            (Some(4), Some(4))
        );
        assert_eq!(
            *fs.0.borrow(),
            [
                dir.join(".mural-00003-1-42.new.tmp"),
                dir.join("mural-00003-1-42.png"),
                dir.join("mural-00003-1-42-1.png"),
            ],
            "exactly the names this image could have"
        );
        assert!(
            !dir.join(temp_name(&stem, "new")).exists(),
            "its temp file is removed"
        );

        // a run whose key matches no file: the names are tried until the first free one
        let fs = Recording(RefCell::new(Vec::new()));
        let stranger = Wanted {
            run_key: Some("third"),
            ..want
        };
        assert!(find_kept_in(&fs, &dir, &stranger).is_none());
        assert_eq!(fs.0.borrow().len(), 4, "{:?}", fs.0.borrow());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn names_carry_a_few_words_of_the_idea() {
        assert_eq!(
            stem(12, 0, 7, "A red fox in the snow, at dawn by the river"),
            "mural-00012-0-7-red-fox-snow-dawn"
        );
        assert_eq!(stem(1, 2, 3, "\u{732b}\u{306e}\u{7d75}"), "mural-00001-2-3");
        assert_eq!(slug("Café \"OPEN\" sign; ../../etc"), "caf-open-sign-etc");
        assert!(slug(&"word ".repeat(40)).len() <= 40);
    }

    #[test]
    fn a_file_an_older_mural_named_is_still_adopted() {
        let dir = temp_dir("legacy-name");
        let recipe = serde_json::json!({"run_id": 5, "index": 0, "run_key": "k", "prompt": "p"});
        std::fs::write(dir.join("mural-00005-0-9.png"), png_with(&recipe)).unwrap();
        let want = Wanted {
            run_id: 5,
            run_key: Some("k"),
            index: 0,
            seed: 9,
            prompt: "p",
            idea: "a lighthouse in fog",
        };
        assert_eq!(
            find_kept(&dir, &want).map(|f| f.0),
            Some(dir.join("mural-00005-0-9.png"))
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn find_kept_works_in_a_folder_that_cannot_be_listed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("unlistable");
        let recipe = serde_json::json!({"run_id": 8, "index": 0, "run_key": "k", "prompt": "p"});
        std::fs::write(dir.join("mural-00008-0-5.png"), png_with(&recipe)).unwrap();
        // write and search, but not read: names resolve, listing fails
        // (for anyone but root, who may list anyway; the test above proves
        // by construction that nothing is listed)
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o300)).unwrap();
        let want = Wanted {
            run_id: 8,
            run_key: Some("k"),
            index: 0,
            seed: 5,
            prompt: "p",
            idea: "",
        };
        let found = find_kept(&dir, &want);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(found.map(|f| f.0), Some(dir.join("mural-00008-0-5.png")));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_file_of_another_run_with_the_same_id_is_not_adopted() {
        let dir = temp_dir("foreign");
        let old = serde_json::json!({"run_id": 1, "index": 0, "run_key": "beach", "prompt": "a beach sunset"});
        std::fs::write(dir.join("mural-00001-0-7.png"), png_with(&old)).unwrap();
        let legacy = serde_json::json!({"run_id": 1, "index": 0, "prompt": "a beach sunset"});
        std::fs::write(dir.join("mural-00001-0-7-1.png"), png_with(&legacy)).unwrap();
        let fox = Wanted {
            run_id: 1,
            run_key: Some("fox"),
            index: 0,
            seed: 7,
            prompt: "a red fox",
            idea: "",
        };
        assert!(find_kept(&dir, &fox).is_none());
        // a run from before keys adopts only a keyless file with its prompt
        let old_fox = Wanted {
            run_key: None,
            ..fox
        };
        assert!(find_kept(&dir, &old_fox).is_none());
        let old_beach = Wanted {
            prompt: "a beach sunset",
            ..old_fox
        };
        assert_eq!(
            find_kept(&dir, &old_beach).map(|f| f.0),
            Some(dir.join("mural-00001-0-7-1.png"))
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
