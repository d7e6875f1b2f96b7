//! Resource-based policies, for effective access: every S3 bucket's policy
//! (`resource-policy` items keyed by the bucket's ARN, with the owning
//! account, since S3 ARNs carry none). Buckets without a policy are left
//! out.
//!
//! Resumable: the `ListBuckets` page marker is saved after each page.

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use latch_core::inventory::Item;
use serde_json::json;

use super::retry::with_backoff;
use super::{Sink, Stop};
use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

const STAGE: &str = "resource-policies";
/// Calls in flight at once within the stage.
const CONCURRENCY: usize = 8;
/// Buckets per `ListBuckets` page.
const PAGE: i32 = 500;

pub(super) async fn sync(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let mut token = sink.marker(STAGE).await;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move { c.s3.list_buckets().max_buckets(PAGE).set_continuation_token(t).send().await.map_err(|e| classify("s3:ListAllMyBuckets", e).1) }
        })
        .await?;
        let buckets: Vec<(String, Option<String>)> = page.buckets().iter().filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned)))).collect();
        let items: Vec<Option<Item>> =
            stream::iter(buckets).map(|(name, region)| async move { bucket(c, &name, region).await }).buffered(CONCURRENCY).try_collect().await?;
        let next = page.continuation_token().filter(|t| !t.is_empty()).map(str::to_owned);
        sink.page(STAGE, items.into_iter().flatten().collect(), next.as_deref()).await?;
        match next {
            Some(n) => token = Some(n),
            None => return Ok(()),
        }
    }
}

/// One bucket's policy item, if it has a policy. A bucket's policy is read
/// in the bucket's own region.
async fn bucket(c: &Clients, name: &str, region: Option<String>) -> Result<Option<Item>, AwsError> {
    let client = &c.s3_in(region.as_deref());
    let out = with_backoff(|| async move {
        match client.get_bucket_policy().bucket(name).send().await {
            Ok(out) => Ok(out.policy().map(str::to_owned)),
            // No policy (`NoSuchBucketPolicy`), or the bucket went away.
            Err(e) => match classify("s3:GetBucketPolicy", e) {
                (Failure::Missing, _) => Ok(None),
                (_, err) => Err(err),
            },
        }
    })
    .await?;
    let Some(text) = out else { return Ok(None) };
    let document = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Ok(Some(Item {
        kind: "resource-policy".into(),
        id: format!("arn:{}:s3:::{name}", c.partition),
        data: json!({"service": "s3", "account": c.account_id, "document": document}),
    }))
}
