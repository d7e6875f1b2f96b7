//! The subset of Resource Explorer's search query syntax the stand-in
//! implements (module docs of [`super`] list it), parsed once and matched
//! against each resource.

use std::collections::BTreeMap;

/// A resource as Resource Explorer indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its ARN.
    pub arn: String,
    /// `service:type`, e.g. `s3:bucket`, `iam:role`.
    pub resource_type: String,
    /// The service part of the ARN.
    pub service: String,
    /// The region, or `global` for IAM and other global resources.
    pub region: String,
    /// The account that owns it.
    pub owning_account: String,
    /// Its tags (none for IAM resources: Resource Explorer does not index them).
    pub tags: BTreeMap<String, String>,
}

impl Resource {
    /// A resource from its ARN and tags; `found_in` (region, account) stands
    /// in for what the ARN leaves out (`arn:aws:s3:::bucket`).
    pub fn from_arn(arn: &str, tags: BTreeMap<String, String>, found_in: (&str, &str)) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some(service), Some(region), Some(account), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let region = match (service, region) {
            ("iam", _) => "global".to_owned(),
            (_, "") => found_in.0.to_owned(),
            (_, r) => r.to_owned(),
        };
        let kind = resource_kind(service, rest);
        Some(Self { arn: arn.to_owned(), resource_type: format!("{service}:{kind}"), service: service.to_owned(), region, owning_account: if account.is_empty() { found_in.1 } else { account }.to_owned(), tags })
    }
}

/// The resource-type half of `service:type` from the ARN's resource part:
/// what precedes the first `/` or `:`; for services whose ARNs carry only a
/// name, the type that name stands for.
fn resource_kind(service: &str, rest: &str) -> String {
    if let Some(i) = rest.find(['/', ':']) {
        return rest.get(..i).unwrap_or(rest).to_owned();
    }
    match service {
        "s3" => "bucket",
        "sqs" => "queue",
        "sns" => "topic",
        _ => rest,
    }
    .to_owned()
}

/// A parsed query string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    keywords: Vec<Pattern>,
    /// By prefix: (negated, what).
    filters: BTreeMap<String, Vec<(bool, Filter)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    Field(Pattern),
    Tag { key: Pattern, value: Option<Pattern> },
    NoTags,
}

/// A lower-cased literal, or a prefix when written with a trailing `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    fn new(raw: &str) -> Self {
        let lower = raw.to_lowercase();
        match lower.strip_suffix('*') {
            Some(p) => Self { text: p.to_owned(), prefix: true },
            None => Self { text: lower, prefix: false },
        }
    }

    fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        if self.prefix {
            value.starts_with(&self.text)
        } else {
            value == self.text
        }
    }

    /// Free-text matching: a substring anywhere.
    fn found_in(&self, value: &str) -> bool {
        value.to_lowercase().contains(&self.text)
    }
}

/// The filter prefixes understood.
const PREFIXES: [&str; 8] = ["region", "service", "resourcetype", "accountid", "id", "tag", "tag.key", "tag.value"];

impl Query {
    /// Parses `text`; the error is the `ValidationException` message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut q = Self::default();
        for term in text.split_whitespace() {
            let (negated, term) = match term.strip_prefix('-') {
                Some(t) => (true, t),
                None => (false, term),
            };
            let Some((prefix, value)) = term.split_once(':').filter(|(p, _)| !p.contains('=')) else {
                if negated {
                    return Err(format!("the keyword `-{term}` cannot be negated; only filters can"));
                }
                q.keywords.push(Pattern::new(term));
                continue;
            };
            let prefix = prefix.to_lowercase();
            if !PREFIXES.contains(&prefix.as_str()) {
                return Err(format!("unknown filter `{prefix}:` in the query string"));
            }
            if value.is_empty() {
                return Err(format!("the filter `{prefix}:` has no value"));
            }
            let filter = match prefix.as_str() {
                "tag" if value.eq_ignore_ascii_case("none") => Filter::NoTags,
                "tag" => match value.split_once('=') {
                    Some((k, v)) => Filter::Tag { key: Pattern::new(k), value: Some(Pattern::new(v)) },
                    None => Filter::Tag { key: Pattern::new(value), value: None },
                },
                "tag.key" => Filter::Tag { key: Pattern::new(value), value: None },
                "tag.value" => Filter::Tag { key: Pattern { text: String::new(), prefix: true }, value: Some(Pattern::new(value)) },
                _ => Filter::Field(Pattern::new(value)),
            };
            q.filters.entry(prefix).or_default().push((negated, filter));
        }
        Ok(q)
    }

    /// Whether the query has filters only (what a view's filter may hold).
    pub fn has_keywords(&self) -> bool {
        !self.keywords.is_empty()
    }

    /// Whether `r` matches: one keyword (if any), every negated filter, and
    /// for each prefix one of its filters.
    pub fn matches(&self, r: &Resource) -> bool {
        let keyword = self.keywords.is_empty()
            || self.keywords.iter().any(|k| {
                (k.text.is_empty() && k.prefix)
                    || k.found_in(&r.arn)
                    || k.found_in(&r.resource_type)
                    || r.tags.iter().any(|(key, value)| k.found_in(key) || k.found_in(value))
            });
        keyword
            && self.filters.iter().all(|(prefix, filters)| {
                let (negated, positive): (Vec<_>, Vec<_>) = filters.iter().partition(|(neg, _)| *neg);
                negated.iter().all(|(_, f)| !filter_matches(prefix, f, r)) && (positive.is_empty() || positive.iter().any(|(_, f)| filter_matches(prefix, f, r)))
            })
    }
}

