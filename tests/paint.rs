//! Painting and keeping: `imagine`, PNG metadata, `info`, the gallery, `rerun`.

use crate::util::{json_lines, TempDir, TestCommand};
use serde_json::Value;
use std::path::Path;

/// A command with its own MURAL_HOME and working directory.
fn mural(dir: &TempDir, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .dir(&dir.0)
}

fn pixels(path: &Path) -> Vec<u8> {
    let d = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let f = r.next_frame(&mut buf).unwrap();
    buf.truncate(f.buffer_size());
    buf
}

#[test]
fn imagine_paints_saves_and_records() {
    let dir = TempDir::new("imagine");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a beach sunset",
            "-n",
            "2",
            "--seed",
            "5",
            "--size",
            "320x200",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        for key in [
            "id",
            "file",
            "idea",
            "prompt",
            "negative_prompt",
            "seed",
            "painter",
            "width",
            "height",
        ] {
            assert!(l.get(key).is_some(), "missing {key}: {l}");
        }
        assert_eq!(l["seed"], 5 + i as u64);
        assert_eq!(l["painter"], "sketch");
        assert_eq!(
            (l["width"].as_u64(), l["height"].as_u64()),
            (Some(320), Some(200))
        );
        let file = dir.0.join(l["file"].as_str().unwrap());
        assert!(
            file.starts_with(dir.0.join("mural-out")),
            "default --out is ./mural-out/"
        );
        let info = mural_meta::read(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!((info.width, info.height), (320, 200));
        let recipe = info.mural.unwrap();
        assert_eq!(recipe["idea"], "a beach sunset");
        assert_eq!(recipe["writer"], "builtin");
        assert_eq!(recipe["index"], i);
        assert_eq!(recipe["seed"], 5 + i as u64);
        assert_eq!(recipe["painter"], "sketch");
        assert!(recipe["painter_params"]["note"]
            .as_str()
            .unwrap()
            .contains("not a neural image"));
        assert_eq!(
            info.digital_source_type.as_deref(),
            Some("http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia")
        );
        let a = info.a1111.unwrap();
        assert_eq!(a.prompt, l["prompt"].as_str().unwrap());
        assert_eq!(a.get("Seed"), Some((5 + i).to_string().as_str()));
        assert_eq!(a.get("Size"), Some("320x200"));
        assert_eq!(a.get("Model"), Some("mural-sketch-1"));
        for key in ["Steps", "Sampler", "CFG scale", "Version"] {
            assert!(a.get(key).is_some(), "infotext lacks {key}");
        }
    }
    // recorded
    let list = mural(&dir, &["gallery", "list", "--json"]).run();
    let runs = json_lines(&list.stdout);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "done");
    assert_eq!(runs[0]["images"].as_array().unwrap().len(), 2);
    assert!(dir.0.join("home/gallery.db").exists());
}

#[test]
fn a1111_reads_the_infotext_with_its_own_rule() {
    // A1111's parse_generation_parameters, run by Python on our PNG.
    let dir = TempDir::new("a1111");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a sign that says \"Hello, world: 2\"",
            "--seed",
            "9",
            "--size",
            "128x128",
            "--json",
            "--target",
            "sd",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = &json_lines(&r.stdout)[0];
    let file = dir.0.join(line["file"].as_str().unwrap());
    let script = r#"
import json, re, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, text = 8, None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos+8])
    body = data[pos+8:pos+8+n]
    if kind == b"tEXt" and body.split(b"\0", 1)[0] == b"parameters":
        text = body.split(b"\0", 1)[1].decode("latin-1")
    pos += 12 + n
# AUTOMATIC1111 modules/infotext_utils.py
re_param = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
*lines, lastline = text.strip().split("\n")
if len(re_param.findall(lastline)) < 3:
    lines.append(lastline)
    lastline = ""
prompt, negative, done = "", "", False
for line in lines:
    line = line.strip()
    if line.startswith("Negative prompt:"):
        done = True
        line = line[16:].strip()
    if done:
        negative += ("" if negative == "" else "\n") + line
    else:
        prompt += ("" if prompt == "" else "\n") + line
res = {"Prompt": prompt, "Negative prompt": negative}
for k, v in re_param.findall(lastline):
    if v and v[0] == '"' and v[-1] == '"':
        v = json.loads(v)
    res[k] = v
