//! The studio a user expects (issue 17, item 5), against `mural serve` as a
//! real process (or the library on a real socket where a test needs its
//! writer profiles), real HTTP on loopback, a real gallery, and a real
//! Chromium through WebDriver.

use crate::fakes;
use crate::util::{TempDir, TestCommand};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ------------------------------------------------------------- helpers

/// `mural serve` as a process, with `MURAL_HOME` and a config folder in
/// `dir` (`config/mural/mural.toml` when `toml` is given).
struct Server {
    child: Child,
    port: u16,
    url: String,
}

impl Server {
    fn start(dir: &TempDir, toml: Option<&str>) -> Server {
        if let Some(t) = toml {
            let cfg = dir.0.join("config/mural");
            std::fs::create_dir_all(&cfg).unwrap();
            std::fs::write(cfg.join("mural.toml"), t).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_mural"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("MURAL_HOME", dir.0.join("home"))
            .env("XDG_CONFIG_HOME", dir.0.join("config"))
            .env_remove("MURAL_TOKEN")
            .env_remove("MURAL_CONFIG")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .current_dir(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mural serve");
        let url = crate::util::listen_url(&mut child);
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Server { child, port, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply: status, lower-cased headers, body bytes.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (closed after the reply, so
/// an event stream is read to its end).
fn request(port: u16, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("content-type: application/json\r\n");
    }
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    // to the end, or to content-length (a peer may keep the connection)
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|len| raw.len() >= end + 4 + len) {
                break;
            }
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole reply head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 4 + size).min(b.len())..];
    }
    out
}

fn get(port: u16, path: &str) -> Reply {
    request(port, "GET", path, &[], "")
}

fn post(port: u16, path: &str, body: Value) -> Reply {
    request(port, "POST", path, &[], &body.to_string())
}

/// Starts a job and reads its whole event stream: (the job, the events as
/// (kind, data)).
fn job(port: u16, path: &str, body: Value) -> (Value, Vec<(String, Value)>) {
    let r = post(port, path, body);
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json();
    (job.clone(), events(port, job["id"].as_str().unwrap()))
}

fn events(port: u16, id: &str) -> Vec<(String, Value)> {
    let r = get(port, &format!("/v1/jobs/{id}/events"));
    assert_eq!(r.status, 200, "{}", r.text());
    parse_events(&r.text())
}

fn parse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut kind = None;
            let mut data = None;
            for l in block.lines() {
                if let Some(k) = l.strip_prefix("event: ") {
                    kind = Some(k.to_string());
                }
                if let Some(d) = l.strip_prefix("data: ") {
                    data = serde_json::from_str(d).ok();
                }
            }
            Some((kind?, data?))
        })
        .collect()
}

fn last_kind(events: &[(String, Value)]) -> &str {
    events.last().map(|(k, _)| k.as_str()).unwrap_or("")
}

/// The gallery's runs, newest first.
fn runs(port: u16) -> Vec<Value> {
    let r = get(port, "/v1/gallery?limit=100");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["runs"].as_array().unwrap().clone()
}

