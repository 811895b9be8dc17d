//! Each remote painter against its local fake: the wire format, the
//! checks the fake makes, faults and refusals, and metadata.

use crate::fakes::{self, Fault, KEY};
use crate::util::{json_lines, TempDir, TestCommand};
use std::path::Path;
use std::time::{Duration, Instant};

/// A temp dir with `mural.toml` holding `profiles`.
fn setup(name: &str, profiles: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.0.join("mural.toml"), profiles).unwrap();
    dir
}

fn mural(dir: &TempDir, args: &[&str]) -> TestCommand {
    TestCommand::new(args)
        .env("MURAL_HOME", dir.0.join("home"))
        .env("MURAL_CONFIG", dir.0.join("mural.toml"))
        .dir(&dir.0)
}

/// Fast retries and a 1 s timeout, so faults resolve quickly.
const FAST: &str = "timeout_s = 1\nbackoff_ms = 20\nmax_retries = 6\n";

fn recipe_of(file: &str) -> serde_json::Value {
    let info = mural_meta_read(Path::new(file));
    info["mural"].clone()
}

/// One infotext parameter, as `mural info --json` lists them.
fn param(info: &serde_json::Value, key: &str) -> String {
    info["a1111"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == key)
        .map(|p| p[1].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {key} in {info}"))
}

fn mural_meta_read(file: &Path) -> serde_json::Value {
    let r = TestCommand::new(&["info", &file.to_string_lossy(), "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

// ------------------------------------------------------------------ openai

fn openai_dir(name: &str, model: &str) -> TempDir {
    setup(
        name,
        &format!("[painters.oa]\nkind = \"openai\"\nmodel = \"{model}\"\n{FAST}"),
    )
}

fn openai_cmd(dir: &TempDir, s: &fakes::Server, args: &[&str]) -> TestCommand {
    mural(dir, args)
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", KEY)
}

/// The catalog's default OpenAI image model.
fn openai_default() -> String {
    mural_catalog::Catalog::builtin()
        .default_model(mural_catalog::Provider::Openai, mural_catalog::Kind::Image)
        .unwrap()
        .id
        .clone()
}

#[test]
fn openai_paints_a_beach_sunset_with_the_current_default_model() {
    let s = fakes::openai();
    let dir = setup("oa-default", "");
    let r = openai_cmd(
        &dir,
        &s,
        &["imagine", "a beach sunset", "--painter", "openai", "--json"],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "no lifecycle warning: {}", r.stderr);
    let b = &s.fake.bodies("/v1/images/generations")[0];
    assert_eq!(b["model"], openai_default().as_str());
    assert!(b.get("response_format").is_none(), "b64 only: {b}");
    assert!(b.get("style").is_none());
    // the writer's wide framing, as a free size the model takes
    let size = b["size"].as_str().unwrap();
    let (w, h) = size.split_once('x').unwrap();
    let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
    assert!(w > h && w % 16 == 0 && h % 16 == 0, "{size}");
    let line = &json_lines(&r.stdout)[0];
    let recipe = recipe_of(line["file"].as_str().unwrap());
    assert_eq!(recipe["model"], openai_default().as_str());
    assert_eq!(recipe["target"], "gpt-image");
}

#[test]
fn openai_refuses_shut_down_models_before_sending() {
    let s = fakes::openai();
    let dir = setup("oa-retired", "");
    for (model, since) in [
        ("dall-e-3", "2026-05-12"),
        ("gpt-image-1", "2026-10-23"),
        ("gpt-image-1.5", "2026-12-01"),
    ] {
        let r = openai_cmd(
            &dir,
            &s,
            &["imagine", "a cat", "--painter", "openai", "--model", model],
        )
        .run();
        r.assert_usage_error(model, &format!("was shut down on {since}"));
        assert!(r.stderr.contains("--model gpt-image-2"), "{}", r.stderr);
        assert!(r.stderr.contains("in the painter profile"), "{}", r.stderr);
    }
    // the same through a profile
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.old]\nkind = \"openai\"\nmodel = \"dall-e-2\"\n",
    )
    .unwrap();
    openai_cmd(&dir, &s, &["imagine", "a cat", "--painter", "old"])
        .run()
        .assert_usage_error("profile", "was shut down on 2026-05-12");
    assert_eq!(s.fake.hits("/v1/images/generations"), 0, "nothing was sent");
}

#[test]
fn openai_deprecated_model_paints_with_a_one_line_warning_then_stops_at_its_date() {
    let s = fakes::openai();
    let dir = setup(
        "oa-deprecated",
        "[[models]]\nid = \"gpt-image-2\"\nstatus = \"deprecated\"\nshutdown = \"2027-02-01\"\nreplacement = \"gpt-image-2.6-sunburst\"\n",
    );
    let args = [
        "imagine",
        "a cat",
        "--painter",
        "openai/gpt-image-2",
        "--size",
        "1024x1024",
    ];
    let r = openai_cmd(&dir, &s, &args)
        .env("MURAL_TODAY", "2026-12-01")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("deprecated"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(warnings[0].contains("2027-02-01"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("--model gpt-image-2.6-sunburst"),
        "{}",
        warnings[0]
    );
    assert_eq!(s.fake.hits("/v1/images/generations"), 1);
    // on its shutdown date it is refused before sending
    openai_cmd(&dir, &s, &args)
        .env("MURAL_TODAY", "2027-02-01")
        .run()
        .assert_usage_error("past shutdown", "was shut down on 2027-02-01");
    assert_eq!(s.fake.hits("/v1/images/generations"), 1);
}

#[test]
fn openai_says_a_model_it_does_not_have_does_not_exist() {
    let s = fakes::openai();
    // a model mural's catalog does not know: sent, and OpenAI's answer is said plainly
    let dir = setup("oa-missing", "");
    let r = openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a cat",
            "--painter",
            "openai/gpt-image-9",
            "--size",
            "1024x1024",
        ],
    )
    .run();
    r.assert_usage_error(
        "unknown model",
        "OpenAI says model gpt-image-9 does not exist",
    );
    assert!(
        r.stderr.contains("mural models --painter openai"),
        "{}",
        r.stderr
    );
    // a user who marks a retired model active gets OpenAI's own refusal, said the same way
    std::fs::write(
        dir.0.join("mural.toml"),
        "[[models]]\nid = \"dall-e-3\"\nstatus = \"active\"\n",
    )
    .unwrap();
    openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a cat",
            "--painter",
            "openai/dall-e-3",
            "--size",
            "1024x1024",
        ],
    )
    .run()
    .assert_usage_error("overridden", "OpenAI says model dall-e-3 does not exist");
    assert_eq!(s.fake.hits("/v1/images/generations"), 2, "not retried");
}

