//! Connected AWS accounts: one ExternalId per org x account that survives
//! re-installs, org scoping, lookups by alias, verify results.

use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus, UserLookup};
use latch_core::store::{IntegrationStore, OrgStore, StoreError};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn account(org: &str, id: &str, external_id: &str) -> AwsIntegration {
    AwsIntegration {
        org_id: org.into(),
        account_id: id.into(),
        alias: Some(format!("alias-{id}")),
        mode: AwsMode::IamUsers,
        user_lookup: UserLookup::Tag("Email".into()),
        inventory: false,
        organizations: false,
        role_name: "LatchIntegration".into(),
        external_id: external_id.into(),
        sso_start_url: None,
        federation: latch_core::integration::FederationProtocol::Oidc,
        status: IntegrationStatus::Pending,
        missing: vec![],
        verified_at: None,
        created_at: T0,
    }
}

async fn aws_integrations_keep_their_external_id_and_org(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let first = s.put_aws_integration(&account(&a.id, "111111111111", "ext-a-1")).await.unwrap();
    assert_eq!(first, account(&a.id, "111111111111", "ext-a-1"));
    // The same account in another org is another integration with its own id.
    s.put_aws_integration(&account(&b.id, "111111111111", "ext-b-1")).await.unwrap();
    assert!(s.aws_integration(&b.id, "alias-111111111111").await.unwrap().is_some_and(|i| i.external_id == "ext-b-1"));

    // Verified, then re-installed with the same components: still installed,
    // and the ExternalId issued first is kept.
    s.set_aws_status(&a.id, "111111111111", IntegrationStatus::Installed, &[], T0.plus(std::time::Duration::from_secs(5))).await.unwrap();
    let mut again = account(&a.id, "111111111111", "ext-a-2");
    again.alias = Some("prod".into());
    again.sso_start_url = Some("https://acme.awsapps.com/start".into());
    let kept = s.put_aws_integration(&again).await.unwrap();
    assert_eq!(kept.external_id, "ext-a-1");
    assert_eq!(kept.sso_start_url.as_deref(), Some("https://acme.awsapps.com/start"));
    assert_eq!(kept.status, IntegrationStatus::Installed);
    assert_eq!(kept.verified_at, Some(T0.plus(std::time::Duration::from_secs(5))));
    assert_eq!(s.aws_integration(&a.id, "prod").await.unwrap().unwrap().account_id, "111111111111");

    // Changing what the role must allow sends it back to pending.
    again.inventory = true;
    let changed = s.put_aws_integration(&again).await.unwrap();
    assert_eq!(changed.status, IntegrationStatus::Pending);
    assert!(changed.inventory);
    // So does changing how a federated account trusts Latch; it is kept.
    s.set_aws_status(&a.id, "111111111111", IntegrationStatus::Installed, &[], T0).await.unwrap();
    again.federation = latch_core::integration::FederationProtocol::Saml;
    let saml = s.put_aws_integration(&again).await.unwrap();
    assert_eq!((saml.federation, saml.status), (latch_core::integration::FederationProtocol::Saml, IntegrationStatus::Pending));

    s.set_aws_status(&a.id, "111111111111", IntegrationStatus::Pending, &["iam:ListUsers".into(), "tag:GetResources".into()], T0).await.unwrap();
    let listed = s.list_aws_integrations(&a.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].missing, vec!["iam:ListUsers".to_owned(), "tag:GetResources".to_owned()]);

    // Org isolation: org B cannot see, verify or delete org A's record by any name.
    assert!(s.aws_integration(&b.id, "prod").await.unwrap().is_none());
    s.delete_aws_integration(&b.id, "111111111111").await.unwrap();
    assert!(s.aws_integration(&a.id, "111111111111").await.unwrap().is_some());
    assert!(matches!(s.delete_aws_integration(&b.id, "111111111111").await, Err(StoreError::NotFound)));
    assert!(matches!(s.set_aws_status(&b.id, "222222222222", IntegrationStatus::Installed, &[], T0).await, Err(StoreError::NotFound)));
    // Two accounts of one org cannot share an alias.
    let mut clash = account(&a.id, "222222222222", "ext-a-3");
    clash.alias = Some("prod".into());
    assert!(matches!(s.put_aws_integration(&clash).await, Err(StoreError::Conflict)));
}


async fn signing_keys_keep_the_first_and_stay_in_their_org(s: SqlStore) {
    use latch_core::store::SigningKeyStore;
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    assert!(s.signing_key(&a.id).await.unwrap().is_none());
    assert_eq!(s.put_signing_key(&a.id, "k1", "pem-1", T0).await.unwrap(), ("k1".to_owned(), "pem-1".to_owned()));
    // A second replica generating at the same time keeps the first key.
    assert_eq!(s.put_signing_key(&a.id, "k2", "pem-2", T0).await.unwrap(), ("k1".to_owned(), "pem-1".to_owned()));
    assert!(s.signing_key(&b.id).await.unwrap().is_none());
}

crate::conformance!(aws_integrations_keep_their_external_id_and_org, signing_keys_keep_the_first_and_stay_in_their_org);
