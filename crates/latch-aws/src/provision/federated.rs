//! Federated mode: people reach roles with web identity tokens (or SAML
//! assertions) that Latch, as the OpenID Connect (or SAML) identity provider
//! the account trusts, makes only during an active grant. Nothing is added in AWS to grant: the grant checks the role
//! exists and trusts web identity, and Latch's token gate does the rest. A
//! revoke ends the sessions already issued (a deny on the person's sessions
//! issued before the revoke), as in iam-users mode.

use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, RevokeOutcome};
use latch_core::access::target::Kind;
use latch_core::Timestamp;
use serde_json::{json, Value};

use super::{session, to_provision};
use crate::error::{classify, Failure};
use crate::factory::Clients;
use crate::trust::decode_document;

pub(super) async fn grant(c: &Clients, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    if spec.target.kind != Kind::Role {
        return Err(ProvisionError::Permanent(format!(
            "AWS account `{}` is installed in federated mode, where people assume roles; `{}` cannot be granted\nhelp: request a role",
            c.account_id,
            spec.target.kind.as_str()
        )));
    }
    let name = spec.target.name.as_str();
    let role = match c.iam.get_role().role_name(name).send().await {
        Ok(out) => out.role.ok_or_else(|| ProvisionError::Permanent("IAM returned no role".into()))?,
        Err(e) => {
            return Err(match classify("iam:GetRole", e) {
                (Failure::Missing, _) => ProvisionError::Permanent(format!("role `{name}` not found in AWS account `{}`", c.account_id)),
                (_, err) => to_provision(err),
            })
        }
    };
    let trust: Value = serde_json::from_str(&role.assume_role_policy_document.as_deref().map(decode_document).unwrap_or_default()).unwrap_or_default();
    // Latch's web identity tokens, or its SAML assertions: the role must
    // trust one of the two.
    let trust = trust.to_string();
    let kind = if trust.contains("sts:AssumeRoleWithWebIdentity") {
        "web-identity"
    } else if trust.contains("sts:AssumeRoleWithSAML") {
        "saml"
    } else {
        return Err(ProvisionError::Permanent(format!(
            "the trust policy of role `{name}` allows neither `sts:AssumeRoleWithWebIdentity` nor `sts:AssumeRoleWithSAML`\nhelp: give it the trust policy printed by `latch admin aws install --mode federated` for this role"
        )));
    };
    // Nothing changes in AWS: the trust was already in place.
    Ok(GrantOutcome::AlreadyGranted(Applied(json!({
        "mode": "federated", "kind": kind, "role_name": role.role_name, "role_arn": role.arn, "session_name": spec.email,
    }))))
}

pub(super) async fn revoke(c: &Clients, applied: &Applied, now: Timestamp) -> Result<RevokeOutcome, ProvisionError> {
    let field = |k: &str| applied.0.get(k).and_then(Value::as_str).ok_or_else(|| ProvisionError::Permanent(format!("unreadable grant record: no `{k}` in {}", applied.0)));
    // The token gate closed when the grant ended in Latch; what is left in
    // AWS is the sessions already issued.
    Ok(match session::end_sessions(c, field("role_name")?, field("session_name")?, now).await.map_err(to_provision)? {
        session::Ended::Now => RevokeOutcome::Revoked,
        session::Ended::Already => RevokeOutcome::AlreadyRevoked,
    })
}