#[test]
fn openai_sizes_and_options_are_checked_against_the_catalog_before_sending() {
    let s = fakes::openai();
    let dir = setup("oa-size", "");
    let model = openai_default();
    let painter = format!("openai/{model}");
    for (size, why) in [
        ("1000x1000", "multiple of 16"),
        ("3840x1024", "3:1"),
        ("512x512", "pixels"),
    ] {
        openai_cmd(
            &dir,
            &s,
            &["imagine", "a cat", "--painter", &painter, "--size", size],
        )
        .run()
        .assert_usage_error(size, why);
    }
    // options the older 2.x model does not take
    std::fs::write(
        dir.0.join("mural.toml"),
        "[painters.two]\nkind = \"openai\"\nmodel = \"gpt-image-2\"\nquality = \"max\"\n\n[painters.clear]\nkind = \"openai\"\nmodel = \"gpt-image-2\"\nbackground = \"transparent\"\n",
    )
    .unwrap();
    openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a cat",
            "--painter",
            "two",
            "--size",
            "1024x1024",
        ],
    )
    .run()
    .assert_usage_error("quality max", "quality \"max\" is not supported");
    openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a cat",
            "--painter",
            "clear",
            "--size",
            "1024x1024",
        ],
    )
    .run()
    .assert_usage_error("transparent", "background \"transparent\" is not supported");
    assert_eq!(s.fake.hits("/v1/images/generations"), 0);
    // 4K wide is allowed
    let r = openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a cat",
            "--painter",
            &painter,
            "--size",
            "3840x2160",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        s.fake.bodies("/v1/images/generations")[0]["size"],
        "3840x2160"
    );
}

