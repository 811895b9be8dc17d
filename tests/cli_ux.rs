//! The command line a user expects: named missing arguments, "did you
//! mean", quiet exits into a closed pipe, `mural.toml` defaults, and the
//! small flags (`--plain`, `lint -`, `--negative`, `serve --port`).

use crate::util::{json_lines, TempDir, TestCommand};
use std::io::Read;
use std::process::{Command, Stdio};

/// A `TestCommand` reading `mural.toml` from `dir` (written from `toml`).
fn with_config(dir: &TempDir, toml: &str, args: &[&str]) -> TestCommand {
    let path = dir.0.join("mural.toml");
    std::fs::write(&path, toml).unwrap();
    TestCommand::new(args)
        .env("MURAL_CONFIG", &path)
        .env("MURAL_HOME", dir.0.join("home"))
}

#[test]
fn a_missing_argument_is_named_with_its_fix() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["prompt"],
            "missing IDEA",
            "mural prompt \"a beach sunset\"",
        ),
        (&["vary"], "missing IDEA", "mural vary \""),
        (&["lint"], "missing PROMPT", "- to read stdin"),
        (
            &["imagine"],
            "missing IDEA",
            "mural imagine \"a beach sunset\"",
        ),
        (&["template"], "missing TEMPLATE", "mural template \""),
        (&["batch"], "missing FILE", "mural batch ideas.txt"),
        (&["info"], "missing FILE", "mural info image.png"),
        (&["rerun"], "missing ID", "mural gallery list"),
        (&["gallery", "show"], "missing ID", "mural gallery show 3"),
        (&["completions"], "missing SHELL", "mural completions bash"),
    ];
    for (args, missing, fix) in cases {
        let r = TestCommand::new(args).run();
        r.assert_usage_error(&format!("{args:?}"), missing);
        assert!(
            r.stderr.contains(fix),
            "{args:?}: {:?} lacks {fix:?}",
            r.stderr
        );
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["prompt", "--help"],
        &["help", "serve"],
    ] {
        let r = TestCommand::new(args).run();
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_misspelled_command_or_flag_gets_did_you_mean() {
    let r = TestCommand::new(&["promt", "a cat"]).run();
    r.assert_usage_error("promt", "unrecognized subcommand 'promt'");
    assert!(r.stderr.contains("did you mean prompt?"), "{}", r.stderr);
    let r = TestCommand::new(&["prompt", "a cat", "--targt", "sd"]).run();
    r.assert_usage_error("--targt", "did you mean --target?");
    let r = TestCommand::new(&["completions", "bsh"]).run();
    r.assert_usage_error("bsh", "bash");
}

#[test]
fn unknown_names_suggest_the_nearest_known_name() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["prompt", "a cat", "--target", "midjurney"],
            "unknown target \"midjurney\"; did you mean midjourney? use one of: gpt-image",
        ),
        (
            &["lint", "a cat", "-t", "sdx"],
            "unknown target \"sdx\"; did you mean sd",
        ),
        (
            &["prompt", "a cat", "--style", "watercolr"],
            "unknown style \"watercolr\"; did you mean watercolor? run `mural styles`",
        ),
        (
            &["models", "--painter", "opnai"],
            "unknown painter \"opnai\"; did you mean openai?",
        ),
        (
            &["models", "--painter", "a111/sdxl"],
            "did you mean a1111/sdxl?",
        ),
        (
            &["prompt", "a cat", "--writer", "buitin"],
            "unknown writer \"buitin\"; did you mean builtin?",
        ),
    ];
    for (args, needle) in cases {
        TestCommand::new(args)
            .run()
            .assert_usage_error(&format!("{args:?}"), needle);
    }
    // nothing near: no guess, still the list
    let r = TestCommand::new(&["prompt", "a cat", "--target", "zzzzzzzz"]).run();
    r.assert_usage_error("far", "use one of");
    assert!(!r.stderr.contains("did you mean"), "{}", r.stderr);
}

