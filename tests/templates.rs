//! Templates: mural against the real dynamicprompts, and the CLI.

use crate::util::{json_lines, TempDir, TestCommand};
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/templates")
}

fn wildcards() -> String {
    data().join("wildcards").to_string_lossy().into_owned()
}

/// The corpus agrees with dynamicprompts 0.31, prompt for prompt and in
/// order. Needs a Python with `dynamicprompts==0.31.0` and `pyyaml` in
/// `MURAL_TEST_PYTHON` (`.ci/run` sets one up); skipped without
/// it, except under CI where it must run.
#[test]
fn combinatorial_mode_matches_dynamicprompts() {
    let Some(python) = std::env::var_os("MURAL_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the dynamicprompts comparison: set MURAL_TEST_PYTHON"
        );
        eprintln!("skipped: set MURAL_TEST_PYTHON to a python with dynamicprompts 0.31");
        return;
    };
    let corpus_path = data().join("corpus.json");
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/templates/dynamicprompts_expand.py"))
        .arg(&corpus_path)
        .arg(wildcards())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let corpus: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&corpus_path).unwrap()).unwrap();
    assert!(
        corpus.len() >= 100,
        "the corpus needs at least 100 templates"
    );
    let w = mural_template::Wildcards::load_dir(&data().join("wildcards")).unwrap();
    let mut bad = Vec::new();
    let mut prompts = 0;
    for (t, e) in corpus.iter().zip(&expected) {
        let got = mural_template::Template::parse(t)
            .and_then(|tt| mural_template::expand_first(&tt, &w, 1000))
            .map(|v| v.into_iter().map(|x| x.prompt).collect::<Vec<_>>());
        let want: Option<Vec<String>> = serde_json::from_value(e.clone()).ok();
        assert!(
            want.is_some(),
            "dynamicprompts rejects corpus template {t:?}: {e}"
        );
        prompts += want.as_ref().map_or(0, Vec::len);
        if got.as_ref().ok() != want.as_ref() {
            bad.push(format!("{t:?}\n  dynamicprompts: {e}\n  mural: {got:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} templates differ:\n{}",
        bad.len(),
        corpus.len(),
        bad.join("\n")
    );
    assert!(prompts > 500);
}

fn mural(dir: &TempDir, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("XDG_CONFIG_HOME", dir.0.join("config"))
        .dir(&dir.0)
}

#[test]
fn template_random_mode_is_seeded_and_each_prompt_reproduces() {
    let dir = TempDir::new("tpl-random");
    let w = wildcards();
    let t = "a {small|large} __colors__ {house|barn} in __seasons__, {1-2$$ and $$__moods/calm__}";
    let a = mural(
        &dir,
        &["template", t, "-n", "5", "--seed", "40", "--wildcards", &w],
    )
    .run();
    assert_eq!(a.code, 0, "{}", a.stderr);
    let lines: Vec<&str> = a.stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    let b = mural(
        &dir,
        &["template", t, "-n", "5", "--seed", "40", "--wildcards", &w],
    )
    .run();
    assert_eq!(a.stdout, b.stdout);
    let third = mural(
        &dir,
        &["template", t, "-n", "1", "--seed", "42", "--wildcards", &w],
    )
    .run();
    assert_eq!(third.stdout.trim(), lines[2], "prompt i uses seed + i");
    assert!(
        lines.iter().all(|l| !l.contains('{') && !l.contains("__")),
        "{lines:?}"
    );
}

#[test]
fn template_combinatorial_json_and_tied_negatives() {
    let dir = TempDir::new("tpl-comb");
    let r = mural(
        &dir,
        &[
            "template",
            "a {red car --neg rust, dents|blue car} in {rain --neg dry road|sun}",
            "--combinatorial",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        serde_json::json!({"prompt": "a red car in rain", "negative_prompt": "rust, dents, dry road"})
    );
    assert_eq!(
        lines[1],
        serde_json::json!({"prompt": "a red car in sun", "negative_prompt": "rust, dents"})
    );
    assert_eq!(
        lines[3],
        serde_json::json!({"prompt": "a blue car in sun", "negative_prompt": ""})
    );
    // text mode writes the negative back in template syntax
    let r = mural(&dir, &["template", "{a --neg b|c}", "--combinatorial"]).run();
    assert_eq!(r.stdout, "a --neg b\nc\n");
}

#[test]
fn escapes_give_literal_characters() {
    let dir = TempDir::new("tpl-escape");
    let r = mural(
        &dir,
        &[
            "template",
            r"50\% off \{sale\} \| a\_\_b \$5 \#1 {x\|y|z}",
            "--combinatorial",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "50% off {sale} | a__b $5 #1 x|y\n50% off {sale} | a__b $5 #1 z\n"
    );
}

#[test]
fn template_errors_say_where_and_how_to_fix() {
    let dir = TempDir::new("tpl-errors");
    let w = wildcards();
    let r = mural(&dir, &["template", "a {red|blue fox"]).run();
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("line 1, column 3") && r.stderr.contains("\n  a {red|blue fox\n    ^"),
        "{}",
        r.stderr
    );
    let r = mural(&dir, &["template", "__colours__", "--wildcards", &w]).run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown wildcard __colours__; nearest: colors"),
        "{}",
        r.stderr
    );
    let r = mural(
        &dir,
        &[
            "template",
            "{a|b|c} {d|e|f} {g|h}",
            "--combinatorial",
            "--max",
            "10",
        ],
    )
    .run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("makes 18 prompts, over --max 10"),
        "{}",
        r.stderr
    );
    let r = mural(&dir, &["template", "x", "--wildcards", "nope/"]).run();
    r.assert_usage_error("missing dir", "is not a directory");
}

#[test]
fn regression_self_referencing_wildcards_are_a_cycle_not_a_stack_overflow() {
    let dir = TempDir::new("tpl-cycle");
    let wc = dir.0.join("wc");
    std::fs::create_dir_all(&wc).unwrap();
    std::fs::write(wc.join("a.txt"), "x __b__\n").unwrap();
    std::fs::write(wc.join("b.txt"), "y __a__\n").unwrap();
    std::fs::write(wc.join("self.txt"), "{__self__|z}\n").unwrap();
    let w = wc.to_string_lossy().into_owned();
    for mode in [&["--combinatorial"][..], &["-n", "3"][..]] {
        let mut args = vec!["template", "__a__", "--wildcards", &w];
        args.extend(mode);
        let r = mural(&dir, &args).run();
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("cycle: a -> b -> a"), "{}", r.stderr);
    }
    let r = mural(
        &dir,
        &["template", "__self__", "--wildcards", &w, "--combinatorial"],
    )
    .run();
    assert!(r.stderr.contains("cycle"), "{}", r.stderr);
    // and a template nested 5,000 deep is refused, not a crash
    let deep = "{".repeat(5000) + "x" + &"}".repeat(5000);
    let r = mural(&dir, &["template", &deep]).run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nests deeper"), "{}", r.stderr);
    let r = mural(&dir, &["template", "${a=x ${a}} ${a}", "--combinatorial"]).run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("refers to itself"), "{}", r.stderr);
}

