//! Resource-based policies, for effective access: S3 bucket policies, SQS
//! queue policies, SNS topic policies, KMS key policies, Lambda function
//! policies and Secrets Manager secret policies, as `resource-policy` items
//! keyed by the resource's ARN, with the service (`s3`, `sqs`, `sns`, `kms`,
//! `lambda`, `secretsmanager`) and the owning account (S3 ARNs carry none;
//! the others' ARNs say it). Resources without a policy are left out.
//!
//! One stage per service ([`STAGES`]; S3's keeps the name
//! `resource-policies` it had alone, so a saved cursor still reads), each
//! resumable on its own: its list page marker is saved after each page. S3 lists every bucket (the list is
//! global) and reads each policy in the bucket's region; the other services
//! are regional and are read in the configured region only, as the tagging
//! API is.
//!
//! Every stage has one shape ([`pages`]): list a page, read the page's
//! policies a few at a time, write the page's items and its marker.

mod kms;
mod lambda;
mod s3;
mod secrets;
mod sns;
mod sqs;

use std::future::Future;

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use latch_core::inventory::Item;
use serde_json::{json, Value};

use super::retry::with_backoff;
use super::{Sink, Stop};
use crate::error::{AwsError, Failure};
use crate::factory::{account_of, Clients};

/// The stages, one per service, in a stable order.
pub(super) const STAGES: [&str; 6] = ["resource-policies", "queue-policies", "topic-policies", "key-policies", "function-policies", "secret-policies"];

/// Policy reads in flight at once within a stage.
const CONCURRENCY: usize = 8;

/// Runs `stage`, one of [`STAGES`].
pub(super) async fn sync(stage: &str, c: &Clients, sink: &Sink) -> Result<(), Stop> {
    match stage {
        "queue-policies" => pages(sink, stage, |t| sqs::list(c, t), |url| sqs::policy(c, url)).await,
        "topic-policies" => pages(sink, stage, |t| sns::list(c, t), |arn| sns::policy(c, arn)).await,
        "key-policies" => pages(sink, stage, |t| kms::list(c, t), |key| kms::policy(c, key)).await,
        "function-policies" => pages(sink, stage, |t| lambda::list(c, t), |arn| lambda::policy(c, arn)).await,
        "secret-policies" => pages(sink, stage, |t| secrets::list(c, t), |arn| secrets::policy(c, arn)).await,
        _ => pages(sink, stage, |t| s3::list(c, t), |bucket| s3::policy(c, bucket)).await,
    }
}

/// One list page: the resources on it, and the marker of the next page.
type Page<R> = (Vec<R>, Option<String>);

/// Lists `stage`'s resources page by page from its saved marker (`list`
/// takes a page's marker), reads each page's policies [`CONCURRENCY`] at a
/// time (`read` gives `None` for a resource without one), and writes each
/// page's items with the next page's marker.
async fn pages<R, L, LF, G, GF>(sink: &Sink, stage: &str, list: L, read: G) -> Result<(), Stop>
where
    L: Fn(Option<String>) -> LF,
    LF: Future<Output = Result<Page<R>, AwsError>>,
    G: Fn(R) -> GF,
    GF: Future<Output = Result<Option<Item>, AwsError>>,
{
    let mut token = sink.marker(stage).await;
    loop {
        let (resources, next) = with_backoff(|| list(token.clone())).await?;
        let items: Vec<Option<Item>> = stream::iter(resources).map(&read).buffered(CONCURRENCY).try_collect().await?;
        let next = next.filter(|t| !t.is_empty());
        sink.page(stage, items.into_iter().flatten().collect(), next.as_deref()).await?;
        match next {
            Some(n) => token = Some(n),
            None => return Ok(()),
        }
    }
}

