//! Inputs the fuzzer found slow (exponential work before the fixes: k-picks
//! over many equal options, and option lists whose cap doubled with every
//! nesting level). Each must expand, sample and count within the engine's
//! work budget.

use mural_template::{combinations, expand_first, sample, Template, TemplateError, Wildcards};

#[test]
fn regression_fuzzer_slow_units_expand_within_budget() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let Ok(t) = Template::parse(&text) else {
            continue;
        };
        let w = Wildcards::new();
        match expand_first(&t, &w, 64) {
            Ok(v) => assert!(v.len() <= 64),
            Err(e) => assert_eq!(e, TemplateError::TooComplex),
        }
        let _ = sample(&t, &w, 3, 1);
        let _ = combinations(&t, &w);
        n += 1;
    }
    assert!(n >= 5);
}
