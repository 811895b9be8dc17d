use super::*;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

#[test]
fn the_embedded_catalog_holds_to_its_schema() {
    let c = Catalog::parse(BUILTIN).unwrap();
    assert!(!c.models.is_empty());
    for m in &c.models {
        assert!(
            m.source.starts_with("https://"),
            "{} {} cites no page",
            m.provider,
            m.id
        );
        if m.kind == Kind::Image && m.status != Status::Shutdown {
            assert!(m.image.is_some(), "{} has no request rules", m.id);
        }
    }
    // every provider that paints has an active default image model
    for p in [Provider::Openai, Provider::Google, Provider::Bfl] {
        let m = c.default_model(p, Kind::Image);
        assert!(m.is_some_and(|m| m.status == Status::Active), "{p}");
    }
    let chat = c.default_model(Provider::Openai, Kind::Chat).unwrap();
    assert_eq!(chat.status_on(c.checked), Status::Active);
}

#[test]
fn dates_parse_compare_and_come_from_unix_time() {
    assert_eq!(d("2026-12-01"), Date::new(2026, 12, 1).unwrap());
    assert!(d("2026-05-12") < d("2026-12-01"));
    assert!("2026-13-01".parse::<Date>().is_err());
    assert!("2026-02-30".parse::<Date>().is_err());
    assert!("26-1-1".parse::<Date>().is_err());
    assert_eq!(Date::from_unix(0).to_string(), "1970-01-01");
    assert_eq!(Date::from_unix(1_796_083_200).to_string(), "2026-12-01");
    assert_eq!(Date::from_unix(951_782_400).to_string(), "2000-02-29");
}

#[test]
fn a_deprecated_model_warns_with_its_date_and_replacement() {
    let c = Catalog::builtin();
    let v = c
        .judge(
            Provider::Openai,
            "gpt-4o-mini",
            d("2026-12-01"),
            "--writer openai:{}",
        )
        .unwrap();
    let w = v.warning("--writer openai:{}").unwrap();
    assert!(w.contains("2027-01-14"), "{w}");
    assert!(w.contains("--writer openai:"), "{w}");
    assert!(!w.contains('\n'));
}

#[test]
fn a_deprecated_model_is_shut_down_once_its_date_has_come() {
    let c = Catalog::builtin();
    let e = c
        .judge(
            Provider::Openai,
            "gpt-4o-mini",
            d("2027-01-14"),
            "--model {}",
        )
        .unwrap_err();
    assert!(matches!(e, CatalogError::Retired { .. }));
}

#[test]
fn a_shut_down_model_is_refused_naming_the_replacement_and_the_switch() {
    let c = Catalog::builtin();
    let e = c
        .judge(
            Provider::Openai,
            "dall-e-3",
            d("2026-12-01"),
            "--model {}, or model = \"{}\" in the profile",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("2026-05-12"), "{e}");
    let named = c
        .find(Provider::Openai, "dall-e-3")
        .unwrap()
        .replacement
        .clone()
        .unwrap();
    assert!(e.contains(&format!("--model {named}")), "{e}");
}

#[test]
fn an_unknown_model_is_left_to_the_provider() {
    let c = Catalog::builtin();
    assert_eq!(
        c.judge(Provider::Openai, "gpt-image-9", d("2026-12-01"), "")
            .unwrap(),
        Verdict::Unknown
    );
}

#[test]
fn overrides_add_models_and_change_entries() {
    let c = Catalog::builtin();
    let entries: Vec<ModelEntry> = toml::from_str::<toml::Table>(
        r#"
[[models]]
id = "gpt-image-3"
provider = "openai"
kind = "image"
default = true
[models.image]
sizes = ["1024x1024"]

[[models]]
id = "dall-e-3"
status = "active"
"#,
    )
    .unwrap()["models"]
        .clone()
        .try_into()
        .unwrap();
    let o = c.with_overrides(&entries).unwrap();
    assert_eq!(
        o.default_model(Provider::Openai, Kind::Image).unwrap().id,
        "gpt-image-3"
    );
    assert!(matches!(
        o.judge(Provider::Openai, "dall-e-3", d("2026-12-01"), "")
            .unwrap(),
        Verdict::Active(_)
    ));
    // a new model must say what it is
    let bad = [ModelEntry {
        id: "mystery".into(),
        ..ModelEntry::default()
    }];
    assert!(c
        .with_overrides(&bad)
        .unwrap_err()
        .to_string()
        .contains("provider"));
}

#[test]
fn validation_catches_broken_data() {
    let bad = r#"
checked = "2026-12-01"
[[models]]
id = "a"
provider = "openai"
kind = "image"
status = "shutdown"
shutdown = "2026-01-01"
replacement = "b"
source = "https://x"
"#;
    assert!(Catalog::parse(bad)
        .unwrap_err()
        .to_string()
        .contains("replacement b"));
    let two_defaults = r#"
checked = "2026-12-01"
[[models]]
id = "a"
provider = "openai"
kind = "chat"
status = "active"
default = true
[[models]]
id = "b"
provider = "openai"
kind = "chat"
status = "active"
default = true
"#;
    assert!(Catalog::parse(two_defaults).is_err());
}

#[test]
fn free_sizes_check_and_fit() {
    let f = FreeSize {
        multiple: 16,
        max_side: Some(3840),
        min_side: None,
        min_pixels: Some(655_360),
        max_pixels: Some(8_294_400),
        max_aspect: Some(3.0),
    };
    assert!(f.check(1024, 1024).is_ok());
    assert!(f.check(3840, 2160).is_ok());
    assert!(f.check(1000, 1000).unwrap_err().contains("multiple of 16"));
    assert!(f.check(3840, 1024).unwrap_err().contains("3:1"));
    assert!(f.check(256, 256).is_err());
    for aspect in [(1, 1), (16, 9), (9, 16), (2, 3), (21, 9), (1, 5)] {
        let (w, h) = f.fit(aspect, 1024 * 1024);
        assert!(f.check(w, h).is_ok(), "{aspect:?} -> {w}x{h}");
    }
    let (w, h) = f.fit((16, 9), 1024 * 1024);
    assert!(w > h);
}

#[test]
fn requests_are_checked_field_by_field() {
    let c = Catalog::builtin();
    let m = c.default_model(Provider::Openai, Kind::Image).unwrap();
    let r = m.image.as_ref().unwrap();
    let ok = ImageAsk {
        width: 1024,
        height: 1024,
        n: 1,
        prompt: "a cat",
        ..ImageAsk::default()
    };
    assert!(r.check(&ok).is_ok());
    let e = r
        .check(&ImageAsk {
            quality: Some("ultra"),
            ..ok.clone()
        })
        .unwrap_err();
    assert!(e.contains("quality"), "{e}");
    let e = r
        .check(&ImageAsk {
            fields: &["response_format"],
            ..ok.clone()
        })
        .unwrap_err();
    assert!(e.contains("response_format"), "{e}");
    let e = r
        .check(&ImageAsk {
            compression: Some(50),
            ..ok.clone()
        })
        .unwrap_err();
    assert!(e.contains("jpeg or webp"), "{e}");
}
