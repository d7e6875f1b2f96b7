//! S3 bucket policies: every bucket `ListBuckets` finds, its policy read in
//! the bucket's own region. The item names the account synced, since a
//! bucket's ARN carries no account.

use latch_core::inventory::Item;

use super::{item, read, text, Page};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Buckets per `ListBuckets` page.
const PAGE: i32 = 500;

/// A bucket's name and region.
pub(super) type Bucket = (String, Option<String>);

pub(super) async fn list(c: &Clients, token: Option<String>) -> Result<Page<Bucket>, AwsError> {
    let page = c.s3.list_buckets().max_buckets(PAGE).set_continuation_token(token).send().await.map_err(|e| classify("s3:ListAllMyBuckets", e).1)?;
    let buckets = page.buckets().iter().filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned)))).collect();
    Ok((buckets, page.continuation_token().map(str::to_owned)))
}

pub(super) async fn policy(c: &Clients, (name, region): Bucket) -> Result<Option<Item>, AwsError> {
    let client = &c.s3_in(region.as_deref());
    let name = name.as_str();
    // No policy (`NoSuchBucketPolicy`), or the bucket went away: missing.
    let found = read(|| async move {
        let out = client.get_bucket_policy().bucket(name).send().await.map_err(|e| classify("s3:GetBucketPolicy", e))?;
        Ok(text(out.policy()))
    })
    .await?;
    Ok(found.map(|t| item("s3", format!("arn:{}:s3:::{name}", c.partition), Some(&c.account_id), &t)))
}