#[test]
fn openai_sends_quality_background_format_compression_and_moderation() {
    let s = fakes::openai();
    let dir = openai_dir("oa-options", &openai_default());
    std::fs::write(
        dir.0.join("mural.toml"),
        format!(
            "[painters.oa]\nkind = \"openai\"\nmodel = \"{}\"\nquality = \"max\"\nbackground = \"transparent\"\noutput_format = \"webp\"\noutput_compression = 80\nmoderation = \"low\"\n{FAST}",
            openai_default()
        ),
    )
    .unwrap();
    let r = openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a glass vase",
            "--painter",
            "oa",
            "--size",
            "1024x1024",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &s.fake.bodies("/v1/images/generations")[0];
    assert_eq!(b["quality"], "max");
    assert_eq!(b["background"], "transparent");
    assert_eq!(b["output_format"], "webp");
    assert_eq!(b["output_compression"], 80);
    assert_eq!(b["moderation"], "low");
    let recipe = recipe_of(r.stdout.lines().next().unwrap().split(' ').next().unwrap());
    assert_eq!(recipe["painter_params"]["quality"], "max", "{recipe}");
    assert_eq!(
        recipe["painter_params"]["output_format"], "webp",
        "{recipe}"
    );
}

#[test]
fn openai_compatible_server_model_from_mural_toml_splits_n_and_keeps_revised_prompt() {
    let s = fakes::openai();
    // another server's model, added to the catalog in mural.toml: one image a call
    let dir = setup(
        "oa-local",
        &format!("[painters.oa]\nkind = \"openai\"\nmodel = \"local-one\"\n{FAST}\n[[models]]\nid = \"local-one\"\nprovider = \"openai\"\nkind = \"image\"\n[models.image]\nsizes = [\"1024x1024\", \"1792x1024\"]\nn_max = 1\nresponse = \"b64_or_url\"\n"),
    );
    let r = openai_cmd(
        &dir,
        &s,
        &[
            "imagine",
            "a lighthouse in a storm",
            "--painter",
            "oa",
            "-n",
            "2",
            "--size",
            "1792x1024",
            "--seed",
            "5",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 2);
    let bodies = s.fake.bodies("/v1/images/generations");
    assert_eq!(bodies.len(), 2, "n_max = 1: two calls");
    for b in &bodies {
        assert_eq!(b["n"], 1);
        assert_eq!(b["model"], "local-one");
        assert_eq!(b["size"], "1792x1024");
        assert_eq!(b["response_format"], "b64_json");
    }
    for l in &lines {
        let revised = l["revised_prompt"].as_str().unwrap();
        assert!(revised.starts_with("REVISED: "), "{revised}");
        let recipe = recipe_of(l["file"].as_str().unwrap());
        assert_eq!(recipe["revised_prompt"], revised);
        assert_eq!(recipe["painter"], "oa");
        assert_eq!(recipe["model"], "local-one");
    }
    let show = mural(
        &dir,
        &["gallery", "show", &lines[0]["run_id"].to_string(), "--json"],
    )
    .run();
    let run: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert!(run["images"][0]["recipe"]["revised_prompt"]
        .as_str()
        .unwrap()
        .starts_with("REVISED"));
    let info = mural_meta_read(Path::new(lines[0]["file"].as_str().unwrap()));
    assert_eq!(param(&info, "Model"), "local-one");
    assert_eq!(
        info["digital_source_type"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    );
}

#[test]
fn openai_every_fault_is_retried() {
    let s = fakes::openai();
    s.fake.push(&[
        Fault::RateLimited,
        Fault::ServerError,
        Fault::Slow,
        Fault::Truncated,
        Fault::Reset,
    ]);
    let dir = openai_dir("oa-faults", &openai_default());
    let t = Instant::now();
    let r = openai_cmd(&dir, &s, &["imagine", "a cat", "--painter", "oa"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "retry-after: 1 was not honored"
    );
    assert_eq!(
        s.fake.painted.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "truncated reply painted once, the good one once"
    );
    assert_eq!(
        std::fs::read_dir(dir.0.join("mural-out")).unwrap().count(),
        1
    );
}

#[test]
fn openai_refusal_is_not_retried_and_says_why() {
    let s = fakes::openai();
    s.fake.push(&[Fault::Refuse]);
    let dir = openai_dir("oa-refuse", &openai_default());
    let r = openai_cmd(&dir, &s, &["imagine", "a cat", "--painter", "oa"]).run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("safety system"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/v1/images/generations"), 1);
}

#[test]
fn openai_wrong_key_names_the_variable_and_hides_the_key() {
    let s = fakes::openai();
    let dir = openai_dir("oa-401", &openai_default());
    let wrong = "sk-wrong-SECRET-123456";
    let r = mural(&dir, &["imagine", "a cat", "--painter", "oa"])
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", wrong)
        .run();
    assert_eq!(r.code, 2, "a rejected key is bad input");
    assert!(r.stderr.contains("check OPENAI_API_KEY"), "{}", r.stderr);
    assert!(r.stderr.contains("Incorrect API key"), "{}", r.stderr);
    assert!(!r.stderr.contains(wrong), "the key leaked: {}", r.stderr);
    assert_eq!(
        s.fake.hits("/v1/images/generations"),
        1,
        "401 is not retried"
    );
}

#[test]
fn openai_unreachable_server_names_the_url() {
    let dir = openai_dir("oa-down", &openai_default());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", l.local_addr().unwrap());
    drop(l);
    let r = mural(&dir, &["imagine", "a cat", "--painter", "oa"])
        .env("OPENAI_BASE_URL", &url)
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot connect") && r.stderr.contains(&url),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------------------------ a1111

fn a1111_dir(name: &str, url: &str, model: &str) -> TempDir {
    setup(
        name,
        &format!("[painters.studio]\nkind = \"a1111\"\nurl = \"{url}\"\nmodel = \"{model}\"\napi_auth = \"bob:hunter2-secret\"\nsteps = 25\n{FAST}"),
    )
}

#[test]
fn a1111_txt2img_sends_every_field_and_reads_real_seeds() {
    let s = fakes::a1111();
    let dir = a1111_dir("a1111", &s.url, "sd_xl_base_1.0");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a castle on a hill",
            "--painter",
            "studio",
            "-n",
            "2",
            "--seed",
            "40",
            "--size",
            "832x1216",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &s.fake.bodies("/sdapi/v1/txt2img")[0];
    assert_eq!(
        b["override_settings"]["sd_model_checkpoint"],
        fakes::A1111_MODELS[0]
    );
    assert_eq!(b["scheduler"], "Automatic");
    assert_eq!(b["steps"], 25);
    assert_eq!(
        (b["width"].as_u64(), b["height"].as_u64()),
        (Some(832), Some(1216))
    );
    assert!(
        !b["negative_prompt"].as_str().unwrap().is_empty(),
        "sdxl target sends a negative prompt"
    );
    let lines = json_lines(&r.stdout);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["seed"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [40, 41]
    );
    let info = mural_meta_read(Path::new(lines[0]["file"].as_str().unwrap()));
    assert_eq!(param(&info, "Steps"), "25");
    assert_eq!(param(&info, "Model"), "sd_xl_base_1.0");
    assert_eq!(param(&info, "Sampler"), "DPM++ 2M");
    assert_eq!(info["mural"]["target"], "sdxl");
    // the password stays out of everything mural wrote
    assert_no_secret(&dir.0, "hunter2-secret");
}

#[test]
fn a1111_unknown_checkpoint_lists_the_nearest() {
    let s = fakes::a1111();
    let dir = a1111_dir("a1111-model", &s.url, "sd_xl_bas");
    mural(&dir, &["imagine", "a cat", "--painter", "studio"])
        .run()
        .assert_usage_error(
            "unknown checkpoint",
            "nearest: sd_xl_base_1.0.safetensors [31e35c80fc]",
        );
}

#[test]
fn a1111_wrong_password_is_an_auth_error() {
    let s = fakes::a1111();
    let dir = setup(
        "a1111-auth",
        &format!("[painters.studio]\nkind = \"a1111\"\nurl = \"{}\"\napi_auth = \"bob:wrong-pass-xyz\"\n{FAST}", s.url),
    );
    let r = mural(&dir, &["imagine", "a cat", "--painter", "studio"]).run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("HTTP 401") && r.stderr.contains("api_auth"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("wrong-pass-xyz"));
}

#[test]
fn a1111_validation_errors_are_reported_not_retried() {
    let s = fakes::a1111();
    let dir = setup(
        "a1111-422",
        &format!("[painters.studio]\nkind = \"a1111\"\nurl = \"{}\"\napi_auth = \"bob:hunter2-secret\"\nscheduler = \"Karras\"\n{FAST}", s.url),
    );
    let r = mural(&dir, &["imagine", "a cat", "--painter", "studio"]).run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("HTTP 422") && r.stderr.contains("field scheduler"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/sdapi/v1/txt2img"), 1);
}

// ------------------------------------------------------------------ comfyui

#[test]
fn comfyui_builtin_graph_queues_waits_and_fetches() {
    let s = fakes::comfyui();
    s.fake.push(&[Fault::ServerError]);
    let dir = setup(
        "comfy",
        &format!(
            "[painters.comfy]\nkind = \"comfyui\"\nurl = \"{}\"\npoll_ms = 20\n{FAST}",
            s.url
        ),
    );
    let r = mural(
        &dir,
        &[
            "imagine",
            "a misty forest",
            "--painter",
            "comfy",
            "-n",
            "2",
            "--seed",
            "9",
            "--size",
            "768x512",
            "--json",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bodies = s.fake.bodies("/prompt");
    assert_eq!(bodies.len(), 3, "one 500 retried, then one job per image");
    let g = &bodies[1]["prompt"];
    for class in [
        "CheckpointLoaderSimple",
        "CLIPTextEncode",
        "EmptyLatentImage",
        "KSampler",
        "VAEDecode",
        "SaveImage",
    ] {
        assert!(
            g.as_object()
                .unwrap()
                .values()
                .any(|n| n["class_type"] == class),
            "{class}"
        );
    }
    assert_eq!(g["3"]["inputs"]["seed"], 9);
    assert_eq!(bodies[2]["prompt"]["3"]["inputs"]["seed"], 10);
    assert_eq!(
        g["4"]["inputs"]["ckpt_name"],
        fakes::COMFY_CKPTS[0],
        "the server's first checkpoint"
    );
    assert_eq!(g["5"]["inputs"]["width"], 768);
    assert!(bodies[1]["client_id"]
        .as_str()
        .unwrap()
        .starts_with("mural-"));
    assert!(s
        .fake
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|(_, p, _, _)| p.starts_with("/history/")));
    assert_eq!(json_lines(&r.stdout).len(), 2);
}

#[test]
fn comfyui_user_workflow_with_placeholders() {
    let s = fakes::comfyui();
    let dir = TempDir::new("comfy-wf");
    let mut graph = serde_json::json!({
        "10": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "{{model}}"}},
        "11": {"class_type": "CLIPTextEncode", "inputs": {"text": "masterpiece, {{prompt}}", "clip": ["10", 1]}},
        "12": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["10", 1]}},
        "13": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1}},
        "14": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": "{{steps}}", "cfg": 5.5, "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 1.0,
               "model": ["10", 0], "positive": ["11", 0], "negative": ["12", 0], "latent_image": ["13", 0]}},
        "15": {"class_type": "VAEDecode", "inputs": {"samples": ["14", 0], "vae": ["10", 2]}},
        "16": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["15", 0]}}
    });
    std::fs::write(dir.0.join("wf.json"), graph.to_string()).unwrap();
    std::fs::write(
        dir.0.join("mural.toml"),
        format!("[painters.wf]\nkind = \"comfyui\"\nurl = \"{}\"\nworkflow = \"wf.json\"\nmodel = \"v1-5.ckpt\"\nsteps = 12\npoll_ms = 20\n{FAST}", s.url),
    )
    .unwrap();
    let r = mural(
        &dir,
        &[
            "imagine",
            "a quiet harbor",
            "--painter",
            "wf",
            "--seed",
            "3",
            "--size",
            "512x512",
        ],
    )
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sent = &s.fake.bodies("/prompt")[0]["prompt"];
    assert_eq!(sent["14"]["inputs"]["seed"], 3);
    assert_eq!(sent["14"]["inputs"]["steps"], 12);
    assert_eq!(sent["10"]["inputs"]["ckpt_name"], "v1-5.ckpt");
    assert!(sent["11"]["inputs"]["text"]
        .as_str()
        .unwrap()
        .starts_with("masterpiece, "));
    assert!(sent["11"]["inputs"]["text"]
        .as_str()
        .unwrap()
        .contains("quiet harbor"));

    // a UI-format export is refused with the fix
    graph = serde_json::json!({"nodes": [], "links": []});
    std::fs::write(dir.0.join("wf.json"), graph.to_string()).unwrap();
    mural(&dir, &["imagine", "a cat", "--painter", "wf"])
        .run()
        .assert_usage_error("ui workflow", "Save (API Format)");
}

