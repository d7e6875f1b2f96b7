//! SQS queue policies: the `Policy` attribute of every queue `ListQueues`
//! finds, with the queue's ARN (`QueueArn`).

use aws_sdk_sqs::types::QueueAttributeName;
use latch_core::inventory::Item;

use super::{item, read, text, Page};
use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

/// Queues per `ListQueues` page (at most 1,000).
const PAGE: i32 = 1000;

/// What SQS answers for a queue that is gone (the JSON and query protocols'
/// codes).
const GONE: [&str; 2] = ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];

pub(super) async fn list(c: &Clients, token: Option<String>) -> Result<Page<String>, AwsError> {
    // Without `MaxResults` SQS answers at most 1,000 queues and no token.
    let page = c.sqs.list_queues().max_results(PAGE).set_next_token(token).send().await.map_err(|e| classify("sqs:ListQueues", e).1)?;
    Ok((page.queue_urls().to_vec(), page.next_token().map(str::to_owned)))
}

pub(super) async fn policy(c: &Clients, url: String) -> Result<Option<Item>, AwsError> {
    let url = url.as_str();
    let found = read(|| async {
        let call = c.sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::Policy).attribute_names(QueueAttributeName::QueueArn);
        let out = call.send().await.map_err(|e| gone(classify("sqs:GetQueueAttributes", e)))?;
        let attr = |name: &QueueAttributeName| out.attributes().and_then(|a| a.get(name)).map(String::as_str);
        Ok(attr(&QueueAttributeName::QueueArn).zip(text(attr(&QueueAttributeName::Policy))).map(|(arn, policy)| (arn.to_owned(), policy)))
    })
    .await?;
    Ok(found.map(|(arn, policy)| item("sqs", arn, None, &policy)))
}

/// A refusal saying the queue is gone counts as missing.
fn gone((failure, err): (Failure, AwsError)) -> (Failure, AwsError) {
    match err.code() {
        Some(code) if GONE.contains(&code) => (Failure::Missing, err),
        _ => (failure, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_that_is_gone_is_missing() {
        let refused = |code: &str| (Failure::Other, AwsError::Refused { action: "sqs:GetQueueAttributes".into(), code: code.into(), message: String::new() });
        assert_eq!(gone(refused("AWS.SimpleQueueService.NonExistentQueue")).0, Failure::Missing);
        assert_eq!(gone(refused("QueueDoesNotExist")).0, Failure::Missing);
        assert_eq!(gone(refused("InvalidAddress")).0, Failure::Other);
    }
}
