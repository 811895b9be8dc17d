//! LLM writers (`--writer`): the OpenAI-compatible chat writer against a
//! local fake that speaks the wire format (with faults), the real
//! llama-cpp-python server with gemma-3-270m, and the in-process GGUF
//! writer (`--features llama`).

use crate::fakes::{self, Fault, KEY};
use crate::util::{json_lines, TempDir, TestCommand};
use serde_json::Value;
use std::sync::atomic::Ordering;

fn chat_path() -> &'static str {
    "/v1/chat/completions"
}

/// `mural prompt ... --writer openai:fake-model` against `url`.
fn prompt(url: &str, args: &[&str]) -> TestCommand {
    let mut all = vec!["prompt"];
    all.extend_from_slice(args);
    TestCommand::new(&all).env("OPENAI_BASE_URL", format!("{url}/v1"))
}

fn config(dir: &TempDir, toml: &str) -> std::path::PathBuf {
    let p = dir.0.join("mural.toml");
    std::fs::write(&p, toml).unwrap();
    p
}

/// Every content word of the idea is in the prompt.
fn keeps_words(idea: &str, prompt: &str) {
    let p = prompt.to_lowercase();
    for w in idea.split_whitespace().filter(|w| w.len() > 3) {
        assert!(
            p.contains(&w.to_lowercase()),
            "{w:?} missing from {prompt:?}"
        );
    }
}

