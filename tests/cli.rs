//! The `mural` command line: its contract, exit codes and messages.

use crate::util::{json_lines, TempDir, TestCommand};
use serde_json::Value;

#[test]
fn prompt_prints_a_readable_prompt_with_its_seed() {
    let r = TestCommand::new(&["prompt", "a beach sunset"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("seed "), "{}", r.stdout);
    assert!(r.stdout.contains("(random; repeat with --seed)"));
    assert!(r.stdout.contains("beach sunset"));
}

#[test]
fn random_seed_output_reproduces_with_that_seed() {
    let r = TestCommand::new(&["prompt", "a beach sunset", "--json"]).run();
    let first = &json_lines(&r.stdout)[0];
    let seed = first["seed"].as_u64().unwrap().to_string();
    let again = TestCommand::new(&["prompt", "a beach sunset", "--json", "--seed", &seed]).run();
    assert_eq!(json_lines(&again.stdout)[0], *first);
}

#[test]
fn json_has_the_contract_fields() {
    let r = TestCommand::new(&[
        "prompt",
        "a red fox",
        "--json",
        "-n",
        "3",
        "--seed",
        "7",
        "--target",
        "sd",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        for key in [
            "idea",
            "target",
            "seed",
            "index",
            "prompt",
            "negative_prompt",
            "params",
        ] {
            assert!(l.get(key).is_some(), "missing {key}: {l}");
        }
        assert_eq!(l["index"], i);
        assert_eq!(l["seed"], 7 + i as u64);
        assert_eq!(l["target"], "sd");
        assert_eq!(l["idea"], "a red fox");
    }
}

#[test]
fn file_reads_one_idea_per_line_and_stdin() {
    let dir = TempDir::new("ideas");
    let path = dir.0.join("ideas.txt");
    std::fs::write(&path, "a red fox\n\na lighthouse at night\n").unwrap();
    let r = TestCommand::new(&[
        "prompt",
        "--file",
        path.to_str().unwrap(),
        "--json",
        "--seed",
        "1",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ideas: Vec<String> = json_lines(&r.stdout)
        .iter()
        .map(|l| l["idea"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ideas, ["a red fox", "a lighthouse at night"]);
    let r = TestCommand::new(&["prompt", "--file", "-", "--json", "--seed", "1"])
        .stdin("a cat\na dog\n")
        .run();
    assert_eq!(json_lines(&r.stdout).len(), 2);
}

#[test]
fn bad_input_exits_2_with_one_line_that_names_the_fix() {
    let long = "a".repeat(4001);
    let cases: &[(&[&str], &str)] = &[
        (&["prompt", "   "], "idea is empty"),
        (&["prompt", &long], "4001 characters"),
        (
            &["prompt", "a cat", "--target", "dalle4"],
            "use one of: gpt-image, dalle, dalle2, flux, sd, sdxl, midjourney, midjourney-v8",
        ),
        (
            &["prompt", "a cat", "-n", "0"],
            "-n must be between 1 and 100",
        ),
        (
            &["prompt", "a cat", "-n", "101"],
            "-n must be between 1 and 100",
        ),
        (
            &["prompt", "--file", "/nonexistent/ideas.txt"],
            "cannot read --file",
        ),
        (&["prompt", "a cat", "--style", "nope"], "mural styles"),
        (&["prompt"], "give an idea"),
        (&["prompt", "a cat", "--bogus"], "see mural --help"),
        (&["lint", "a cat", "--target", "nope"], "use one of"),
    ];
    for (args, needle) in cases {
        TestCommand::new(args)
            .run()
            .assert_usage_error(&format!("{args:?}"), needle);
    }
}

#[test]
fn vary_keeps_the_prompt_and_takes_the_same_flags() {
    let r = TestCommand::new(&[
        "vary",
        "a knight on a white horse, oil painting",
        "-n",
        "3",
        "--seed",
        "5",
        "--json",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert!(l["prompt"]
            .as_str()
            .unwrap()
            .starts_with("A knight on a white horse, oil painting"));
    }
}

#[test]
fn lint_exits_0_when_clean_and_1_on_problems() {
    let r = TestCommand::new(&[
        "lint",
        "(beach sunset:1.2), palm trees, golden hour",
        "--target",
        "sd",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("CLIP tokens"));
    let long = "red fox, ".repeat(40);
    let r = TestCommand::new(&["lint", &long, "--target", "sd", "--json"]).run();
    assert_eq!(r.code, 1);
    let report: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(report["clip_tokens"].as_u64().unwrap() > 75);
    assert_eq!(report["chunks"][0]["chunk"], 2);
    assert_eq!(report["warnings"][0]["code"], "over_budget");
    let r = TestCommand::new(&[
        "lint",
        "a fox --ar 16:9 --stylize 5000 --v 9",
        "--target",
        "midjourney",
    ])
    .run();
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("--stylize") && r.stdout.contains("--v"));
    let r = TestCommand::new(&["lint", &"word ".repeat(250), "--target", "dalle2"]).run();
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("limit of 1000"));
}

#[test]
fn styles_lists_at_least_30() {
    let r = TestCommand::new(&["styles"]).run();
    assert_eq!(r.code, 0);
    assert!(r.stdout.lines().count() >= 30);
    assert!(r.stdout.contains("watercolor") && r.stdout.contains("pixel-art"));
    let r = TestCommand::new(&["styles", "--json"]).run();
    for l in json_lines(&r.stdout) {
        assert!(
            l["negative"].as_array().is_some_and(|n| !n.is_empty()),
            "{l}"
        );
    }
}

#[test]
fn style_applies_its_medium_and_negatives() {
    let r = TestCommand::new(&[
        "prompt",
        "a lighthouse",
        "--style",
        "pixel-art",
        "--target",
        "sd",
        "--json",
        "--seed",
        "2",
    ])
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &json_lines(&r.stdout)[0];
    assert!(l["prompt"].as_str().unwrap().contains("pixel art"), "{l}");
    assert!(
        l["negative_prompt"]
            .as_str()
            .unwrap()
            .contains("smooth gradients"),
        "{l}"
    );
}

#[test]
fn midjourney_gets_valid_parameters() {
    let r = TestCommand::new(&[
        "prompt",
        "a street without people",
        "--target",
        "midjourney",
        "--json",
        "--seed",
        "4",
    ])
    .run();
    let l = &json_lines(&r.stdout)[0];
    let p = l["prompt"].as_str().unwrap();
    assert!(
        p.contains(" --ar ") && p.contains(" --stylize ") && p.contains(" --v 7"),
        "{p}"
    );
    assert!(p.ends_with("--no people"), "{p}");
    let lint = TestCommand::new(&["lint", p, "--target", "midjourney"]).run();
    assert_eq!(lint.code, 0, "{}", lint.stdout);
}
