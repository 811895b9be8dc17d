//! Data integrity under reuse and concurrency (issue 15, items 1-6), with
//! real processes on the real SQLite file: a run never adopts another
//! run's file, a batch is painted by one process at a time, concurrent
//! first uses of a gallery all succeed, a killed run is shown interrupted
//! and can be finished, leftovers are removed, paths are exact.

use crate::fakes::{self, KEY};
use crate::util::{json_lines, Ran, TempDir, TestCommand};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

/// mural with its own home and config under `dir`, talking to `s` (if any).
fn mural(dir: &TempDir, s: Option<&fakes::Server>, args: &[&str]) -> TestCommand {
    let mut c = TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .dir(&dir.0);
    if dir.0.join("mural.toml").exists() {
        c = c.env("MURAL_CONFIG", dir.0.join("mural.toml"));
    }
    if let Some(s) = s {
        c = c
            .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
            .env("OPENAI_API_KEY", KEY);
    }
    c
}

/// A directory with a mural.toml whose `oa` painter is the fake OpenAI.
fn setup(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.oa]\nkind = \"openai\"\nmodel = \"local-sd\"\ntimeout_s = 5\nbackoff_ms = 10\nmax_retries = 8\nconcurrency = 8\n",
    )
    .unwrap();
    dir
}

/// Starts mural with stdout and stderr captured (to race it with others).
fn spawn_captured(dir: &TempDir, s: &fakes::Server, args: &[&str]) -> Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mural"));
    hermetic(&mut cmd, dir);
    cmd.env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", KEY)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn mural")
}

fn hermetic(cmd: &mut std::process::Command, dir: &TempDir) {
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "STABILITY_API_KEY",
        "RUNWAYML_API_SECRET",
        "MURAL_CONFIG",
        "MURAL_TOKEN",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/mural-test-config")
        .env("MURAL_HOME", dir.0.join("home"))
        .current_dir(&dir.0);
    if dir.0.join("mural.toml").exists() {
        cmd.env("MURAL_CONFIG", dir.0.join("mural.toml"));
    }
}