#[test]
fn comfyui_node_errors_in_both_shapes() {
    for old in [false, true] {
        let s = fakes::comfyui();
        s.fake
            .old_errors
            .store(old, std::sync::atomic::Ordering::SeqCst);
        let dir = setup("comfy-err", &format!("[painters.c]\nkind = \"comfyui\"\nurl = \"{}\"\nmodel = \"missing.safetensors\"\n{FAST}", s.url));
        let r = mural(&dir, &["imagine", "a cat", "--painter", "c"]).run();
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("Prompt outputs failed validation"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("node 4 (CheckpointLoaderSimple): Value not in list"),
            "{}",
            r.stderr
        );
        assert_eq!(
            s.fake.hits("/prompt"),
            1,
            "validation errors are not retried"
        );
    }
}

// ------------------------------------------------------------------ stability

fn stability_dir(name: &str, url: &str, model: &str) -> TempDir {
    setup(
        name,
        &format!(
            "[painters.st]\nkind = \"stability\"\nurl = \"{url}\"\nmodel = \"{model}\"\n{FAST}"
        ),
    )
}

#[test]
fn stability_multipart_with_aspect_ratio_and_seed() {
    let s = fakes::stability();
    s.fake.push(&[Fault::RateLimited, Fault::Truncated]);
    let dir = stability_dir("stab", &s.url, "sd3.5-large");
    let r = mural(
        &dir,
        &[
            "imagine",
            "a neon city street",
            "--painter",
            "st",
            "--size",
            "1344x768",
            "--seed",
            "77",
            "--json",
        ],
    )
    .env("STABILITY_API_KEY", KEY)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log = s.fake.log.lock().unwrap();
    let last = log
        .iter()
        .rev()
        .find(|(_, p, _, _)| p == "/v2beta/stable-image/generate/sd3")
        .unwrap();
    let body = String::from_utf8_lossy(&last.3);
    for field in [
        "name=\"prompt\"",
        "name=\"aspect_ratio\"\r\n\r\n16:9",
        "name=\"seed\"\r\n\r\n77",
        "name=\"model\"\r\n\r\nsd3.5-large",
        "name=\"output_format\"\r\n\r\npng",
    ] {
        assert!(body.contains(field), "multipart lacks {field}");
    }
    assert!(last.2["content-type"]
        .to_str()
        .unwrap()
        .starts_with("multipart/form-data"));
    let line = &json_lines(&r.stdout)[0];
    assert_eq!(line["seed"], 77);
    assert_eq!(
        recipe_of(line["file"].as_str().unwrap())["painter_params"]["aspect_ratio"],
        "16:9"
    );
}

