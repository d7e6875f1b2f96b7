//! KMS keys, whose key policy decides whether identity policies count. From
//! "Key policies in AWS KMS" (AWS KMS Developer Guide): "Every KMS key must
//! have exactly one key policy. … Unless the key policy explicitly allows
//! it, you cannot use IAM policies to allow access to a KMS key. Without
//! permission from the key policy, IAM policies that allow permissions have
//! no effect." A key policy allows it by allowing the account: the principal
//! `arn:aws:iam::111122223333:root` or `111122223333` ("allows access to
//! the AWS account and enables IAM policies").
//!
//! The rule applies when the key policy is given; without it (a key the
//! caller knows nothing about) identity policies are evaluated as for any
//! resource.

use super::Request;

/// Whether `req` is a KMS action on a key (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
/// Aliases have no key policy of their own.
pub(super) fn on_key(req: &Request) -> bool {
    let kms = |s: &str| s.eq_ignore_ascii_case("kms");
    // Most requests are not KMS requests: the action says so in four bytes.
    if !req
        .action
        .as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"kms:"))
    {
        return false;
    }
    let service = req.action.split_once(':').map_or("", |(s, _)| s);
    let mut arn = req.resource.splitn(6, ':');
    let (Some("arn"), Some(_), Some(resource_service), Some(_), Some(_), Some(resource)) = (
        arn.next(),
        arn.next(),
        arn.next(),
        arn.next(),
        arn.next(),
        arn.next(),
    ) else {
        return false;
    };
    kms(service) && kms(resource_service) && resource.starts_with("key/")
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::ast::Policy;
    use crate::compile::CompiledPolicy;
    use crate::eval::{evaluate, Context, EvalInput, Outcome, Reason, Request};
    use crate::validate::PolicyType;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
    const BOB: &str = "arn:aws:iam::111122223333:user/bob";
    const CAROL: &str = "arn:aws:iam::444455556666:user/carol";

    fn compiled(doc: &Value, kind: PolicyType) -> CompiledPolicy {
        CompiledPolicy::for_type(Policy::parse(&doc.to_string()).unwrap(), kind)
    }

    /// A key policy of one statement allowing `principal` every KMS action.
    fn key_policy(principal: &str) -> CompiledPolicy {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"}]});
        compiled(&doc, PolicyType::Resource)
    }

    /// `caller` asks for `action` on `resource`, with an identity policy
    /// allowing it and `key` as the key policy.
    fn decide(
        caller: &str,
        action: &str,
        resource: &str,
        key: Option<&CompiledPolicy>,
    ) -> (Outcome, Reason) {
        let allow = compiled(
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
            PolicyType::Identity,
        );
        let req = Request::new(
            action,
            resource,
            Some("111122223333"),
            caller,
            Context::default(),
        )
        .unwrap();
        let identity = [allow];
        let input = EvalInput {
            resource_policy: key,
            ..EvalInput::new(&req, &identity)
        };
        let d = evaluate(&input);
        (d.outcome, d.reason)
    }

    #[test]
    fn iam_policies_count_only_where_the_key_policy_allows_the_account() {
        let root = key_policy("arn:aws:iam::111122223333:root");
        let account = key_policy("111122223333");
        let bob_only = key_policy(BOB);
        let allowed = (Outcome::Allowed, Reason::IdentityAllows);
        // "Allows access to the AWS account and enables IAM policies".
        assert_eq!(decide(ALICE, "kms:Decrypt", KEY, Some(&root)), allowed);
        assert_eq!(decide(ALICE, "kms:Decrypt", KEY, Some(&account)), allowed);
        // No statement for the account: alice's IAM policy has no effect.
        assert_eq!(
            decide(ALICE, "kms:Decrypt", KEY, Some(&bob_only)),
            (Outcome::ImplicitlyDenied, Reason::KeyPolicyNoAllow)
        );
        // bob is named by the key policy itself.
        assert_eq!(
            decide(BOB, "kms:Decrypt", KEY, Some(&bob_only)),
            (Outcome::Allowed, Reason::ResourcePolicyAllows)
        );
        // Another account: its IAM policy and the key policy allowing that account.
        assert_eq!(
            decide(CAROL, "kms:Decrypt", KEY, Some(&bob_only)),
            (Outcome::ImplicitlyDenied, Reason::NoResourcePolicyAllow)
        );
        assert_eq!(
            decide(CAROL, "kms:Decrypt", KEY, Some(&key_policy("444455556666"))),
            allowed
        );
    }

    #[test]
    fn the_rule_is_for_key_policies_of_keys() {
        let bob_only = key_policy(BOB);
        // No key policy given: identity policies as for any resource.
        assert_eq!(
            decide(ALICE, "kms:Decrypt", KEY, None),
            (Outcome::Allowed, Reason::IdentityAllows)
        );
        // An alias is not a key; another service's resource policy is not a key policy.
        let alias = "arn:aws:kms:us-east-1:111122223333:alias/app";
        assert_eq!(
            decide(ALICE, "kms:Decrypt", alias, Some(&bob_only)).0,
            Outcome::Allowed
        );
        let queue = "arn:aws:sqs:us-east-1:111122223333:jobs";
        assert_eq!(
            decide(ALICE, "kms:Decrypt", queue, Some(&bob_only)).0,
            Outcome::Allowed
        );
    }
}
