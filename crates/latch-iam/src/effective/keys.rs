//! The condition keys AWS derives from the caller (`aws:PrincipalArn`,
//! `aws:PrincipalTag/…`, …), filled in per principal, and the request's own
//! keys merged on top of them.

use super::report::Entity;
use crate::eval::{Context, ContextValue, ValueRef};

/// The session name used for a role's caller: a role acts through a
/// session, whose name a who-can question does not know.
pub const SESSION_NAME: &str = "latch-effective-access";

/// Who an entity is, as the keys need it.
pub(super) struct Who<'a> {
    pub entity: Entity,
    pub arn: &'a str,
    pub account: &'a str,
    pub id: Option<&'a str>,
    pub tags: &'a [(String, String)],
}

/// The last part of an IAM ARN's path: the user or role name.
pub(super) fn name_of(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// The caller's ARN: the user, or a session of the role.
pub(super) fn caller_arn(entity: Entity, arn: &str, partition: &str, account: &str) -> String {
    match entity {
        Entity::User => arn.to_owned(),
        Entity::Role => format!(
            "arn:{partition}:sts::{account}:assumed-role/{}/{SESSION_NAME}",
            name_of(arn)
        ),
    }
}

/// The keys AWS sets from the caller ("AWS global condition context keys",
/// principal properties).
pub(super) fn principal_context(who: &Who<'_>) -> Context {
    let mut c = Context::default();
    let one = |s: &str| ContextValue::One(s.to_owned());
    // For a role session, `aws:PrincipalArn` is the role's ARN.
    c.insert("aws:PrincipalArn", one(who.arn));
    c.insert("aws:PrincipalAccount", one(who.account));
    c.insert("aws:PrincipalIsAWSService", one("false"));
    match who.entity {
        Entity::User => {
            c.insert("aws:PrincipalType", one("User"));
            c.insert("aws:username", one(name_of(who.arn)));
            if let Some(id) = who.id {
                c.insert("aws:userid", one(id));
            }
        }
        Entity::Role => {
            c.insert("aws:PrincipalType", one("AssumedRole"));
            if let Some(id) = who.id {
                c.insert("aws:userid", one(&format!("{id}:{SESSION_NAME}")));
            }
        }
    }
    for (k, v) in who.tags {
        c.insert(&format!("aws:PrincipalTag/{k}"), one(v));
    }
    c
}

/// Whether a key (lowercase) is one the caller determines, so a value a
/// question supplies for it is dropped in favour of the principal's own.
fn derived(key: &str) -> bool {
    matches!(
        key,
        "aws:principalarn"
            | "aws:principalaccount"
            | "aws:principaltype"
            | "aws:principalisawsservice"
            | "aws:username"
            | "aws:userid"
    ) || key.starts_with("aws:principaltag/")
}

/// The request keys of a question's context, without caller-derived ones.
pub(super) fn request_keys(ctx: &Context) -> Vec<(String, ContextValue)> {
    ctx.iter()
        .filter(|(k, _)| !derived(k))
        .map(|(k, v)| {
            let v = match v {
                ValueRef::One(s) => ContextValue::One(s.to_owned()),
                ValueRef::Many(vs) => ContextValue::Many(vs.map(str::to_owned).collect()),
            };
            (k.to_owned(), v)
        })
        .collect()
}

/// A principal's keys with the request keys added.
pub(super) fn merged(principal: &Context, request: &[(String, ContextValue)]) -> Context {
    let mut c = principal.clone();
    for (k, v) in request {
        c.insert(k, v.clone());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_for_users_and_roles() {
        let tags = [("team".to_owned(), "blue".to_owned())];
        let user = principal_context(&Who {
            entity: Entity::User,
            arn: "arn:aws:iam::111111111111:user/dev/alice",
            account: "111111111111",
            id: Some("AIDAALICE"),
            tags: &tags,
        });
        assert_eq!(user.single("aws:username"), Some("alice"));
        assert_eq!(user.single("aws:userid"), Some("AIDAALICE"));
        assert_eq!(user.single("aws:principaltag/team"), Some("blue"));
        assert_eq!(user.single("aws:principaltype"), Some("User"));
        let role = principal_context(&Who {
            entity: Entity::Role,
            arn: "arn:aws:iam::111111111111:role/Dev",
            account: "111111111111",
            id: Some("AROADEV"),
            tags: &[],
        });
        assert_eq!(role.single("aws:username"), None);
        assert_eq!(
            role.single("aws:userid"),
            Some("AROADEV:latch-effective-access")
        );
        assert_eq!(
            role.single("aws:principalarn"),
            Some("arn:aws:iam::111111111111:role/Dev")
        );
        let mut asked = Context::default();
        asked.insert("aws:PrincipalTag/team", ContextValue::One("red".into()));
        asked.insert("aws:SourceIp", ContextValue::One("10.0.0.1".into()));
        let m = merged(&user, &request_keys(&asked));
        assert_eq!(m.single("aws:principaltag/team"), Some("blue"));
        assert_eq!(m.single("aws:sourceip"), Some("10.0.0.1"));
        assert_eq!(
            caller_arn(Entity::Role, "arn:aws:iam::1:role/p/Dev", "aws", "1"),
            "arn:aws:sts::1:assumed-role/Dev/latch-effective-access"
        );
    }
}
