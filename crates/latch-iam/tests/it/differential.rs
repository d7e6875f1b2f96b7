//! Differential test: the same generated cases through latch-iam and through
//! the independent simulator `@cloud-copilot/iam-simulate`, run as a separate
//! Node process by `tools/iam-oracle/run.mjs`. Every disagreement is printed;
//! the test fails on any that is not a documented oracle error.

use crate::gen;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Number of generated cases.
const CASES: usize = 3000;
/// Fixed seed: a failure reproduces.
const SEED: u64 = 0x1a7c_41a3;

pub fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/iam-oracle")
}

/// Runs the oracle on case lines; returns its output lines and its own
/// stderr report (evaluation-loop throughput).
pub fn run_oracle(lines: &[String]) -> (Vec<serde_json::Value>, String) {
    let dir = oracle_dir();
    let installed = dir.join("node_modules/@cloud-copilot/iam-simulate/package.json");
    assert!(
        installed.exists(),
        "the IAM oracle is not installed: {} is missing\nhelp: run `npm ci --prefix tools/iam-oracle` from the repository root",
        installed.display()
    );
    let mut child = Command::new("node")
        .arg("run.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `node` for the IAM oracle: {e}\nhelp: install Node.js 20 or later")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the IAM oracle failed: {stderr}");
    let results = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        results.len(),
        lines.len(),
        "the oracle must answer every case"
    );
    (results, stderr)
}

/// Runs latch-iam's batch interface on case lines.
pub fn run_latch(lines: &[String]) -> Vec<serde_json::Value> {
    let input = lines.join("\n") + "\n";
    let mut out = Vec::new();
    latch_iam::simulate_jsonl(input.as_bytes(), &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Case patterns where the oracle is wrong according to the AWS
/// documentation. Each is pinned by a named test in `evaluation.rs` and
/// excluded here with its reason. Returns the reason if `case` matches.
fn known_oracle_error(
    line: &str,
    case: &serde_json::Value,
    ours: &str,
    theirs: &str,
) -> Option<&'static str> {
    let policies = crate::gen::policies_of(case);
    let conditions: Vec<(&str, &str, &serde_json::Value)> = policies
        .iter()
        .flat_map(|p| statements(p))
        .filter_map(|s| s.get("Condition")?.as_object())
        .flat_map(|c| c.iter())
        .filter_map(|(op, keys)| Some((op.as_str(), keys.as_object()?)))
        .flat_map(|(op, keys)| keys.iter().map(move |(k, v)| (op, k.as_str(), v)))
        .collect();
    let values = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.to_string().trim_matches('"').to_string())
                .collect(),
            x => vec![x.to_string().trim_matches('"').to_string()],
        }
    };
    let context = &case["request"]["context"];
    let ctx = |key: &str| -> Option<String> {
        context
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    };
    // 1. test `date_epoch_values_are_seconds`.
    let epoch = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if conditions.iter().any(|(op, key, v)| {
        op.to_ascii_lowercase().contains("date")
            && (values(v).iter().any(|s| epoch(s)) || ctx(key).is_some_and(|c| epoch(&c)))
    }) {
        return Some("oracle reads epoch dates as milliseconds; AWS reads seconds (test `date_epoch_values_are_seconds`)");
    }
    // 2. test `not_ip_address_bare_v4_host_and_v6_request`.
    if conditions.iter().any(|(op, key, v)| {
        op.to_ascii_lowercase().starts_with("notipaddress")
            && values(v)
                .iter()
                .any(|s| !s.contains('/') && !s.contains(':'))
            && ctx(key).is_some_and(|c| c.contains(':'))
    }) {
        return Some("oracle puts an IPv6 address inside a bare IPv4 host in NotIpAddress (test `not_ip_address_bare_v4_host_and_v6_request`)");
    }
    // 4. test `for_any_value_if_exists_missing_key_is_true`.
    let has_key = |key: &str| {
        context
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(key)))
    };
    if conditions.iter().any(|(op, key, _)| {
        let op = op.to_ascii_lowercase();
        op.starts_with("foranyvalue:") && op.ends_with("ifexists") && !has_key(key)
    }) {
        return Some("oracle ignores IfExists after ForAnyValue: for a missing key (test `for_any_value_if_exists_missing_key_is_true`)");
    }
    // 5. test `variables_are_literal_without_version_2012`.
    if policies.iter().any(|p| {
        p.get("Version").and_then(|v| v.as_str()) != Some("2012-10-17")
            && p.to_string().contains("${")
    }) {
        return Some("oracle expands policy variables in policies without Version 2012-10-17 (test `variables_are_literal_without_version_2012`)");
    }
    // 6. test `root_user_has_full_access`.
    if case["request"]["principal"]
        .as_str()
        .is_some_and(|p| p.ends_with(":root"))
        && ours == "Allowed"
        && theirs == "ImplicitlyDenied"
    {
        return Some("oracle gives the account root user no implicit access (test `root_user_has_full_access`)");
    }
    // 7. test `scps_do_not_limit_service_principals`.
    if case["request"]["principal"]
        .as_str()
        .is_some_and(|p| p.ends_with(".amazonaws.com"))
        && case["scps"].is_array()
    {
        return Some("oracle applies SCPs to AWS service principals (test `scps_do_not_limit_service_principals`)");
    }
    // 3. test `session_arn_grant_not_limited_by_session_policy`.
    if ours == "Allowed"
        && theirs == "ImplicitlyDenied"
        && case.get("sessionPolicy").is_some_and(|s| !s.is_null())
    {
        let c = latch_iam::Case::parse(line).ok()?;
        let d = latch_iam::evaluate(&c.input());
        if d.reason == latch_iam::eval::Reason::ResourcePolicyAllowsSession {
            return Some("oracle limits a grant to the session ARN by the session policy (test `session_arn_grant_not_limited_by_session_policy`)");
        }
    }
    None
}

