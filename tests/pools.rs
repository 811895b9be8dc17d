//! Painter and writer pools (`[pools.NAME]`, `[writer_pools.NAME]`): one
//! batch over eight local fake AUTOMATIC1111 and ComfyUI servers with
//! different speeds and models, faults injected (5xx, hangs, one killed
//! and restarted on its port), SIGKILL and resume, routing by model, health
//! and rejoin, `mural pool status`, and a writer pool failing over.

use crate::fakes;
use crate::util::{TempDir, TestCommand};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Api {
    A1111,
    Comfy,
}

/// What a fake does, and what it saw.
#[derive(Default)]
struct Behavior {
    models: Vec<String>,
    delay_ms: u64,
    /// Every `fail_every`-th generation request answers 500.
    fail_every: usize,
    /// Every `hang_every`-th generation request hangs for a minute.
    hang_every: usize,
    /// Generation requests received.
    requests: AtomicUsize,
    /// Images answered.
    painted: AtomicUsize,
    /// Checkpoints asked for.
    checkpoints: Mutex<BTreeSet<String>>,
    /// Probes (sd-models, object_info) received.
    probes: AtomicUsize,
    next_job: AtomicUsize,
}

/// A fake A1111 or ComfyUI server on its own runtime, so it can be
/// killed (every connection dropped) and restarted on the same port.
struct FakeSd {
    api: Api,
    port: u16,
    b: Arc<Behavior>,
    rt: Mutex<Option<tokio::runtime::Runtime>>,
    /// Images painted before the last restart.
    painted_before_restart: AtomicUsize,
    restarted: AtomicBool,
}

/// A 64x64 PNG, made once.
fn tiny_png() -> &'static [u8] {
    static PNG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PNG.get_or_init(|| fakes::png(64, 64, 1))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Counts a generation request and applies the faults: `Err` is the
/// reply to send instead of an image.
async fn generation(b: &Behavior) -> Result<(), Response> {
    let k = b.requests.fetch_add(1, SeqCst) + 1;
    if b.hang_every > 0 && k % b.hang_every == 0 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return Err(StatusCode::GATEWAY_TIMEOUT.into_response());
    }
    if b.fail_every > 0 && k % b.fail_every == 0 {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "RuntimeError", "detail": "CUDA out of memory", "errors": ""})),
        )
            .into_response());
    }
    if b.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(b.delay_ms)).await;
    }
    Ok(())
}

fn a1111_routes(b: Arc<Behavior>) -> Router {
    async fn txt2img(State(b): State<Arc<Behavior>>, Json(body): Json<Value>) -> Response {
        if let Some(c) = body.pointer("/override_settings/sd_model_checkpoint") {
            b.checkpoints
                .lock()
                .unwrap()
                .insert(c.as_str().unwrap_or_default().to_string());
        }
        if let Err(r) = generation(&b).await {
            return r;
        }
        let seed = body["seed"].as_u64().unwrap_or(0);
        b.painted.fetch_add(1, SeqCst);
        let info = json!({"all_seeds": [seed], "steps": body["steps"], "sampler_name": body["sampler_name"]});
        Json(json!({"images": [b64(tiny_png())], "parameters": {}, "info": info.to_string()}))
            .into_response()
    }
    async fn models(State(b): State<Arc<Behavior>>) -> Json<Value> {
        b.probes.fetch_add(1, SeqCst);
        Json(Value::Array(
            b.models
                .iter()
                .map(|m| json!({"title": format!("{m}.safetensors [0123abcd]"), "model_name": m}))
                .collect(),
        ))
    }
    Router::new()
        .route("/sdapi/v1/txt2img", post(txt2img))
        .route("/sdapi/v1/sd-models", get(models))
        .route("/sdapi/v1/options", get(|| async { Json(json!({})) }))
        .with_state(b)
}