#[test]
fn stability_content_filter_is_a_refusal() {
    let s = fakes::stability();
    s.fake.push(&[Fault::Refuse]);
    let dir = stability_dir("stab-refuse", &s.url, "core");
    let r = mural(&dir, &["imagine", "a cat", "--painter", "st"])
        .env("STABILITY_API_KEY", KEY)
        .run();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("CONTENT_FILTERED"),
        "{}",
        r.stderr
    );
    assert_eq!(s.fake.hits("/v2beta/stable-image/generate/core"), 1);
}

#[test]
fn stability_sizes_map_to_ratios() {
    let dir = setup("stab-size", "");
    mural(
        &dir,
        &[
            "imagine",
            "a cat",
            "--painter",
            "stability",
            "--size",
            "1000x1000",
        ],
    )
    .env("STABILITY_API_KEY", KEY)
    .run()
    .assert_usage_error("odd size", "1344x768");
}

// ------------------------------------------------------------------ runway

fn runway_dir(name: &str, url: &str) -> TempDir {
    setup(
        name,
        &format!("[painters.rw]\nkind = \"runway\"\nurl = \"{url}\"\npoll_ms = 20\n{FAST}"),
    )
}

#[test]
fn runway_task_is_polled_through_throttled_to_success() {
    let s = fakes::runway();
    s.fake.push(&[Fault::ServerError]);
    let dir = runway_dir("runway", &s.url);
    let r = mural(
        &dir,
        &[
            "imagine",
            "a desert caravan at dawn",
            "--painter",
            "rw",
            "--size",
            "1920x1080",
            "--seed",
            "12",
            "--json",
        ],
    )
    .env("RUNWAYML_API_SECRET", KEY)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = s.fake.bodies("/v1/text_to_image");
    assert_eq!(b.len(), 2, "the 500 was retried");
    assert_eq!(b[1]["model"], "gen4_image");
    assert_eq!(b[1]["ratio"], "1920:1080");
    assert_eq!(b[1]["seed"], 12);
    assert!(b[1]["promptText"].as_str().unwrap().chars().count() <= 1000);
    let line = &json_lines(&r.stdout)[0];
    // the JPEG output came back as a PNG with the recipe inside
    let info = mural_meta_read(Path::new(line["file"].as_str().unwrap()));
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(96), Some(54))
    );
    assert_eq!(info["mural"]["target"], "runway");
}