print(json.dumps(res))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output();
    let Ok(out) = out else {
        // .ci/run installs python3; only a developer machine may lack it
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required in CI"
        );
        eprintln!("python3 not found; skipping the A1111 cross-check");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["Prompt"], line["prompt"]);
    assert_eq!(parsed["Negative prompt"], line["negative_prompt"]);
    assert_eq!(parsed["Seed"], "9");
    assert_eq!(parsed["Size"], "128x128");
    assert_eq!(parsed["Model"], "mural-sketch-1");
    assert_eq!(parsed["Steps"], "1");
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = TempDir::new("nooverwrite");
    let args = [
        "imagine",
        "a red fox",
        "--seed",
        "1",
        "--size",
        "64x64",
        "--json",
    ];
    let a = json_lines(&mural(&dir, &args).run().stdout);
    // a file squatting on the next run's name
    std::fs::write(dir.0.join("mural-out/mural-00002-0-1.png"), b"precious").unwrap();
    let b = json_lines(&mural(&dir, &args).run().stdout);
    assert_ne!(a[0]["file"], b[0]["file"]);
    assert_eq!(
        std::fs::read(dir.0.join("mural-out/mural-00002-0-1.png")).unwrap(),
        b"precious"
    );
    assert!(dir.0.join(b[0]["file"].as_str().unwrap()).exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.0.join("mural-out"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn rerun_gives_the_same_pixels() {
    let dir = TempDir::new("rerun");
    let first = json_lines(
        &mural(
            &dir,
            &[
                "imagine",
                "a snowy village at night",
                "-n",
                "2",
                "--size",
                "200x150",
                "--json",
            ],
        )
        .run()
        .stdout,
    );
    let again = mural(&dir, &["rerun", "1", "--json"]).run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again = json_lines(&again.stdout);
    assert_eq!(first.len(), again.len());
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(a["prompt"], b["prompt"]);
        assert_eq!(a["seed"], b["seed"]);
        assert_ne!(a["file"], b["file"]);
        assert_eq!(
            pixels(&dir.0.join(a["file"].as_str().unwrap())),
            pixels(&dir.0.join(b["file"].as_str().unwrap()))
        );
    }
    let show = mural(&dir, &["gallery", "show", "2", "--json"]).run();
    let run: Value = serde_json::from_str(show.stdout.trim()).unwrap();
    assert_eq!(run["recipe"]["rerun_of"], 1);
}

#[test]
fn gallery_search_show_export_rm() {
    let dir = TempDir::new("gallery");
    mural(
        &dir,
        &["imagine", "a red fox", "--seed", "1", "--size", "64x64"],
    )
    .run();
    let evil = "<img src=x onerror=alert(1)> a cat";
    let r = mural(&dir, &["imagine", evil, "--seed", "2", "--size", "64x64"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let found = mural(&dir, &["gallery", "list", "--search", "fox"]).run();
    assert_eq!(found.stdout.lines().count(), 1);
    assert!(found.stdout.contains("a red fox"));
    let show = mural(&dir, &["gallery", "show", "1"]).run();
    assert!(show.stdout.contains("recipe") && show.stdout.contains("seed 1"));
    let html = dir.0.join("sheet.html");
    let ex = mural(
        &dir,
        &["gallery", "export", "--html", html.to_str().unwrap()],
    )
    .run();
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        page.matches("data:image/png;base64,").count(),
        2,
        "thumbnails are embedded"
    );
    assert!(!page.contains("<img src=x"), "prompt text must be escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let rm = mural(&dir, &["gallery", "rm", "1"]).run();
    assert_eq!(rm.code, 0);
    assert_eq!(
        mural(&dir, &["gallery", "list"])
            .run()
            .stdout
            .lines()
            .count(),
        1
    );
    let missing = mural(&dir, &["gallery", "show", "1"]).run();
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no run with id 1"));
}

#[test]
fn info_reads_other_tools_metadata() {
    let dir = TempDir::new("info");
    let write = |name: &str, texts: &[(&str, &str)]| {
        let path = dir.0.join(name);
        let mut enc = png::Encoder::new(std::fs::File::create(&path).unwrap(), 4, 4);
        enc.set_color(png::ColorType::Rgb);
        for (k, v) in texts {
            enc.add_text_chunk(k.to_string(), v.to_string()).unwrap();
        }
        enc.write_header()
            .unwrap()
            .write_image_data(&[0; 48])
            .unwrap();
        path
    };
    let a1111 = write("a1111.png", &[("parameters", "a cat, (cute:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: \"sd, v1: 5\"")]);
    let comfy = write(
        "comfy.png",
        &[
            (
                "prompt",
                r#"{"3":{"class_type":"KSampler","inputs":{"seed":7}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a dog"}}}"#,
            ),
            ("workflow", r#"{"nodes":[{"id":3}]}"#),
        ],
    );
    let invoke = write(
        "invoke.png",
        &[(
            "invokeai_metadata",
            r#"{"positive_prompt":"a bird","seed":11,"model":{"name":"sdxl"}}"#,
        )],
    );

    let r = mural(&dir, &["info", a1111.to_str().unwrap(), "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["sources"], serde_json::json!(["a1111"]));
    assert_eq!(v["a1111"]["prompt"], "a cat, (cute:1.2)");
    assert_eq!(v["a1111"]["negative_prompt"], "blurry");
    let human = mural(&dir, &["info", a1111.to_str().unwrap()]).run();
    assert!(
        human.stdout.contains("Model: sd, v1: 5"),
        "{}",
        human.stdout
    );

    let v: Value = serde_json::from_str(
        mural(&dir, &["info", comfy.to_str().unwrap(), "--json"])
            .run()
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(v["sources"], serde_json::json!(["comfyui"]));
    assert_eq!(v["comfyui_prompt"]["3"]["inputs"]["seed"], 7);

    let v: Value = serde_json::from_str(
        mural(&dir, &["info", invoke.to_str().unwrap(), "--json"])
            .run()
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(v["sources"], serde_json::json!(["invokeai"]));
    assert_eq!(v["invokeai"]["seed"], 11);
}

#[test]
fn bad_painting_input_exits_2() {
    let dir = TempDir::new("badpaint");
    std::fs::write(dir.0.join("notes.txt"), "hello").unwrap();
    let mut corrupt = std::fs::read(dir.0.join("notes.txt")).unwrap();
    corrupt.clear();
    corrupt.extend_from_slice(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR");
    std::fs::write(dir.0.join("corrupt.png"), &corrupt).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["imagine", "a cat", "--size", "0x0"], "zero side"),
        (&["imagine", "a cat", "--size", "5000x100"], "4096"),
        (&["imagine", "a cat", "--size", "big"], "WxH"),
        (&["imagine", "a cat", "--size", "32x32"], "64 to 4096"),
        (
            &["imagine", "a cat", "--painter", "picasso"],
            "use a kind (sketch, openai, a1111",
        ),
        (
            &["imagine", "a cat", "--painter", "openai"],
            "set OPENAI_API_KEY",
        ),
        (
            &["imagine", "a cat", "--painter", "stability"],
            "set STABILITY_API_KEY",
        ),
        (
            &["imagine", "a cat", "--painter", "runway"],
            "set RUNWAYML_API_SECRET",
        ),
        (&["batch", "missing.txt"], "cannot read missing.txt"),
        (&["batch", "notes.txt", "--resume"], "no unfinished batch"),
        (&["batch", "notes.txt", "--target", "oil"], "unknown target"),
        (
            &["imagine", "a cat", "--out", "notes.txt/sub"],
            "cannot write to --out",
        ),
        (&["info", "notes.txt"], "not a PNG"),
        (&["info", "corrupt.png"], "corrupt PNG"),
        (&["info", "missing.png"], "cannot read"),
        (&["rerun", "99"], "no run with id 99"),
    ];
    for (args, needle) in cases {
        mural(&dir, args)
            .run()
            .assert_usage_error(&format!("{args:?}"), needle);
    }
}

#[test]
fn regression_newer_gallery_is_refused_not_corrupted() {
    let dir = TempDir::new("newerdb");
    mural(&dir, &["imagine", "a cat", "--size", "64x64"]).run();
    let db = dir.0.join("home/gallery.db");
    {
        let c = rusqlite_free_bump(&db);
        assert!(c, "could not bump user_version");
    }
    let before = std::fs::read(&db).unwrap();
    let r = mural(&dir, &["imagine", "a dog", "--size", "64x64"]).run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("newer mural"), "{}", r.stderr);
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// Sets SQLite's user_version (a big-endian u32 at byte 60 of the header)
/// past what this mural knows, as a newer mural would.
fn rusqlite_free_bump(db: &Path) -> bool {
    // make sure the WAL is folded into the main file first
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    let _ = std::fs::remove_file(db.with_extension("db-shm"));
    let Ok(mut bytes) = std::fs::read(db) else {
        return false;
    };
    if bytes.len() < 100 {
        return false;
    }
    bytes[60..64].copy_from_slice(&999u32.to_be_bytes());
    std::fs::write(db, bytes).is_ok()
}

#[test]
fn imagine_paints_at_the_writers_aspect_when_no_size_is_given() {
    // a headshot is tall, a chase wide, a logo square
    let dir = TempDir::new("imagine-aspect");
    for (idea, want) in [
        ("a headshot of a man with a gray beard", "portrait"),
        ("a fox chasing a rabbit across a meadow", "landscape"),
        ("a logo of an owl for a bookstore", "square"),
    ] {
        let r = mural(&dir, &["imagine", idea, "--seed", "3", "--json"]).run();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let l = &json_lines(&r.stdout)[0];
        let (w, h) = (l["width"].as_u64().unwrap(), l["height"].as_u64().unwrap());
        let ok = match want {
            "portrait" => h > w,
            "landscape" => w > h,
            _ => w == h,
        };
        assert!(ok, "{idea}: {w}x{h}, wanted {want}");
    }
}
