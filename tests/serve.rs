//! `mural serve` as a real process: the official openai client, a real
//! Chromium through WebDriver, graceful shutdown, and the address guard.

use crate::util::{TempDir, TestCommand};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &TempDir, env: &[(&str, &str)], addr: &str) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mural"));
        cmd.args(["serve", "--addr", addr])
            .env("MURAL_HOME", dir.0.join("home"))
            .env("XDG_CONFIG_HOME", dir.0.join("config"))
            .env_remove("MURAL_TOKEN")
            .env_remove("MURAL_CONFIG")
            .current_dir(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn mural serve");
        let url = crate::util::listen_url(&mut child);
        Server { child, url }
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_official_openai_client_works_against_mural() {
    let Some(python) = std::env::var_os("MURAL_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the openai client check: set MURAL_TEST_PYTHON"
        );
        eprintln!("skipped: set MURAL_TEST_PYTHON (tools/setup-test-python.sh)");
        return;
    };
    let dir = TempDir::new("serve-openai");
    let server = Server::start(&dir, &[("MURAL_TOKEN", "t0ken-for-tests")], "127.0.0.1:0");
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/serve/openai_client_check.py"
        ))
        .arg(&server.url)
        .arg("t0ken-for-tests")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let dir = TempDir::new("serve-term");
    let mut server = Server::start(&dir, &[], "127.0.0.1:0");
    let port = server.port();
    let req = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/v1/images/generations",
            r#"{"prompt": "a stormy sea", "n": 6, "size": "1024x1024", "response_format": "url"}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(150));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, body) = req.join().unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 6);
    let t = Instant::now();
    let code = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    let r = TestCommand::new(&["gallery", "list", "--json"])
        .env("MURAL_HOME", dir.0.join("home"))
        .run();
    assert!(r.stdout.contains("\"status\":\"done\""), "{}", r.stdout);
}

#[test]
fn a_public_address_needs_a_token() {
    let dir = TempDir::new("serve-public");
    TestCommand::new(&["serve", "--addr", "0.0.0.0:0"])
        .env("MURAL_HOME", dir.0.join("home"))
        .run()
        .assert_usage_error("public", "without MURAL_TOKEN");
    TestCommand::new(&["serve", "--addr", "nowhere"])
        .env("MURAL_HOME", dir.0.join("home"))
        .run()
        .assert_usage_error("bad addr", "not IP:PORT");
    let server = Server::start(&dir, &[("MURAL_TOKEN", "tok")], "0.0.0.0:0");
    let (status, _) = http(server.port(), "GET", "/v1/models", "");
    assert_eq!(status, 401);
    let (status, _) = http(server.port(), "GET", "/healthz", "");
    assert_eq!(status, 200);
}

/// A free port for chromedriver.

#[test]
fn the_studio_in_a_real_browser() {
    let Some(driver) = crate::util::chromedriver_or_skip() else {
        return;
    };
    let dir = TempDir::new("serve-browser");
    let server = Server::start(&dir, &[], "127.0.0.1:0");
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
    let result = rt.block_on(drive(port, &server.url));
    let _ = cd.kill();
    let _ = cd.wait();
    result.unwrap();
}

async fn drive(port: u16, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    use fantoccini::Locator;
    let c = crate::util::chromium_session(port).await?;
    let wait = Duration::from_secs(30);
    let res: Result<(), Box<dyn std::error::Error>> = async {
        c.goto(url).await?;
        // the pickers fill from /v1/options
        c.wait().at_most(wait).for_element(Locator::Css("#target option[value='sd']")).await?;
        let idea = c.find(Locator::Id("idea")).await?;
        idea.send_keys("a lighthouse on a cliff at dusk").await?;
        c.find(Locator::Id("size")).await?.clear().await?;
        c.find(Locator::Id("size")).await?.send_keys("128x128").await?;
        c.find(Locator::Id("go")).await?.click().await?;
        let first = c.wait().at_most(wait).for_element(Locator::Css("#prompts li .prompt-text")).await?;
        assert!(first.text().await?.contains("lighthouse"));
        c.wait().at_most(wait).for_element(Locator::Css("#images li img")).await?;
        // the image really loaded
        let t = Instant::now();
        loop {
            let loaded = c
                .execute("const i = document.querySelector('#images img'); return !!(i && i.complete && i.naturalWidth > 0);", vec![])
                .await?;
            if loaded == serde_json::Value::Bool(true) {
                break;
            }
            assert!(t.elapsed() < wait, "the image never loaded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // the run shows up in the gallery
        let card = c.wait().at_most(wait).for_element(Locator::Css("#gallery li[data-run] .caption")).await?;
        assert!(card.text().await?.contains("lighthouse"));
        let label = c.find(Locator::Css("label[for='idea']")).await?;
        assert_eq!(label.text().await?, "Idea");
        // the detail view shows the recipe; vary paints the idea again
        c.find(Locator::Css("#gallery li[data-run] button.card")).await?.click().await?;
        let recipe = c.wait().at_most(wait).for_element(Locator::Css("#detail[open] #detail-recipe")).await?;
        let recipe_text = recipe.text().await?;
        assert!(recipe_text.contains("\"seed\"") && recipe_text.contains("lighthouse"), "{recipe_text}");
        c.find(Locator::Id("vary")).await?.click().await?;
        let t = Instant::now();
        loop {
            let runs = c.execute("return document.querySelectorAll('#gallery li[data-run]').length;", vec![]).await?;
            if runs == serde_json::json!(2) {
                break;
            }
            assert!(t.elapsed() < wait, "vary did not make a second run");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // an idea that is HTML shows as text and runs no script
        let evil = "<img src=x onerror=alert(1)>";
        c.execute("document.getElementById('writer').value = 'verbatim';", vec![]).await?;
        let idea = c.find(Locator::Id("idea")).await?;
        idea.clear().await?;
        idea.send_keys(evil).await?;
        c.find(Locator::Id("go")).await?.click().await?;
        c.wait()
            .at_most(wait)
            .for_element(Locator::XPath("//ol[@id='prompts']/li/p[contains(., 'onerror')]"))
            .await?;
        let text = c.find(Locator::Css("#prompts li .prompt-text")).await?.text().await?;
        assert_eq!(text, evil);
        c.wait().at_most(wait).for_element(Locator::XPath("//ul[@id='gallery']//p[contains(., 'onerror')]")).await?;
        let injected = c
            .execute("return document.querySelectorAll('img[src=\"x\"]').length + document.querySelectorAll('img[onerror]').length;", vec![])
            .await?;
        assert_eq!(injected, serde_json::json!(0), "the idea became markup");
        assert!(c.get_alert_text().await.is_err(), "a script ran");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    res
}