#[test]
fn runway_safety_failure_is_a_refusal() {
    let s = fakes::runway();
    s.fake.push(&[Fault::Refuse]);
    let dir = runway_dir("runway-refuse", &s.url);
    let r = mural(&dir, &["imagine", "a cat", "--painter", "rw"])
        .env("RUNWAYML_API_SECRET", KEY)
        .run();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("refused") && r.stderr.contains("SAFETY.INPUT.TEXT"),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------------------------ config

#[test]
fn config_errors_name_the_file_and_line() {
    let dir = setup(
        "cfg-bad",
        "[painters.x]\nkind = \"a1111\"\nurll = \"http://x\"\n",
    );
    mural(&dir, &["imagine", "a cat", "--painter", "x"])
        .run()
        .assert_usage_error("typo", "unknown field `urll`");
    let dir = setup("cfg-kind", "[painters.x]\nkind = \"dalle\"\n");
    mural(&dir, &["imagine", "a cat", "--painter", "x"])
        .run()
        .assert_usage_error("bad kind", "has kind \"dalle\"");
    let dir = setup(
        "cfg-url",
        "[painters.x]\nkind = \"a1111\"\nurl = \"localhost:7860\"\n",
    );
    mural(&dir, &["imagine", "a cat", "--painter", "x"])
        .run()
        .assert_usage_error("bad url", "not an http(s) URL");
    let r = TestCommand::new(&["imagine", "a cat"])
        .env("MURAL_CONFIG", "/nonexistent/mural.toml")
        .run();
    r.assert_usage_error("missing config", "cannot read the config");
}

#[test]
fn config_default_painter_is_used() {
    let s = fakes::a1111();
    let dir = setup(
        "cfg-default",
        &format!("painter = \"studio\"\n[painters.studio]\nkind = \"a1111\"\nurl = \"{}\"\napi_auth = \"bob:hunter2-secret\"\n", s.url),
    );
    let r = mural(&dir, &["imagine", "a cat", "--size", "512x512"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s.fake.hits("/sdapi/v1/txt2img"), 1);
}

/// No file under `dir` (gallery, images, anything) contains `secret`.
pub fn assert_no_secret(dir: &Path, secret: &str) {
    fn walk(p: &Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    assert!(!files.is_empty());
    for f in files {
        if f.file_name().is_some_and(|n| n == "mural.toml") {
            continue; // the user's own config may hold it
        }
        let bytes = std::fs::read(&f).unwrap();
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{} contains the secret", f.display());
    }
}

// ------------------------------------------------------------------ models

#[test]
fn models_lists_the_catalog_with_each_lifecycle() {
    let dir = setup("models-list", "");
    let r = mural(&dir, &["models"])
        .env("MURAL_TODAY", "2026-12-01")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |id: &str| {
        r.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(id))
            .unwrap_or_else(|| panic!("no {id} in {}", r.stdout))
            .to_string()
    };
    assert!(line("dall-e-3").contains("shut down 2026-05-12"));
    assert!(line("gpt-4o-mini").contains("deprecated, shuts down 2027-01-14"));
    assert!(
        line(&openai_default()).contains("active") && line(&openai_default()).contains("(default)")
    );
    assert!(r.stdout.contains("google") && r.stdout.contains("bfl"));
    // one provider and kind, as JSON
    let r = mural(&dir, &["models", "--painter", "openai", "--json"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = json_lines(&r.stdout);
    assert!(rows.len() >= 5);
    assert!(rows
        .iter()
        .all(|m| m["provider"] == "openai" && m["kind"] == "image"));
    assert!(rows
        .iter()
        .any(|m| m["id"] == "dall-e-3" && m["state"] == "shutdown"));
    // the writer's models
    let r = mural(&dir, &["models", "--writer", "openai", "--json"]).run();
    let rows = json_lines(&r.stdout);
    assert!(rows.iter().all(|m| m["kind"] == "chat"), "{}", r.stdout);
    // a model added in mural.toml is listed too
    std::fs::write(
        dir.0.join("mural.toml"),
        "[[models]]\nid = \"gpt-image-3\"\nprovider = \"openai\"\nkind = \"image\"\n",
    )
    .unwrap();
    let r = mural(&dir, &["models", "--painter", "openai"]).run();
    assert!(r.stdout.contains("gpt-image-3"), "{}", r.stdout);
}

#[test]
fn models_refresh_shows_what_openai_reports() {
    let s = fakes::openai();
    let dir = setup("models-refresh", "");
    let r = openai_cmd(&dir, &s, &["models", "--painter", "openai", "--refresh"]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reported = r.stdout.split("# what OpenAI reports now").nth(1).unwrap();
    assert!(
        reported.contains("gpt-4o-mini") && reported.contains("shuts down 2027-01-14"),
        "{reported}"
    );
    assert!(
        reported.contains("gpt-image-3-preview") && reported.contains("not in mural's catalog"),
        "{reported}"
    );
    assert_eq!(s.fake.hits("/v1/models"), 1);
    // a wrong key is said plainly, never echoed
    let r = mural(&dir, &["models", "--refresh"])
        .env("OPENAI_BASE_URL", format!("{}/v1", s.url))
        .env("OPENAI_API_KEY", "sk-wrong-SECRET-999")
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("sk-wrong-SECRET-999"), "{}", r.stderr);
}

#[test]
fn models_for_a_local_painter_is_a_clear_error() {
    let dir = setup("models-local", "");
    mural(&dir, &["models", "--painter", "a1111"])
        .run()
        .assert_usage_error("a1111", "local engine");
}
