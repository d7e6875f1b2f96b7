//! KMS key policies: the `default` key policy (the only name KMS has) of
//! every key `ListKeys` finds, AWS managed keys included. Every key has
//! one.
//!
//! A key policy can keep the account's IAM policies from granting
//! `kms:GetKeyPolicy` on its key: such a key is exactly one whose policy
//! matters, so it is kept, as unreadable (its `document` null, `unreadable`
//! saying why), and the rest of the sync goes on. Effective access reports
//! it, and fails closed on it: identity policies grant nothing on the key.

use latch_core::inventory::Item;

use super::{item, read, text, unreadable, Page};
use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

/// Keys per `ListKeys` page (at most 1,000).
const PAGE: i32 = 1000;

/// The one key policy name KMS has.
const POLICY_NAME: &str = "default";

/// A key's id and ARN.
pub(super) type Key = (String, String);

pub(super) async fn list(c: &Clients, marker: Option<String>) -> Result<Page<Key>, AwsError> {
    let page = c.kms.list_keys().limit(PAGE).set_marker(marker).send().await.map_err(|e| classify("kms:ListKeys", e).1)?;
    let keys = page.keys().iter().filter_map(|k| Some((k.key_id()?.to_owned(), k.key_arn()?.to_owned()))).collect();
    let next = if page.truncated() { page.next_marker().map(str::to_owned) } else { None };
    Ok((keys, next))
}

pub(super) async fn policy(c: &Clients, (id, arn): Key) -> Result<Option<Item>, AwsError> {
    let id = id.as_str();
    let found = read(|| async move {
        match c.kms.get_key_policy().key_id(id).policy_name(POLICY_NAME).send().await {
            Ok(out) => Ok(text(out.policy()).map(Ok)),
            Err(e) => match classify("kms:GetKeyPolicy", e) {
                (Failure::Denied, err) => Ok(Some(Err(err))),
                refused => Err(refused),
            },
        }
    })
    .await?;
    Ok(found.map(|policy| match policy {
        Ok(policy) => item("kms", arn, None, &policy),
        Err(refused) => unreadable("kms", arn, &refused),
    }))
}
