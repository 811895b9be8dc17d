//! The one run path (`mural_pipeline::Studio::run`): every command that
//! paints gets the same sequence, so what one path does, all do.

use crate::fakes;
use crate::util::{json_lines, TempDir, TestCommand};
use std::path::Path;

fn mural(dir: &TempDir, args: &[&str]) -> TestCommand {
    let config = dir.0.join("mural.toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .dir(&dir.0)
}

fn a1111_dir(name: &str, url: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(
        dir.0.join("mural.toml"),
        format!(
            "[painters.local]\nkind = \"a1111\"\nurl = \"{url}\"\napi_auth = \"bob:hunter2-secret\"\ntimeout_s = 2\nbackoff_ms = 10\n"
        ),
    )
    .unwrap();
    dir
}

fn negative_in_png(file: &str) -> String {
    let info = mural_meta::read(&std::fs::read(file).unwrap()).unwrap();
    info.a1111.expect("an infotext").negative_prompt
}

/// Regression: a template's tied negative (`--neg fog`) was recorded in
/// the recipe but never painted or embedded by `imagine` and `batch`;
/// only `mural prompt` merged it.
#[test]
fn regression_a_tied_negative_is_painted_and_kept_by_imagine_and_batch() {
    let s = fakes::a1111();
    let dir = a1111_dir("run-path-neg", &s.url);
    let r = mural(
        &dir,
        &[
            "imagine",
            "a cat --neg fog",
            "--template",
            "--painter",
            "local",
            "--size",
            "512x512",
            "--seed",
            "3",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let img = &json_lines(&r.stdout)[0];
    assert!(
        img["negative_prompt"].as_str().unwrap().contains("fog"),
        "{img}"
    );
    let sent = s.fake.bodies("/sdapi/v1/txt2img");
    assert!(
        sent[0]["negative_prompt"].as_str().unwrap().contains("fog"),
        "painted without the negative: {}",
        sent[0]
    );
    assert!(negative_in_png(img["file"].as_str().unwrap()).contains("fog"));

    std::fs::write(dir.0.join("ideas.txt"), "a dog --neg rain\n").unwrap();
    let r = mural(
        &dir,
        &[
            "batch",
            "ideas.txt",
            "--template",
            "--painter",
            "local",
            "--size",
            "512x512",
            "--negative",
            "blur",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let img = &json_lines(&r.stdout)[0];
    let sent = s.fake.bodies("/sdapi/v1/txt2img");
    let last = sent.last().unwrap()["negative_prompt"].as_str().unwrap();
    assert!(last.contains("rain") && last.contains("blur"), "{last}");
    let kept = negative_in_png(img["file"].as_str().unwrap());
    assert!(kept.contains("rain") && kept.contains("blur"), "{kept}");
}

#[test]
fn negative_flag_reaches_midjourneys_no_parameter() {
    let dir = TempDir::new("run-path-mj");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a quiet harbor",
            "-t",
            "midjourney",
            "--negative",
            "fog, boats",
            "--size",
            "256x256",
            "--seed",
            "1",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prompt = json_lines(&r.stdout)[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.ends_with("--no fog, boats"), "{prompt}");
}

/// Regression: a rerun asked the writer again, so a run whose prompts were
/// edited or written by a model came back different; it repaints the
/// recorded prompts.
#[test]
fn rerun_repaints_the_recorded_prompts_not_new_ones() {
    let dir = TempDir::new("run-path-rerun");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a lighthouse in fog",
            "-n",
            "2",
            "--size",
            "128x128",
            "--seed",
            "5",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    // the recorded prompts as a user's edit would leave them
    let db = rusqlite::Connection::open(dir.0.join("home/gallery.db")).unwrap();
    db.execute(
        "UPDATE images SET prompt = 'an edited prompt ' || idx WHERE run_id = 1",
        [],
    )
    .unwrap();
    let r = mural(&dir, &["rerun", "1", "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let again = json_lines(&r.stdout);
    assert_eq!(again.len(), 2);
    assert_eq!(again[0]["prompt"], "an edited prompt 0");
    assert_eq!(again[1]["prompt"], "an edited prompt 1");
    let show = mural(&dir, &["gallery", "show", "2", "--json"]).run();
    let run: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(run["recipe"]["rerun_of"], 1);
    assert_eq!(run["recipe"]["writer"], "builtin");
    assert_eq!(run["recipe"]["version"], 2);
}

/// A run recorded before recipes had a version (the fixture is a real
/// gallery row and PNG from that mural) is re-run from its recipe.
#[test]
fn a_run_recorded_in_the_old_recipe_format_still_reruns() {
    let dir = TempDir::new("run-path-v1");
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/data/recipes/v1-gallery-run.json").unwrap(),
    )
    .unwrap();
    assert!(
        fixture["recipe"].get("version").is_none(),
        "a version-1 row"
    );
    let g = mural_gallery::Gallery::open(&dir.0.join("home/gallery.db")).unwrap();
    let id = g
        .start_run(&mural_gallery::NewRun {
            idea: fixture["idea"].as_str().unwrap(),
            recipe: &fixture["recipe"],
        })
        .unwrap();
    let png = Path::new("tests/data/recipes/v1-image.png")
        .canonicalize()
        .unwrap();
    for img in fixture["images"].as_array().unwrap() {
        g.add_image(
            id,
            &mural_gallery::NewImage {
                index: img["index"].as_u64().unwrap() as usize,
                file: png.to_str().unwrap(),
                prompt: img["prompt"].as_str().unwrap(),
                negative_prompt: img["negative_prompt"].as_str().unwrap(),
                seed: img["seed"].as_u64().unwrap(),
                width: 64,
                height: 64,
                painted_by: "sketch",
                recipe: &img["recipe"],
            },
        )
        .unwrap();
    }
    g.finish_run(id, None).unwrap();
    drop(g);
    let r = mural(
        &dir,
        &["rerun", &id.to_string(), "--json", "--out", "again"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let again = json_lines(&r.stdout);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1]["prompt"], fixture["images"][1]["prompt"]);
    assert_eq!(
        (again[0]["width"].as_u64(), again[0]["seed"].as_u64()),
        (Some(64), Some(7))
    );
    // the old PNG's recipe reads as well
    let info = mural_meta::read(&std::fs::read(&png).unwrap()).unwrap();
    let recipe = mural_pipeline::ImageRecipe::from_value(&info.mural.unwrap()).unwrap();
    assert_eq!((recipe.run.version, recipe.index), (1, 0));
}

#[test]
fn file_names_carry_words_of_the_idea() {
    let dir = TempDir::new("run-path-names");
    let r = mural(
        &dir,
        &[
            "imagine",
            "A red fox in the snow",
            "--size",
            "64x64",
            "--seed",
            "9",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = json_lines(&r.stdout)[0]["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(file.ends_with("mural-00001-0-9-red-fox-snow.png"), "{file}");
}

#[test]
fn imagine_prints_paths_and_prompts_on_stdout_and_notes_on_stderr() {
    let dir = TempDir::new("run-path-out");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a beach sunset",
            "--size",
            "64x64",
            "--seed",
            "2",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].ends_with(".png (seed 2)"), "{}", lines[0]);
    assert!(
        lines[1].trim_start().starts_with("A beach sunset"),
        "{}",
        lines[1]
    );
    assert!(
        r.stderr.contains("run 1 recorded in the gallery"),
        "{}",
        r.stderr
    );
}
