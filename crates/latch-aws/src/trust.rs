//! Reading role trust policies with Latch's own policy engine: does a trust
//! policy let a principal assume the role, with and without a given
//! condition value?

use latch_iam::eval::{Context, ContextValue};
use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, PolicyType, Request};


/// IAM returns policy documents URL-encoded (RFC 3986).
pub fn decode_document(doc: &str) -> String {
    if doc.trim_start().starts_with('{') {
        return doc.to_owned();
    }
    percent_encoding::percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

/// Whether `trust` (a role's trust policy) lets `principal` call
/// `sts:AssumeRole` on `role_arn` with the condition keys in `context`.
///
/// A role's trust policy must allow the caller even within its own account
/// (unlike other resource policies, the caller's own policies cannot stand
/// in for it), so it is evaluated on its own. A trust naming the account
/// (`…:root`) admits every principal of the account, whose own policies
/// then decide.
pub fn admits(trust: &str, role_arn: &str, principal: &str, context: &[(&str, &str)]) -> Result<bool, String> {
    let policy = latch_iam::Policy::parse(trust).map_err(|e| format!("unreadable trust policy: {e}"))?;
    let trust = CompiledPolicy::for_type(policy, PolicyType::Trust);
    let mut ctx = Context::default();
    for (k, v) in context {
        ctx.insert(k, ContextValue::One((*v).to_owned()));
    }
    // Evaluated as a cross-account call whose caller's own policies allow
    // it: the decision is then the trust policy's alone, whether it names
    // the caller or the caller's account.
    let caller_account = crate::factory::account_of(principal);
    let elsewhere = if caller_account == "000000000000" { "000000000001" } else { "000000000000" };
    let request = Request::new("sts:AssumeRole", role_arn, Some(elsewhere), principal, ctx).map_err(|e| e.to_string())?;
    let caller = CompiledPolicy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        .map_err(|e| e.to_string())?;
    let callers = [caller];
    let input = EvalInput { resource_policy: Some(&trust), ..EvalInput::new(&request, &callers) };
    Ok(decide(&input) == Outcome::Allowed)
}

#[cfg(test)]
mod tests {
    use super::{admits, decode_document};

    const ROLE: &str = "arn:aws:iam::111111111111:role/LatchIntegration";
    const LATCH: &str = "arn:aws:iam::999999999999:role/latch";

    #[test]
    fn external_id_conditions_are_read_as_aws_does() {
        let with = crate::catalog::trust_policy(LATCH, "ext-1").to_string();
        assert!(admits(&with, ROLE, LATCH, &[("sts:ExternalId", "ext-1")]).unwrap());
        assert!(!admits(&with, ROLE, LATCH, &[]).unwrap());
        assert!(!admits(&with, ROLE, LATCH, &[("sts:ExternalId", "ext-2")]).unwrap());
        assert!(!admits(&with, ROLE, "arn:aws:iam::888888888888:role/latch", &[("sts:ExternalId", "ext-1")]).unwrap());
        let account_root = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
        assert!(admits(account_root, ROLE, LATCH, &[]).unwrap());
        // Same account: the caller's own policies cannot stand in for the trust.
        let same = "arn:aws:iam::111111111111:user/latch";
        assert!(!admits(&with, ROLE, same, &[]).unwrap());
        let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"sts:AssumeRole"}]}"#;
        assert!(!admits(other, ROLE, same, &[]).unwrap());
        let if_exists = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:role/latch"},"Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"sts:ExternalId":"ext-1"}}}]}"#;
        assert!(admits(if_exists, ROLE, LATCH, &[]).unwrap(), "IfExists lets a missing ExternalId through");
    }

    #[test]
    fn documents_are_url_decoded() {
        assert_eq!(decode_document("%7B%22a%22%3A1%7D"), r#"{"a":1}"#);
        assert_eq!(decode_document(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
    }
}
