//! Token counts must equal open_clip's own tokenizer on every PartiPrompts
//! line and a few edge cases (fixture written by tools/clip/reference_counts.py).

#[test]
fn counts_match_open_clip_reference() {
    let fixture = include_str!("fixtures/clip_counts.tsv");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in fixture.lines() {
        let (want, text) = line.split_once('\t').unwrap();
        let want: usize = want.parse().unwrap();
        let got = mural_clip::count(text);
        if got != want {
            wrong.push(format!("{text:?}: want {want}, got {got}"));
        }
        checked += 1;
    }
    assert!(checked > 1600, "fixture too small: {checked}");
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