#[test]
fn the_default_wildcards_live_in_the_config_directory() {
    let dir = TempDir::new("tpl-default");
    let wc = dir.0.join("config/mural/wildcards");
    std::fs::create_dir_all(&wc).unwrap();
    std::fs::write(wc.join("fruit.txt"), "plum\napple\n").unwrap();
    let r = mural(&dir, &["template", "__fruit__ tart", "--combinatorial"]).run();
    assert_eq!(r.stdout, "apple tart\nplum tart\n", "{}", r.stderr);
}

#[test]
fn prompt_imagine_and_batch_take_a_template() {
    let dir = TempDir::new("tpl-commands");
    let r = mural(
        &dir,
        &[
            "prompt",
            "--template",
            "a {red|blue} fox --neg fog",
            "-t",
            "sd",
            "--seed",
            "3",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["idea"], "a red fox");
    assert_eq!(lines[1]["idea"], "a blue fox");
    assert!(
        lines[0]["negative_prompt"]
            .as_str()
            .unwrap()
            .ends_with(", fog"),
        "{}",
        lines[0]
    );

    let r = mural(
        &dir,
        &[
            "imagine",
            "--template",
            "a {red|blue} kite",
            "--size",
            "64x64",
            "--seed",
            "9",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["idea"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a red kite", "a blue kite"]
    );
    assert_ne!(
        lines[0]["run_id"], lines[1]["run_id"],
        "one run per expansion"
    );

    std::fs::write(
        dir.0.join("ideas.txt"),
        "a {green|yellow} boat\n{\"idea\": \"an {old|new} car\", \"n\": 2}\n",
    )
    .unwrap();
    let r = mural(
        &dir,
        &[
            "batch",
            "ideas.txt",
            "--template",
            "--size",
            "64x64",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ideas: Vec<String> = json_lines(&r.stdout)
        .iter()
        .map(|l| l["idea"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ideas.len(), 6);
    for want in ["a green boat", "a yellow boat", "an old car", "an new car"] {
        assert!(ideas.iter().any(|i| i == want), "{ideas:?}");
    }
    assert!(r.stderr.contains("4 items: 4 done"), "{}", r.stderr);
}
