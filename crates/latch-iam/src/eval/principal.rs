//! Who makes a request, read from the principal's ARN, and how the
//! `Principal` element of a resource-based policy names them.

use crate::ast::PrincipalKind;

/// What kind of principal makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// `arn:aws:iam::ACCOUNT:user/…`.
    User,
    /// `arn:aws:iam::ACCOUNT:role/…` (rare as a caller).
    Role,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    AssumedRole,
    /// `arn:aws:sts::ACCOUNT:federated-user/NAME`.
    FederatedUser,
    /// `arn:aws:iam::ACCOUNT:root`.
    Root,
    /// A service principal such as `s3.amazonaws.com`.
    Service,
    /// Anything else (identity providers, canonical users).
    Other,
}

/// The request's principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The principal as given.
    pub arn: String,
    /// What kind it is.
    pub kind: PrincipalType,
    /// The partition (`aws`, `aws-cn`, …), for ARN principals.
    pub partition: String,
    /// The account, for ARN principals.
    pub account: Option<String>,
    /// For an assumed-role session, the role name.
    pub role_name: Option<String>,
}

impl Identity {
    /// Reads a principal string.
    pub fn parse(arn: &str) -> Self {
        let mut id = Identity {
            arn: arn.to_owned(),
            kind: PrincipalType::Other,
            partition: String::new(),
            account: None,
            role_name: None,
        };
        if let Some(rest) = arn.strip_prefix("arn:") {
            let mut parts = rest.splitn(5, ':');
            let (Some(partition), Some(service), Some(_region), Some(account), Some(resource)) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return id;
            };
            id.partition = partition.to_owned();
            id.account = Some(account.to_owned());
            id.kind = match (service, resource) {
                ("iam", "root") => PrincipalType::Root,
                ("iam", r) if r.starts_with("user/") => PrincipalType::User,
                ("iam", r) if r.starts_with("role/") => {
                    id.role_name = r.rsplit('/').next().map(str::to_owned);
                    PrincipalType::Role
                }
                ("sts", r) if r.starts_with("assumed-role/") => {
                    id.role_name = r.split('/').nth(1).map(str::to_owned);
                    PrincipalType::AssumedRole
                }
                ("sts", r) if r.starts_with("federated-user/") => PrincipalType::FederatedUser,
                _ => PrincipalType::Other,
            };
        } else if arn.ends_with(".amazonaws.com") || arn.ends_with(".amazonaws.com.cn") {
            id.kind = PrincipalType::Service;
        }
        id
    }

    /// Whether this is a session (assumed role or federated user): the
    /// principals whose grants can be made "directly to the session".
    pub fn is_session(&self) -> bool {
        matches!(
            self.kind,
            PrincipalType::AssumedRole | PrincipalType::FederatedUser
        )
    }
}

/// How a resource-based policy's `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Through the caller's account (`"AWS": "111122223333"` or `…:root`).
    Account,
    /// Through the IAM role behind an assumed-role session, or the IAM user
    /// behind a federated-user session.
    Parent,
    /// Through `*`: everyone, the caller included.
    Anyone,
    /// The caller's own ARN: the IAM user, or the session itself.
    Direct,
}

/// Whether one principal entry names `who`, and how. The entry is bytes, as
/// a compiled policy's pool keeps it.
pub(crate) fn entry_grant(kind: PrincipalKind, value: &[u8], who: &Identity) -> Option<Grant> {
    match kind {
        PrincipalKind::Aws => {
            if value == b"*" {
                return Some(Grant::Anyone);
            }
            if value == who.arn.as_bytes() {
                return Some(Grant::Direct);
            }
            let account = who.account.as_deref()?;
            if value == account.as_bytes() {
                return Some(Grant::Account);
            }
            let resource = same_account_iam_arn(value, &who.partition, account)?;
            if resource == b"root" {
                return Some(Grant::Account);
            }
            match who.kind {
                PrincipalType::AssumedRole => {
                    let role = resource.strip_prefix(b"role/")?;
                    (last_part(role) == who.role_name.as_deref().map(str::as_bytes))
                        .then_some(Grant::Parent)
                }
                // A federated-user session (GetFederationToken) carries only
                // the name given for it; the IAM user that federated is taken
                // to be the user of that name in the same account.
                PrincipalType::FederatedUser => {
                    let user = resource.strip_prefix(b"user/")?;
                    let fed = who.arn.rsplit('/').next().map(str::as_bytes);
                    (last_part(user) == fed).then_some(Grant::Parent)
                }
                _ => None,
            }
        }
        PrincipalKind::Service | PrincipalKind::Federated | PrincipalKind::CanonicalUser => {
            (value == who.arn.as_bytes()).then_some(Grant::Direct)
        }
    }
}

/// What follows the last `/`.
fn last_part(s: &[u8]) -> Option<&[u8]> {
    s.rsplit(|b| *b == b'/').next()
}

