//! The IAM service reference (service prefixes, actions, resource types and
//! condition keys), generated at build time from `data/services.txt`, and
//! the checks that use it.

use super::ValidationError;

/// A string of the reference: a range of [`TEXT`].
#[derive(Debug, Clone, Copy)]
struct Str(u32, u32);

impl Str {
    fn get(self) -> &'static str {
        let at = self.0 as usize;
        TEXT.get(at..at + self.1 as usize).unwrap_or_default()
    }
}

/// A range of rows of one of the tables.
#[derive(Debug, Clone, Copy)]
struct Span(u32, u32);

impl Span {
    fn of<T>(self, rows: &'static [T]) -> &'static [T] {
        let at = self.0 as usize;
        rows.get(at..at + self.1 as usize).unwrap_or_default()
    }
}

#[derive(Debug)]
struct ActionRow {
    name: Str,
    resource_types: Span,
}

/// One service in the reference.
#[derive(Debug)]
pub struct ServiceData {
    prefix: Str,
    name: Str,
    actions: Span,
    resource_types: Span,
    condition_keys: Span,
}

/// Every string of the tables, one after another (see `build.rs`).
static TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/services.txt"));
include!(concat!(env!("OUT_DIR"), "/services.rs"));

fn pairs(
    rows: &'static [(Str, Str)],
) -> impl ExactSizeIterator<Item = (&'static str, &'static str)> + Clone {
    rows.iter().map(|(a, b)| (a.get(), b.get()))
}

/// The global condition keys and their types, sorted without regard to case.
fn global_keys() -> impl ExactSizeIterator<Item = (&'static str, &'static str)> + Clone {
    pairs(GLOBAL_KEY_ROWS)
}

/// The names of the global condition keys (`aws:SourceIp`, …), as the
/// reference writes them; keys with a tag part read `…/tag-key`.
pub(crate) fn global_key_names() -> impl Iterator<Item = &'static str> {
    global_keys().map(|(k, _)| k)
}

/// Looks up a service by prefix (AWS reads prefixes without regard to case).
pub fn service(prefix: &str) -> Option<&'static ServiceData> {
    let p = prefix.to_ascii_lowercase();
    SERVICES
        .binary_search_by(|s| s.prefix.get().cmp(p.as_str()))
        .ok()
        .and_then(|i| SERVICES.get(i))
}

fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

impl ServiceData {
    /// The service prefix, as in `s3:GetObject`.
    pub fn prefix(&self) -> &'static str {
        self.prefix.get()
    }

    /// The service's name.
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// Action names, sorted without regard to case.
    pub fn actions(&self) -> impl ExactSizeIterator<Item = &'static str> + Clone {
        self.actions.of(ACTION_ROWS).iter().map(|a| a.name.get())
    }

    /// Resource types and their ARN templates.
    pub fn resource_types(
        &self,
    ) -> impl ExactSizeIterator<Item = (&'static str, &'static str)> + Clone {
        pairs(self.resource_types.of(RESOURCE_TYPE_ROWS))
    }

    /// Service condition keys and their types, sorted without regard to case.
    pub fn condition_keys(
        &self,
    ) -> impl ExactSizeIterator<Item = (&'static str, &'static str)> + Clone {
        pairs(self.condition_keys.of(CONDITION_KEY_ROWS))
    }

    fn action_row(&self, name: &str) -> Option<&'static ActionRow> {
        let rows = self.actions.of(ACTION_ROWS);
        rows.binary_search_by(|a| cmp_ci(a.name.get(), name))
            .ok()
            .and_then(|i| rows.get(i))
    }

    /// The action's canonical name, if the service has it.
    pub fn action(&self, name: &str) -> Option<&'static str> {
        self.action_row(name).map(|a| a.name.get())
    }

    /// The resource types (name, ARN template) the action acts on, if the
    /// service has the action; none for an action that acts on no
    /// particular resource (its resource is `*`).
    pub fn action_resource_types(&self, name: &str) -> Option<Vec<(&'static str, &'static str)>> {
        let row = self.action_row(name)?;
        let types = self.resource_types.of(RESOURCE_TYPE_ROWS);
        Some(
            row.resource_types
                .of(ACTION_TYPES)
                .iter()
                .filter_map(|&i| types.get(usize::from(i)))
                .map(|(a, b)| (a.get(), b.get()))
                .collect(),
        )
    }
}

