//! The IAM service reference (service prefixes, actions, resource types and
//! condition keys), generated at build time from `data/services.txt`, and
//! the checks that use it.

use super::ValidationError;

/// One service in the reference.
#[derive(Debug)]
pub struct ServiceData {
    /// The service prefix, as in `s3:GetObject`.
    pub prefix: &'static str,
    /// The service's name.
    pub name: &'static str,
    /// Action names, sorted without regard to case.
    pub actions: &'static [&'static str],
    /// Resource types and their ARN templates.
    pub resource_types: &'static [(&'static str, &'static str)],
    /// Service condition keys and their types, sorted without regard to case.
    pub condition_keys: &'static [(&'static str, &'static str)],
}

include!(concat!(env!("OUT_DIR"), "/services.rs"));

/// Looks up a service by prefix (AWS reads prefixes without regard to case).
pub fn service(prefix: &str) -> Option<&'static ServiceData> {
    let p = prefix.to_ascii_lowercase();
    SERVICES
        .binary_search_by(|s| s.prefix.cmp(p.as_str()))
        .ok()
        .and_then(|i| SERVICES.get(i))
}

fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

impl ServiceData {
    /// The action's canonical name, if the service has it.
    pub fn action(&self, name: &str) -> Option<&'static str> {
        self.actions
            .binary_search_by(|a| cmp_ci(a, name))
            .ok()
            .and_then(|i| self.actions.get(i).copied())
    }
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
        let mut arena = String::new();
        let syntax = crate::compile::pattern::Syntax {
            wildcards: true,
            variables: false,
            fold: true,
        };
        let p = crate::compile::pattern::Pattern::new(&mut arena, name, syntax);
        let ctx = crate::eval::Context::default();
        if svc.actions.iter().any(|a| p.matches(&arena, a, &ctx)) {
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
        suggestion: closest(name, svc.actions).map(|a| format!("{}:{a}", svc.prefix)),
    })
}

/// Checks a condition key; `None` if the reference knows it.
pub fn check_condition_key(key: &str) -> Option<ValidationError> {
    let Some((prefix, _)) = key.split_once(':') else {
        return Some(ValidationError::UnknownConditionKey(key.to_owned()));
    };
    let known = |keys: &[(&str, &str)]| {
        keys.iter().any(|(k, _)| {
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
        known(GLOBAL_KEYS)
    } else {
        service(prefix).is_some_and(|s| known(s.condition_keys))
    };
    (!ok).then(|| ValidationError::UnknownConditionKey(key.to_owned()))
}

/// The closest name by edit distance, if close enough to be a typo.
fn closest(name: &str, names: &[&'static str]) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (distance(&name, &n.to_ascii_lowercase()), *n))
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
        assert!(s3.resource_types.iter().any(|(t, _)| *t == "object"));
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