fn statements(p: &serde_json::Value) -> Vec<&serde_json::Value> {
    match &p["Statement"] {
        serde_json::Value::Array(a) => a.iter().collect(),
        s @ serde_json::Value::Object(_) => vec![s],
        _ => Vec::new(),
    }
}

#[test]
fn agrees_with_iam_simulate() {
    // `LATCH_IAM_DIFF_SEED` / `LATCH_IAM_DIFF_CASES` explore other cases.
    let seed = std::env::var("LATCH_IAM_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let n = std::env::var("LATCH_IAM_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES);
    let lines = gen::cases(seed, n);
    let ours = run_latch(&lines);
    let (theirs, report) = run_oracle(&lines);
    eprintln!("oracle: {report}");
    let mut disagreements = Vec::new();
    let mut excluded = std::collections::BTreeMap::<&str, usize>::new();
    let mut compared = 0;
    let mut by_decision = std::collections::BTreeMap::<String, usize>::new();
    for ((line, o), t) in lines.iter().zip(&ours).zip(&theirs) {
        let od = o
            .get("decision")
            .and_then(|v| v.as_str())
            .unwrap_or("error");
        let td = t
            .get("decision")
            .and_then(|v| v.as_str())
            .unwrap_or("error");
        assert!(
            t.get("ignoredContextKeys").is_none(),
            "generator used a context key the oracle ignores: {t}"
        );
        compared += 1;
        *by_decision.entry(od.to_string()).or_default() += 1;
        if od == td {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(reason) = known_oracle_error(line, &case, od, td) {
            *excluded.entry(reason).or_default() += 1;
            continue;
        }
        disagreements.push(format!("latch: {o}\noracle: {t}\ncase: {line}\n"));
    }
    eprintln!(
        "compared {compared} cases; latch decisions: {by_decision:?}; excluded: {excluded:?}"
    );
    for d in &disagreements {
        eprintln!("{d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} of {compared} cases disagree with iam-simulate (printed above)",
        disagreements.len()
    );
}
