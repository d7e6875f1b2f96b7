//! `latch iam`: the policy engine from the command line.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::support::{bin, text};

const CASE: &str = r#"{"id":"c1","identityPolicies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}}],"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal":"arn:aws:iam::111111111111:user/alice"}}"#;

#[test]
fn simulate_answers_every_line_in_order() {
    let mut child = Command::new(bin()).args(["iam", "simulate", "--jsonl"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let denied = CASE.replace("c1", "c2").replace("s3:GetObject", "s3:PutObject");
    write!(child.stdin.take().unwrap(), "{CASE}\nnot json\n{denied}\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], serde_json::json!({"id": "c1", "decision": "Allowed"}));
    assert!(lines[1]["error"].is_string());
    assert_eq!(lines[2], serde_json::json!({"id": "c2", "decision": "ImplicitlyDenied"}));
}

#[test]
fn validate_points_at_the_mistake_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&good, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#).unwrap();
    std::fs::write(&bad, "{\"Version\":\"2012-10-17\",\n \"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}").unwrap();
    let ok = Command::new(bin()).args(["iam", "validate"]).arg(&good).output().unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let failed = Command::new(bin()).args(["iam", "validate"]).arg(&good).arg(&bad).output().unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let err = text(&failed.stderr);
    assert!(err.contains("bad.json:2:"), "{err}");
    assert!(err.contains("Maybe"), "{err}");
}

#[test]
fn explain_tells_which_statement_decided() {
    let mut child = Command::new(bin()).args(["iam", "explain"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(CASE.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Allowed"), "{}", text(&out.stdout));
}
