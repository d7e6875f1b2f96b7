//! Policy parsing, validation and matching.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::access::target::{Kind, Level, Target};

const GOOD: &str = r#"
version = 1

[[rule]]
name = "oncall-admin"
requesters = { groups = ["oncall"] }
resource = { integration = "aws", accounts = ["123456789012"], kinds = ["role"], names = ["Admin*"] }
approval = { groups = ["sre-leads"], required = 2 }
require_reason = true
default_duration = "1h"
max_duration = "4h"
break_glass = true

[[rule]]
name = "prod-db-read"
requesters = "any"
resource = { kinds = ["resource"], tags = { env = "prod" }, levels = ["read"] }
approval = "auto"
max_duration = "30m"

[[rule]]
name = "nothing-else"
requesters = "any"
approval = "deny"
"#;

fn person(email: &str, groups: &[&str]) -> Person {
    Person { email: email.into(), groups: groups.iter().map(|g| (*g).to_owned()).collect() }
}

fn target(kind: Kind, name: &str, level: Option<Level>) -> Target {
    Target { integration: "aws".into(), account: "123456789012".into(), kind, name: name.into(), level }
}

#[test]
fn a_good_policy_parses_with_defaults() {
    let p = Policy::parse(GOOD).unwrap();
    assert_eq!(p.rules.len(), 3);
    let r = &p.rules[0];
    assert_eq!(r.approval, Approval::Approvers { users: vec![], groups: vec!["sre-leads".into()], required: 2 });
    assert_eq!((r.default_duration, r.max_duration), (Duration::from_secs(3600), Duration::from_secs(4 * 3600)));
    assert!(r.break_glass && r.require_reason && !r.allow_self_approval);
    let auto = &p.rules[1];
    assert_eq!(auto.max_duration, Duration::from_secs(1800));
    assert_eq!(auto.default_duration, Duration::from_secs(1800), "the default never exceeds the maximum");
}

#[test]
fn the_first_matching_rule_decides() {
    let p = Policy::parse(GOOD).unwrap();
    let oncall = person("a@x.io", &["oncall"]);
    let other = person("b@x.io", &[]);
    let none = BTreeMap::new();
    let prod: BTreeMap<String, String> = [("env".to_owned(), "prod".to_owned())].into();
    let admin = target(Kind::Role, "AdminAccess", None);
    assert_eq!(p.rule_for(&oncall, &admin, &none).unwrap().name, "oncall-admin");
    assert_eq!(p.rule_for(&other, &admin, &none).unwrap().name, "nothing-else");
    let db = target(Kind::Resource, "arn:aws:rds:eu-west-1:123456789012:db:x", Some(Level::Read));
    assert_eq!(p.rule_for(&other, &db, &prod).unwrap().name, "prod-db-read");
    assert_eq!(p.rule_for(&other, &db, &none).unwrap().name, "nothing-else", "tags must match");
    let write = target(Kind::Resource, "arn:aws:rds:eu-west-1:123456789012:db:x", Some(Level::Write));
    assert_eq!(p.rule_for(&other, &write, &prod).unwrap().name, "nothing-else", "levels must match");
    let elsewhere = Target { account: "210987654321".into(), ..admin.clone() };
    assert_eq!(p.rule_for(&oncall, &elsewhere, &none).unwrap().name, "nothing-else");
    // Tags are worth looking up only when a rule admitting the person reads them.
    assert!(p.reads_tags(&other), "prod-db-read admits anyone and matches on tags");
    let tagless = Policy::parse("[[rule]]\nname = \"r\"\nrequesters = { groups = [\"oncall\"] }\nresource = { kinds = [\"role\"] }\napproval = \"auto\"\n\n[[rule]]\nname = \"t\"\nrequesters = { groups = [\"dba\"] }\nresource = { kinds = [\"resource\"], tags = { env = \"prod\" } }\napproval = \"auto\"\n").unwrap();
    assert!(!tagless.reads_tags(&oncall), "the rule with tags does not admit them");
    assert!(tagless.reads_tags(&person("d@x.io", &["dba"])));
    // No rule at all means no access.
    let empty = Policy::parse("").unwrap();
    assert!(empty.rule_for(&oncall, &admin, &none).is_none());
}

#[test]
fn approvers_are_eligible_by_user_or_group() {
    let a = Approval::Approvers { users: vec!["boss@x.io".into()], groups: vec!["leads".into()], required: 1 };
    assert!(a.eligible(&person("Boss@X.io", &[])));
    assert!(a.eligible(&person("c@x.io", &["leads"])));
    assert!(!a.eligible(&person("c@x.io", &["eng"])));
    assert!(!Approval::Auto.eligible(&person("boss@x.io", &[])));
}

fn errors(src: &str) -> Vec<String> {
    Policy::parse(src).unwrap_err().0.iter().map(ToString::to_string).collect()
}

#[test]
fn mistakes_are_reported_with_positions() {
    let cases: &[(&str, &str)] = &[
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"maybe\"\n", "4:12: `maybe` is not an approval"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nresource = { kinds = [\"rol\"] }\n", "5:23: `rol` is not a kind of access"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nresource = { accounts = [\"123\"] }\n", "5:26: `123` is not an AWS account id"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nmax_duration = \"forever\"\n", "5:16: `forever` is not a duration"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nmax_duration = \"90d\"\n", "5:16: `90d` is longer than the 30 days a grant may last"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\ndefault_duration = \"2h\"\nmax_duration = \"1h\"\n", "5:20: `default_duration` is longer than `max_duration`"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = { users = [\"a@x.io\"], required = 2 }\n", "4:12: `required = 2` can never be met by 1 listed users"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = {}\n", "4:12: the approval names no approvers"),
        ("[[rule]]\nname = \"a\"\nrequesters = { users = [\"not-an-email\"] }\napproval = \"auto\"\n", "3:14: `not-an-email` in the requesters is not an email address"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nbreak_glass = true\n", "5:15: `break_glass` needs a rule whose approval names approvers"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\n[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\n", "6:8: there are two rules named `a`"),
        ("[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\ncolour = \"blue\"\n", "5:1: unknown field `colour`"),
        ("[[rule]]\nname = \"a\"\napproval = \"auto\"\n", "1:1: missing field `requesters`"),
        ("version = 2\n", "1:11: policy version 2 is not supported"),
        ("[[rule]\n", "1:7: invalid table header"),
    ];
    for (src, want) in cases {
        let got = errors(src);
        assert!(got.iter().any(|e| e.starts_with(want)), "{src}\nwant {want}\ngot {got:#?}");
    }
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let src = "[[rule]]\nname = \"a\"\nrequesters = \"any\"\napproval = \"auto\"\nresource = { kinds = [\"x\"], accounts = [\"1\"] }\nmax_duration = \"soon\"\n";
    assert_eq!(errors(src).len(), 3);
}