/// Runs mural with stdout into a pipe whose reader is closed at once:
/// every write mural makes meets a closed pipe (EPIPE).
fn into_closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mural"))
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent/mural-test-config")
        .env_remove("MURAL_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mural");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn writing_into_a_closed_pipe_ends_quietly_with_status_0() {
    let cases: &[&[&str]] = &[
        &["styles"],
        &["styles", "--json"],
        &[
            "vary",
            "a knight on a white horse, oil painting",
            "-n",
            "50",
            "--seed",
            "1",
        ],
        &["prompt", "a red fox", "-n", "50", "--json", "--seed", "1"],
        &["prompt", "a red fox", "-n", "50", "--plain", "--seed", "1"],
        &[
            "template",
            "{a|b|c|d|e|f|g|h} {a|b|c|d|e|f|g|h} {a|b|c|d|e|f|g|h} {1|2|3|4|5|6|7|8|9}",
            "--combinatorial",
            "--max",
            "5000",
        ],
        &["completions", "bash"],
        &["man"],
    ];
    for args in cases {
        let (code, stderr) = into_closed_pipe(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
}

#[test]
fn prompt_plain_prints_only_the_prompt_text() {
    let args = [
        "prompt",
        "a red fox",
        "-n",
        "3",
        "--seed",
        "9",
        "--target",
        "sd",
    ];
    let plain = TestCommand::new(&[&args[..], &["--plain"]].concat()).run();
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let json = TestCommand::new(&[&args[..], &["--json"]].concat()).run();
    let prompts: Vec<String> = json_lines(&json.stdout)
        .iter()
        .map(|l| l["prompt"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(plain.stdout.lines().collect::<Vec<_>>(), prompts);
    assert!(!plain.stdout.contains("seed") && !plain.stdout.contains("Negative"));
    TestCommand::new(&["prompt", "a cat", "--plain", "--json"])
        .run()
        .assert_usage_error("--plain --json", "cannot be used with");
}

#[test]
fn lint_dash_reads_the_prompt_from_stdin() {
    let prompt = "(beach sunset:1.2), palm trees, golden hour";
    let from_arg = TestCommand::new(&["lint", prompt, "--target", "sd", "--json"]).run();
    let from_stdin = TestCommand::new(&["lint", "-", "--target", "sd", "--json"])
        .stdin(&format!("{prompt}\n"))
        .run();
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    assert_eq!(from_stdin.stdout, from_arg.stdout);
    let r = TestCommand::new(&["lint", "-", "--target", "sd"])
        .stdin(&"red fox, ".repeat(40))
        .run();
    assert_eq!(r.code, 1, "an over-budget prompt from stdin is linted");
    TestCommand::new(&["lint", "-"])
        .stdin("  \n")
        .run()
        .assert_usage_error("empty stdin", "the prompt is empty");
}

#[test]
fn mural_toml_defaults_apply_and_flags_win() {
    let dir = TempDir::new("cli-ux-defaults");
    let toml = "[defaults]\ntarget = \"sd\"\nstyle = \"pixel-art\"\nn = 2\nsize = \"512x768\"\nout = \"pictures\"\nwriter = \"builtin\"\npainter = \"sketch\"\n";
    let r = with_config(
        &dir,
        toml,
        &["prompt", "a lighthouse", "--json", "--seed", "2"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 2, "n = 2");
    assert_eq!(lines[0]["target"], "sd");
    assert!(
        lines[0]["prompt"].as_str().unwrap().contains("pixel art"),
        "{}",
        lines[0]
    );
    // flags win over [defaults]
    let r = with_config(
        &dir,
        toml,
        &[
            "prompt",
            "a lighthouse",
            "--json",
            "--seed",
            "2",
            "-n",
            "1",
            "-t",
            "flux",
            "--style",
            "watercolor",
        ],
    )
    .run();
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["target"], "flux");
    assert!(!lines[0]["prompt"].as_str().unwrap().contains("pixel art"));
    // lint takes the default target too: sd counts CLIP tokens against 75
    let r = with_config(
        &dir,
        "[defaults]\ntarget = \"midjourney\"\n",
        &["lint", "a fox --stylize 5000"],
    )
    .run();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.starts_with("target midjourney"), "{}", r.stdout);
    // the old top-level keys keep working
    let r = with_config(
        &dir,
        "writer = \"builtin\"\npainter = \"sketch\"\n",
        &["prompt", "a cat", "--plain"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_bad_defaults_table_names_the_key_and_the_file() {
    let dir = TempDir::new("cli-ux-bad-defaults");
    let cases: &[(&str, &str)] = &[
        ("[defaults]\ncolour = \"red\"\n", "unknown field `colour`"),
        (
            "[defaults]\ntarget = \"midjurney\"\n",
            "[defaults] target: unknown target \"midjurney\"; did you mean midjourney?",
        ),
        (
            "[defaults]\nstyle = \"nope\"\n",
            "[defaults] style: unknown style",
        ),
        (
            "[defaults]\nn = 0\n",
            "[defaults] n: -n must be between 1 and 100",
        ),
        ("[defaults]\nsize = \"big\"\n", "[defaults] size:"),
        ("[defaults]\nout = \"\"\n", "[defaults] out: is empty"),
        (
            "painter = \"sketch\"\n[defaults]\npainter = \"openai\"\n",
            "disagree",
        ),
    ];
    for (toml, needle) in cases {
        let r = with_config(&dir, toml, &["prompt", "a cat"]).run();
        r.assert_usage_error(toml, needle);
        assert!(
            r.stderr.contains("mural.toml"),
            "{toml}: names the file: {}",
            r.stderr
        );
    }
}

#[test]
fn negative_is_added_to_the_written_negative_prompt() {
    let base = [
        "prompt",
        "a lighthouse",
        "--target",
        "sd",
        "--json",
        "--seed",
        "3",
    ];
    let plain = json_lines(&TestCommand::new(&base).run().stdout)[0]["negative_prompt"]
        .as_str()
        .unwrap()
        .to_string();
    let r = TestCommand::new(&[&base[..], &["--negative", "fog, Birds"]].concat()).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let neg = json_lines(&r.stdout)[0]["negative_prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(neg.starts_with(&plain), "{neg}");
    assert!(neg.ends_with("fog, Birds"), "{neg}");
    // with a template's tied negative, both are kept, each once
    let r = TestCommand::new(&[
        "prompt",
        "a cat --neg fog",
        "--template",
        "--target",
        "sd",
        "--json",
        "--seed",
        "3",
        "--negative",
        "fog, rain",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let neg = json_lines(&r.stdout)[0]["negative_prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(neg.matches("fog").count(), 1, "{neg}");
    assert!(neg.ends_with("fog, rain"), "{neg}");
    // vary writes prompts too
    let r = TestCommand::new(&[
        "vary",
        "a knight, oil painting",
        "--target",
        "sd",
        "--json",
        "--negative",
        "blurry text",
    ])
    .run();
    assert!(json_lines(&r.stdout)[0]["negative_prompt"]
        .as_str()
        .unwrap()
        .contains("blurry text"));
}

#[test]
fn whitespace_in_ideas_is_collapsed_outside_quotes() {
    let r = TestCommand::new(&[
        "prompt",
        "  a   neon sign\tsaying \"OPEN  24h\" \n at   night ",
        "--json",
        "--seed",
        "1",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json_lines(&r.stdout)[0]["idea"],
        "a neon sign saying \"OPEN  24h\" at night"
    );
    let r = TestCommand::new(&["prompt", "--file", "-", "--json", "--seed", "1"])
        .stdin("a  red\tfox\n")
        .run();
    assert_eq!(json_lines(&r.stdout)[0]["idea"], "a red fox");
}

/// Starts `mural serve` with `args` and returns it with the URL it prints.
fn serve(dir: &TempDir, args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mural"))
        .arg("serve")
        .args(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("XDG_CONFIG_HOME", dir.0.join("config"))
        .env_remove("MURAL_TOKEN")
        .env_remove("MURAL_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mural serve");
    let line = crate::util::first_line(&mut child);
    (child, line)
}

#[test]
fn serve_takes_a_port_and_a_host_name() {
    let dir = TempDir::new("cli-ux-serve");
    // a free port, then serve on it by name
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut child, line) = serve(&dir, &["--addr", "localhost", "--port", &port.to_string()]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        line,
        format!("mural serve: listening on http://127.0.0.1:{port}")
    );
    // --port wins over the port in --addr
    let (mut child, line) = serve(&dir, &["--addr", "localhost:1", "--port", "0"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("mural serve: listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(!line.ends_with(":1"), "{line}");
    TestCommand::new(&["serve", "--addr", "no-such-host.invalid:7878"])
        .env("MURAL_HOME", dir.0.join("home"))
        .run()
        .assert_usage_error("unresolvable", "does not resolve");
    TestCommand::new(&["serve", "--addr", "localhost:http"])
        .env("MURAL_HOME", dir.0.join("home"))
        .run()
        .assert_usage_error("bad port", "not a number from 0 to 65535");
    TestCommand::new(&["serve", "--port", "70000"])
        .run()
        .assert_usage_error("big port", "70000");
}

#[test]
fn batch_reports_every_bad_line_at_once() {
    let dir = TempDir::new("cli-ux-batch");
    let file = dir.0.join("ideas.txt");
    std::fs::write(
        &file,
        "a red fox\n{\"idea\": \"x\", \"style\": \"nope\"}\nfine\n{\"idea\": \"y\", \"target\": \"midjurney\"}\n{oops\n",
    )
    .unwrap();
    let r = TestCommand::new(&[
        "batch",
        file.to_str().unwrap(),
        "--out",
        dir.0.join("out").to_str().unwrap(),
    ])
    .env("MURAL_HOME", dir.0.join("home"))
    .run();
    r.assert_usage_error("bad batch", "ideas.txt: 3 bad lines: line 2: unknown style");
    assert!(
        r.stderr
            .contains("; line 4: unknown target \"midjurney\"; did you mean midjourney?"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("; line 5: not valid JSON"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.0.join("out").exists()
            || std::fs::read_dir(dir.0.join("out"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn completions_and_man_page() {
    let r = TestCommand::new(&["completions", "bash"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("imagine") && r.stdout.contains("--painter"),
        "{}",
        r.stdout
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let r = TestCommand::new(&["completions", shell]).run();
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("imagine"), "{shell}");
    }
    let r = TestCommand::new(&["man"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.starts_with(".TH"),
        "{}",
        &r.stdout[..80.min(r.stdout.len())]
    );
    assert!(r.stdout.contains(".TH mural 1") && r.stdout.contains("imagine"));
    let dir = TempDir::new("cli-ux-man");
    let r = TestCommand::new(&["man", "--out", dir.0.to_str().unwrap()]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "mural.1",
        "mural-prompt.1",
        "mural-imagine.1",
        "mural-gallery-list.1",
    ] {
        let text =
            std::fs::read_to_string(dir.0.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}