/// The `RESOURCE` of `value` if it is `arn:PARTITION:iam::ACCOUNT:RESOURCE`
/// with the given partition and account: the same as splitting it with
/// [`iam_arn`] and comparing, read as one prefix rather than split at every
/// colon (a decision checks each principal entry of a resource policy).
fn same_account_iam_arn<'a>(value: &'a [u8], partition: &str, account: &str) -> Option<&'a [u8]> {
    let resource = value
        .strip_prefix(b"arn:")?
        .strip_prefix(partition.as_bytes())?
        .strip_prefix(b":iam::")?
        .strip_prefix(account.as_bytes())?
        .strip_prefix(b":")?;
    // Parts read by splitting have no colon: a partition or account with
    // one names no ARN.
    if partition.contains(':') || account.contains(':') {
        return None;
    }
    Some(resource)
}

/// Splits `arn:PARTITION:iam::ACCOUNT:RESOURCE`.
#[cfg(test)]
fn iam_arn(value: &str) -> Option<(&str, &str, &str)> {
    let rest = value.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let partition = parts.next()?;
    let service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    (service == "iam" && region.is_empty()).then_some((partition, account, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_reading_agrees_with_splitting() {
        let values = [
            "arn:aws:iam::111111111111:root",
            "arn:aws:iam::111111111111:role/a/b",
            "arn:aws:iam::111111111111:",
            "arn:aws:iam::222222222222:user/x",
            "arn:aws-cn:iam::111111111111:user/x",
            "arn:aws:iam:us-east-1:111111111111:user/x",
            "arn:aws:sts::111111111111:assumed-role/r/s",
            "arn:aws:iam::111111111111",
            "arn:aws:iam::111111111111:a:b",
            "arn:aws:iam::111:111111111111:x",
            "111111111111",
            "*",
        ];
        for v in values {
            for (partition, account) in [
                ("aws", "111111111111"),
                ("aws-cn", "111111111111"),
                ("aws", "111"),
                ("aws:iam:", "111111111111"),
                ("aws", "111:111111111111"),
            ] {
                let split = iam_arn(v)
                    .filter(|(p, a, _)| *p == partition && *a == account)
                    .map(|(_, _, r)| r);
                assert_eq!(
                    same_account_iam_arn(v.as_bytes(), partition, account)
                        .map(|r| std::str::from_utf8(r).unwrap_or("?")),
                    split,
                    "{v} {partition} {account}"
                );
            }
        }
    }

    #[test]
    fn reads_principals() {
        for (arn, kind, account, role) in [
            (
                "arn:aws:iam::111111111111:user/alice",
                PrincipalType::User,
                Some("111111111111"),
                None,
            ),
            (
                "arn:aws:iam::111111111111:root",
                PrincipalType::Root,
                Some("111111111111"),
                None,
            ),
            (
                "arn:aws:sts::111111111111:assumed-role/Admin/s1",
                PrincipalType::AssumedRole,
                Some("111111111111"),
                Some("Admin"),
            ),
            (
                "arn:aws:sts::1:federated-user/bob",
                PrincipalType::FederatedUser,
                Some("1"),
                None,
            ),
            ("s3.amazonaws.com", PrincipalType::Service, None, None),
            ("garbage", PrincipalType::Other, None, None),
        ] {
            let id = Identity::parse(arn);
            assert_eq!(
                (id.kind, id.account.as_deref(), id.role_name.as_deref()),
                (kind, account, role),
                "{arn}"
            );
        }
    }

    #[test]
    fn principal_entries() {
        let session = Identity::parse("arn:aws:sts::111111111111:assumed-role/Admin/s1");
        let user = Identity::parse("arn:aws:iam::111111111111:user/alice");
        let fed = Identity::parse("arn:aws:sts::111111111111:federated-user/fed");
        use PrincipalKind::Aws;
        for (value, who, want) in [
            ("*", &user, Some(Grant::Anyone)),
            (
                "arn:aws:iam::111111111111:user/alice",
                &user,
                Some(Grant::Direct),
            ),
            ("arn:aws:iam::111111111111:user/bob", &user, None),
            ("111111111111", &user, Some(Grant::Account)),
            (
                "arn:aws:iam::111111111111:root",
                &user,
                Some(Grant::Account),
            ),
            ("222222222222", &user, None),
            (
                "arn:aws:iam::111111111111:role/Admin",
                &session,
                Some(Grant::Parent),
            ),
            (
                "arn:aws:iam::111111111111:role/path/Admin",
                &session,
                Some(Grant::Parent),
            ),
            ("arn:aws:iam::222222222222:role/Admin", &session, None),
            (
                "arn:aws:sts::111111111111:assumed-role/Admin/s1",
                &session,
                Some(Grant::Direct),
            ),
            (
                "arn:aws:sts::111111111111:assumed-role/Admin/s2",
                &session,
                None,
            ),
            (
                "arn:aws:iam::111111111111:user/fed",
                &fed,
                Some(Grant::Parent),
            ),
            ("arn:aws:iam::111111111111:user/other", &fed, None),
        ] {
            assert_eq!(entry_grant(Aws, value.as_bytes(), who), want, "{value}");
        }
    }
}