fn comfy_routes(b: Arc<Behavior>) -> Router {
    async fn prompt(State(b): State<Arc<Behavior>>, Json(body): Json<Value>) -> Response {
        if let Some(c) = body
            .pointer("/prompt/4/inputs/ckpt_name")
            .and_then(Value::as_str)
        {
            if !b.models.iter().any(|m| format!("{m}.safetensors") == c) {
                let details = format!("ckpt_name: '{c}' not in list");
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({
                        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                        "node_errors": {"4": {"errors": [{"type": "value_not_in_list", "message": "Value not in list", "details": details, "extra_info": {}}], "dependent_outputs": ["9"], "class_type": "CheckpointLoaderSimple"}}
                    })),
                )
                    .into_response();
            }
            b.checkpoints.lock().unwrap().insert(c.to_string());
        }
        if let Err(r) = generation(&b).await {
            return r;
        }
        b.painted.fetch_add(1, SeqCst);
        let id = format!("job-{}", b.next_job.fetch_add(1, SeqCst));
        Json(json!({"prompt_id": id, "number": 1, "node_errors": {}})).into_response()
    }
    async fn history(UrlPath(id): UrlPath<String>) -> Json<Value> {
        Json(json!({ id: {
            "status": {"status_str": "success", "completed": true, "messages": []},
            "outputs": {"9": {"images": [{"filename": "mural_00001_.png", "subfolder": "", "type": "output"}]}}
        }}))
    }
    async fn view(Query(_q): Query<HashMap<String, String>>) -> Response {
        ([("content-type", "image/png")], tiny_png().to_vec()).into_response()
    }
    async fn object_info(State(b): State<Arc<Behavior>>) -> Json<Value> {
        b.probes.fetch_add(1, SeqCst);
        Json(
            json!({"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [b.models.iter().map(|m| format!("{m}.safetensors")).collect::<Vec<_>>()]}}}}),
        )
    }
    Router::new()
        .route("/prompt", post(prompt))
        .route("/history/{id}", get(history))
        .route("/view", get(view))
        .route("/object_info/CheckpointLoaderSimple", get(object_info))
        .route(
            "/system_stats",
            get(|| async { Json(json!({"system": {}})) }),
        )
        .with_state(b)
}

impl FakeSd {
    fn start(api: Api, b: Behavior) -> Arc<FakeSd> {
        let mut f = FakeSd {
            api,
            port: 0,
            b: Arc::new(b),
            rt: Mutex::new(None),
            painted_before_restart: AtomicUsize::new(0),
            restarted: AtomicBool::new(false),
        };
        f.port = f.serve(0);
        Arc::new(f)
    }

    /// Serves on `port` (0: any) on a fresh runtime; returns the port.
    fn serve(&self, port: u16) -> u16 {
        let listener = {
            let mut tries = 0;
            loop {
                match std::net::TcpListener::bind(("127.0.0.1", port)) {
                    Ok(l) => break l,
                    Err(e) if tries < 100 => {
                        tries += 1;
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => panic!("cannot bind 127.0.0.1:{port} again: {e}"),
                }
            }
        };
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let app = match self.api {
            Api::A1111 => a1111_routes(self.b.clone()),
            Api::Comfy => comfy_routes(self.b.clone()),
        };
        rt.spawn(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = axum::serve(l, app).await;
        });
        *self.rt.lock().unwrap() = Some(rt);
        port
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops serving: the listener and every open connection are dropped.
    fn kill(&self) {
        if let Some(rt) = self.rt.lock().unwrap().take() {
            rt.shutdown_background();
        }
    }

    fn restart(&self) {
        self.painted_before_restart
            .store(self.b.painted.load(SeqCst), SeqCst);
        self.serve(self.port);
        self.restarted.store(true, SeqCst);
    }

    fn kind(&self) -> &'static str {
        match self.api {
            Api::A1111 => "a1111",
            Api::Comfy => "comfyui",
        }
    }
}

impl Drop for FakeSd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// mural.toml for a pool `farm` of `fakes` (members m0, m1, ...).
fn pool_toml(fakes: &[Arc<FakeSd>], pool_extra: &str) -> String {
    let mut t = String::new();
    for (i, f) in fakes.iter().enumerate() {
        t.push_str(&format!(
            "[painters.m{i}]\nkind = \"{}\"\nurl = \"{}\"\nconcurrency = 2\ntimeout_s = 1\nmax_retries = 0\nbackoff_ms = 10\npoll_ms = 5\nsteps = 4\n\n",
            f.kind(),
            f.url()
        ));
    }
    let members: Vec<String> = (0..fakes.len()).map(|i| format!("\"m{i}\"")).collect();
    t.push_str(&format!(
        "[pools.farm]\nmembers = [{}]\nbackoff_ms = 100\nmax_backoff_ms = 400\nmax_wait_s = 30\n{pool_extra}\n",
        members.join(", ")
    ));
    t
}

fn mural(dir: &TempDir, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .dir(&dir.0)
}

fn ideas(n: usize) -> String {
    let subjects = [
        "fox",
        "owl",
        "lighthouse",
        "teapot",
        "bicycle",
        "whale",
        "castle",
        "cactus",
    ];
    let places = [
        "in the snow",
        "at dusk",
        "on a hill",
        "by the sea",
        "in a forest",
    ];
    (0..n)
        .map(|i| {
            format!(
                "a {} {} number {i}\n",
                subjects[i % subjects.len()],
                places[(i / subjects.len()) % places.len()]
            )
        })
        .collect()
}

/// One recorded image: (run id, index, file, member).
type Row = (i64, i64, String, String);

/// The gallery's images, with no image
/// recorded twice, and the journal's item statuses.
fn gallery(dir: &TempDir) -> (Vec<Row>, Vec<String>) {
    let c = rusqlite::Connection::open(dir.0.join("home/gallery.db")).unwrap();
    let mut images = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stmt = c
        .prepare("SELECT run_id, idx, file, recipe, painted_by FROM images")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (run, idx, file, recipe, painted_by) = row.unwrap();
        assert!(
            seen.insert((run, idx)),
            "image ({run}, {idx}) recorded twice"
        );
        let recipe: Value = serde_json::from_str(&recipe).unwrap();
        let member = recipe["painter_params"]["member"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // the journal's own column agrees with the recipe
        assert_eq!(painted_by, member, "image ({run}, {idx})");
        images.push((run, idx, file, member));
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

/// Nothing lost, nothing twice: every item done, one image per item (one
/// run each), each file on disk once and recorded, painted by a member.
fn assert_whole(dir: &TempDir, items: usize, members: usize) -> BTreeMap<String, usize> {
    let (images, statuses) = gallery(dir);
    assert_eq!(statuses.len(), items);
    let not_done: Vec<&String> = statuses.iter().filter(|s| *s != "done").collect();
    assert!(
        not_done.is_empty(),
        "{} items not done: {not_done:?}",
        not_done.len()
    );
    assert_eq!(images.len(), items, "one image per item");
    let runs: BTreeSet<i64> = images.iter().map(|i| i.0).collect();
    assert_eq!(runs.len(), items, "one run per item");
    let out = dir.0.join("mural-out");
    let mut on_disk: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert!(
        on_disk.iter().all(|f| f.ends_with(".png")),
        "stray files: {:?}",
        on_disk
            .iter()
            .filter(|f| !f.ends_with(".png"))
            .collect::<Vec<_>>()
    );
    let recorded: BTreeSet<String> = images
        .iter()
        .map(|i| {
            Path::new(&i.2)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(recorded, on_disk.iter().cloned().collect::<BTreeSet<_>>());
    // a second save of one image would be another file with the same
    // mural-RUN-INDEX-SEED start (named ...-N.png)
    let starts: BTreeSet<String> = on_disk
        .iter()
        .map(|f| f.split('-').take(4).collect::<Vec<_>>().join("-"))
        .collect();
    assert_eq!(
        starts.len(),
        on_disk.len(),
        "an image saved twice: {on_disk:?}"
    );
    let mut by_member = BTreeMap::new();
    for i in &images {
        assert!(
            i.3.starts_with('m') && i.3[1..].parse::<usize>().is_ok_and(|k| k < members),
            "image {} names no member: {:?}",
            i.2,
            i.3
        );
        *by_member.entry(i.3.clone()).or_insert(0) += 1;
    }
    by_member
}

/// Waits for a child with a generous bound, killing it past the bound.
/// Its output is read as it comes, so a child that prints more than a
/// pipe holds never blocks on a full pipe.
fn wait(mut child: std::process::Child, what: &str, limit: Duration) -> std::process::Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!(
                "{what} did not finish within {limit:?}: {}",
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn spawn_captured(dir: &TempDir, args: &[&str]) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mural"));
    cmd.args(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .env("XDG_CONFIG_HOME", "/nonexistent/mural-test-config")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .current_dir(&dir.0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.spawn().expect("spawn mural")
}

fn a1111(models: &[&str], delay_ms: u64) -> Behavior {
    Behavior {
        models: models.iter().map(|s| s.to_string()).collect(),
        delay_ms,
        ..Behavior::default()
    }
}

#[test]
fn eight_backends_paint_a_thousand_ideas_through_faults_and_a_restart_losing_nothing() {
    let fakes: Vec<Arc<FakeSd>> = vec![
        FakeSd::start(Api::A1111, a1111(&["sdxl"], 2)),
        // every 4th request a 500 (after the member's own retries: none)
        FakeSd::start(
            Api::A1111,
            Behavior {
                fail_every: 4,
                ..a1111(&["sdxl"], 5)
            },
        ),
        // every 40th request hangs past the member's 1 s timeout
        FakeSd::start(
            Api::A1111,
            Behavior {
                hang_every: 40,
                ..a1111(&["sdxl"], 1)
            },
        ),
        // killed mid-batch and restarted on its port
        FakeSd::start(Api::A1111, a1111(&["sdxl"], 3)),
        FakeSd::start(Api::A1111, a1111(&["sdxl", "flux"], 15)),
        FakeSd::start(Api::A1111, a1111(&["sdxl"], 0)),
        FakeSd::start(Api::Comfy, a1111(&["sdxl"], 4)),
        FakeSd::start(
            Api::Comfy,
            Behavior {
                fail_every: 9,
                ..a1111(&["sdxl"], 8)
            },
        ),
    ];
    let dir = TempDir::new("pool-1000");
    std::fs::write(
        dir.0.join("mural.toml"),
        pool_toml(&fakes, "model = \"sdxl\""),
    )
    .unwrap();
    std::fs::write(dir.0.join("ideas.txt"), ideas(1000)).unwrap();
    let child = spawn_captured(
        &dir,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "farm",
            "--size",
            "64x64",
            "--target",
            "sd",
            "--seed",
            "1",
            "--concurrency",
            "24",
        ],
    );
    // kill m3 once it has painted 30; restart it once the others have painted
    // 100 more, so the pool has surely found it down and most of the batch
    // is still to come (progress, not a clock: a fast machine once finished
    // the batch inside a fixed one-second outage)
    let victim = fakes[3].clone();
    let all = fakes.clone();
    let killer = std::thread::spawn(move || {
        let total = || all.iter().map(|f| f.b.painted.load(SeqCst)).sum::<usize>();
        let started = Instant::now();
        while victim.b.painted.load(SeqCst) < 30 && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(2));
        }
        victim.kill();
        let at_kill = total();
        while total() < at_kill + 100 && started.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(2));
        }
        victim.restart();
    });
    let started = Instant::now();
    let out = wait(child, "the batch of 1000", Duration::from_secs(300));
    let took = started.elapsed();
    killer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1000 items: 1000 done, 0 refused, 0 failed"),
        "{stderr}"
    );
    let by_member = assert_whole(&dir, 1000, fakes.len());
    eprintln!("1000 images in {took:?}; by member: {by_member:?}");
    // after the batch: each member's throughput and health, then the
    // journal's count of what each member painted
    let members = stderr
        .lines()
        .find_map(|l| l.strip_prefix("members: "))
        .unwrap_or_else(|| panic!("no members line: {stderr}"));
    for k in 0..fakes.len() {
        assert!(members.contains(&format!("m{k} ")), "{members}");
    }
    assert!(members.contains("s/img"), "{members}");
    let painted_by = stderr
        .lines()
        .find_map(|l| l.strip_prefix("painted by: "))
        .unwrap_or_else(|| panic!("no painted-by line: {stderr}"));
    for (m, n) in &by_member {
        assert!(
            painted_by.contains(&format!("{m} {n}")),
            "{painted_by} vs {by_member:?}"
        );
    }
    // every member painted some; the faulty ones failed some requests
    // over to others, and m3 painted again after its restart
    assert_eq!(by_member.len(), 8, "{by_member:?}");
    assert!(fakes[1].b.requests.load(SeqCst) > fakes[1].b.painted.load(SeqCst));
    assert!(fakes[2].b.requests.load(SeqCst) > fakes[2].b.painted.load(SeqCst));
    assert!(fakes[3].restarted.load(SeqCst));
    assert!(
        fakes[3].b.painted.load(SeqCst) > fakes[3].painted_before_restart.load(SeqCst),
        "m3 never rejoined after its restart"
    );
    // every image the fakes answered and mural kept is one the gallery has once;
    // the fakes painted at least as many (a hung or cut reply is painted again)
    let painted: usize = fakes.iter().map(|f| f.b.painted.load(SeqCst)).sum();
    assert!(painted >= 1000, "{painted}");
    // the recorded member is the one the image came from
    let (images, _) = gallery(&dir);
    for (k, f) in fakes.iter().enumerate() {
        let kept = images.iter().filter(|i| i.3 == format!("m{k}")).count();
        assert!(kept <= f.b.painted.load(SeqCst), "m{k} kept {kept}");
    }
    // the gallery shows the member
    let run = images[0].0.to_string();
    let r = mural(&dir, &["gallery", "show", &run]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Painted by: m"), "{}", r.stdout);
    let r = mural(&dir, &["gallery", "show", &run, "--json"]).run();
    let shown: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        shown["images"][0]["recipe"]["painter_params"]["member"].as_str(),
        Some(images[0].3.as_str())
    );
    assert_eq!(
        shown["images"][0]["recipe"]["painter_params"]["pool"],
        "farm"
    );
}

#[test]
fn a_model_only_two_members_hold_is_only_sent_to_them() {
    let fakes: Vec<Arc<FakeSd>> = vec![
        FakeSd::start(Api::A1111, a1111(&["sdxl"], 1)),
        FakeSd::start(Api::A1111, a1111(&["sdxl", "rare"], 1)),
        FakeSd::start(Api::Comfy, a1111(&["sdxl"], 1)),
        FakeSd::start(Api::Comfy, a1111(&["rare", "flux"], 1)),
    ];
    let dir = TempDir::new("pool-routing");
    std::fs::write(dir.0.join("mural.toml"), pool_toml(&fakes, "")).unwrap();
    std::fs::write(dir.0.join("ideas.txt"), ideas(40)).unwrap();
    let r = mural(
        &dir,
        &[
            "batch",
            "ideas.txt",
            "--painter",
            "farm",
            "--model",
            "rare",
            "--size",
            "64x64",
            "--concurrency",
            "8",
            "--seed",
            "5",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let by_member = assert_whole(&dir, 40, 4);
    assert_eq!(
        by_member.keys().collect::<Vec<_>>(),
        ["m1", "m3"],
        "{by_member:?}"
    );
    for k in [0, 2] {
        assert_eq!(fakes[k].b.requests.load(SeqCst), 0, "m{k} lacks the model");
    }
    assert!(fakes[1].b.requests.load(SeqCst) > 0 && fakes[3].b.requests.load(SeqCst) > 0);
    // each asked for the model by its own name for it (ComfyUI's fake, as
    // the real one, refuses a ckpt_name it does not list)
    assert_eq!(
        fakes[1]
            .b
            .checkpoints
            .lock()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        ["rare.safetensors [0123abcd]"]
    );
    assert_eq!(
        fakes[3]
            .b
            .checkpoints
            .lock()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        ["rare.safetensors"]
    );

    // a model no member holds: bad input naming the model and the members
    let r = mural(
        &dir,
        &[
            "imagine",
            "a red fox",
            "--painter",
            "farm",
            "--model",
            "nope",
            "--size",
            "64x64",
        ],
    )
    .run();
    r.assert_usage_error(
        "a model no member has",
        "no member of pool \"farm\" has the model \"nope\"",
    );
    for k in ["m0 has", "m1 has", "m2 has", "m3 has rare"] {
        assert!(r.stderr.contains(k), "{k}: {}", r.stderr);
    }

    // imagine -n, and rerun of a pool's run, through the pool
    let r = mural(
        &dir,
        &[
            "imagine",
            "a blue owl",
            "--painter",
            "farm",
            "-n",
            "3",
            "--size",
            "64x64",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = crate::util::json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["painter"] == "farm"));
    let run = lines[0]["run_id"].as_i64().unwrap().to_string();
    let r = mural(&dir, &["rerun", &run, "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(crate::util::json_lines(&r.stdout).len(), 3);
}

#[test]
fn a_pool_batch_killed_mid_way_resumes_with_nothing_lost_or_twice() {
    let fakes: Vec<Arc<FakeSd>> = (0..4)
        .map(|i| {
            FakeSd::start(
                if i % 2 == 0 { Api::A1111 } else { Api::Comfy },
                Behavior {
                    fail_every: if i == 1 { 7 } else { 0 },
                    ..a1111(&["sdxl"], 15)
                },
            )
        })
        .collect();
    let dir = TempDir::new("pool-kill");
    std::fs::write(dir.0.join("mural.toml"), pool_toml(&fakes, "")).unwrap();
    std::fs::write(dir.0.join("ideas.txt"), ideas(200)).unwrap();
    let args = [
        "batch",
        "ideas.txt",
        "--painter",
        "farm",
        "--size",
        "64x64",
        "--concurrency",
        "8",
        "--seed",
        "9",
    ];
    let mut child = spawn_captured(&dir, &args);
    let out = dir.0.join("mural-out");
    let started = Instant::now();
    loop {
        let n = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
        if n >= 40
            || child.try_wait().unwrap().is_some()
            || started.elapsed() > Duration::from_secs(60)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (had, statuses) = gallery(&dir);
    assert!(had.len() < 200, "the batch finished before the kill");
    assert_eq!(statuses.len(), 200, "journaled before painting");
    let r = mural(&dir, &["batch", "ideas.txt", "--resume"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("resuming batch"), "{}", r.stderr);
    let by_member = assert_whole(&dir, 200, 4);
    assert!(by_member.len() >= 2, "{by_member:?}");
}

#[test]
fn a_member_killed_is_marked_down_and_rejoins_when_restarted() {
    let fakes: Vec<Arc<FakeSd>> = vec![
        FakeSd::start(Api::A1111, a1111(&["sdxl"], 1)),
        FakeSd::start(Api::A1111, a1111(&["sdxl", "rare"], 1)),
        FakeSd::start(Api::Comfy, a1111(&["sdxl"], 1)),
    ];
    let dir = TempDir::new("pool-health");
    std::fs::write(
        dir.0.join("mural.toml"),
        pool_toml(&fakes, "model = \"sdxl\""),
    )
    .unwrap();

    // `mural pool status`: every member up, with its models and latency
    let r = mural(&dir, &["pool", "status", "farm"]).run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    assert!(r.stdout.lines().all(|l| l.contains(" up ")), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("models: sdxl.safetensors [0123abcd], rare.safetensors [0123abcd]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&fakes[2].url()) && r.stdout.contains(" ms "),
        "{}",
        r.stdout
    );

    // the pool in process: paint, kill m1, paint on, restart, paint until it rejoins
    let mut profiles = BTreeMap::new();
    for (i, f) in fakes.iter().enumerate() {
        let mut p = mural_paint::Profile::of_kind(f.kind().parse().unwrap());
        p.url = Some(f.url());
        p.max_retries = Some(0);
        p.timeout_s = Some(2.0);
        p.poll_ms = Some(5);
        profiles.insert(format!("m{i}"), p);
    }
    let cfg = mural_paint::pool::PoolConfig {
        members: vec!["m0".into(), "m1".into(), "m2".into()],
        backoff_ms: Some(50),
        max_backoff_ms: Some(200),
        ..Default::default()
    };
    let spec = cfg.resolve("farm", &profiles).unwrap();
    let pool = mural_paint::build(&spec.profile(Some("sdxl".into())), &|_| None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let req = |seed: u64| mural_paint::PaintRequest {
        prompt: "a red fox".into(),
        negative_prompt: String::new(),
        width: 64,
        height: 64,
        n: 1,
        seed,
        model: None,
        scene: None,
    };
    // six at once: every member's two slots taken while all are up
    let paint_some = |from: u64, n: u64| {
        rt.block_on(async {
            let reqs: Vec<_> = (from..from + n).map(req).collect();
            let outs = futures_util::future::join_all(reqs.iter().map(|r| pool.paint(r))).await;
            outs.into_iter()
                .map(|o| {
                    let o = o.expect("a pool with a member up paints");
                    o[0].params["member"].as_str().unwrap().to_string()
                })
                .collect::<Vec<_>>()
        })
    };
    let first = paint_some(0, 6);
    assert!(first.contains(&"m1".to_string()), "{first:?}");
    fakes[1].kill();
    let during = paint_some(100, 6);
    assert!(!during.contains(&"m1".to_string()), "{during:?}");
    let stats = pool.pool_stats();
    assert!(!stats[1].healthy, "{stats:?}");
    assert!(stats[1].last_error.is_some());
    assert!(stats[0].healthy && stats[2].healthy);
    // while it is down, pool status says so (exit 1: a problem found)
    let r = mural(&dir, &["pool", "status", "farm"]).run();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let m1 = r.stdout.lines().find(|l| l.starts_with("m1 ")).unwrap();
    assert!(m1.contains(" down "), "{m1}");
    fakes[1].restart();
    let before = pool.pool_stats()[1].done;
    let mut rounds = 0;
    while pool.pool_stats()[1].done == before {
        rounds += 1;
        assert!(rounds < 500, "m1 never rejoined: {:?}", pool.pool_stats());
        paint_some(1000 + rounds * 6, 6);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(pool.pool_stats()[1].healthy);
    assert!(
        fakes[1].b.probes.load(SeqCst) >= 2,
        "probed at start and to rejoin"
    );
    let r = mural(&dir, &["pool", "status", "farm", "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = crate::util::json_lines(&r.stdout);
    assert!(rows.iter().all(|r| r["healthy"] == true), "{rows:?}");

    // an unknown pool is bad input
    mural(&dir, &["pool", "status", "nope"])
        .run()
        .assert_usage_error(
            "unknown pool",
            "unknown pool \"nope\"; mural.toml has: farm",
        );
}

#[test]
fn a_pool_naming_a_missing_profile_is_bad_input() {
    let dir = TempDir::new("pool-config");
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.gpu1]\nkind = \"a1111\"\n[pools.farm]\nmembers = [\"gpu1\", \"gpu2\"]\n",
    )
    .unwrap();
    mural(&dir, &["imagine", "a cat", "--painter", "farm"])
        .run()
        .assert_usage_error(
            "a missing member",
            "names member \"gpu2\", which is not a [painters.NAME] profile",
        );
    std::fs::write(
        dir.0.join("mural.toml"),
        "[writers.llm1]\nkind = \"gguf\"\npath = \"/m.gguf\"\n[writer_pools.duo]\nmembers = [\"llm1\"]\n",
    )
    .unwrap();
    mural(&dir, &["prompt", "a cat", "--writer", "duo"])
        .run()
        .assert_usage_error("a gguf member", "members must be kind \"openai\" profiles");
}

#[test]
fn a_writer_pool_fails_over_from_a_failing_chat_server() {
    let bad = fakes::openai_chat();
    for _ in 0..100 {
        bad.fake
            .chat_script
            .lock()
            .unwrap()
            .push_back("@int-code-error".into());
    }
    let good = fakes::openai_chat();
    let dir = TempDir::new("writer-pool");
    std::fs::write(
        dir.0.join("mural.toml"),
        format!(
            "[writers.llm1]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"local\"\nmax_retries = 0\n\
             [writers.llm2]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"local\"\nmax_retries = 0\n\
             [writers.gone]\nkind = \"openai\"\nurl = \"http://127.0.0.1:9/v1\"\nmodel = \"local\"\nmax_retries = 0\n\
             [writer_pools.duo]\nmembers = [\"llm1\", \"llm2\"]\n\
             [writer_pools.dead]\nmembers = [\"llm1\", \"gone\"]\n",
            bad.url, good.url
        ),
    )
    .unwrap();
    let r = mural(
        &dir,
        &[
            "prompt",
            "a red fox in the snow",
            "--writer",
            "duo",
            "--json",
            "--seed",
            "3",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = crate::util::json_lines(&r.stdout);
    assert!(
        lines[0]["prompt"].as_str().unwrap().contains("red fox"),
        "{lines:?}"
    );
    assert!(
        bad.fake.hits("/v1/chat/completions") >= 1,
        "the first member was tried"
    );
    assert!(
        good.fake.hits("/v1/chat/completions") >= 1,
        "the second member wrote it"
    );
    // every member failing: a backend failure (exit 1) naming each
    let r = mural(&dir, &["prompt", "a red fox", "--writer", "dead"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("every member of writer pool \"dead\" failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("llm1:") && r.stderr.contains("gone:"),
        "{}",
        r.stderr
    );
    // `pool status` probes a writer pool's members with GET /models
    let r = mural(&dir, &["pool", "status", "duo"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert!(
        rows[0].starts_with("llm1") && rows[1].starts_with("llm2"),
        "{}",
        r.stdout
    );
    for row in &rows {
        assert!(row.contains(" up "), "{row}");
        assert!(
            row.contains("local listed; models: local, other:7b"),
            "{row}"
        );
    }
    assert_eq!(bad.fake.hits("/v1/models"), 1, "{}", r.stdout);
    let r = mural(&dir, &["pool", "status", "dead", "--json"]).run();
    assert_eq!(r.code, 1, "a member down: {}", r.stderr);
    let rows = crate::util::json_lines(&r.stdout);
    assert_eq!(rows[0]["healthy"], true, "{rows:?}");
    assert_eq!(rows[0]["has_model"], true, "{rows:?}");
    assert_eq!(rows[1]["name"], "gone");
    assert_eq!(rows[1]["healthy"], false, "{rows:?}");
    assert!(
        rows[1]["error"].as_str().unwrap().contains("127.0.0.1:9"),
        "{rows:?}"
    );
}