fn filter_matches(prefix: &str, f: &Filter, r: &Resource) -> bool {
    match f {
        Filter::NoTags => r.tags.is_empty(),
        Filter::Tag { key, value } => r.tags.iter().any(|(k, v)| key.matches(k) && value.as_ref().is_none_or(|p| p.matches(v))),
        Filter::Field(p) => p.matches(match prefix {
            "region" => &r.region,
            "service" => &r.service,
            "resourcetype" => &r.resource_type,
            "accountid" => &r.owning_account,
            _ => &r.arn,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(arn: &str, tags: &[(&str, &str)]) -> Resource {
        Resource::from_arn(arn, tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), ("us-east-1", "111122223333")).unwrap()
    }

    #[test]
    fn resources_are_typed_from_their_arn() {
        let cases = [
            ("arn:aws:s3:::logs", "s3:bucket", "us-east-1"),
            ("arn:aws:ec2:us-west-2:111122223333:instance/i-0abc", "ec2:instance", "us-west-2"),
            ("arn:aws:iam::111122223333:role/Admin", "iam:role", "global"),
            ("arn:aws:sqs:eu-west-1:111122223333:jobs", "sqs:queue", "eu-west-1"),
            ("arn:aws:lambda:us-east-1:111122223333:function:f", "lambda:function", "us-east-1"),
        ];
        for (arn, kind, region) in cases {
            let r = res(arn, &[]);
            assert_eq!((r.resource_type.as_str(), r.region.as_str()), (kind, region), "{arn}");
        }
        assert!(Resource::from_arn("not-an-arn", BTreeMap::new(), ("us-east-1", "1")).is_none());
    }

    #[test]
    fn queries_follow_the_documented_logic() {
        let bucket = res("arn:aws:s3:::billing-logs", &[("Env", "Prod")]);
        let role = res("arn:aws:iam::111122223333:role/Admin", &[]);
        let vm = res("arn:aws:ec2:us-west-2:111122223333:instance/i-0abc", &[("Env", "Test"), ("Team", "Data")]);
        let all = [&bucket, &role, &vm];
        let hits = |q: &str| -> Vec<&str> {
            let q = Query::parse(q).unwrap();
            all.iter().filter(|r| q.matches(r)).map(|r| r.arn.as_str()).collect()
        };
        assert_eq!(hits("").len(), 3);
        assert_eq!(hits("*").len(), 3);
        assert_eq!(hits("billing admin"), [bucket.arn.as_str(), role.arn.as_str()], "keywords are joined with OR");
        assert_eq!(hits("resourcetype:iam:role"), [role.arn.as_str()]);
        assert_eq!(hits("service:ec2 service:s3").len(), 2, "the same prefix is OR");
        assert_eq!(hits("service:ec2 region:us-east-1"), Vec::<&str>::new(), "different prefixes are AND");
        assert_eq!(hits("region:global"), [role.arn.as_str()]);
        assert_eq!(hits("tag:env=prod"), [bucket.arn.as_str()], "case insensitive");
        assert_eq!(hits("tag:Team"), [vm.arn.as_str()]);
        assert_eq!(hits("tag:none"), [role.arn.as_str()]);
        assert_eq!(hits("-tag:none"), [bucket.arn.as_str(), vm.arn.as_str()]);
        assert_eq!(hits("tag.value:te*"), [vm.arn.as_str()]);
        assert_eq!(hits("region:us-*"), [bucket.arn.as_str(), vm.arn.as_str()]);
        assert_eq!(hits("accountid:111122223333 -service:iam"), [bucket.arn.as_str(), vm.arn.as_str()], "an S3 bucket's owner is the account it was found in");
        assert_eq!(hits("data service:ec2"), [vm.arn.as_str()], "keywords AND filters");
        for bad in ["colour:red", "region:", "-billing"] {
            assert!(Query::parse(bad).is_err(), "{bad}");
        }
    }
}
