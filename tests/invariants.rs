//! The writer's invariants on every PartiPrompts idea and every target.

use crate::util::parti_prompts;
use mural_prompt::{analyze, check, jaccard, BuiltinWriter, Target, WriteRequest, Writer};

fn write(idea: &str, target: Target, n: usize, seed: u64) -> Vec<mural_prompt::Written> {
    let mut req = WriteRequest::new(idea, target);
    req.n = n;
    req.seed = seed;
    BuiltinWriter
        .write(&req)
        .unwrap_or_else(|e| panic!("{idea:?} for {target}: {e}"))
}

#[test]
fn every_partiprompt_keeps_every_invariant_on_every_target() {
    let ideas = parti_prompts();
    assert!(ideas.len() >= 1600);
    let mut failures = Vec::new();
    for (i, idea) in ideas.iter().enumerate() {
        let a = analyze(idea);
        for target in Target::ALL {
            let w = &write(idea, target, 1, i as u64)[0];
            for v in check(&a, target, &w.prompt, &w.negative_prompt) {
                failures.push(format!(
                    "[{target}] {idea:?}: {} ({})\n    {}",
                    v.rule, v.detail, w.prompt
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} violations, first 20:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn variations_are_distinct_and_diverse() {
    let ideas = parti_prompts();
    let mut worst = (0.0f64, String::new());
    let mut total = 0.0;
    let mut count = 0;
    for (i, idea) in ideas.iter().enumerate().step_by(7) {
        for target in [Target::Dalle, Target::Sd, Target::Midjourney] {
            let vs = write(idea, target, 4, 1000 + i as u64);
            let mut sum = 0.0;
            let mut pairs = 0;
            for a in 0..vs.len() {
                for b in a + 1..vs.len() {
                    assert_ne!(
                        vs[a].prompt, vs[b].prompt,
                        "{idea:?} [{target}] variations {a} and {b} are equal"
                    );
                    sum += jaccard(&vs[a].prompt, &vs[b].prompt);
                    pairs += 1;
                }
            }
            let mean = sum / pairs as f64;
            total += mean;
            count += 1;
            if mean > worst.0 {
                worst = (mean, format!("[{target}] {idea}"));
            }
        }
    }
    let overall = total / count as f64;
    assert!(overall <= 0.6, "mean pairwise Jaccard {overall:.3} > 0.6");
    eprintln!(
        "mean pairwise Jaccard {overall:.3}; worst {:.3} for {}",
        worst.0, worst.1
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    for idea in parti_prompts().iter().step_by(50) {
        for target in Target::ALL {
            assert_eq!(write(idea, target, 3, 9), write(idea, target, 3, 9));
        }
    }
}

#[test]
fn vary_keeps_the_users_prompt() {
    let prompt = "portrait of an old sailor with a white beard, oil painting, dramatic light";
    let mut req = WriteRequest::new(prompt, Target::Dalle);
    req.n = 5;
    req.seed = 3;
    req.vary = true;
    let vs = BuiltinWriter.write(&req).unwrap();
    let a = analyze(prompt);
    for v in &vs {
        assert!(
            v.prompt
                .starts_with("Portrait of an old sailor with a white beard"),
            "{}",
            v.prompt
        );
        assert!(check(&a, Target::Dalle, &v.prompt, &v.negative_prompt).is_empty());
    }
    for i in 0..vs.len() {
        for j in i + 1..vs.len() {
            assert_ne!(vs[i].prompt, vs[j].prompt);
        }
    }
}

#[test]
fn variations_are_lint_clean_and_diverse() {
    // -n 4 on 100 PartiPrompts: every prompt passes `mural lint` with no
    // warning, and the mean pairwise word-Jaccard stays at or below 0.6
    let ideas = parti_prompts();
    let mut warnings = Vec::new();
    let (mut total, mut count) = (0.0, 0);
    for (i, idea) in ideas.iter().step_by(16).take(100).enumerate() {
        for target in [Target::Dalle, Target::Sd, Target::Midjourney] {
            let vs = write(idea, target, 4, 7 + i as u64);
            let idea_warnings = mural_prompt::lint(idea, target).warnings.len();
            for v in &vs {
                let r = mural_prompt::lint(&v.prompt, target);
                if r.warnings.len() > idea_warnings {
                    warnings.push(format!(
                        "[{target}] {idea:?}: {:?}\n    {}",
                        r.warnings, v.prompt
                    ));
                }
            }
            if target == Target::Dalle {
                let mut sum = 0.0;
                for a in 0..4 {
                    for b in a + 1..4 {
                        sum += jaccard(&vs[a].prompt, &vs[b].prompt);
                    }
                }
                total += sum / 6.0;
                count += 1;
            }
        }
    }
    let mean = total / count as f64;
    eprintln!(
        "{count} ideas: mean pairwise Jaccard {mean:.3}; {} lint warnings",
        warnings.len()
    );
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
    assert!(mean <= 0.6, "mean pairwise Jaccard {mean:.3} > 0.6");
}

#[test]
fn lint_flags_the_contradictions_the_old_writer_made() {
    // quoted in the issue that replaced the slot-filling writer
    let cases = [
        "A charcoal drawing of an old man, in cinematic teal shadows and warm orange highlights, shot on a 28mm lens at f/11.",
        "A watercolor heron in a marsh, lit by a crisp rim light separating the subject from a dark background, shot on an 85mm lens.",
        "A moonlit beach at midnight under a full moon, bathed in golden-hour sunlight.",
        "An anglerfish in the deep sea, with surface waves crashing and gulls overhead.",
        "Two puppies sleeping on a rug, alert and playful, bold and adventurous.",
        "A logo of an owl for a bookstore, with bold typography and legible lettering.",
    ];
    for c in cases {
        let r = mural_prompt::lint(c, Target::Dalle);
        assert!(
            r.warnings.iter().any(|w| w.code == "contradiction"),
            "{c}: {:?}",
            r.warnings
        );
    }
}
