//! `mural batch`: a journaled batch that survives throttling, failures and
//! SIGKILL with nothing lost and nothing saved twice.

use crate::fakes::{self, Fault, Pattern, KEY};
use crate::painters::assert_no_secret;
use crate::util::{json_lines, parti_prompts, TempDir, TestCommand};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

fn mural(dir: &TempDir, s: &fakes::Server, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", KEY)
        .dir(&dir.0)
}

/// The fake's stand-in for a small model another server speaks the OpenAI
/// Images API for, added to the catalog as a user would: small fixed sizes
/// keep these batches quick.
const LOCAL_SD: &str = "\n[[models]]\nid = \"local-sd\"\nprovider = \"openai\"\nkind = \"image\"\n[models.image]\nsizes = [\"256x256\", \"512x512\", \"1024x1024\"]\nn_max = 10\nresponse = \"b64_or_url\"\n";

fn setup(name: &str, extra: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(
        dir.0.join("mural.toml"),
        format!("[painters.oa]\nkind = \"openai\"\nmodel = \"local-sd\"\ntimeout_s = 2\nbackoff_ms = 10\nmax_retries = 8\nconcurrency = 8\n{extra}{LOCAL_SD}"),
    )
    .unwrap();
    dir
}

/// Every image the gallery holds: (run id, index) -> file, plus the
/// journal's item statuses.
fn gallery_state(dir: &TempDir) -> (HashMap<(i64, i64), String>, Vec<String>) {
    let c = rusqlite::Connection::open(dir.0.join("home/gallery.db")).unwrap();
    let mut images = HashMap::new();
    let mut stmt = c.prepare("SELECT run_id, idx, file FROM images").unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap()
    {
        let (run, idx, file) = row.unwrap();
        assert!(
            images.insert((run, idx), file).is_none(),
            "image ({run}, {idx}) recorded twice"
        );
    }
    let statuses = c
        .prepare("SELECT status FROM batch_items ORDER BY batch_id, idx")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (images, statuses)
}