/// One resource's policy (or what `call` makes of it), read with backoff;
/// `None` when it has none or is gone. `call` sorts its failure
/// (`classify`).
async fn read<T, F, Fut>(call: F) -> Result<Option<T>, AwsError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<T>, (Failure, AwsError)>>,
{
    with_backoff(|| async {
        match call().await {
            Ok(found) => Ok(found),
            Err((Failure::Missing, _)) => Ok(None),
            Err((_, err)) => Err(err),
        }
    })
    .await
}

/// A policy as the API gives it: absent or blank means none.
fn text(policy: Option<&str>) -> Option<String> {
    policy.filter(|p| !p.trim().is_empty()).map(str::to_owned)
}

/// The item of `arn`'s policy `text`, owned by `account` (the ARN's when
/// `None`). A document that is not JSON is kept as its text: the inventory
/// reports it as unreadable.
fn item(service: &str, arn: String, account: Option<&str>, text: &str) -> Item {
    let document = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    let account = account.unwrap_or_else(|| account_of(&arn)).to_owned();
    Item { kind: "resource-policy".into(), id: arn, data: json!({"service": service, "account": account, "document": document}) }
}

/// The item of a resource whose policy Latch may not read: kept, so that
/// effective access knows the policy exists and cannot be taken into
/// account.
fn unreadable(service: &str, arn: String, why: &AwsError) -> Item {
    let account = account_of(&arn).to_owned();
    Item { kind: "resource-policy".into(), id: arn, data: json!({"service": service, "account": account, "document": null, "unreadable": why.to_string()}) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_carry_the_service_the_owner_and_the_document() {
        let arn = "arn:aws:sqs:us-east-1:111111111111:jobs";
        let it = item("sqs", arn.into(), None, r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!((it.kind.as_str(), it.id.as_str()), ("resource-policy", arn));
        assert_eq!(it.data, json!({"service": "sqs", "account": "111111111111", "document": {"Version": "2012-10-17", "Statement": []}}));
        let bucket = item("s3", "arn:aws:s3:::docs".into(), Some("222222222222"), "{not json");
        assert_eq!(bucket.data, json!({"service": "s3", "account": "222222222222", "document": "{not json"}));
    }

    #[test]
    fn a_policy_latch_may_not_read_is_kept_as_unreadable_and_allows_nothing() {
        let key = "arn:aws:kms:us-east-1:111111111111:key/k-1";
        let refused = AwsError::AccessDenied { action: "kms:GetKeyPolicy".into() };
        let it = unreadable("kms", key.into(), &refused);
        assert_eq!((it.data["document"].clone(), it.data["account"].as_str()), (Value::Null, Some("111111111111")));
        // Through effective access: reported, naming the action, and alice's
        // IAM policy grants nothing on the key (fail closed).
        let alice = Item {
            kind: "iam-user".into(),
            id: "arn:aws:iam::111111111111:user/alice".into(),
            data: json!({"name": "alice", "groups": [], "attached_policies": [], "inline_policies": [{"name": "kms", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}}]}),
        };
        let inv = crate::effective::inventory_from_items(&[alice, it]).unwrap();
        assert!(inv.problems().iter().any(|p| p.to_string().contains("kms:GetKeyPolicy")), "{:?}", inv.problems());
        assert!(inv.who_can("kms:Decrypt", key, &latch_iam::eval::Context::default()).unwrap().is_empty());
    }

    #[tokio::test]
    async fn no_policy_and_gone_are_nothing_and_refusals_fail() {
        let denied = || AwsError::AccessDenied { action: "kms:GetKeyPolicy".into() };
        assert_eq!(text(Some("  ")), None);
        assert_eq!(text(None), None);
        assert_eq!(read(|| async { Ok(text(Some("{}"))) }).await, Ok(Some("{}".to_owned())));
        assert_eq!(read::<String, _, _>(|| async { Err((Failure::Missing, AwsError::NotFound { what: "key".into() })) }).await, Ok(None));
        assert_eq!(read::<String, _, _>(|| async { Err((Failure::Denied, denied())) }).await, Err(denied()));
    }
}
