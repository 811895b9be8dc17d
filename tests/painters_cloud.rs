//! The cloud painters of issue 14 (Black Forest Labs FLUX, Gemini,
//! Replicate) end to end through the real `mural` binary, against the
//! local fakes in `fakes_cloud`: the wire format, refusals, 429s with
//! their retry hints, lifecycles and expired result URLs.

use crate::fakes::{Fault, KEY};
use crate::fakes_cloud::{self, Cloud, RATIO_ONLY_VERSION};
use crate::painters::assert_no_secret;
use crate::util::{json_lines, Ran, TempDir, TestCommand};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Fast retries and a 1 s timeout, so faults resolve quickly.
const FAST: &str = "timeout_s = 1\nbackoff_ms = 20\nmax_retries = 6\npoll_ms = 20\n";

fn setup(name: &str, toml: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.0.join("mural.toml"), toml).unwrap();
    dir
}

/// A profile `p` of `kind` pointing at the fake, plus `extra` lines.
fn profile_dir(name: &str, kind: &str, url: &str, extra: &str) -> TempDir {
    setup(
        name,
        &format!("[painters.p]\nkind = \"{kind}\"\nurl = \"{url}\"\n{FAST}{extra}"),
    )
}

fn mural(dir: &TempDir, env_key: &str, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .env(env_key, KEY)
        .dir(&dir.0)
}