fn run(port: u16, id: i64) -> Value {
    runs(port)
        .into_iter()
        .find(|r| r["id"] == json!(id))
        .unwrap_or_else(|| panic!("no run {id} in the gallery"))
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `mural imagine` as a user runs it, into a folder of its own (not the
/// server's); its run's id.
fn imagine_on_the_cli(dir: &TempDir, idea: &str, n: &str) -> i64 {
    let out = dir.0.join("cli-out");
    let out = out.to_str().unwrap();
    let r = TestCommand::new(&[
        "imagine", idea, "-n", n, "--seed", "11", "--size", "96x64", "--json", "--out", out,
    ])
    .env("MURAL_HOME", dir.0.join("home"))
    .dir(&dir.0)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    first["run_id"].as_i64().unwrap()
}

/// A fake A1111 that paints request k only once the test allowed k images:
/// a painter slow exactly when a test needs it to be.
struct GatedA1111 {
    url: String,
    allowed: tokio::sync::watch::Sender<usize>,
    _rt: tokio::runtime::Runtime,
}

impl GatedA1111 {
    fn start() -> GatedA1111 {
        use axum::routing::post;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (allowed, rx) = tokio::sync::watch::channel(0usize);
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/sdapi/v1/txt2img",
            post(move |axum::Json(v): axum::Json<Value>| {
                let mut rx = rx.clone();
                let k = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                async move {
                    let _ = rx.wait_for(|a| *a >= k).await;
                    crate::fakes::a1111_reply(&v)
                }
            }),
        );
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GatedA1111 {
            url,
            allowed,
            _rt: rt,
        }
    }

    fn allow(&self, n: usize) {
        self.allowed.send_replace(n);
    }
}

/// Waits until `f` holds (a generous bound: the machines are slow).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(60), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// -------------------------------------------------------------- files

#[test]
fn images_made_on_the_cli_are_listed_and_served_by_id() {
    let dir = TempDir::new("studio-cli-files");
    let run_id = imagine_on_the_cli(&dir, "a red kite over a hill", "2");
    let server = Server::start(&dir, None);
    let listed = run(server.port, run_id);
    let images = listed["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{listed}");
    for im in images {
        assert!(im.get("file").is_none(), "the server's paths stay private");
        let url = im["url"].as_str().unwrap();
        assert_eq!(url, format!("/v1/images/{}/file", im["id"]));
        let r = get(server.port, url);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("image/png"));
        assert!(r.body.starts_with(PNG_MAGIC));
        let decoded = image::load_from_memory(&r.body).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (96, 64));
    }
    // the file lies outside the server's own folder: /files/ never had it
    let name = std::fs::read_dir(dir.0.join("cli-out"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let r = get(server.port, &format!("/files/{}", name.to_string_lossy()));
    assert_eq!(r.status, 404);
    // an id the gallery lacks, or no id at all, is an OpenAI-shaped 404
    for bad in ["/v1/images/99999/file", "/v1/images/x/file"] {
        let r = get(server.port, bad);
        assert_eq!(r.status, 404, "{bad}");
        assert_eq!(r.json()["error"]["code"], "not_found", "{bad}");
    }
}

#[test]
fn image_files_by_id_need_the_token_when_one_is_set() {
    let dir = TempDir::new("studio-files-token");
    let run_id = imagine_on_the_cli(&dir, "a blue boat", "1");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mural"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("MURAL_HOME", dir.0.join("home"))
        .env("XDG_CONFIG_HOME", dir.0.join("config"))
        .env("MURAL_TOKEN", "s3cret-token")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    let auth = "authorization: Bearer s3cret-token";
    let r = request(port, "GET", "/v1/gallery", &[auth], "");
    let id = r.json()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(run_id))
        .unwrap()["images"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/images/{id}/file");
    assert_eq!(request(port, "GET", &path, &[], "").status, 401);
    let r = request(port, "GET", &path, &[auth], "");
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(PNG_MAGIC));
    let _ = child.kill();
    let _ = child.wait();
}

// ------------------------------------------------------------- re-run

#[test]
fn rerun_repaints_the_recorded_prompts_and_never_rewrites_them() {
    let dir = TempDir::new("studio-rerun");
    let cli_run = imagine_on_the_cli(&dir, "a lighthouse on a cliff at dusk", "2");
    let server = Server::start(&dir, None);
    let port = server.port;

    // a prompt edited by hand and painted as written (the verbatim writer)
    let edited = "an edited prompt: one green door in a white wall, noon";
    let (_, ev) = job(
        port,
        "/v1/jobs",
        json!({"idea": edited, "rewrite": false, "painter": "sketch", "size": "64x64", "seed": 5, "negative": "fog"}),
    );
    assert_eq!(last_kind(&ev), "done", "{ev:?}");
    let edited_run = ev.last().unwrap().1["run_id"].as_i64().unwrap();
    // the built-in writer would have written something else
    let builtin = post(
        port,
        "/v1/prompts",
        json!({"idea": edited, "writer": "builtin", "seed": 5}),
    )
    .json();
    assert_ne!(builtin["prompts"][0]["prompt"], json!(edited));

    for old_id in [edited_run, cli_run] {
        let old = run(port, old_id);
        let (job, ev) = job(port, &format!("/v1/runs/{old_id}/rerun"), json!({}));
        assert_eq!(job["rerun_of"], json!(old_id));
        assert_eq!(last_kind(&ev), "done", "{ev:?}");
        let new_id = ev.last().unwrap().1["run_id"].as_i64().unwrap();
        assert_ne!(new_id, old_id);
        let new = run(port, new_id);
        assert_eq!(new["recipe"]["rerun_of"], json!(old_id));
        assert_eq!(new["recipe"]["painter"], old["recipe"]["painter"]);
        assert_eq!(new["recipe"]["writer"], old["recipe"]["writer"]);
        let fields = |r: &Value| -> Vec<Value> {
            r["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    json!([
                        i["prompt"],
                        i["negative_prompt"],
                        i["seed"],
                        i["width"],
                        i["height"]
                    ])
                })
                .collect()
        };
        assert_eq!(fields(&new), fields(&old), "old run {old_id}");
        assert!(!fields(&new).is_empty());
    }
    let edited_again = runs(port)
        .into_iter()
        .find(|r| r["recipe"]["rerun_of"] == json!(edited_run))
        .unwrap();
    assert_eq!(edited_again["images"][0]["prompt"], json!(edited));
    assert_eq!(edited_again["images"][0]["negative_prompt"], json!("fog"));

    // a run that does not exist is a 404; one with no images a clear 400
    let r = post(port, "/v1/runs/424242/rerun", json!({}));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "not_found");
}