#[test]
fn openai_writer_asks_for_n_in_one_request() {
    let s = fakes::openai_chat();
    let r = prompt(
        &s.url,
        &[
            "a red fox in the snow",
            "--writer",
            "openai:fake-model",
            "-n",
            "3",
            "--seed",
            "10",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        keeps_words("a red fox in the snow", l["prompt"].as_str().unwrap());
        assert_eq!(l["seed"], 10 + i as u64);
        assert!(l.get("repaired").is_none(), "{l}");
    }
    assert_ne!(lines[0]["prompt"], lines[1]["prompt"]);
    let bodies = s.fake.bodies(chat_path());
    assert_eq!(bodies.len(), 1, "one request with n=3");
    let b = &bodies[0];
    assert_eq!(b["n"], 3);
    assert_eq!(b["model"], "fake-model");
    assert_eq!(b["seed"], 10);
    // not api.openai.com: the classic name that every server reads
    assert!(b.get("max_tokens").is_some() && b.get("max_completion_tokens").is_none());
    let system = b["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Keep every word of the idea"), "{system}");
    let user = b["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("main subject: fox"), "{user}");
}

#[test]
fn n_refused_by_the_server_falls_back_to_single_requests() {
    let s = fakes::openai_chat();
    s.fake.refuse_n.store(true, Ordering::SeqCst);
    let r = prompt(
        &s.url,
        &[
            "a lighthouse on a cliff",
            "--writer",
            "openai:m",
            "-n",
            "3",
            "--seed",
            "5",
            "--json",
            "-t",
            "sd",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout).len(), 3);
    let bodies = s.fake.bodies(chat_path());
    assert_eq!(bodies.len(), 4, "one refused n=3, then three singles");
    let mut seeds: Vec<u64> = bodies[1..]
        .iter()
        .map(|b| b["seed"].as_u64().unwrap())
        .collect();
    seeds.sort();
    assert_eq!(seeds, vec![5, 6, 7], "single i is seeded seed + i");
    assert!(bodies[1..].iter().all(|b| b.get("n").is_none()));
}

#[test]
fn a_single_variation_reproduces_from_its_seed() {
    let s = fakes::openai_chat();
    s.fake.refuse_n.store(true, Ordering::SeqCst);
    let all = prompt(
        &s.url,
        &[
            "a koi pond",
            "--writer",
            "openai:m",
            "-n",
            "3",
            "--seed",
            "40",
            "--json",
        ],
    )
    .run();
    let one = prompt(
        &s.url,
        &[
            "a koi pond",
            "--writer",
            "openai:m",
            "--seed",
            "42",
            "--json",
        ],
    )
    .run();
    let all = json_lines(&all.stdout);
    let one = json_lines(&one.stdout);
    assert_eq!(all[2]["prompt"], one[0]["prompt"]);
}

#[test]
fn a_dropped_subject_is_asked_for_again() {
    let s = fakes::openai_chat();
    s.fake.chat_script.lock().unwrap().extend([
        "A lovely animal resting in winter light.".to_string(),
        "@good".to_string(),
    ]);
    let r = prompt(
        &s.url,
        &["a red fox in the snow", "--writer", "openai:m", "--json"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &json_lines(&r.stdout)[0];
    keeps_words("a red fox in the snow", l["prompt"].as_str().unwrap());
    assert!(
        l.get("repaired").is_none(),
        "the second answer was good: {l}"
    );
    let bodies = s.fake.bodies(chat_path());
    assert_eq!(bodies.len(), 2);
    let again = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(again[2]["role"], "assistant");
    assert_eq!(
        again[2]["content"],
        "A lovely animal resting in winter light."
    );
    let ask = again[3]["content"].as_str().unwrap();
    assert!(
        ask.contains("breaks the rules") && ask.contains("\"fox\""),
        "{ask}"
    );
}

#[test]
fn a_subject_dropped_twice_is_repaired_and_reported() {
    let s = fakes::openai_chat();
    s.fake.chat_script.lock().unwrap().extend([
        "A lovely animal in winter, soft blue light.".to_string(),
        "Still an animal, painted in the cold with loose strokes and a quiet, muted palette of grays.".to_string(),
    ]);
    let r = prompt(
        &s.url,
        &["a red fox in the snow", "--writer", "openai:m", "--json"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &json_lines(&r.stdout)[0];
    assert_eq!(l["repaired"], true, "{l}");
    let p = l["prompt"].as_str().unwrap();
    assert!(p.starts_with("A red fox in the snow."), "{p}");
    assert!(
        p.contains("painted in the cold with loose strokes"),
        "the model's own detail stays: {p}"
    );
}

#[test]
fn repaired_sd_prompts_fit_75_clip_tokens() {
    let s = fakes::openai_chat();
    let long: Vec<String> = (0..80).map(|i| format!("extra detail {i}")).collect();
    let long = long.join(", ");
    s.fake
        .chat_script
        .lock()
        .unwrap()
        .extend([long.clone(), long]);
    let r = prompt(
        &s.url,
        &[
            "a castle on a hill",
            "--writer",
            "openai:m",
            "-t",
            "sd",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &json_lines(&r.stdout)[0];
    assert_eq!(l["repaired"], true);
    let p = l["prompt"].as_str().unwrap();
    let lint = TestCommand::new(&["lint", p, "--target", "sd", "--json"]).run();
    let report: Value = serde_json::from_str(&lint.stdout).unwrap();
    assert!(report["clip_tokens"].as_u64().unwrap() <= 75, "{report}");
    keeps_words("castle hill", p);
    assert!(!l["negative_prompt"].as_str().unwrap().is_empty());
}

#[test]
fn quoted_text_survives_verbatim() {
    let s = fakes::openai_chat();
    s.fake.chat_script.lock().unwrap().extend([
        "A cafe sign reading OPEN LATE in neon.".to_string(),
        "A neon cafe sign, OPEN LATE.".to_string(),
    ]);
    let idea = "a cafe sign that says \"Open Late\"";
    let r = prompt(
        &s.url,
        &[idea, "--writer", "openai:m", "--json", "-t", "flux"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &json_lines(&r.stdout)[0];
    assert!(
        l["prompt"].as_str().unwrap().contains("\"Open Late\""),
        "{l}"
    );
    assert_eq!(l["repaired"], true);
}

#[test]
fn unauthorized_says_to_check_openai_api_key_and_never_shows_it() {
    let s = fakes::openai_chat();
    let wrong = "sk-wrong-SECRETVALUE-123456";
    let r = prompt(&s.url, &["a cat", "--writer", "openai:m"])
        .env("OPENAI_API_KEY", wrong)
        .run();
    r.assert_usage_error("401", "check OPENAI_API_KEY");
    assert!(!r.stderr.contains("SECRETVALUE"), "{}", r.stderr);
    // the right key works
    let ok = prompt(&s.url, &["a cat", "--writer", "openai:m"])
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn openai_itself_without_a_key_is_a_setup_error() {
    TestCommand::new(&["prompt", "a cat", "--writer", "openai"])
        .run()
        .assert_usage_error("no key", "set OPENAI_API_KEY");
}

#[test]
fn deprecated_writer_model_warns_once_then_is_refused_at_its_shutdown() {
    let s = fakes::openai_chat();
    let ok = prompt(&s.url, &["a cat", "--writer", "openai:gpt-4o-mini"])
        .env("OPENAI_API_KEY", KEY)
        .env("MURAL_TODAY", "2026-12-01")
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let warnings: Vec<&str> = ok
        .stderr
        .lines()
        .filter(|l| l.contains("deprecated"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", ok.stderr);
    assert!(warnings[0].contains("2027-01-14"), "{}", warnings[0]);
    assert!(warnings[0].contains("--writer openai:"), "{}", warnings[0]);
    let sent = s.fake.hits("/v1/chat/completions");
    assert!(sent >= 1);
    // on its shutdown date: refused before any request
    prompt(&s.url, &["a cat", "--writer", "openai:gpt-4o-mini"])
        .env("OPENAI_API_KEY", KEY)
        .env("MURAL_TODAY", "2027-01-14")
        .run()
        .assert_usage_error("shut down", "was shut down on 2027-01-14");
    assert_eq!(s.fake.hits("/v1/chat/completions"), sent);
}

#[test]
fn default_openai_writer_model_is_the_catalogs_current_one() {
    let s = fakes::openai_chat();
    let r = prompt(&s.url, &["a cat", "--writer", "openai"])
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let body = &s.fake.bodies("/v1/chat/completions")[0];
    let default = mural_catalog::Catalog::builtin()
        .default_model(mural_catalog::Provider::Openai, mural_catalog::Kind::Chat)
        .unwrap();
    assert_eq!(body["model"], default.id.as_str());
    assert_eq!(default.status, mural_catalog::Status::Active);
    assert!(body.get("max_completion_tokens").is_some(), "{body}");
}

fn with_profile(s: &fakes::Server, dir: &TempDir, extra: &str) -> std::path::PathBuf {
    config(
        dir,
        &format!(
            "[writers.fake]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\nmax_retries = 1\ntimeout_s = 1\n{extra}",
            s.url
        ),
    )
}

#[test]
fn malformed_replies_are_clear_errors() {
    let s = fakes::openai_chat();
    let dir = TempDir::new("writer-malformed");
    let cfg = with_profile(&s, &dir, "");
    s.fake
        .chat_script
        .lock()
        .unwrap()
        .push_back("@nochoices".into());
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not a chat completion"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&s.url),
        "names the endpoint: {}",
        r.stderr
    );
    // a body cut short is retried, then reported
    s.fake
        .chat_script
        .lock()
        .unwrap()
        .extend(["@malformed".to_string(), "@malformed".to_string()]);
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not valid JSON") && r.stderr.contains("2 attempts"),
        "{}",
        r.stderr
    );
    // a numeric error code (llama.cpp) is read, and retried
    s.fake
        .chat_script
        .lock()
        .unwrap()
        .extend(["@int-code-error".to_string(), "@good".to_string()]);
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_slow_server_times_out_with_a_clear_error() {
    let s = fakes::openai_chat();
    let dir = TempDir::new("writer-slow");
    let cfg = with_profile(&s, &dir, "");
    s.fake.push(&[Fault::Slow, Fault::Slow]);
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    // one slow reply, then a good one: the retry saves it
    s.fake.push(&[Fault::Slow]);
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake", "--json"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn endpoint_down_names_the_url() {
    let url = "http://127.0.0.1:9";
    let r = prompt(url, &["a cat", "--writer", "openai:m"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("http://127.0.0.1:9/v1"), "{}", r.stderr);
    assert!(r.stderr.contains("running"), "{}", r.stderr);
    // imagine says the writer failed, not the painter
    let dir = TempDir::new("writer-down-imagine");
    let r = TestCommand::new(&[
        "imagine",
        "a cat",
        "--writer",
        "openai:m",
        "--out",
        dir.0.to_str().unwrap(),
    ])
    .env("OPENAI_BASE_URL", format!("{url}/v1"))
    .env("MURAL_HOME", dir.0.join("home"))
    .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("mural: writer openai:m: "),
        "{}",
        r.stderr
    );
}

#[test]
fn profiles_choose_token_param_and_n() {
    let s = fakes::openai_chat();
    let dir = TempDir::new("writer-profile");
    let cfg = with_profile(
        &s,
        &dir,
        "token_param = \"max_completion_tokens\"\nn = false\ntemperature = 0.3\n",
    );
    let r = TestCommand::new(&["prompt", "a cat", "--writer", "fake", "-n", "2"])
        .env("MURAL_CONFIG", &cfg)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bodies = s.fake.bodies(chat_path());
    assert_eq!(bodies.len(), 2, "n = false: single requests from the start");
    for b in &bodies {
        assert!(
            b.get("max_completion_tokens").is_some() && b.get("max_tokens").is_none(),
            "{b}"
        );
        assert!((b["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    }
    // mural.toml's `writer` is the default
    let cfg2 = config(
        &dir,
        &format!(
            "writer = \"fake\"\n{}",
            std::fs::read_to_string(&cfg).unwrap()
        ),
    );
    let r = TestCommand::new(&["prompt", "a dog", "--json"])
        .env("MURAL_CONFIG", &cfg2)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s.fake.bodies(chat_path()).len(), 3);
}

#[test]
fn reasoning_models_get_their_default_sampling() {
    let s = fakes::openai_chat();
    let r = prompt(&s.url, &["a cat", "--writer", "openai:o3-mini", "-n", "2"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bodies = s.fake.bodies(chat_path());
    assert_eq!(bodies.len(), 2, "refused once, then without temperature");
    assert!(bodies[1].get("temperature").is_none() && bodies[1].get("top_p").is_none());
}

#[test]
fn stream_on_a_terminal_shows_the_text_as_it_arrives() {
    // `script` gives mural a pseudo-terminal, as a user's shell would
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs util-linux's script"
        );
        return;
    }
    let s = fakes::openai_chat();
    let cmd = format!(
        "{} prompt 'a red fox in the snow' --writer openai:m -n 2 --stream --seed 1",
        env!("CARGO_BIN_EXE_mural")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env_remove("OPENAI_API_KEY")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("[#1]") && text.contains("[#2]"), "{text}");
    assert_eq!(s.fake.bodies(chat_path())[0]["stream"], true);
    // without a terminal, --stream changes nothing
    let piped = prompt(
        &s.url,
        &[
            "a red fox in the snow",
            "--writer",
            "openai:m",
            "--stream",
            "--json",
        ],
    )
    .run();
    assert!(!piped.stderr.contains("[#1]"), "{}", piped.stderr);
}

#[test]
fn bad_writer_specs_are_usage_errors() {
    TestCommand::new(&["prompt", "a cat", "--writer", "gpt"])
        .run()
        .assert_usage_error("unknown", "use builtin, openai[:MODEL], gguf:PATH");
    let dir = TempDir::new("writer-kind");
    let cfg = config(&dir, "[writers.x]\nkind = \"claude\"\n");
    TestCommand::new(&["prompt", "a cat"])
        .env("MURAL_CONFIG", &cfg)
        .run()
        .assert_usage_error("kind", "use one of: openai, gguf");
    TestCommand::new(&["prompt", "a cat", "--writer", "gguf:/no/such/model.gguf"])
        .run()
        .assert_usage_error("missing", "/no/such/model.gguf: no such file");
    let junk = dir.0.join("model.bin");
    std::fs::write(&junk, b"PK\x03\x04 not a model").unwrap();
    TestCommand::new(&[
        "prompt",
        "a cat",
        "--writer",
        &format!("gguf:{}", junk.display()),
    ])
    .run()
    .assert_usage_error("not gguf", "not a GGUF file");
}

#[cfg(not(feature = "llama"))]
#[test]
fn gguf_without_the_llama_feature_says_how_to_build_it() {
    let dir = TempDir::new("writer-nofeature");
    let p = dir.0.join("tiny.gguf");
    mural_llm::gguf_meta::write_test_header(&p, &[("general.architecture", "gemma3")]).unwrap();
    TestCommand::new(&[
        "prompt",
        "a cat",
        "--writer",
        &format!("gguf:{}", p.display()),
    ])
    .run()
    .assert_usage_error("feature", "--features llama");
}

#[test]
fn streamed_text_arrives_in_pieces_and_matches_the_result() {
    use std::sync::{Arc, Mutex};
    let s = fakes::openai_chat();
    let heard: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let h = heard.clone();
    let sink: mural_llm::Sink =
        Arc::new(move |i, p: &str| h.lock().unwrap().push((i, p.to_string())));
    let base = format!("{}/v1", s.url);
    let env = move |k: &str| (k == "OPENAI_BASE_URL").then(|| base.clone());
    let w = mural_llm::build("openai:m", &Default::default(), &env, Some(sink)).unwrap();
    let mut req =
        mural_prompt::WriteRequest::new("a red fox in the snow", mural_prompt::Target::Dalle);
    req.n = 2;
    let out = w.write(&req).unwrap();
    let heard = heard.lock().unwrap();
    assert!(heard.len() > 4, "pieces: {heard:?}");
    for (i, w) in out.iter().enumerate() {
        let text: String = heard
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, p)| p.as_str())
            .collect();
        assert_eq!(text.trim(), w.prompt, "choice {i}");
    }
    assert_eq!(s.fake.bodies(chat_path())[0]["stream"], true);
}

#[test]
fn imagine_paints_the_llm_prompt_and_rerun_replays_it() {
    let s = fakes::openai_chat();
    let dir = TempDir::new("writer-imagine");
    let home = dir.0.join("home");
    let out = dir.0.join("out");
    let out = out.to_str().unwrap();
    let r = TestCommand::new(&[
        "imagine",
        "a red fox in the snow",
        "--writer",
        "openai:m",
        "--seed",
        "3",
        "--size",
        "256x256",
        "--json",
        "--out",
        out,
    ])
    .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
    .env("MURAL_HOME", &home)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let img = &json_lines(&r.stdout)[0];
    let written = img["prompt"].as_str().unwrap().to_string();
    assert!(
        written.contains("rich textures"),
        "the LLM's prompt was painted: {written}"
    );
    let info = TestCommand::new(&["info", img["file"].as_str().unwrap(), "--json"]).run();
    let info: Value = serde_json::from_str(&info.stdout).unwrap();
    assert_eq!(info["mural"]["writer"], "openai:m", "{info}");
    let hits = s.fake.hits(chat_path());
    // no endpoint needed to re-run: the recorded prompt is replayed
    let rerun = TestCommand::new(&["rerun", &img["run_id"].to_string(), "--json", "--out", out])
        .env("MURAL_HOME", &home)
        .run();
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(json_lines(&rerun.stdout)[0]["prompt"], written.as_str());
    assert_eq!(s.fake.hits(chat_path()), hits);
}

// ------------------------------------------------ real peers (CI installs)

/// The llama-cpp-python venv and the gemma GGUF, when set up
/// (`tools/setup-llama-server.sh`; `.ci/run` exports both).
fn llama_peer() -> Option<(String, String)> {
    let py = std::env::var("MURAL_TEST_LLAMA_PYTHON").ok();
    let model = std::env::var("MURAL_TEST_GGUF").ok();
    match (py, model) {
        (Some(p), Some(m)) => Some((p, m)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set MURAL_TEST_LLAMA_PYTHON and MURAL_TEST_GGUF (tools/setup-llama-server.sh)"
            );
            eprintln!("skipped: set MURAL_TEST_LLAMA_PYTHON and MURAL_TEST_GGUF (tools/setup-llama-server.sh)");
            None
        }
    }
}

struct LlamaServer {
    child: std::process::Child,
    url: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_llama_server(python: &str, model: &str) -> LlamaServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(python)
        .args([
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
        ])
        .args([
            "--port",
            &port.to_string(),
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start llama_cpp.server");
    let url = format!("http://127.0.0.1:{port}");
    let s = LlamaServer { child, url };
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("llama_cpp.server did not start on {port}");
}

#[test]
fn real_llama_cpp_server_writes_three_guarded_prompts_then_goes_down() {
    let Some((python, model)) = llama_peer() else {
        return;
    };
    let server = start_llama_server(&python, &model);
    let idea = "a red fox in the snow";
    let r = prompt(
        &server.url,
        &[
            idea,
            "--writer",
            "openai:gemma-3-270m",
            "-n",
            "3",
            "-t",
            "sd",
            "--seed",
            "7",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        // whatever the small model wrote, the guard's promise holds
        let p = l["prompt"].as_str().unwrap();
        keeps_words(idea, p);
        let lint = TestCommand::new(&["lint", p, "--target", "sd", "--json"]).run();
        let report: Value = serde_json::from_str(&lint.stdout).unwrap();
        assert!(report["clip_tokens"].as_u64().unwrap() <= 75, "{report}");
    }
    let url = server.url.clone();
    drop(server);
    let r = prompt(&url, &[idea, "--writer", "openai:gemma-3-270m"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{url}/v1")), "{}", r.stderr);
}

#[cfg(feature = "llama")]
#[test]
fn in_process_gguf_is_seeded_and_guarded() {
    let Some((_, model)) = llama_peer() else {
        return;
    };
    let spec = format!("gguf:{model}");
    let run = || {
        TestCommand::new(&[
            "prompt",
            "a lighthouse at midnight",
            "--writer",
            &spec,
            "-n",
            "2",
            "-t",
            "sd",
            "--seed",
            "11",
            "--json",
        ])
        .run()
    };
    let a = run();
    assert_eq!(a.code, 0, "{}", a.stderr);
    let b = run();
    assert_eq!(a.stdout, b.stdout, "the same seed gives the same text");
    let lines = json_lines(&a.stdout);
    assert_eq!(lines.len(), 2);
    for l in &lines {
        let p = l["prompt"].as_str().unwrap().to_lowercase();
        assert!(p.contains("lighthouse") && p.contains("midnight"), "{p}");
        assert!(!p.contains("golden hour") && !p.contains("sunlight"), "{p}");
    }
    // the variations differ
    assert_ne!(lines[0]["prompt"], lines[1]["prompt"]);
}

#[cfg(feature = "llama")]
#[test]
fn gguf_chat_forced_on_a_model_without_a_template_says_so() {
    let Some((_, model)) = llama_peer() else {
        return;
    };
    // gemma-3-270m (base) carries no chat template: it gets the few-shot prompt
    let dir = TempDir::new("writer-chat");
    let cfg = config(
        &dir,
        &format!("[writers.g]\nkind = \"gguf\"\npath = \"{model}\"\nchat = true\n"),
    );
    TestCommand::new(&["prompt", "a cat", "--writer", "g"])
        .env("MURAL_CONFIG", &cfg)
        .run()
        .assert_usage_error("chat", "no chat template; set chat = false");
}

#[cfg(feature = "llama")]
#[test]
fn gguf_of_an_unknown_architecture_names_it() {
    let dir = TempDir::new("writer-arch");
    let p = dir.0.join("odd.gguf");
    mural_llm::gguf_meta::write_test_header(&p, &[("general.architecture", "nonsense-arch")])
        .unwrap();
    TestCommand::new(&[
        "prompt",
        "a cat",
        "--writer",
        &format!("gguf:{}", p.display()),
    ])
    .run()
    .assert_usage_error("arch", "\"nonsense-arch\"");
}