fn pngs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Nothing lost, nothing twice: every journaled item is done with all its
/// images, every image file is in the gallery once, no stray files.
fn assert_whole(dir: &TempDir, expected_images: usize) {
    let (images, statuses) = gallery_state(dir);
    assert!(statuses.iter().all(|s| s == "done"), "{statuses:?}");
    assert_eq!(images.len(), expected_images);
    let files = pngs(&dir.0.join("mural-out"));
    assert_eq!(
        files.len(),
        expected_images,
        "files on disk vs images recorded"
    );
    let recorded: BTreeSet<String> = images
        .values()
        .map(|f| {
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(recorded, files.iter().cloned().collect::<BTreeSet<_>>());
    // a second save of one image would be another file with the same
    // mural-RUN-INDEX-SEED start (named ...-N.png)
    let mut seen = BTreeSet::new();
    let twice: Vec<&String> = files
        .iter()
        .filter(|f| !seen.insert(f.split('-').take(4).collect::<Vec<_>>().join("-")))
        .collect();
    assert!(twice.is_empty(), "images saved twice: {twice:?}");
    let temps = std::fs::read_dir(dir.0.join("mural-out"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(temps, 0, "stray temp files");
}

#[test]
fn hundreds_of_ideas_against_a_failing_throttling_server() {
    let s = fakes::openai();
    *s.fake.pattern.lock().unwrap() = Pattern(vec![
        (5, 1, Fault::ServerError),
        (7, 3, Fault::Truncated),
        (29, 6, Fault::RateLimited),
    ]);
    let dir = setup("batch-300", "");
    let ideas: Vec<String> = parti_prompts().into_iter().take(300).collect();
    let mut text = String::new();
    for (i, idea) in ideas.iter().enumerate() {
        if i % 10 == 0 {
            text.push_str(&serde_json::json!({"idea": idea, "size": "256x256"}).to_string());
        } else {
            text.push_str(idea);
        }
        text.push('\n');
    }
    std::fs::write(dir.0.join("ideas.txt"), text).unwrap();
    let r = mural(
        &dir,
        &s,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "oa",
            "--size",
            "512x512",
            "--concurrency",
            "8",
            "--seed",
            "1",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("300 items: 300 done, 0 refused, 0 failed"),
        "{}",
        r.stderr
    );
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 300);
    let got: BTreeSet<&str> = lines.iter().map(|l| l["idea"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        ideas.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "every idea exactly once"
    );
    assert_whole(&dir, 300);
    assert!(
        s.fake.counter.load(std::sync::atomic::Ordering::SeqCst) > 330,
        "faults were injected"
    );
    // JSONL lines kept their own size
    assert_eq!(lines.iter().filter(|l| l["width"] == 256).count(), 30);
}

#[test]
fn refused_and_failed_items_are_reported_and_resume_retries_only_failures() {
    let s = fakes::openai();
    let dir = setup("batch-report", "");
    std::fs::write(
        dir.0.join("mural.toml"),
        format!(
            "[painters.oa]\nkind = \"openai\"\nmodel = \"local-sd\"\nmax_retries = 0\n{LOCAL_SD}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.0.join("ideas.txt"),
        "a red fox\na blue owl\na green frog\n",
    )
    .unwrap();
    s.fake.push(&[Fault::ServerError, Fault::Refuse]);
    let r = mural(
        &dir,
        &s,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "oa",
            "--size",
            "256x256",
            "--concurrency",
            "1",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    let errors: Vec<_> = lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert_eq!(errors.len(), 2, "{}", r.stdout);
    assert_eq!(errors[0]["idea"], "a red fox");
    assert!(errors[0]["error"].as_str().unwrap().contains("HTTP 500"));
    assert_eq!(errors[1]["idea"], "a blue owl");
    assert!(errors[1]["error"].as_str().unwrap().starts_with("refused:"));
    assert_eq!(lines.iter().filter(|l| l.get("file").is_some()).count(), 1);
    assert!(
        r.stderr.contains("3 items: 1 done, 1 refused, 1 failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("refused  #2 \"a blue owl\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--resume"), "{}", r.stderr);

    // resume: the failed item is painted, the refused one is not retried
    let before = s.fake.hits("/v1/images/generations");
    let r = mural(&dir, &s, &["batch", "ideas.txt", "--resume", "--json"]).run();
    assert_eq!(r.code, 1, "a refused item did not finish: {}", r.stderr);
    assert_eq!(s.fake.hits("/v1/images/generations"), before + 1);
    assert!(
        r.stderr.contains("3 items: 2 done, 1 refused, 0 failed"),
        "{}",
        r.stderr
    );
    mural(&dir, &s, &["batch", "ideas.txt", "--resume"])
        .run()
        .assert_usage_error("nothing left", "no unfinished batch");
}

#[test]
fn resume_refuses_a_changed_file() {
    let s = fakes::openai();
    let dir = setup("batch-changed", "");
    std::fs::write(dir.0.join("ideas.txt"), "a red fox\n").unwrap();
    s.fake.push(&[Fault::ServerError; 10]);
    std::fs::write(
        dir.0.join("mural.toml"),
        format!(
            "[painters.oa]\nkind = \"openai\"\nmodel = \"local-sd\"\nmax_retries = 0\n{LOCAL_SD}"
        ),
    )
    .unwrap();
    let r = mural(
        &dir,
        &s,
        &["batch", "ideas.txt", "--painter", "oa", "--size", "256x256"],
    )
    .run();
    assert_eq!(r.code, 1);
    std::fs::write(dir.0.join("ideas.txt"), "a red fox\na new line\n").unwrap();
    mural(&dir, &s, &["batch", "ideas.txt", "--resume"])
        .run()
        .assert_usage_error("changed", "changed since batch");
}

#[test]
fn bad_lines_stop_the_batch_before_anything_is_painted() {
    let s = fakes::openai();
    let dir = setup("batch-bad", "");
    std::fs::write(
        dir.0.join("ideas.txt"),
        "a red fox\n{\"idea\": \"x\", \"style\": \"nope\"}\n",
    )
    .unwrap();
    mural(
        &dir,
        &s,
        &["batch", "ideas.txt", "--painter", "oa", "--size", "256x256"],
    )
    .run()
    .assert_usage_error("bad style", "ideas.txt: line 2: unknown style");
    std::fs::write(dir.0.join("ideas.txt"), "a red fox\n").unwrap();
    mural(
        &dir,
        &s,
        &["batch", "ideas.txt", "--painter", "oa", "--size", "300x300"],
    )
    .run()
    .assert_usage_error("bad size", "use one of 256x256");
    assert_eq!(s.fake.hits("/v1/images/generations"), 0);
}

#[test]
fn regression_sigkill_at_any_moment_then_resume_loses_and_repeats_nothing() {
    let s = fakes::openai();
    s.fake
        .delay_ms
        .store(25, std::sync::atomic::Ordering::SeqCst);
    let dir = setup("batch-kill", "");
    // 40 ideas, some with two images
    let mut text = String::new();
    let mut expected = 0;
    for (i, idea) in parti_prompts().into_iter().skip(400).take(40).enumerate() {
        let n = if i % 4 == 0 { 2 } else { 1 };
        expected += n;
        text.push_str(&serde_json::json!({"idea": idea, "n": n}).to_string());
        text.push('\n');
    }
    std::fs::write(dir.0.join("ideas.txt"), &text).unwrap();
    let out = dir.0.join("mural-out");
    let args = [
        "batch",
        "ideas.txt",
        "--painter",
        "oa",
        "--size",
        "256x256",
        "--concurrency",
        "4",
        "--seed",
        "7",
    ];
    // kill it three times at different points, resuming each time
    for (round, threshold) in [3usize, 14, 27].into_iter().enumerate() {
        let mut cmd_args: Vec<&str> = args.to_vec();
        if round > 0 {
            cmd_args = vec!["batch", "ideas.txt", "--resume"];
        }
        let mut child = mural(&dir, &s, &cmd_args).spawn();
        let t = Instant::now();
        while pngs(&out).len() < threshold && t.elapsed() < Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (_, statuses) = gallery_state(&dir);
        assert!(
            statuses.iter().any(|s| s != "done"),
            "round {round}: the batch finished before the kill"
        );
    }
    let r = mural(&dir, &s, &["batch", "ideas.txt", "--resume"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("40 items: 40 done"), "{}", r.stderr);
    assert_whole(&dir, expected);
    // each image reproduces from its seed: seeds run on from 7 without gaps
    let (images, _) = gallery_state(&dir);
    assert_eq!(images.len(), expected);
}

#[test]
fn the_api_key_appears_nowhere_mural_writes() {
    let s = fakes::openai();
    let dir = setup("batch-key", "");
    std::fs::write(
        dir.0.join("ideas.txt"),
        "a red fox\nplease echo the key back\n{\"idea\": \"an owl at night\", \"n\": 2}\n",
    )
    .unwrap();
    let r = mural(
        &dir,
        &s,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "oa",
            "--size",
            "256x256",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("[redacted]"),
        "the server's echo is reported, scrubbed: {}",
        r.stdout
    );
    let r2 = mural(
        &dir,
        &s,
        &[
            "imagine",
            "echo the key please",
            "--painter",
            "oa",
            "--size",
            "256x256",
        ],
    )
    .run();
    assert_eq!(r2.code, 2);
    let r3 = mural(&dir, &s, &["gallery", "list", "--json"]).run();
    for text in [&r.stdout, &r.stderr, &r2.stdout, &r2.stderr, &r3.stdout] {
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
    assert!(!pngs(&dir.0.join("mural-out")).is_empty());
    assert_no_secret(&dir.0, KEY);
    // and it was really sent
    assert!(s.fake.log.lock().unwrap().iter().any(|(_, _, h, _)| h
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap().ends_with(KEY))));
}

#[test]
fn the_profile_rate_limit_paces_a_batch() {
    let s = fakes::openai();
    let dir = setup("batch-rate", "rate_per_minute = 600\n"); // one per 100 ms
    std::fs::write(
        dir.0.join("ideas.txt"),
        "a\nb\nc\nd\ne\nf\n".replace(|c: char| c.is_alphabetic(), "a red fox"),
    )
    .unwrap();
    let t = Instant::now();
    let r = mural(
        &dir,
        &s,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "oa",
            "--size",
            "256x256",
            "--concurrency",
            "6",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "6 requests at 600/min take at least 0.5 s: {:?}",
        t.elapsed()
    );
}