// ------------------------------------------- seed, size and negative

#[test]
fn a_jobs_seed_size_and_negative_are_painted_and_recorded() {
    let dir = TempDir::new("studio-controls");
    let server = Server::start(&dir, None);
    let (job, ev) = job(
        server.port,
        "/v1/jobs",
        json!({"idea": "a foggy harbor at dawn", "painter": "sketch", "n": 2, "seed": 1234, "size": "96x64", "negative": "text, watermark"}),
    );
    assert_eq!(job["seed"], 1234);
    assert_eq!(job["n"], 2);
    assert_eq!(last_kind(&ev), "done", "{ev:?}");
    let prompts = &ev.iter().find(|(k, _)| k == "prompts").unwrap().1["prompts"];
    for p in prompts.as_array().unwrap() {
        assert!(
            p["negative_prompt"]
                .as_str()
                .unwrap()
                .ends_with("text, watermark"),
            "{p}"
        );
    }
    // the progress count: each image says how many of how many
    let counts: Vec<(u64, u64)> = ev
        .iter()
        .filter(|(k, _)| k == "image")
        .map(|(_, d)| (d["kept"].as_u64().unwrap(), d["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, vec![(1, 2), (2, 2)]);
    let run_id = ev.last().unwrap().1["run_id"].as_i64().unwrap();
    let r = run(server.port, run_id);
    assert_eq!(r["recipe"]["negative"], "text, watermark");
    assert_eq!(r["recipe"]["seed"], 1234);
    for (i, im) in r["images"].as_array().unwrap().iter().enumerate() {
        assert_eq!(im["seed"], json!(1234 + i as u64));
        assert_eq!(
            (im["width"].clone(), im["height"].clone()),
            (json!(96), json!(64))
        );
        assert!(im["negative_prompt"]
            .as_str()
            .unwrap()
            .ends_with("text, watermark"));
        // the PNG's own parameters carry it too
        let png = get(server.port, im["url"].as_str().unwrap()).body;
        let text = String::from_utf8_lossy(&png).into_owned();
        assert!(text.contains("text, watermark"), "not in the PNG");
    }
    // the same control on the OpenAI endpoint
    let r = post(
        server.port,
        "/v1/images/generations",
        json!({"prompt": "a quiet street", "model": "sketch", "size": "64x64", "mural_negative": "people"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(runs(server.port)[0]["images"][0]["negative_prompt"]
        .as_str()
        .unwrap()
        .ends_with("people"));
}

// -------------------------------------------------------------- cancel

#[test]
fn a_cancelled_job_stops_between_images_and_keeps_what_it_kept() {
    let painter = GatedA1111::start();
    let dir = TempDir::new("studio-cancel");
    let toml = format!(
        "[painters.gated]\nkind = \"a1111\"\nurl = \"{}\"\n",
        painter.url
    );
    let server = Server::start(&dir, Some(&toml));
    let port = server.port;
    painter.allow(1);
    let r = post(
        port,
        "/v1/jobs",
        json!({"idea": "a windmill in a field", "painter": "gated", "n": 4, "size": "64x64", "seed": 3}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    // the first image is kept; the second waits at the painter
    eventually("the first image is kept", || {
        runs(port)
            .first()
            .is_some_and(|r| r["images"].as_array().unwrap().len() == 1)
    });
    let r = request(port, "DELETE", &format!("/v1/jobs/{id}"), &[], "");
    assert_eq!(r.status, 200, "{}", r.text());
    let status = r.json()["status"].as_str().unwrap().to_string();
    assert!(status == "cancelling" || status == "cancelled", "{status}");
    let ev = events(port, &id);
    assert_eq!(last_kind(&ev), "cancelled", "{ev:?}");
    let end = &ev.last().unwrap().1;
    assert_eq!(
        (end["kept"].clone(), end["total"].clone()),
        (json!(1), json!(4))
    );
    // nothing more is painted, even once the painter would answer
    painter.allow(10);
    std::thread::sleep(Duration::from_millis(300));
    let r = runs(port)[0].clone();
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["error"], "cancelled");
    assert_eq!(r["images"].as_array().unwrap().len(), 1);
    let r = get(port, &format!("/v1/jobs/{id}"));
    assert_eq!(r.json()["status"], "cancelled");
    // POST .../cancel on an ended job changes nothing; an unknown job is 404
    let r = post(port, &format!("/v1/jobs/{id}/cancel"), json!({}));
    assert_eq!(r.json()["status"], "cancelled");
    let r = request(port, "DELETE", "/v1/jobs/job-0-404", &[], "");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

// ------------------------------------------------------------- writers

/// A writer profile on the fake OpenAI-compatible chat server, on the
/// library's own server (a real socket).
struct WithWriter {
    port: u16,
    _dir: TempDir,
    _rt: tokio::runtime::Runtime,
}

fn serve_with_writer(chat_url: &str) -> WithWriter {
    let dir = TempDir::new("studio-writer");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut writers = std::collections::BTreeMap::new();
    writers.insert(
        "chat".to_string(),
        mural_llm::WriterProfile {
            url: Some(format!("{chat_url}/v1")),
            model: Some("fake-model".into()),
            api_key_env: Some("CHAT_KEY".into()),
            max_retries: Some(0),
            ..mural_llm::WriterProfile::of_kind(mural_llm::WriterKind::Openai)
        },
    );
    let state = mural_serve::AppState::with_writers(
        mural_serve::Config {
            gallery: dir.0.join("gallery.db"),
            files: dir.0.join("images"),
            token: None,
            profiles: Default::default(),
            default_painter: "sketch".into(),
            env: Arc::new(|k| (k == "CHAT_KEY").then(|| fakes::KEY.to_string())),
            addr: Some(addr),
            public_url: None,
            limits: Default::default(),
            defaults: Default::default(),
        },
        writers,
    );
    rt.spawn(async move {
        let _ = mural_serve::serve(listener, state, std::future::pending()).await;
    });
    WithWriter {
        port: addr.port(),
        _dir: dir,
        _rt: rt,
    }
}

#[test]
fn a_writer_profile_from_the_config_is_offered_and_used() {
    let chat = fakes::openai_chat();
    let server = serve_with_writer(&chat.url);
    let port = server.port;
    let options = get(port, "/v1/options").json();
    assert_eq!(options["writers"], json!(["builtin", "verbatim", "chat"]));
    let models = get(port, "/v1/models").text();
    assert!(models.contains("\"writer/chat\""), "{models}");
    assert!(!models.contains(fakes::KEY), "the key never leaves");

    let idea = "a red fox in the snow";
    let r = post(
        port,
        "/v1/prompts",
        json!({"idea": idea, "writer": "chat", "n": 2, "seed": 9}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let prompts = r.json()["prompts"].clone();
    assert_eq!(prompts.as_array().unwrap().len(), 2);
    let builtin = post(
        port,
        "/v1/prompts",
        json!({"idea": idea, "writer": "builtin", "n": 1, "seed": 9}),
    )
    .json();
    assert_ne!(prompts[0]["prompt"], builtin["prompts"][0]["prompt"]);
    let asked = chat.fake.bodies("/v1/chat/completions").len();
    assert_eq!(asked, 1, "one chat request for n=2");

    // a job writes once: the prompts shown are the prompts painted
    let (_, ev) = job(
        port,
        "/v1/jobs",
        json!({"idea": idea, "writer": "chat", "n": 2, "seed": 9, "size": "64x64", "painter": "sketch"}),
    );
    assert_eq!(last_kind(&ev), "done", "{ev:?}");
    assert_eq!(chat.fake.bodies("/v1/chat/completions").len(), asked + 1);
    let shown = &ev.iter().find(|(k, _)| k == "prompts").unwrap().1["prompts"];
    let run_id = ev.last().unwrap().1["run_id"].as_i64().unwrap();
    let painted = run(port, run_id);
    assert_ne!(painted["recipe"]["writer"], "builtin");
    for (i, im) in painted["images"].as_array().unwrap().iter().enumerate() {
        assert_eq!(im["prompt"], shown[i]["prompt"]);
    }
    assert!(!get(port, "/v1/gallery").text().contains(fakes::KEY));

    // a writer the server was not given is refused, naming the ones it has
    let r = post(
        port,
        "/v1/prompts",
        json!({"idea": idea, "writer": "openai:gpt-4o"}),
    );
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["error"]["param"], "writer");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("builtin, verbatim, chat"));

    // a writer that fails is a 502 that names it, and no key
    chat.fake
        .chat_script
        .lock()
        .unwrap()
        .extend(["@int-code-error".to_string(), "@int-code-error".to_string()]);
    let r = post(port, "/v1/prompts", json!({"idea": idea, "writer": "chat"}));
    assert_eq!(r.status, 502, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["code"], "writer_failed");
    assert!(e["error"]["message"].as_str().unwrap().contains("writer"));
    assert!(!r.text().contains(fakes::KEY));
}

#[test]
fn mural_toml_defaults_start_the_pickers_and_fill_what_a_request_leaves_out() {
    let chat = fakes::openai_chat();
    let dir = TempDir::new("studio-defaults");
    let toml = format!(
        "[defaults]\ntarget = \"sd\"\nstyle = \"pixel-art\"\nsize = \"96x64\"\nn = 3\nwriter = \"chat\"\n\
         [writers.chat]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"fake-model\"\nmax_retries = 0\n",
        chat.url
    );
    let server = Server::start(&dir, Some(&toml));
    let port = server.port;
    let o = get(port, "/v1/options").json();
    assert_eq!(o["default_writer"], "chat", "{o}");
    assert_eq!(o["default_target"], "sd");
    assert_eq!(o["default_style"], "pixel-art");
    assert_eq!(o["default_size"], "96x64");
    assert_eq!(o["default_n"], 3);
    assert!(o["writers"].as_array().unwrap().contains(&json!("chat")));

    // a request that names no writer gets the default one
    let r = post(
        port,
        "/v1/prompts",
        json!({"idea": "a lighthouse", "seed": 2}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(chat.fake.bodies("/v1/chat/completions").len(), 1);
    // ... and no target or style: the defaults (Stable Diffusion tags, pixel art)
    let r = post(
        port,
        "/v1/prompts",
        json!({"idea": "a lighthouse", "seed": 2, "writer": "builtin"}),
    );
    let p = &r.json()["prompts"][0];
    assert!(p["prompt"].as_str().unwrap().contains("pixel art"), "{p}");
    assert!(
        !p["negative_prompt"].as_str().unwrap().is_empty(),
        "sd has one: {p}"
    );
    // a job with no size paints the default size
    let (_, ev) = job(
        port,
        "/v1/jobs",
        json!({"idea": "a lighthouse", "writer": "builtin", "painter": "sketch", "n": 1}),
    );
    assert_eq!(last_kind(&ev), "done", "{ev:?}");
    let run_id = ev.last().unwrap().1["run_id"].as_i64().unwrap();
    let painted = run(port, run_id);
    assert_eq!(painted["recipe"]["target"], "sd", "{painted}");
    assert_eq!(painted["images"][0]["width"], 96, "{painted}");
    assert_eq!(painted["images"][0]["height"], 64, "{painted}");
    // what a request names wins
    let r = post(
        port,
        "/v1/prompts",
        json!({"idea": "a lighthouse", "seed": 2, "writer": "builtin", "target": "flux", "style": "watercolor"}),
    );
    let p = &r.json()["prompts"][0];
    assert!(!p["prompt"].as_str().unwrap().contains("pixel art"), "{p}");
    drop(server);

    // a default writer that cannot be built stops the server before it listens
    let cfg = dir.0.join("config/mural/mural.toml");
    std::fs::write(&cfg, "[defaults]\nwriter = \"nope\"\n").unwrap();
    TestCommand::new(&["serve", "--port", "0"])
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", &cfg)
        .run()
        .assert_usage_error(
            "a bad default writer",
            "[defaults] writer \"nope\": unknown writer",
        );
}

// ------------------------------------------------- the studio, in Chromium

#[test]
fn the_studio_a_user_expects_in_a_real_browser() {
    let Some(driver) = crate::util::chromedriver_or_skip() else {
        return;
    };
    let chat = fakes::openai_chat();
    let painter = GatedA1111::start();
    let dir = TempDir::new("studio-browser");
    let cli_run = imagine_on_the_cli(&dir, "a kite made on the command line", "1");
    let toml = format!(
        "[defaults]\nstyle = \"watercolor\"\nsize = \"80x80\"\nn = 3\n\n[painters.gated]\nkind = \"a1111\"\nurl = \"{}\"\n\n[writers.chat]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"fake-model\"\n",
        painter.url, chat.url
    );
    let server = Server::start(&dir, Some(&toml));
    let port = crate::util::free_port();
    let mut cd = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(drive(port, &server, cli_run, &painter));
    let _ = cd.kill();
    let _ = cd.wait();
    result.unwrap();
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn until(c: &fantoccini::Client, what: &str, script: &str, expected: Value) -> Res<()> {
    let t = Instant::now();
    loop {
        let v = c.execute(script, vec![]).await?;
        if v == expected {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err(format!("never: {what} (last {v})").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The newest run, over HTTP beside the browser.
fn newest(port: u16) -> Value {
    runs(port)[0].clone()
}

async fn drive(port: u16, server: &Server, cli_run: i64, painter: &GatedA1111) -> Res<()> {
    use fantoccini::{key::Key, Locator};
    let c = crate::util::chromium_session(port).await?;
    let wait = Duration::from_secs(60);
    let sp = server.port;
    let res: Res<()> = async {
        // dark mode, as the system asks for it (Chrome's own emulation)
        let session = c.session_id().await?.ok_or("no session")?;
        let cdp = json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}});
        let r = request(port, "POST", &format!("/session/{session}/goog/cdp/execute"), &[], &cdp.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
        c.goto(&server.url).await?;
        c.wait().at_most(wait).for_element(Locator::Css("#target option[value='sd']")).await?;
        let bg = c.execute("return getComputedStyle(document.body).backgroundColor;", vec![]).await?;
        assert_eq!(bg, json!("rgb(18, 18, 20)"), "dark mode");

        // the configured writer is offered
        c.wait().at_most(wait).for_element(Locator::Css("#writer option[value='chat']")).await?;
        // the pickers start on mural.toml's [defaults]
        until(&c, "the defaults", "return ['style', 'size', 'n', 'writer'].map(id => document.getElementById(id).value);", json!(["watercolor", "80x80", "3", "builtin"])).await?;

        // the CLI's image shows in the gallery
        let cli_img = format!("#gallery li[data-run='{cli_run}'] img");
        c.wait().at_most(wait).for_element(Locator::Css(&cli_img)).await?;
        until(&c, "the CLI image loads", &format!("const i = document.querySelector(\"{cli_img}\"); return !!(i && i.complete && i.naturalWidth > 0);"), json!(true)).await?;

        // seed, size and negative controls; Ctrl+Enter generates
        c.execute("document.getElementById('painter').value = 'sketch';", vec![]).await?;
        c.find(Locator::Id("seed")).await?.send_keys("4242").await?;
        let size = c.find(Locator::Id("size")).await?;
        size.clear().await?;
        size.send_keys("96x64").await?;
        c.find(Locator::Id("negative")).await?.send_keys("fog").await?;
        let n = c.find(Locator::Id("n")).await?;
        n.clear().await?;
        n.send_keys("2").await?;
        let idea = c.find(Locator::Id("idea")).await?;
        idea.send_keys("a harbor at dawn").await?;
        let chord = format!("{}{}", char::from(Key::Control), char::from(Key::Enter));
        idea.send_keys(&chord).await?;
        until(&c, "two images painted", "return document.querySelectorAll('#images img').length;", json!(2)).await?;
        until(&c, "the progress count", "return document.getElementById('progress').textContent;", json!("2 / 2")).await?;
        until(&c, "done", "return document.getElementById('status').textContent.startsWith('Done');", json!(true)).await?;
        let made = newest(sp);
        assert_eq!(made["recipe"]["seed"], 4242);
        assert_eq!(made["recipe"]["negative"], "fog");
        assert_eq!(made["images"][0]["width"], 96);
        assert_eq!(made["images"][0]["height"], 64);
        assert!(made["images"][0]["negative_prompt"].as_str().unwrap().ends_with("fog"));

        // click to enlarge: the full image and a download link
        c.find(Locator::Css("#images img")).await?.click().await?;
        c.wait().at_most(wait).for_element(Locator::Css("#lightbox[open]")).await?;
        until(&c, "the enlarged image loads", "const i = document.getElementById('lightbox-img'); return !!(i.complete && i.naturalWidth === 96);", json!(true)).await?;
        let link = c.execute("const a = document.getElementById('download'); return [a.href.startsWith('blob:'), a.hasAttribute('download'), a.getAttribute('download').endsWith('.png')];", vec![]).await?;
        assert_eq!(link, json!([true, true, true]));
        c.find(Locator::Id("lightbox-close")).await?.click().await?;

        // write, edit a prompt, paint it as written
        let edited = "a hand-edited prompt: one green door in a white wall";
        c.find(Locator::Id("write")).await?.click().await?;
        until(&c, "written", "return document.getElementById('status').textContent.startsWith('Written');", json!(true)).await?;
        c.wait().at_most(wait).for_element(Locator::Css("#prompts li button.edit")).await?.click().await?;
        let area = c.wait().at_most(wait).for_element(Locator::Css("#prompts li textarea.prompt-edit")).await?;
        area.clear().await?;
        area.send_keys(edited).await?;
        c.find(Locator::Css("#prompts li button.paint-written")).await?.click().await?;
        until(&c, "painted as written", "return document.getElementById('status').textContent.startsWith('Done');", json!(true)).await?;
        let written = newest(sp);
        assert_eq!(written["images"][0]["prompt"], json!(edited));
        assert_eq!(written["recipe"]["writer"], "verbatim");
        let written_id = written["id"].as_i64().unwrap();

        // re-run it from the gallery: the same prompt, painted again
        let card = format!("#gallery li[data-run='{written_id}'] button.card");
        c.wait().at_most(wait).for_element(Locator::Css(&card)).await?.click().await?;
        c.wait().at_most(wait).for_element(Locator::Css("#detail[open]")).await?;
        c.find(Locator::Id("rerun")).await?.click().await?;
        until(&c, "the re-run is done", "return document.getElementById('status').textContent.startsWith('Done');", json!(true)).await?;
        let again = newest(sp);
        assert_eq!(again["recipe"]["rerun_of"], json!(written_id));
        assert_eq!(again["images"][0]["prompt"], json!(edited));

        // progress and cancel, with a painter that paints one image and waits
        painter.allow(1);
        c.execute("document.getElementById('painter').value = 'gated';", vec![]).await?;
        let size = c.find(Locator::Id("size")).await?;
        size.clear().await?;
        size.send_keys("64x64").await?;
        let n = c.find(Locator::Id("n")).await?;
        n.clear().await?;
        n.send_keys("3").await?;
        c.find(Locator::Id("go")).await?.click().await?;
        until(&c, "one of three", "return document.getElementById('progress').textContent;", json!("1 / 3")).await?;
        c.find(Locator::Id("cancel")).await?.click().await?;
        until(&c, "cancelled", "return document.getElementById('status').textContent.startsWith('Cancelled');", json!(true)).await?;
        let cancelled = newest(sp);
        assert_eq!(cancelled["error"], "cancelled");
        assert_eq!(cancelled["images"].as_array().unwrap().len(), 1);
        let hidden = c.execute("return document.getElementById('cancel').hidden;", vec![]).await?;
        assert_eq!(hidden, json!(true));
        Ok(())
    }
    .await;
    let _ = c.close().await;
    res
}