/// The resource types `action` acts on when `resource` is none of them:
/// `Some(types)` names a mismatch (`types` empty: the action acts on no
/// particular resource, only `*`). `None` when `resource` fits, or when the
/// reference cannot tell: an unknown or wildcard action, or a resource
/// pattern.
pub fn mismatched_resource_types(
    action: &str,
    resource: &str,
) -> Option<Vec<(&'static str, &'static str)>> {
    if resource.contains(['*', '?']) {
        return None;
    }
    let (prefix, name) = action.split_once(':')?;
    if name.contains(['*', '?']) {
        return None;
    }
    let types = service(prefix)?.action_resource_types(name)?;
    (!types.iter().any(|(_, arn)| fits_template(arn, resource))).then_some(types)
}

/// Checks that `action` acts on at least one of a statement's `Resource`
/// values; `None` if it does or the reference cannot tell (a `*` or other
/// pattern among the resources, a policy variable, an unknown or wildcard
/// action).
pub fn check_action_resources<'r>(
    action: &str,
    mut resources: impl Iterator<Item = &'r str>,
) -> Option<ValidationError> {
    let mut types = None;
    let none_fits = resources.all(|r| {
        if r.contains("${") {
            return false;
        }
        let mismatch = mismatched_resource_types(action, r);
        let fits = mismatch.is_none();
        types = types.take().or(mismatch);
        !fits
    });
    let types = types.filter(|_| none_fits)?;
    Some(ValidationError::ActsOnNoneOfResources {
        action: action.to_owned(),
        types: types
            .iter()
            .map(|(name, arn)| format!("`{name}` (`{arn}`)"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Whether `arn` fits an ARN template of the reference, such as
/// `arn:${Partition}:s3:::${BucketName}/${ObjectName}`: each `${…}` stands
/// for any text without `/` or `:`, but the last one, ending the template,
/// for any text at all (object keys, role paths): where the reference
/// cannot tell, the resource is let through.
fn fits_template(template: &str, arn: &str) -> bool {
    let Some((literal, rest)) = template.split_once("${") else {
        return template == arn;
    };
    let Some(tail) = arn.strip_prefix(literal) else {
        return false;
    };
    let Some((_, after)) = rest.split_once('}') else {
        return false;
    };
    if after.is_empty() {
        return true;
    }
    // The variable takes a run of `tail` free of separators; try each length.
    let run = tail.find(['/', ':']).unwrap_or(tail.len());
    (0..=run).any(|n| tail.get(n..).is_some_and(|t| fits_template(after, t)))
}

/// Checks one `Action` value; `None` if it is fine.
pub fn check_action(action: &str) -> Option<ValidationError> {
    if action == "*" {
        return None;
    }
    let Some((prefix, name)) = action.split_once(':') else {
        return Some(ValidationError::BadAction(action.to_owned()));
    };
    // "Service can only contain letters, numbers, and hyphens."
    let prefix_ok = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'?' | b'-' | b'_' | b'.'));
    if !prefix_ok || !name_ok {
        return Some(ValidationError::BadAction(action.to_owned()));
    }
    let Some(svc) = service(prefix) else {
        return Some(ValidationError::UnknownService(prefix.to_owned()));
    };
    if name.contains(['*', '?']) {
        let mut arena = crate::compile::pattern::PatternArena::default();
        let syntax = crate::compile::pattern::Syntax {
            wildcards: true,
            variables: false,
            fold: true,
        };
        let p = crate::compile::pattern::Pattern::new(&mut arena, name, syntax);
        let ctx = crate::eval::Context::default();
        if svc.actions().any(|a| p.matches(arena.view(), a, &ctx)) {
            return None;
        }
        return Some(ValidationError::UnknownAction {
            service: prefix.to_owned(),
            action: name.to_owned(),
            suggestion: None,
        });
    }
    if svc.action(name).is_some() {
        return None;
    }
    Some(ValidationError::UnknownAction {
        service: prefix.to_owned(),
        action: name.to_owned(),
        suggestion: closest(name, svc.actions()).map(|a| format!("{}:{a}", svc.prefix())),
    })
}

/// Checks a condition key; `None` if the reference knows it.
pub fn check_condition_key(key: &str) -> Option<ValidationError> {
    let Some((prefix, _)) = key.split_once(':') else {
        return Some(ValidationError::UnknownConditionKey(key.to_owned()));
    };
    let known = |mut keys: Box<dyn Iterator<Item = (&str, &str)>>| {
        keys.any(|(k, _)| {
            match k
                .find("${")
                .or_else(|| k.strip_suffix("tag-key").map(str::len))
            {
                // `aws:PrincipalTag/${TagKey}`: any tag key after the prefix.
                Some(i) => k.get(..i).is_some_and(|head| {
                    key.len() > i && key.get(..i).is_some_and(|h| h.eq_ignore_ascii_case(head))
                }),
                None => k.eq_ignore_ascii_case(key),
            }
        })
    };
    let ok = if prefix.eq_ignore_ascii_case("aws") {
        known(Box::new(global_keys()))
    } else {
        service(prefix).is_some_and(|s| known(Box::new(s.condition_keys())))
    };
    (!ok).then(|| ValidationError::UnknownConditionKey(key.to_owned()))
}

/// The closest name by edit distance, if close enough to be a typo.
fn closest(name: &str, names: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    names
        .map(|n| (distance(&name, &n.to_ascii_lowercase()), n))
        .filter(|(d, _)| *d <= 2 + name.len() / 8)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Like [`closest`], over owned names.
pub(crate) fn closest_owned(name: &str, names: &[String]) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (distance(&lower, &n.to_ascii_lowercase()), n))
        .filter(|(d, _)| *d <= 2 + lower.len() / 8)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_services_and_actions() {
        let s3 = service("s3").unwrap();
        assert_eq!(s3.action("getobject"), Some("GetObject"));
        assert!(s3.resource_types().any(|(t, _)| t == "object"));
        let types = |a: &str| {
            s3.action_resource_types(a)
                .map(|ts| ts.into_iter().map(|(t, _)| t).collect::<Vec<_>>())
        };
        assert_eq!(types("GetObject").unwrap(), ["accesspointobject", "object"]);
        assert_eq!(types("listbucket").unwrap(), ["accesspoint", "bucket"]);
        assert_eq!(types("ListAllMyBuckets").unwrap(), Vec::<&str>::new());
        assert_eq!(types("NoSuchAction"), None);
        for (action, want) in [
            ("*", None),
            ("s3:GetObject", None),
            ("S3:getobject", None),
            ("s3:Get*", None),
            ("s3*:Foo", Some("invalid action `s3*:Foo`")),
            (
                "s3:Getobjekt",
                Some("unknown action `Getobjekt` for service `s3`"),
            ),
            ("s3:Frob*", Some("unknown action `Frob*` for service `s3`")),
            ("nosuchservice:Get", Some("unknown service `nosuchservice`")),
            ("s3", Some("invalid action `s3`")),
            ("s3:Get Object", Some("invalid action `s3:Get Object`")),
        ] {
            assert_eq!(
                check_action(action).map(|e| e.to_string()).as_deref(),
                want,
                "{action}"
            );
        }
        let e = check_action("s3:Getobjekt").unwrap();
        assert_eq!(e.help().as_deref(), Some("did you mean `s3:GetObject`?"));
    }

    #[test]
    fn knows_which_resources_an_action_acts_on() {
        for (action, resource, fits) in [
            ("s3:GetObject", "arn:aws:s3:::reports/2026/q1.csv", true),
            ("s3:GetObject", "arn:aws:s3:::reports", false),
            ("s3:ListBucket", "arn:aws:s3:::reports", true),
            (
                "s3:ListBucket",
                "arn:aws:s3:us-east-1:111111111111:job/j-1",
                false,
            ),
            // The last variable of a template takes any text, so a bucket's
            // template cannot tell an object from a bucket: let through.
            ("s3:ListBucket", "arn:aws:s3:::reports/k", true),
            ("s3:ListAllMyBuckets", "arn:aws:s3:::reports", false),
            (
                "iam:PassRole",
                "arn:aws:iam::111111111111:role/team/Deploy",
                true,
            ),
            (
                "iam:PassRole",
                "arn:aws:iam::111111111111:user/alice",
                false,
            ),
            (
                "sts:AssumeRole",
                "arn:aws:iam::111111111111:role/Admin",
                true,
            ),
            (
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:111111111111:function:f:prod",
                true,
            ),
            (
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:111111111111:jobs",
                true,
            ),
            (
                "sqs:SendMessage",
                "arn:aws:sns:us-east-1:111111111111:jobs",
                false,
            ),
            // What the reference cannot tell about is let through.
            ("s3:Get*", "arn:aws:s3:::reports", true),
            ("s3:GetObject", "arn:aws:s3:::rep*", true),
            ("nosuch:Thing", "arn:aws:s3:::reports", true),
        ] {
            assert_eq!(
                mismatched_resource_types(action, resource).is_none(),
                fits,
                "{action} on {resource}"
            );
        }
        let types = mismatched_resource_types("s3:GetObject", "arn:aws:s3:::reports").unwrap();
        assert!(
            types.contains(&(
                "object",
                "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
            )),
            "{types:?}"
        );
    }

    #[test]
    fn flags_an_action_that_acts_on_none_of_the_resources() {
        let check = |action: &str, resources: &[&str]| {
            check_action_resources(action, resources.iter().copied())
                .map(|e| format!("{e} / {}", e.help().unwrap_or_default()))
        };
        let bucket = "arn:aws:s3:::reports";
        let object = "arn:aws:s3:::reports/q1.csv";
        assert_eq!(check("s3:GetObject", &[bucket, object]), None);
        assert_eq!(check("s3:GetObject", &[bucket, "*"]), None);
        assert_eq!(
            check("s3:GetObject", &["arn:aws:s3:::${aws:username}"]),
            None
        );
        assert_eq!(check("s3:Get*", &[bucket]), None);
        assert_eq!(check("nosuch:Thing", &[bucket]), None);
        assert_eq!(check("s3:GetObject", &[]), None);
        let got = check("s3:GetObject", &[bucket]).unwrap();
        assert!(
            got.starts_with(
                "`s3:GetObject` acts on none of the statement's resources / it acts on "
            ) && got.contains("`object` (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`)"),
            "{got}"
        );
        let got = check("s3:ListAllMyBuckets", &[bucket]).unwrap();
        assert!(
            got.ends_with("it acts on no particular resource: write `\"Resource\": \"*\"`"),
            "{got}"
        );
    }

    #[test]
    fn knows_condition_keys() {
        for (key, known) in [
            ("aws:SourceIp", true),
            ("AWS:sourceip", true),
            ("aws:PrincipalTag/team", true),
            ("aws:PrincipalTag/", false),
            ("s3:prefix", true),
            ("aws:NoSuchKey", false),
            ("s3:nosuchkey", false),
            ("nokey", false),
        ] {
            assert_eq!(check_condition_key(key).is_none(), known, "{key}");
        }
    }
}