fn info(file: &str) -> serde_json::Value {
    let r = TestCommand::new(&["info", file, "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

/// The key is nowhere: not in stdout, stderr or any file mural wrote.
fn no_leak(r: &Ran, dir: &TempDir) {
    assert!(!r.stdout.contains(KEY), "key on stdout: {}", r.stdout);
    assert!(!r.stderr.contains(KEY), "key on stderr: {}", r.stderr);
    if dir.0.join("home").exists() {
        assert_no_secret(&dir.0, KEY);
    }
}

fn header(s: &Cloud, path: &str, name: &str) -> Option<String> {
    s.fake
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|(_, p, _, _)| p == path)
        .and_then(|(_, _, h, _)| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
}

// -------------------------------------------------------------------- BFL

#[test]
fn bfl_submits_polls_the_returned_url_and_downloads_the_result_at_once() {
    let s = fakes_cloud::bfl();
    let dir = profile_dir("bfl", "bfl", &s.url, "safety_tolerance = 3\n");
    let r = mural(
        &dir,
        "BFL_API_KEY",
        &[
            "imagine",
            "a lighthouse on a cliff at dusk",
            "--painter",
            "p",
            "--size",
            "1024x768",
            "--seed",
            "42",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &s.fake.bodies("/v1/flux-2-pro")[0];
    assert!(!b["prompt"].as_str().unwrap().is_empty());
    assert_eq!(
        (b["width"].as_u64(), b["height"].as_u64()),
        (Some(1024), Some(768))
    );
    assert_eq!(b["seed"], 42);
    assert_eq!(b["output_format"], "png");
    assert_eq!(b["safety_tolerance"], 3);
    assert_eq!(header(&s, "/v1/flux-2-pro", "x-key").as_deref(), Some(KEY));
    // polled at the URL BFL returned (a path mural could not have built)
    assert_eq!(
        s.fake.hits("/eu4/v1/get_result"),
        3,
        "Pending twice, then Ready"
    );
    assert_eq!(s.fake.hits("/v1/get_result"), 0);
    assert_eq!(s.fake.hits("/delivery/bfl-task-0000.png"), 1);
    let line = &json_lines(&r.stdout)[0];
    let i = info(line["file"].as_str().unwrap());
    assert_eq!(
        (i["width"].as_u64(), i["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(i["mural"]["model"], "flux-2-pro");
    assert_eq!(i["mural"]["target"], "flux");
    no_leak(&r, &dir);
}

#[test]
fn bfl_ultra_gets_the_nearest_aspect_ratio_and_sizes_are_checked_before_sending() {
    let s = fakes_cloud::bfl();
    let dir = profile_dir(
        "bfl-ultra",
        "bfl",
        &s.url,
        "model = \"flux-pro-1.1-ultra\"\n",
    );
    let r = mural(
        &dir,
        "BFL_API_KEY",
        &[
            "imagine",
            "a harbor at night",
            "--painter",
            "p",
            "--size",
            "1900x1080",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &s.fake.bodies("/v1/flux-pro-1.1-ultra")[0];
    assert_eq!(b["aspect_ratio"], "16:9");
    assert!(b.get("width").is_none() && b.get("height").is_none());
    // FLUX.2: a side that is not a multiple of 16 is refused here
    let dir = profile_dir("bfl-size", "bfl", &s.url, "");
    mural(
        &dir,
        "BFL_API_KEY",
        &["imagine", "a cat", "--painter", "p", "--size", "1000x768"],
    )
    .run()
    .assert_usage_error("odd size", "multiple of 16");
    assert_eq!(s.fake.hits("/v1/flux-2-pro"), 0);
}

#[test]
fn bfl_moderation_is_a_refusal_and_is_not_retried() {
    let s = fakes_cloud::bfl();
    s.fake.push(&[Fault::Refuse]);
    let dir = profile_dir("bfl-refuse", "bfl", &s.url, "");
    let r = mural(&dir, "BFL_API_KEY", &["imagine", "a cat", "--painter", "p"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("Content Moderated"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/v1/flux-2-pro"), 1, "a refusal is not retried");
    no_leak(&r, &dir);
}

#[test]
fn bfl_429_waits_for_retry_after_then_paints() {
    let s = fakes_cloud::bfl();
    s.fake.push(&[Fault::RateLimited]);
    let dir = profile_dir("bfl-429", "bfl", &s.url, "");
    let t = Instant::now();
    let r = mural(&dir, "BFL_API_KEY", &["imagine", "a cat", "--painter", "p"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "retry-after: 1 was not honored"
    );
    assert_eq!(s.fake.hits("/v1/flux-2-pro"), 2);
    assert_eq!(s.fake.painted.load(Ordering::SeqCst), 1);
}

#[test]
fn bfl_shut_down_model_is_refused_before_sending() {
    let s = fakes_cloud::bfl();
    let dir = profile_dir("bfl-retired", "bfl", &s.url, "");
    let r = mural(
        &dir,
        "BFL_API_KEY",
        &[
            "imagine",
            "a cat",
            "--painter",
            "p",
            "--model",
            "flux-pro-1.0-canny",
        ],
    )
    .run();
    r.assert_usage_error("canny", "was shut down on 2025-10-31");
    assert!(r.stderr.contains("--model flux-2-pro"), "{}", r.stderr);
    assert!(s.fake.log.lock().unwrap().is_empty(), "nothing was sent");
}

#[test]
fn bfl_expired_result_url_says_it_expired() {
    let s = fakes_cloud::bfl();
    s.extra.expire.store(true, Ordering::SeqCst);
    let dir = profile_dir("bfl-expired", "bfl", &s.url, "");
    let r = mural(&dir, "BFL_API_KEY", &["imagine", "a cat", "--painter", "p"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("result URL of task bfl-task-0000 expired")
            && r.stderr.contains("paint again"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/delivery/bfl-task-0000.png"), 1, "not retried");
    no_leak(&r, &dir);
}

#[test]
fn bfl_out_of_credits_names_the_fix() {
    let s = fakes_cloud::bfl();
    s.extra.no_credits.store(true, Ordering::SeqCst);
    let dir = profile_dir("bfl-402", "bfl", &s.url, "");
    let r = mural(&dir, "BFL_API_KEY", &["imagine", "a cat", "--painter", "p"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("out of credits") && r.stderr.contains("dashboard.bfl.ai"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/v1/flux-2-pro"), 1);
}

#[test]
fn bfl_without_a_key_says_which_variable() {
    let dir = setup("bfl-nokey", "");
    let r = TestCommand::new(&["imagine", "a cat", "--painter", "bfl"])
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .run();
    r.assert_usage_error("no key", "set BFL_API_KEY");
}

// ----------------------------------------------------------------- Gemini

const GEMINI_PATH: &str = "/v1beta/models/gemini-nano-banana-2.1:generateContent";

#[test]
fn gemini_paints_each_image_with_its_seed_at_the_nearest_ratio() {
    let s = fakes_cloud::gemini();
    let dir = profile_dir("gemini", "gemini", &format!("{}/v1beta", s.url), "");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &[
            "imagine",
            "a beach sunset",
            "--painter",
            "p",
            "--size",
            "1920x1080",
            "--seed",
            "7",
            "-n",
            "2",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bodies = s.fake.bodies(GEMINI_PATH);
    assert_eq!(bodies.len(), 2, "one call per image");
    for (i, b) in bodies.iter().enumerate() {
        assert!(!b["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .is_empty());
        let g = &b["generationConfig"];
        assert!(g["responseModalities"]
            .as_array()
            .unwrap()
            .contains(&"IMAGE".into()));
        assert_eq!(g["imageConfig"]["aspectRatio"], "16:9");
        assert_eq!(g["imageConfig"]["imageSize"], "2K");
        assert_eq!(g["seed"], 7 + i as u64);
    }
    assert_eq!(
        header(&s, GEMINI_PATH, "x-goog-api-key").as_deref(),
        Some(KEY)
    );
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 2);
    // the size the model made, read from the PNG (the fake serves 1/16 scale)
    let i = info(lines[0]["file"].as_str().unwrap());
    assert_eq!(
        (i["width"].as_u64(), i["height"].as_u64()),
        (Some(171), Some(96))
    );
    assert_eq!(i["mural"]["model"], "gemini-nano-banana-2.1");
    no_leak(&r, &dir);
}

#[test]
fn gemini_blocked_prompt_is_a_refusal_and_is_not_retried() {
    let s = fakes_cloud::gemini();
    s.fake.push(&[Fault::Refuse]);
    let dir = profile_dir("gemini-refuse", "gemini", &format!("{}/v1beta", s.url), "");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &["imagine", "a cat", "--painter", "p"],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("PROHIBITED_CONTENT"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits(GEMINI_PATH), 1);
}

#[test]
fn gemini_text_only_reply_is_a_clear_failure() {
    let s = fakes_cloud::gemini();
    s.extra.text_only.store(true, Ordering::SeqCst);
    let dir = profile_dir("gemini-text", "gemini", &format!("{}/v1beta", s.url), "");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &["imagine", "a cat", "--painter", "p"],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("text only, no image") && r.stderr.contains("will not draw it"),
        "{}",
        r.stderr
    );
}

#[test]
fn gemini_resource_exhausted_waits_for_retry_info_then_paints() {
    let s = fakes_cloud::gemini();
    s.fake.push(&[Fault::RateLimited]);
    let dir = profile_dir("gemini-429", "gemini", &format!("{}/v1beta", s.url), "");
    let t = Instant::now();
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &["imagine", "a cat", "--painter", "p"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "retryDelay 1s was not honored"
    );
    assert_eq!(s.fake.hits(GEMINI_PATH), 2);
}

#[test]
fn gemini_shut_down_imagen_is_refused_before_sending_and_unknown_models_are_named() {
    let s = fakes_cloud::gemini();
    let dir = profile_dir("gemini-models", "gemini", &format!("{}/v1beta", s.url), "");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &[
            "imagine",
            "a cat",
            "--painter",
            "p",
            "--model",
            "imagen-4.0-generate-001",
        ],
    )
    .run();
    r.assert_usage_error("imagen", "was shut down on 2026-08-17");
    assert!(
        r.stderr.contains("--model gemini-nano-banana-2.1"),
        "{}",
        r.stderr
    );
    assert!(s.fake.log.lock().unwrap().is_empty(), "nothing was sent");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &[
            "imagine",
            "a cat",
            "--painter",
            "p",
            "--model",
            "gemini-9-image",
        ],
    )
    .run();
    r.assert_usage_error("unknown", "Google says model gemini-9-image does not exist");
    no_leak(&r, &dir);
}

#[test]
fn gemini_bad_key_is_an_auth_error_that_never_echoes_the_key() {
    let s = fakes_cloud::gemini();
    let dir = profile_dir("gemini-badkey", "gemini", &format!("{}/v1beta", s.url), "");
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &["imagine", "a cat", "--painter", "p"],
    )
    .env("GEMINI_API_KEY", "AIza-wrong-key")
    .run();
    r.assert_usage_error("bad key", "check GEMINI_API_KEY");
    assert!(!r.stderr.contains("AIza-wrong-key"), "{}", r.stderr);
}

// -------------------------------------------------------------- Replicate

#[test]
fn replicate_reads_the_schema_once_and_polls_the_prediction() {
    let s = fakes_cloud::replicate();
    // a timeout long enough for `Prefer: wait` (kept under it)
    let dir = setup(
        "replicate",
        &format!(
            "[painters.p]\nkind = \"replicate\"\nurl = \"{}/v1\"\ntimeout_s = 20\npoll_ms = 20\n",
            s.url
        ),
    );
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &[
            "imagine",
            "a red fox in snow",
            "--painter",
            "p",
            "--size",
            "1024x1024",
            "--seed",
            "11",
            "-n",
            "2",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        s.fake.hits("/v1/models/black-forest-labs/flux-2-pro"),
        1,
        "schema cached"
    );
    let path = "/v1/models/black-forest-labs/flux-2-pro/predictions";
    let bodies = s.fake.bodies(path);
    assert_eq!(bodies.len(), 2);
    let input = &bodies[0]["input"];
    assert_eq!(input["aspect_ratio"], "1:1");
    assert!(input.get("width").is_none(), "{input}");
    assert_eq!(input["output_format"], "png");
    assert_eq!(input["seed"], 11);
    assert_eq!(bodies[1]["input"]["seed"], 12);
    assert_eq!(header(&s, path, "prefer").as_deref(), Some("wait=15"));
    assert_eq!(
        header(&s, path, "authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    let line = &json_lines(&r.stdout)[0];
    let i = info(line["file"].as_str().unwrap());
    assert_eq!(
        (i["width"].as_u64(), i["height"].as_u64()),
        (Some(64), Some(64))
    );
    assert_eq!(i["mural"]["model"], "black-forest-labs/flux-2-pro");
    no_leak(&r, &dir);
}

#[test]
fn replicate_input_follows_the_schema_of_a_pinned_version() {
    let s = fakes_cloud::replicate();
    let model = format!("acme/ratio-only:{RATIO_ONLY_VERSION}");
    let dir = profile_dir(
        "replicate-schema",
        "replicate",
        &format!("{}/v1", s.url),
        &format!("model = \"{model}\"\n"),
    );
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &[
            "imagine",
            "a mountain lake",
            "--painter",
            "p",
            "--size",
            "1920x1080",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        s.fake.hits(&format!(
            "/v1/models/acme/ratio-only/versions/{RATIO_ONLY_VERSION}"
        )),
        1
    );
    let b = &s.fake.bodies("/v1/predictions")[0];
    assert_eq!(b["version"], RATIO_ONLY_VERSION);
    let input = &b["input"];
    assert_eq!(input["aspect_ratio"], "16:9", "{input}");
    assert!(input.get("width").is_none() && input.get("height").is_none());
    assert!(input.get("seed").is_none() && input.get("output_format").is_none());
    assert_eq!(input["num_outputs"], 1);
    let i = info(json_lines(&r.stdout)[0]["file"].as_str().unwrap());
    assert_eq!(
        (i["width"].as_u64(), i["height"].as_u64()),
        (Some(64), Some(36))
    );
    assert_eq!(i["mural"]["model"], model.as_str());
}

#[test]
fn replicate_nsfw_failure_is_a_refusal_and_is_not_retried() {
    let s = fakes_cloud::replicate();
    s.fake.push(&[Fault::Refuse]);
    let dir = profile_dir(
        "replicate-refuse",
        "replicate",
        &format!("{}/v1", s.url),
        "",
    );
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &["imagine", "a cat", "--painter", "p"],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("NSFW content detected"),
        "{}",
        r.stderr
    );
    assert_eq!(
        s.fake
            .hits("/v1/models/black-forest-labs/flux-2-pro/predictions"),
        1
    );
    no_leak(&r, &dir);
}

#[test]
fn replicate_throttled_waits_for_the_reset_then_paints() {
    let s = fakes_cloud::replicate();
    s.fake.push(&[Fault::RateLimited]);
    let dir = profile_dir("replicate-429", "replicate", &format!("{}/v1", s.url), "");
    let t = Instant::now();
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &["imagine", "a cat", "--painter", "p"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "\"resets in ~1s\" was not honored"
    );
    assert_eq!(
        s.fake
            .hits("/v1/models/black-forest-labs/flux-2-pro/predictions"),
        2
    );
}

#[test]
fn replicate_unknown_and_shut_down_models_are_named() {
    let s = fakes_cloud::replicate();
    let dir = profile_dir(
        "replicate-models",
        "replicate",
        &format!("{}/v1", s.url),
        "[[models]]\nid = \"acme/old-painter\"\nprovider = \"replicate\"\nkind = \"image\"\nstatus = \"shutdown\"\nshutdown = \"2026-06-01\"\nreplacement = \"black-forest-labs/flux-2-pro\"\n",
    );
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &[
            "imagine",
            "a cat",
            "--painter",
            "p",
            "--model",
            "acme/old-painter",
        ],
    )
    .run();
    r.assert_usage_error("retired", "was shut down on 2026-06-01");
    assert!(s.fake.log.lock().unwrap().is_empty(), "nothing was sent");
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &["imagine", "a cat", "--painter", "p", "--model", "acme/nope"],
    )
    .run();
    r.assert_usage_error("unknown", "Replicate says model acme/nope does not exist");
    let r = mural(
        &dir,
        "REPLICATE_API_TOKEN",
        &["imagine", "a cat", "--painter", "p", "--model", "flux"],
    )
    .run();
    r.assert_usage_error("bad name", "not owner/name");
}

#[test]
fn models_refresh_reads_googles_model_list_page_by_page() {
    let s = fakes_cloud::gemini();
    let dir = profile_dir(
        "gemini-models-list",
        "gemini",
        &format!("{}/v1beta", s.url),
        "",
    );
    let r = mural(
        &dir,
        "GEMINI_API_KEY",
        &["models", "--painter", "p", "--refresh"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reported = r.stdout.split("# what Google reports now").nth(1).unwrap();
    for id in [
        "gemini-nano-banana-2.1",
        "gemini-3-pro-image",
        "gemini-4-image-preview",
    ] {
        assert!(reported.contains(id), "{id} missing: {reported}");
    }
    assert!(
        reported.contains("gemini-4-image-preview") && reported.contains("not in mural's catalog")
    );
    assert!(!r.stdout.contains(KEY) && !r.stderr.contains(KEY));
}
