//! Fuzzes evaluation: any batch line is answered without panicking, the
//! batch answer equals the library's, and a statement that cannot be
//! evaluated never allows: in every Allowed decision (policies read without
//! validation, so broken statements stay in), each deciding Allow statement
//! is whole.
#![no_main]

use latch_iam::{evaluate, simulate_line, Case, Outcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (out, res) = simulate_line(text);
    assert!(out.starts_with("{\"id\":"));
    if let Ok(case) = Case::parse(text) {
        assert_eq!(Ok(evaluate(&case.input()).outcome), res.map_err(|_| ()));
    }
    if let Ok(case) = Case::parse_lenient(text) {
        let d = evaluate(&case.input());
        if d.outcome == Outcome::Allowed {
            for s in d.statements.iter().filter(|s| s.effect == latch_iam::ast::Effect::Allow) {
                let p = case.policy(s.policy).expect("deciding statement's policy exists");
                let st = &p.statements()[s.statement];
                assert!(st.broken.is_empty(), "a broken statement allowed: {:?}", st.broken);
            }
        }
    }
});
