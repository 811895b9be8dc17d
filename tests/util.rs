//! A small helper to run the real `mural` binary.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestCommand {
    pub fn new(args: &[&str]) -> TestCommand {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mural"));
        cmd.args(args);
        cmd.env_remove("NO_COLOR");
        // hermetic: no keys, endpoints or config from the machine running the tests
        for var in [
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "STABILITY_API_KEY",
            "RUNWAYML_API_SECRET",
            "BFL_API_KEY",
            "GEMINI_API_KEY",
            "REPLICATE_API_TOKEN",
            "MURAL_CONFIG",
            "MURAL_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/mural-test-config");
        TestCommand { cmd, stdin: None }
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> TestCommand {
        self.cmd.env(key, value);
        self
    }

    pub fn dir(mut self, dir: &std::path::Path) -> TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, input: &str) -> TestCommand {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    /// Starts mural without waiting (output discarded), e.g. to kill it.
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        self.cmd.spawn().expect("spawn mural")
    }

    pub fn run(mut self) -> Ran {
        use std::io::Write;
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.cmd.spawn().expect("spawn mural");
        if let Some(input) = self.stdin.take() {
            child.stdin.take().unwrap().write_all(&input).unwrap();
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }
}

impl Ran {
    /// Bad input: exit code 2, nothing on stdout, one line on stderr that
    /// contains `needle`.
    pub fn assert_usage_error(&self, what: &str, needle: &str) {
        assert_eq!(self.code, 2, "{what}: {}", self.stderr);
        assert!(
            self.stdout.is_empty(),
            "{what} printed to stdout: {}",
            self.stdout
        );
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

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh folder of its own: two tests that pick the same name still
    /// get two folders (regression: two Gemini tests shared one, and one's
    /// cleanup removed the other's output folder mid-run).
    pub fn new(name: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("mural-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ideas of PartiPrompts (data/eval, Apache-2.0).
pub fn parti_prompts() -> Vec<String> {
    include_str!("../data/eval/PartiPrompts.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One JSON object per line of `s`.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))
        })
        .collect()
}

/// The chromedriver to drive Chromium with, for the studio's browser
/// tests. Where there is none the test is skipped with a note, but CI
/// (which installs it) must run it.
pub fn chromedriver_or_skip() -> Option<String> {
    let found = ["chromedriver", "/usr/bin/chromedriver"]
        .iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|p| p.to_string());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: apt-get install chromium chromium-driver"
        );
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
    }
    found
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A WebDriver session with headless Chromium (Debian's, where installed)
/// through the chromedriver listening on `port`, retried for 20 s while
/// the driver starts.
pub async fn chromium_session(port: u16) -> Result<fantoccini::Client, Box<dyn std::error::Error>> {
    // several TLS stacks are linked in; pick one (WebDriver here is plain HTTP)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut chrome = serde_json::json!({
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage", "--window-size=1200,900"]
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = "/usr/bin/chromium".into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    let started = std::time::Instant::now();
    loop {
        match fantoccini::ClientBuilder::rustls()?
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Ok(c),
            Err(_) if started.elapsed() < std::time::Duration::from_secs(20) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The first line `mural serve` prints ("mural serve: listening on
/// http://127.0.0.1:PORT"), trimmed.
pub fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .unwrap();
    line.trim().to_string()
}

/// The URL at the end of `mural serve`'s first line.
pub fn listen_url(child: &mut std::process::Child) -> String {
    let line = first_line(child);
    line.rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string()
}
