//! The iam-users provisioner against moto, as the Provisioner contract
//! asks: each kind granted and revoked idempotently (already-granted and
//! already-revoked reported apart), the time bound written into AWS and
//! never shortened, and what cannot work failing permanently with the
//! thing named. Latch's calls run with enforcement on.

use std::time::Duration;

use latch_core::access::provision::{GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::Timestamp;
use serde_json::Value;

use crate::crash::{Estate as _, IamUsers};

const ALICE: &str = "alice@acme.io";
const T0: Timestamp = Timestamp(1_763_849_000_000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_granted_and_revoked_idempotently_and_bounded_in_time() {
    let e = IamUsers::new().await;
    let (w, org_id) = (&e.w, e.org_id.clone());
    let p = e.provisioner(&w.endpoint);
    w.enforce().unwrap();

    let spec = |kind: Kind, name: &str, level: Option<Level>, hours: u64| GrantSpec {
        org_id: org_id.clone(),
        user_id: "u-alice".into(),
        email: ALICE.into(),
        target: Target { integration: "aws".into(), account: w.customer_account.clone(), kind, name: name.into(), level },
        expires_at: T0.plus(Duration::from_secs(hours * 3600)),
    };
    let inline = |applied: &Value| applied["policy_name"].as_str().unwrap().to_owned();
    let read = |name: String| {
        let iam = w.customer_iam();
        let w = &w;
        async move {
            w.relax().unwrap();
            let doc = iam.get_user_policy().user_name(ALICE).policy_name(name).send().await.ok().map(|o| o.policy_document);
            w.enforce().unwrap();
            doc.map(|d| serde_json::from_str::<Value>(&latch_aws::trust::decode_document(&d)).unwrap())
        }
    };

    for (kind, name, level) in [(Kind::Role, "Admin", None), (Kind::Policy, "ReadReports", None), (Kind::Resource, "arn:aws:s3:::reports", Some(Level::Read))] {
        let GrantOutcome::Granted(applied) = p.grant(&spec(kind, name, level, 2)).await.unwrap() else { panic!("{name}: not fresh") };
        let doc = read(inline(&applied.0)).await.expect("the grant is an inline user policy");
        assert_eq!(doc["Statement"][0]["Condition"]["DateLessThan"]["aws:CurrentTime"], "2025-11-23T00:03:20Z", "{name}: AWS itself ends it");
        // Again with a shorter end (an overlapping grant): already granted, and the bound is kept.
        assert!(matches!(p.grant(&spec(kind, name, level, 1)).await.unwrap(), GrantOutcome::AlreadyGranted(_)), "{name}");
        assert_eq!(read(inline(&applied.0)).await.unwrap(), doc, "{name}: a bound is never shortened");
        // Again with a later end: the bound moves.
        assert!(matches!(p.grant(&spec(kind, name, level, 3)).await.unwrap(), GrantOutcome::AlreadyGranted(_)), "{name}");
        let later = read(inline(&applied.0)).await.unwrap();
        assert_eq!(later["Statement"][0]["Condition"]["DateLessThan"]["aws:CurrentTime"], "2025-11-23T01:03:20Z", "{name}");
        assert_eq!(p.revoke(&spec(kind, name, level, 3), &applied).await.unwrap(), RevokeOutcome::Revoked, "{name}");
        assert!(read(inline(&applied.0)).await.is_none(), "{name}: removed");
        assert_eq!(p.revoke(&spec(kind, name, level, 3), &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked, "{name}");
    }

    let group = spec(Kind::Group, "oncall", None, 1);
    let GrantOutcome::Granted(applied) = p.grant(&group).await.unwrap() else { panic!("group: not fresh") };
    assert!(matches!(p.grant(&group).await.unwrap(), GrantOutcome::AlreadyGranted(_)));
    assert_eq!(p.revoke(&group, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert_eq!(p.revoke(&group, &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked);

    // What cannot work fails for good, naming the thing.
    let permanent = |r: Result<GrantOutcome, ProvisionError>| match r {
        Err(ProvisionError::Permanent(m)) => m,
        other => panic!("expected a permanent failure, got {other:?}"),
    };
    assert!(permanent(p.grant(&spec(Kind::Role, "Nope", None, 1)).await).contains("role `Nope` not found"));
    assert!(permanent(p.grant(&spec(Kind::Role, "BobOnly", None, 1)).await).contains("trust policy of role `BobOnly`"));
    assert!(permanent(p.grant(&spec(Kind::PermissionSet, "ReadOnly", None, 1)).await).contains("permission sets"));
    assert!(permanent(p.grant(&spec(Kind::Resource, "arn:aws:rds:us-east-1:1:db:x", Some(Level::Read), 1)).await).contains("rds:db"));
    let mut stranger = spec(Kind::Role, "Admin", None, 1);
    stranger.email = "carol@acme.io".into();
    assert!(permanent(p.grant(&stranger).await).contains("no IAM user named `carol@acme.io`"));
}