/// Waits for a child within a generous bound, never forever.
fn finish(mut child: Child, what: &str) -> Ran {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{what} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn names(dir: &Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `dir` holds `count` PNGs (or the child ended), then SIGKILLs it.
fn kill_after(mut child: Child, dir: &Path, count: usize) {
    let t = Instant::now();
    while names(dir, ".png").len() < count && t.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The mural recipe inside a PNG, and its size.
fn recipe_of(file: &Path) -> (serde_json::Value, u32, u32) {
    let info = mural_meta::read(&std::fs::read(file).unwrap()).unwrap();
    (info.mural.expect("a mural recipe"), info.width, info.height)
}

/// Every (run, index) the gallery holds, asserting none is there twice.
fn recorded(dir: &TempDir) -> Vec<(i64, i64, String)> {
    let c = rusqlite::Connection::open(dir.0.join("home/gallery.db")).unwrap();
    let rows: Vec<(i64, i64, String)> = c
        .prepare("SELECT run_id, idx, file FROM images ORDER BY run_id, idx")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let unique: BTreeSet<(i64, i64)> = rows.iter().map(|(r, i, _)| (*r, *i)).collect();
    assert_eq!(
        unique.len(),
        rows.len(),
        "an image recorded twice: {rows:?}"
    );
    rows
}

// ------------------------------------------------------------------ 1

#[test]
fn new_run_never_adopts_an_old_runs_file() {
    // the repro, step by step
    let dir = TempDir::new("integrity-adopt");
    let r = mural(
        &dir,
        None,
        &[
            "imagine",
            "a beach sunset",
            "--seed",
            "7",
            "--size",
            "256x256",
            "--out",
            "out",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = mural(&dir, None, &["gallery", "rm", "1"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = mural(
        &dir,
        None,
        &[
            "imagine",
            "a red fox in the snow",
            "--size",
            "512x512",
            "--out",
            "out",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fox = &json_lines(&r.stdout)[0];
    assert_eq!(fox["run_id"], 2, "run id 1 was reused: {fox}");
    let (recipe, w, h) = recipe_of(Path::new(fox["file"].as_str().unwrap()));
    assert_eq!((w, h), (512, 512), "the fox was not painted");
    assert_eq!(recipe["idea"], "a red fox in the snow");
    assert_eq!(names(&dir.0.join("out"), ".png").len(), 2);
}

#[test]
fn a_new_gallery_restarts_run_ids_but_never_adopts_the_old_galleries_files() {
    // ids restart when the database is deleted: the run key still tells
    // the old run 1's file from the new run 1's, even with the same seed
    let dir = TempDir::new("integrity-newdb");
    let paint = |idea: &str, size: &str| {
        let r = mural(
            &dir,
            None,
            &[
                "imagine", idea, "--seed", "7", "--size", size, "--out", "out", "--json",
            ],
        )
        .run();
        assert_eq!(r.code, 0, "{}", r.stderr);
        json_lines(&r.stdout).remove(0)
    };
    let beach = paint("a red fox in the snow", "256x256");
    std::fs::remove_dir_all(dir.0.join("home")).unwrap();
    let fox = paint("a red fox in the snow", "512x512");
    assert_eq!(
        (beach["run_id"].as_i64(), fox["run_id"].as_i64()),
        (Some(1), Some(1))
    );
    assert_ne!(beach["file"], fox["file"]);
    assert!(
        fox["file"]
            .as_str()
            .unwrap()
            .ends_with("mural-00001-0-7-red-fox-snow-1.png"),
        "{fox}"
    );
    let (recipe, w, _) = recipe_of(Path::new(fox["file"].as_str().unwrap()));
    assert_eq!(
        (recipe["idea"].as_str(), w),
        (Some("a red fox in the snow"), 512)
    );
    let (old, _, _) = recipe_of(Path::new(beach["file"].as_str().unwrap()));
    assert_ne!(old["run_key"], recipe["run_key"]);
    assert_eq!(recipe["run_key"].as_str().unwrap().len(), 32, "128 bits");
}

// ------------------------------------------------------------------ 2

#[test]
fn two_batch_resumes_at_once_paint_each_image_exactly_once() {
    let s = fakes::openai();
    s.fake.delay_ms.store(40, Ordering::SeqCst);
    let dir = setup("integrity-lease");
    let ideas: Vec<String> = (0..30).map(|i| format!("a red fox number {i}")).collect();
    std::fs::write(dir.0.join("ideas.txt"), ideas.join("\n")).unwrap();
    let out = dir.0.join("mural-out");
    let first = mural(
        &dir,
        Some(&s),
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "oa",
            "--size",
            "256x256",
            "--concurrency",
            "2",
            "--seed",
            "1",
        ],
    )
    .spawn();
    // killed while it holds the lease: the lease must die with it
    kill_after(first, &out, 4);
    let before = s.fake.painted.load(Ordering::SeqCst);
    let on_disk = names(&out, ".png").len();
    assert!(on_disk < 30, "the batch finished before the kill");

    let resume = ["batch", "ideas.txt", "--resume"];
    let a = spawn_captured(&dir, &s, &resume);
    let b = spawn_captured(&dir, &s, &resume);
    let (a, b) = (finish(a, "resume a"), finish(b, "resume b"));
    let (won, lost) = if a.code == 0 { (a, b) } else { (b, a) };
    assert_eq!(
        won.code, 0,
        "{} {}\n---\n{} {}\n{}",
        won.code, won.stderr, lost.code, lost.stderr, lost.stdout
    );
    assert!(won.stderr.contains("30 items: 30 done"), "{}", won.stderr);
    assert_eq!(lost.code, 2, "the second resume: {}", lost.stderr);
    assert_eq!(lost.stderr.trim_end().lines().count(), 1, "{}", lost.stderr);
    assert!(lost.stdout.is_empty(), "{}", lost.stdout);
    assert!(
        lost.stderr
            .contains("is being painted by another mural process (pid "),
        "{}",
        lost.stderr
    );

    // each image exactly once: in the gallery, on disk, and at the painter
    let images = recorded(&dir);
    assert_eq!(images.len(), 30);
    let files = names(&out, ".png");
    assert_eq!(files.len(), 30, "{files:?}");
    let in_gallery: BTreeSet<String> = images
        .iter()
        .map(|(_, _, f)| {
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(in_gallery, files);
    assert_eq!(
        s.fake.painted.load(Ordering::SeqCst) - before,
        30 - on_disk,
        "only the images missing at the resume were painted"
    );
    assert!(names(&out, ".tmp").is_empty());
}

// ------------------------------------------------------------------ 3

#[test]
fn eight_first_uses_of_a_fresh_gallery_at_once_all_succeed() {
    for round in 0..6 {
        let dir = TempDir::new(&format!("integrity-first-{round}"));
        let children: Vec<Child> = (0..8)
            .map(|_| {
                let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mural"));
                hermetic(&mut cmd, &dir);
                cmd.args(["gallery", "list"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let r = finish(c, "gallery list");
            assert_eq!(
                (r.code, r.stderr.as_str()),
                (0, ""),
                "round {round}, process {i}"
            );
        }
        // and the gallery they made is whole
        let r = mural(
            &dir,
            None,
            &["imagine", "a red fox", "--size", "64x64", "--out", "out"],
        )
        .run();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

// ------------------------------------------------------------------ 4

#[test]
fn a_run_killed_mid_way_is_shown_interrupted_and_resume_paints_only_the_missing_images() {
    let s = fakes::openai();
    s.fake.delay_ms.store(100, Ordering::SeqCst);
    let dir = setup("integrity-interrupted");
    let out = dir.0.join("out");
    let args = [
        "imagine",
        "a lighthouse in a storm",
        "-n",
        "20",
        "--painter",
        "oa",
        "--size",
        "256x256",
        "--seed",
        "3",
        "--out",
        "out",
    ];
    let child = mural(&dir, Some(&s), &args).spawn();
    // while it paints, it is running, and no one else may paint it
    let t = Instant::now();
    while names(&out, ".png").is_empty() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = mural(&dir, Some(&s), &["gallery", "list"]).run();
    assert!(
        r.stdout.contains("#1 ") && r.stdout.contains(" running "),
        "{}",
        r.stdout
    );
    mural(&dir, Some(&s), &["imagine", "--resume", "1"])
        .run()
        .assert_usage_error(
            "resume while painting",
            "being painted by another mural process",
        );
    kill_after(child, &out, 4);

    let r = mural(&dir, Some(&s), &["gallery", "list"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(" interrupted "), "{}", r.stdout);
    let r = mural(&dir, Some(&s), &["gallery", "show", "1", "--json"]).run();
    let run: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(run["status"], "interrupted");
    let had = run["images"].as_array().unwrap().len();
    assert!(had < 20, "it finished before the kill");

    let before = s.fake.painted.load(Ordering::SeqCst);
    let on_disk = names(&out, ".png").len();
    let r = mural(&dir, Some(&s), &["imagine", "--resume", "1", "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout).len(), 20 - had, "{}", r.stdout);
    assert_eq!(
        s.fake.painted.load(Ordering::SeqCst) - before,
        20 - on_disk,
        "only the missing images are painted"
    );
    let r = mural(&dir, Some(&s), &["gallery", "show", "1", "--json"]).run();
    let run: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(run["status"], "done");
    let idx: Vec<u64> = run["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, (0..20).collect::<Vec<_>>());
    let files = names(&out, ".png");
    assert_eq!(files.len(), 20, "{files:?}");
    // a second save of one image would be another file with the same
    // mural-RUN-INDEX-SEED start (named ...-N.png)
    let starts: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f.split('-').take(4).collect::<Vec<_>>().join("-"))
        .collect();
    assert_eq!(starts.len(), files.len(), "an image saved twice: {files:?}");
    assert!(names(&out, ".tmp").is_empty());
    // a finished run has nothing to finish
    mural(&dir, Some(&s), &["imagine", "--resume", "1"])
        .run()
        .assert_usage_error("resume a done run", "nothing to finish");
}

#[test]
fn stale_temp_files_a_killed_save_left_are_swept_at_start() {
    let dir = TempDir::new("integrity-sweep");
    let out = dir.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let stale = out.join(".mural-00042-0-9.0123456789abcdef0123456789abcdef.tmp");
    let fresh = out.join(".mural-00043-0-9.fedcba9876543210fedcba9876543210.tmp");
    std::fs::write(&stale, b"half a png").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3 * 3600))
        .unwrap();
    std::fs::write(&fresh, b"a save in progress").unwrap();
    let r = mural(
        &dir,
        None,
        &["imagine", "a red fox", "--size", "64x64", "--out", "out"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!stale.exists(), "a stale temp file is removed");
    assert!(fresh.exists(), "a recent one may be another process's save");
}

// ------------------------------------------------------------------ 5

#[cfg(unix)]
#[test]
fn a_non_utf8_out_folder_is_refused_not_recorded_lossily() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("integrity-utf8");
    let bad = OsStr::from_bytes(b"out-\xff\xfe");
    for cmd in [
        &["imagine", "a red fox", "--size", "64x64"][..],
        &["batch", "ideas.txt", "--size", "256x256"],
    ] {
        std::fs::write(dir.0.join("ideas.txt"), "a red fox\n").unwrap();
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mural"));
        hermetic(&mut c, &dir);
        let o = c
            .args(cmd)
            .arg("--out")
            .arg(bad)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let r = Ran {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        };
        r.assert_usage_error(cmd[0], "is not valid UTF-8");
        assert!(
            !dir.0.join(bad).exists(),
            "{}: the folder was created",
            cmd[0]
        );
    }
    let r = mural(&dir, None, &["gallery", "list", "--json"]).run();
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "nothing recorded");
}

// ------------------------------------------------------------------ 6

#[test]
fn an_image_saved_but_not_recorded_before_a_kill_is_adopted_by_name() {
    // the state a SIGKILL between saving a file and recording it leaves:
    // the file in place, its temp file maybe too, no row in the gallery
    let s = fakes::openai();
    let dir = setup("integrity-adopt-kill");
    let out = dir.0.join("out");
    let r = mural(
        &dir,
        Some(&s),
        &[
            "imagine",
            "an owl at night",
            "-n",
            "3",
            "--painter",
            "oa",
            "--size",
            "256x256",
            "--seed",
            "11",
            "--out",
            "out",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let kept = json_lines(&r.stdout);
    // thousands of unrelated files in the folder change nothing
    for i in 0..2000 {
        std::fs::write(out.join(format!("mural-{:05}-0-1.png", 100 + i)), b"").unwrap();
    }
    let key = recipe_of(Path::new(kept[2]["file"].as_str().unwrap())).0["run_key"]
        .as_str()
        .unwrap()
        .to_string();
    let tmp = out.join(format!(".mural-00001-2-13-owl-night.{key}.tmp"));
    std::fs::write(&tmp, b"a save cut short").unwrap();
    {
        let c = rusqlite::Connection::open(dir.0.join("home/gallery.db")).unwrap();
        c.execute_batch(
            "DELETE FROM images WHERE run_id = 1 AND idx > 0;
             UPDATE runs SET status = 'running', finished_at = NULL WHERE id = 1;",
        )
        .unwrap();
    }
    let before = s.fake.painted.load(Ordering::SeqCst);
    let r = mural(&dir, Some(&s), &["imagine", "--resume", "1", "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        s.fake.painted.load(Ordering::SeqCst),
        before,
        "nothing painted again"
    );
    let adopted = json_lines(&r.stdout);
    let files: Vec<&str> = adopted
        .iter()
        .map(|a| a["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            kept[1]["file"].as_str().unwrap(),
            kept[2]["file"].as_str().unwrap()
        ]
    );
    assert_eq!(adopted[1]["prompt"], kept[2]["prompt"]);
    assert!(!tmp.exists(), "the cut-short save's temp file is removed");
    assert_eq!(recorded(&dir).len(), 3);
}
