//! Property tests: printing a policy and reading it back changes neither the
//! syntax tree nor any decision; no input makes the reader or the batch
//! interface panic.

use crate::gen;
use latch_iam::{simulate_line, Case, Policy};
use proptest::prelude::*;

const ID_PREFIX: &str = "{\"id\":";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(seed in any::<u64>()) {
        let line = gen::cases(seed, 1).remove(0);
        let mut case: serde_json::Value = serde_json::from_str(&line).unwrap();
        let before = simulate_line(&line).1.map_err(|_| ());
        for p in gen::policies_of(&case) {
            let parsed = Policy::parse(&p.to_string()).unwrap();
            let printed = parsed.to_json_string();
            let again = Policy::parse(&printed).unwrap();
            prop_assert_eq!(&parsed, &again);
        }
        // Replace every policy by its printed form: same decision.
        let reprint = |v: &mut serde_json::Value| {
            let p = Policy::parse(&v.to_string()).unwrap();
            *v = serde_json::from_str(&p.to_json_string()).unwrap();
        };
        for k in ["identityPolicies", "permissionBoundaries"] {
            if let Some(a) = case[k].as_array_mut() { a.iter_mut().for_each(reprint); }
        }
        for k in ["resourcePolicy", "sessionPolicy"] {
            if case[k].is_object() { reprint(&mut case[k]); }
        }
        for k in ["scps", "rcps"] {
            if let Some(levels) = case[k].as_array_mut() {
                for l in levels { if let Some(a) = l.as_array_mut() { a.iter_mut().for_each(reprint); } }
            }
        }
        let after = simulate_line(&case.to_string()).1.map_err(|_| ());
        prop_assert_eq!(before, after);
    }

    #[test]
    fn garbage_never_panics(text in ".{0,300}") {
        let _ = Policy::parse(&text);
        let (out, _) = simulate_line(&text);
        prop_assert!(out.starts_with(ID_PREFIX), "{}", out);
    }

    #[test]
    fn mutated_cases_never_panic(seed in any::<u64>(), cut in 0usize..2000, byte in any::<u8>()) {
        let mut line = gen::cases(seed, 1).remove(0).into_bytes();
        if !line.is_empty() {
            let i = cut % line.len();
            line[i] = byte;
        }
        let text = String::from_utf8_lossy(&line);
        let (out, res) = simulate_line(&text);
        prop_assert!(out.starts_with(ID_PREFIX), "{}", out);
        if let Ok(c) = Case::parse(&text) {
            let d = latch_iam::evaluate(&c.input());
            prop_assert_eq!(Ok(d.outcome), res.map_err(|_| ()));
        }
    }
}

/// `decide` takes shortcuts that `evaluate` (which records the deciding
/// statements) does not: it looks at Deny statements first and stops once
/// the outcome is certain. Both must reach the same outcome on every
/// generated case, read strictly or leniently (broken statements kept).
#[test]
fn decide_agrees_with_evaluate() {
    use latch_iam::eval::decide;
    use latch_iam::evaluate;
    let mut compared = 0;
    for seed in [7, 0x5eed, 0xdec1de] {
        for line in gen::cases(seed, 3000) {
            let cases = [Case::parse(&line).ok(), Case::parse_lenient(&line).ok()];
            for case in cases.iter().flatten() {
                let input = case.input();
                assert_eq!(decide(&input), evaluate(&input).outcome, "{line}");
                compared += 1;
            }
        }
    }
    assert!(compared > 15_000, "only {compared} cases were read");
}
