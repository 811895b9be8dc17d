//! Hostile input (issue 15, items 7-11 and 17): files, streams, templates
//! and replies built to hang mural, exhaust its memory, drive the terminal
//! or leak a key. Each test runs the real binary, with a generous process
//! timeout as the time bound and the child's peak RSS (from `wait4`) as the
//! memory bound where memory is what broke.

use crate::fakes::{self, KEY};
use crate::util::{json_lines, TempDir};
use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a finished process left.
struct Finished {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak resident memory, in MiB.
    peak_mib: u64,
}

impl Finished {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Exit 2 with one stderr line that contains `needle`.
    fn assert_usage_error(&self, what: &str, needle: &str) {
        assert_eq!(self.code, 2, "{what}: {}", self.stderr);
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "{what}: {:?}",
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "{what}: {:?} lacks {needle:?}",
            self.stderr
        );
    }
}

/// The `mural` binary, hermetic as `util::TestCommand` makes it.
fn mural(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mural"));
    cmd.args(args);
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "STABILITY_API_KEY",
        "RUNWAYML_API_SECRET",
        "MURAL_CONFIG",
        "MURAL_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/mural-test-config");
    cmd
}

/// Runs `cmd` to its end, killing it past `limit` (a failure: it hung),
/// and measures its peak RSS with `wait4`.
// the child is reaped by `wait4` (for its rusage), not by `Child::wait`
#[allow(clippy::zombie_processes)]
fn run_bounded(mut cmd: Command, stdin: Stdio, limit: Duration) -> Finished {
    let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn mural");
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    // a watchdog kills the child once `limit` has passed; it only signals
    // a process that has not been reaped (`exited` is set before reaping)
    let exited = Arc::new(Mutex::new(false));
    {
        let exited = exited.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            let done = exited.lock().unwrap();
            if *done {
                return;
            }
            if started.elapsed() > limit {
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return;
            }
        });
    }
    // wait for the exit without reaping, mark it, then reap with rusage
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "waitid: {e}");
    }
    *exited.lock().unwrap() = true;
    let elapsed = started.elapsed();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    assert!(
        elapsed < limit,
        "mural {:?} did not finish within {limit:?}",
        cmd.get_args().collect::<Vec<_>>()
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let peak_mib = usage.ru_maxrss as u64 / 1024;
    eprintln!("mural {what}: exit {code}, {elapsed:?}, peak RSS {peak_mib} MiB");
    Finished {
        code,
        peak_mib,
        stdout: out.join().unwrap(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

const LIMIT: Duration = Duration::from_secs(30);

/// The peak RSS of `mural info` on a tiny PNG: the baseline that memory
/// bounds are measured against.
fn baseline_mib(dir: &TempDir) -> u64 {
    let file = dir.0.join("baseline.png");
    std::fs::write(&file, fakes::png(8, 8, 1)).unwrap();
    let r = run_bounded(
        mural(&["info", file.to_str().unwrap()]),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.peak_mib
}

// ------------------------------------------------------------ PNG building

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32(kind, 0xffff_ffff);
    crc = crc32(data, crc);
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

fn crc32(bytes: &[u8], mut crc: u32) -> u32 {
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// A real 8x8 PNG with `extra` chunks right after IHDR.
fn png_with(extra: &[Vec<u8>]) -> Vec<u8> {
    with_chunks(&fakes::png(8, 8, 3), extra)
}

/// `png` with `extra` chunks right after IHDR.
fn with_chunks(png: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
    let ihdr_end = 8 + 12 + 13;
    let mut out = png[..ihdr_end].to_vec();
    for c in extra {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// A tEXt chunk: Latin-1, as the PNG spec has it.
fn text_chunk(keyword: &str, text: &str) -> Vec<u8> {
    let mut data = keyword.as_bytes().to_vec();
    data.push(0);
    data.extend(text.chars().map(|c| u8::try_from(c).expect("Latin-1 text")));
    chunk(b"tEXt", &data)
}

/// zlib of `len` zero bytes (deflate packs them about 1000 to 1).
fn zlib_zeros(len: usize) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; len], 9)
}

fn ztxt_zeros(keyword: &str, len: usize) -> Vec<u8> {
    let mut data = keyword.as_bytes().to_vec();
    data.extend_from_slice(&[0, 0]);
    data.extend(zlib_zeros(len));
    chunk(b"zTXt", &data)
}

// ------------------------------------------------------------ 7: infotext

#[test]
fn info_on_a_256_kib_infotext_is_not_quadratic() {
    let dir = TempDir::new("hostile-infotext");
    // a last line of words without a colon: the old parser walked the
    // rest of the line from every one of its positions
    let words = "masterpiece best quality a lighthouse on a cliff ".repeat(256 * 1024 / 49);
    let mut text = format!("a prompt\nNegative prompt: blurry\n{words}");
    // and one with real parameters after a long quoted value
    let file = dir.0.join("long.png");
    std::fs::write(&file, png_with(&[text_chunk("parameters", &text)])).unwrap();
    let r = run_bounded(
        mural(&["info", file.to_str().unwrap(), "--json"]),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        v["a1111"]["negative_prompt"],
        format!("blurry\n{}", words.trim())
    );

    text = format!(
        "a prompt\nSteps: 20, Note: \"{}\", Seed: 7, Size: 8x8",
        "x, y: z ".repeat(256 * 1024 / 8)
    );
    std::fs::write(&file, png_with(&[text_chunk("parameters", &text)])).unwrap();
    let r = run_bounded(
        mural(&["info", file.to_str().unwrap(), "--json"]),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    let params = v["a1111"]["params"].as_array().unwrap();
    assert_eq!(params.len(), 4, "{:?}", &params[..2]);
    assert_eq!(params[3], json!(["Size", "8x8"]));
}

// ------------------------------------------------------------ 8: limits

#[test]
fn info_on_a_compressed_text_bomb_stays_small() {
    let dir = TempDir::new("hostile-bomb");
    let base = baseline_mib(&dir);
    // one zTXt chunk of ~200 KB that inflates to 200 MiB
    let one = ztxt_zeros("parameters", 200 << 20);
    assert!(one.len() < 256 << 10, "{}", one.len());
    // a hundred chunks of ~2 KB, each just under the per-chunk limit
    let many: Vec<Vec<u8>> = (0..100)
        .map(|i| ztxt_zeros(&format!("k{i}"), (2 << 20) - 1))
        .collect();
    for (name, png, needle) in [
        (
            "one.png",
            png_with(&[one]),
            "\"parameters\" inflates to more than 2 MiB",
        ),
        (
            "many.png",
            png_with(&many),
            "inflate to more than 8 MiB in all",
        ),
    ] {
        let file = dir.0.join(name);
        std::fs::write(&file, &png).unwrap();
        let r = run_bounded(
            mural(&["info", file.to_str().unwrap()]),
            Stdio::null(),
            LIMIT,
        );
        r.assert_usage_error(name, needle);
        assert!(r.stderr.contains("decompression bomb"), "{}", r.stderr);
        assert!(
            r.peak_mib < base + 64,
            "{name}: peak RSS {} MiB, baseline {base} MiB",
            r.peak_mib
        );
    }
}

/// A PNG header that declares `w`x`h`, with a token IDAT: enough for a
/// reader that trusts the header.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &zlib_zeros(1024)));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// A fake OpenAI Images endpoint whose every reply is `reply(body)`.
fn fake_openai(reply: fn(&Value) -> Response) -> fakes::Server {
    fakes::start(move |fake| {
        Router::new()
            .route(
                "/v1/images/generations",
                post(move |headers: HeaderMap, body: Bytes| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    assert_eq!(auth, format!("Bearer {KEY}"));
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    reply(&v)
                }),
            )
            .with_state(fake)
    })
}

fn openai_home(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.oa]\nkind = \"openai\"\nmodel = \"local-sd\"\ntimeout_s = 20\nbackoff_ms = 20\nmax_retries = 2\n",
    )
    .unwrap();
    dir
}

fn imagine(dir: &TempDir, s: &fakes::Server, idea: &str, size: &str) -> Command {
    let mut c = mural(&[
        "imagine",
        idea,
        "--painter",
        "oa",
        "--size",
        size,
        "--seed",
        "3",
        "--out",
        "out",
        "--json",
    ]);
    c.env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", KEY)
        .current_dir(&dir.0);
    c
}

#[test]
fn a_reply_declaring_20000x20000_for_512x512_is_refused_before_decoding() {
    let s = fake_openai(|_| {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(png_declaring(20000, 20000));
        Json(json!({"created": 1, "data": [{"b64_json": b64}]})).into_response()
    });
    let dir = openai_home("hostile-dims");
    let r = run_bounded(
        imagine(&dir, &s, "a red fox", "512x512"),
        Stdio::null(),
        LIMIT,
    );
    assert_ne!(r.code, 0, "{}", r.stdout());
    assert!(
        r.stderr
            .contains("sent a 20000x20000 image for a 512x512 request"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    // refused, not retried: the same server would send it again
    assert_eq!(s.fake.hits("/v1/images/generations"), 1);
    assert!(
        !dir.0.join("out").exists()
            || std::fs::read_dir(dir.0.join("out")).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".png"))
    );
}

#[test]
fn a_300_mb_reply_is_refused_while_it_streams() {
    let s = fake_openai(|_| {
        // 300 MiB in 1 MiB pieces, chunked: no content-length to go by
        let piece = Bytes::from(vec![b' '; 1 << 20]);
        let stream = futures_util::stream::iter(
            (0..300).map(move |_| Ok::<_, std::io::Error>(piece.clone())),
        );
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap()
    });
    let dir = openai_home("hostile-huge");
    let base = baseline_mib(&dir);
    let r = run_bounded(
        imagine(&dir, &s, "a red fox", "512x512"),
        Stdio::null(),
        LIMIT,
    );
    assert_ne!(r.code, 0, "{}", r.stdout());
    assert!(
        r.stderr.contains("the reply is larger than 64 MiB"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/v1/images/generations"), 1, "not retried");
    // at most the cap (and a copy as the buffer grows), never 300 MB
    assert!(
        r.peak_mib < base + 200,
        "peak RSS {} MiB, baseline {base} MiB",
        r.peak_mib
    );
}

// ------------------------------------------------------------ 9: unbounded reads

#[test]
fn info_on_dev_zero_stops_at_the_cap() {
    let dir = TempDir::new("hostile-devzero");
    let base = baseline_mib(&dir);
    let r = run_bounded(mural(&["info", "/dev/zero"]), Stdio::null(), LIMIT);
    r.assert_usage_error("info /dev/zero", "/dev/zero is larger than 64 MiB");
    assert!(
        r.peak_mib < base + 200,
        "peak RSS {} MiB, baseline {base} MiB",
        r.peak_mib
    );
}

#[test]
fn prompt_file_from_an_endless_stdin_stops_at_the_cap() {
    let zero = || Stdio::from(std::fs::File::open("/dev/zero").unwrap());
    let r = run_bounded(mural(&["prompt", "--file", "-"]), zero(), LIMIT);
    r.assert_usage_error("prompt --file - </dev/zero", "stdin is larger than 16 MiB");
    let r = run_bounded(
        mural(&["prompt", "--file", "/dev/zero"]),
        Stdio::null(),
        LIMIT,
    );
    r.assert_usage_error("prompt --file /dev/zero", "larger than 16 MiB");
    let dir = TempDir::new("hostile-batch-zero");
    let mut c = mural(&["batch", "/dev/zero"]);
    c.env("MURAL_HOME", dir.0.join("home"));
    let r = run_bounded(c, Stdio::null(), LIMIT);
    r.assert_usage_error("batch /dev/zero", "/dev/zero is larger than 16 MiB");
    // a wildcard file that never ends
    let wild = dir.0.join("wild");
    std::fs::create_dir_all(&wild).unwrap();
    std::os::unix::fs::symlink("/dev/zero", wild.join("endless.txt")).unwrap();
    let r = run_bounded(
        mural(&[
            "template",
            "__endless__",
            "--wildcards",
            wild.to_str().unwrap(),
        ]),
        Stdio::null(),
        LIMIT,
    );
    r.assert_usage_error("template with /dev/zero as wildcards", "is too large");
    // and a config that never ends
    let mut c = mural(&["prompt", "a cat"]);
    c.env("MURAL_CONFIG", "/dev/zero");
    let r = run_bounded(c, Stdio::null(), LIMIT);
    r.assert_usage_error("MURAL_CONFIG=/dev/zero", "larger than 16 MiB");
}

#[test]
fn a_wildcard_directory_that_loops_is_read_once() {
    let dir = TempDir::new("hostile-wild-loop");
    let wild = dir.0.join("wild");
    std::fs::create_dir_all(&wild).unwrap();
    std::fs::write(wild.join("animal.txt"), "fox\n").unwrap();
    std::os::unix::fs::symlink("..", wild.join("up")).unwrap();
    std::os::unix::fs::symlink(".", wild.join("again")).unwrap();
    let r = run_bounded(
        mural(&[
            "template",
            "a __animal__",
            "--wildcards",
            wild.to_str().unwrap(),
        ]),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout(), "a fox\n");
}

// ------------------------------------------------------------ 10: template bomb

/// The bomb: 784 characters of variables, each using the one
/// before four times.
fn variable_chain_bomb() -> String {
    let mut t = String::from("${v0={cat|dog}}");
    let mut i = 1;
    loop {
        let def = format!("${{v{i}={}}}", format!("${{v{}}}", i - 1).repeat(4));
        if t.len() + def.len() + format!("${{v{i}}}").len() > 784 {
            break;
        }
        t.push_str(&def);
        i += 1;
    }
    t.push_str(&format!("${{v{}}}", i - 1));
    t
}

#[test]
fn a_template_bomb_in_random_mode_is_refused_not_run() {
    let bomb = variable_chain_bomb();
    assert!(bomb.len() > 700 && bomb.len() <= 784, "{}", bomb.len());
    let too_complex = "the template is too complex to expand";
    for args in [
        vec!["template", bomb.as_str(), "-n", "1"],
        vec!["template", bomb.as_str(), "--combinatorial"],
        vec!["prompt", bomb.as_str(), "--template"],
    ] {
        let r = run_bounded(mural(&args), Stdio::null(), LIMIT);
        r.assert_usage_error(args[0], too_complex);
    }
}

// ------------------------------------------------------------ 11: control characters

/// Bytes a terminal acts on: C0 controls but `\n`, DEL, and C1 controls
/// (U+0080..U+009F, UTF-8 `C2 80..C2 9F`).
fn raw_controls(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    text.chars()
        .filter(|c| c.is_control() && *c != '\n')
        .map(|c| format!("{c:?}"))
        .collect()
}

const HOSTILE: &str = "a fox \u{1b}]52;c;aGVsbG8=\u{7} in \u{9b}2J the \u{1b}[31msnow\r\u{7f}";

#[test]
fn escape_sequences_in_stored_ideas_never_reach_the_terminal() {
    let dir = TempDir::new("hostile-controls");
    let home = dir.0.join("home");
    let run = |args: &[&str]| {
        let mut c = mural(args);
        c.env("MURAL_HOME", &home).current_dir(&dir.0);
        let r = run_bounded(c, Stdio::null(), LIMIT);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r
    };
    let made = run(&[
        "imagine", HOSTILE, "--size", "256x256", "--seed", "1", "--out", "out", "--json",
    ]);
    let image = &json_lines(&made.stdout())[0];
    let run_id = image["run_id"].to_string();
    let file = image["file"].as_str().unwrap().to_string();

    // human output: no raw control byte, the text shown escaped
    for args in [
        vec!["gallery", "list"],
        vec!["gallery", "show", run_id.as_str()],
        vec!["info", file.as_str()],
    ] {
        let r = run(&args);
        assert_eq!(raw_controls(&r.stdout), Vec::<String>::new(), "{args:?}");
        assert!(
            r.stdout().contains("\\u{1b}]52;c;aGVsbG8="),
            "{args:?}: {}",
            r.stdout()
        );
    }
    // JSON stays exact: the idea as recorded (its whitespace collapsed,
    // so the carriage return is a space; every other byte kept)
    let stored = HOSTILE.replace('\r', " ");
    let list = run(&["gallery", "list", "--json"]);
    assert_eq!(json_lines(&list.stdout())[0]["idea"], stored.as_str());
    let show = run(&["gallery", "show", &run_id, "--json"]);
    assert_eq!(json_lines(&show.stdout())[0]["idea"], stored.as_str());
    let info = run(&["info", &file, "--json"]);
    assert_eq!(
        json_lines(&info.stdout())[0]["mural"]["idea"],
        stored.as_str()
    );

    // foreign PNG text too
    let foreign = dir.0.join("foreign.png");
    std::fs::write(
        &foreign,
        png_with(&[text_chunk(
            "parameters",
            &format!("{HOSTILE}\nNegative prompt: \u{1b}[8m\nSteps: 1, Sampler: \u{9b}1A, Seed: 2"),
        )]),
    )
    .unwrap();
    let r = run(&["info", foreign.to_str().unwrap()]);
    assert_eq!(raw_controls(&r.stdout), Vec::<String>::new());
    assert!(r.stdout().contains("Sampler: \\u{9b}1A"), "{}", r.stdout());
    let r = run(&["info", foreign.to_str().unwrap(), "--json"]);
    assert_eq!(json_lines(&r.stdout())[0]["a1111"]["prompt"], HOSTILE);
}

// ------------------------------------------------------------ 17: a key echoed back

#[test]
fn a_key_echoed_in_revised_prompt_is_stored_nowhere() {
    let s = fake_openai(|v| {
        use base64::Engine;
        // and one that signs the image's own metadata with it
        let png = with_chunks(
            &fakes::png(1024, 1024, 9),
            &[text_chunk("Comment", &format!("made for {KEY}"))],
        );
        let prompt = v["prompt"].as_str().unwrap_or("");
        Json(json!({"created": 1, "data": [{
            "b64_json": base64::engine::general_purpose::STANDARD.encode(png),
            // a careless proxy that echoes the credential in a success
            "revised_prompt": format!("{prompt} (billed to {KEY})"),
        }]}))
        .into_response()
    });
    let dir = TempDir::new("hostile-echo");
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.oa]\nkind = \"openai\"\nmodel = \"gpt-image-2\"\ntimeout_s = 20\n",
    )
    .unwrap();
    let r = run_bounded(
        imagine(&dir, &s, "a lighthouse in a storm", "1024x1024"),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout().contains(KEY) && !r.stderr.contains(KEY));
    let image = &json_lines(&r.stdout())[0];
    let revised = image["revised_prompt"].as_str().unwrap();
    assert!(revised.ends_with("(billed to [redacted])"), "{revised}");
    // nothing kept holds the key: the gallery (and its WAL) and the PNG
    let mut checked = 0;
    for root in [dir.0.join("home"), dir.0.join("out")] {
        for e in std::fs::read_dir(&root).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                // the leases folder: lock files, no recorded text
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
            assert!(!found, "the key is in {}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 2);
    let png = std::fs::read(image["file"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&png).contains("made for [redacted]"));
}
