//! SNS topic policies: the `Policy` attribute of every topic `ListTopics`
//! finds. Every topic has one (SNS sets a default that lets the owning
//! account's IAM policies grant access), so every topic has an item.

use latch_core::inventory::Item;

use super::{item, read, text, Page};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

pub(super) async fn list(c: &Clients, token: Option<String>) -> Result<Page<String>, AwsError> {
    // SNS pages by 100 topics; the page size is not the caller's to choose.
    let page = c.sns.list_topics().set_next_token(token).send().await.map_err(|e| classify("sns:ListTopics", e).1)?;
    Ok((page.topics().iter().filter_map(|t| t.topic_arn().map(str::to_owned)).collect(), page.next_token().map(str::to_owned)))
}

pub(super) async fn policy(c: &Clients, arn: String) -> Result<Option<Item>, AwsError> {
    let topic = arn.as_str();
    let found = read(|| async move {
        let out = c.sns.get_topic_attributes().topic_arn(topic).send().await.map_err(|e| classify("sns:GetTopicAttributes", e))?;
        Ok(text(out.attributes().and_then(|a| a.get("Policy")).map(String::as_str)))
    })
    .await?;
    Ok(found.map(|policy| item("sns", arn, None, &policy)))
}
