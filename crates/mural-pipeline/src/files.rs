//! Image files: saved without ever replacing one, and found again by
//! their embedded recipe after an interruption.

use crate::PipelineError;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file stem of image `index` of run `run_id`.
pub fn stem(run_id: i64, index: usize, seed: u64) -> String {
    format!("mural-{run_id:05}-{index}-{seed}")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` under `dir/stem.png` without ever replacing a file: a
/// temp file first (synced), then a hard link to the final name, which
/// fails if the name is taken, so the next free `stem-N.png` is used.
pub fn save_new(dir: &Path, stem: &str, bytes: &[u8]) -> Result<PathBuf, PipelineError> {
    let tmp = dir.join(format!(".{stem}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    let mut result = None;
    for i in 0..1000 {
        let name = if i == 0 {
            format!("{stem}.png")
        } else {
            format!("{stem}-{i}.png")
        };
        let path = dir.join(name);
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
            path: dir.join(format!("{stem}.png")),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a thousand files already have this name",
            ),
        })
    })
}

/// The file of image `index` of run `run_id` in `dir`, if an earlier
/// attempt saved it: matched by the recipe inside, not just the name.
/// Stale temp files of that image are removed.
pub fn find_kept(dir: &Path, run_id: i64, index: usize) -> Option<(PathBuf, Value)> {
    let prefix = format!("mural-{run_id:05}-{index}-");
    let tmp_prefix = format!(".{prefix}");
    let mut found = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&tmp_prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        if found.is_some() || !name.starts_with(&prefix) || !name.ends_with(".png") {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        let Ok(info) = mural_meta::read(&bytes) else {
            continue;
        };
        let Some(mut recipe) = info.mural else {
            continue;
        };
        if recipe["run_id"].as_i64() == Some(run_id)
            && recipe["index"].as_u64() == Some(index as u64)
        {
            recipe["width"] = info.width.into();
            recipe["height"] = info.height.into();
            found = Some((entry.path(), recipe));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_replaces_a_file() {
        let dir = std::env::temp_dir().join(format!("mural-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = save_new(&dir, "x", b"one").unwrap();
        let b = save_new(&dir, "x", b"two").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert!(b.ends_with("x-1.png"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
