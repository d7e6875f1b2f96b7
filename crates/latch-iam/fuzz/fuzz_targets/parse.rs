//! Fuzzes the policy reader, validator and printer: no input panics, and a
//! policy that reads back from its printed form reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use latch_iam::{validate, Policy, PolicyType};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(policy) = Policy::parse(text) else { return };
    let _ = validate(&policy, PolicyType::Identity);
    let printed = policy.to_json_string();
    let again = Policy::parse(&printed).expect("printed policy must parse");
    assert_eq!(policy, again, "print then parse must give the same policy");
});
