//! From TOML text to a validated [`Policy`]: serde for the shape (unknown
//! keys are errors), then checks that need the whole rule, each reported
//! with the position of the value at fault.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::err::{position, PolicyError, PolicyErrors};
use super::{Approval, Policy, Requesters, ResourceMatch, Rule};
use crate::access::target::{Kind, Level};
use crate::validate;

/// Longest any rule may grant for.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
const DEFAULT_DURATION: Duration = Duration::from_secs(3600);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    version: Option<Spanned<i64>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    requesters: Spanned<RawRequesters>,
    #[serde(default)]
    resource: Option<Spanned<RawResource>>,
    approval: Spanned<RawApproval>,
    #[serde(default)]
    require_reason: bool,
    #[serde(default)]
    default_duration: Option<Spanned<String>>,
    #[serde(default)]
    max_duration: Option<Spanned<String>>,
    #[serde(default)]
    allow_self_approval: bool,
    #[serde(default)]
    break_glass: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRequesters {
    Word(String),
    Listed(RawPeople),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPeople {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawResource {
    #[serde(default)]
    integration: Option<Spanned<String>>,
    #[serde(default)]
    accounts: Vec<Spanned<String>>,
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    levels: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawApproval {
    Word(String),
    Approvers(RawApprovers),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovers {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    required: Option<i64>,
}

struct Checker<'a> {
    source: &'a str,
    errors: Vec<PolicyError>,
}

impl Checker<'_> {
    fn at(&mut self, offset: usize, message: String, help: Option<&str>) {
        let (line, column) = position(self.source, offset);
        self.errors.push(PolicyError { line, column, message, help: help.map(str::to_owned) });
    }

    fn duration(&mut self, v: &Option<Spanned<String>>, default: Duration) -> Duration {
        let Some(v) = v else { return default };
        match humantime::parse_duration(v.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.at(v.span().start, format!("`{}` is not a usable duration: it must be longer than zero", v.get_ref()), None);
                default
            }
            Ok(d) if d > MAX_DURATION => {
                self.at(v.span().start, format!("`{}` is longer than the 30 days a grant may last", v.get_ref()), None);
                default
            }
            Ok(d) => d,
            Err(_) => {
                self.at(v.span().start, format!("`{}` is not a duration", v.get_ref()), Some("write it like `30m`, `1h`, `1h 30m` or `2days`"));
                default
            }
        }
    }

    fn people(&mut self, offset: usize, users: &[String], groups: &[String], what: &str) {
        for u in users {
            if validate::email(u).is_err() {
                self.at(offset, format!("`{u}` in {what} is not an email address"), None);
            }
        }
        for g in groups {
            if validate::group_name(g).is_err() {
                self.at(offset, format!("`{g}` in {what} is not a valid group name"), None);
            }
        }
    }

    fn resource(&mut self, r: Option<&Spanned<RawResource>>) -> ResourceMatch {
        let Some(r) = r else { return ResourceMatch::default() };
        let r = r.get_ref();
        let mut kinds = Vec::new();
        for k in &r.kinds {
            match Kind::parse(k.get_ref()) {
                Some(kind) => kinds.push(kind),
                None => self.at(k.span().start, format!("`{}` is not a kind of access", k.get_ref()), Some("use `role`, `permission-set`, `group`, `policy` or `resource`")),
            }
        }
        for a in &r.accounts {
            let ok = a.get_ref().len() == 12 && a.get_ref().bytes().all(|b| b.is_ascii_digit());
            if !ok {
                self.at(a.span().start, format!("`{}` is not an AWS account id", a.get_ref()), Some("use the 12-digit account number, quoted"));
            }
        }
        let mut levels = Vec::new();
        for l in &r.levels {
            match l.get_ref().as_str() {
                "read" => levels.push(Level::Read),
                "write" => levels.push(Level::Write),
                "admin" => levels.push(Level::Admin),
                other => self.at(l.span().start, format!("`{other}` is not an access level"), Some("use `read`, `write` or `admin`")),
            }
        }
        ResourceMatch {
            integration: r.integration.as_ref().map(|i| i.get_ref().clone()),
            accounts: r.accounts.iter().map(|a| a.get_ref().clone()).collect(),
            kinds,
            names: r.names.clone(),
            tags: r.tags.clone(),
            levels,
        }
    }

    fn approval(&mut self, a: &Spanned<RawApproval>) -> Approval {
        let at = a.span().start;
        match a.get_ref() {
            RawApproval::Word(w) if w == "auto" => Approval::Auto,
            RawApproval::Word(w) if w == "deny" => Approval::Deny,
            RawApproval::Word(w) => {
                self.at(at, format!("`{w}` is not an approval"), Some(APPROVAL_HELP));
                Approval::Deny
            }
            RawApproval::Approvers(r) => {
                self.people(at, &r.users, &r.groups, "the approvers");
                let required = r.required.unwrap_or(1);
                if r.users.is_empty() && r.groups.is_empty() {
                    self.at(at, "the approval names no approvers".to_owned(), Some("list `users` or `groups`, or write `approval = \"auto\"`"));
                }
                if required < 1 {
                    self.at(at, format!("`required = {required}` must be at least 1"), None);
                } else if r.groups.is_empty() && usize::try_from(required).is_ok_and(|n| n > r.users.len()) {
                    self.at(at, format!("`required = {required}` can never be met by {} listed users", r.users.len()), None);
                }
                Approval::Approvers { users: r.users.clone(), groups: r.groups.clone(), required: u32::try_from(required.max(1)).unwrap_or(1) }
            }
        }
    }
}

const APPROVAL_HELP: &str = "use `\"auto\"`, `\"deny\"`, or a table `{ users = [...], groups = [...], required = N }`";

/// Rewrites serde's messages about untagged enums into ones a person can act on.
fn friendly(message: &str) -> (String, Option<&'static str>) {
    if message.contains("RawApproval") {
        ("the approval is not valid".to_owned(), Some(APPROVAL_HELP))
    } else if message.contains("RawRequesters") {
        ("the requesters are not valid".to_owned(), Some("use `\"any\"` or a table `{ users = [...], groups = [...] }`"))
    } else {
        (message.trim().to_owned(), None)
    }
}

pub(super) fn parse(source: &str) -> Result<Policy, PolicyErrors> {
    let raw: RawPolicy = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let (line, column) = e.span().map_or((1, 1), |s| position(source, s.start));
            let (message, help) = friendly(e.message());
            return Err(PolicyErrors(vec![PolicyError { line, column, message, help: help.map(str::to_owned) }]));
        }
    };
    let mut c = Checker { source, errors: Vec::new() };
    if let Some(v) = &raw.version {
        if *v.get_ref() != 1 {
            c.at(v.span().start, format!("policy version {} is not supported", v.get_ref()), Some("use `version = 1`"));
        }
    }
    let mut names = HashSet::new();
    let mut rules = Vec::new();
    for spanned in &raw.rule {
        let r = spanned.get_ref();
        let name = r.name.get_ref().trim().to_owned();
        if name.is_empty() {
            c.at(r.name.span().start, "a rule needs a name".to_owned(), None);
        } else if !names.insert(name.clone()) {
            c.at(r.name.span().start, format!("there are two rules named `{name}`"), Some("rule names must be unique"));
        }
        let requesters = match r.requesters.get_ref() {
            RawRequesters::Word(w) if w == "any" => Requesters::Any,
            RawRequesters::Word(w) => {
                c.at(r.requesters.span().start, format!("`{w}` is not a set of requesters"), Some("use `\"any\"` or a table `{ users = [...], groups = [...] }`"));
                Requesters::Listed { users: Vec::new(), groups: Vec::new() }
            }
            RawRequesters::Listed(p) => {
                c.people(r.requesters.span().start, &p.users, &p.groups, "the requesters");
                if p.users.is_empty() && p.groups.is_empty() {
                    c.at(r.requesters.span().start, "the rule names no requesters".to_owned(), Some("list `users` or `groups`, or write `requesters = \"any\"`"));
                }
                Requesters::Listed { users: p.users.clone(), groups: p.groups.clone() }
            }
        };
        let resource = c.resource(r.resource.as_ref());
        let approval = c.approval(&r.approval);
        let max_duration = c.duration(&r.max_duration, DEFAULT_DURATION.max(Duration::from_secs(8 * 3600)));
        let default_duration = c.duration(&r.default_duration, DEFAULT_DURATION.min(max_duration));
        if default_duration > max_duration {
            let at = r.default_duration.as_ref().map_or(spanned.span().start, |d| d.span().start);
            c.at(at, "`default_duration` is longer than `max_duration`".to_owned(), None);
        }
        let break_glass = r.break_glass.as_ref().is_some_and(|b| *b.get_ref());
        if break_glass && matches!(approval, Approval::Auto | Approval::Deny) {
            let at = r.break_glass.as_ref().map_or(spanned.span().start, |b| b.span().start);
            c.at(at, "`break_glass` needs a rule whose approval names approvers".to_owned(), Some("with `auto` there is nothing to bypass, with `deny` nothing may be granted"));
        }
        rules.push(Rule {
            name,
            requesters,
            resource,
            approval,
            require_reason: r.require_reason || break_glass,
            default_duration,
            max_duration,
            allow_self_approval: r.allow_self_approval,
            break_glass,
        });
    }
    if c.errors.is_empty() { Ok(Policy { rules }) } else { Err(PolicyErrors(c.errors)) }
}
