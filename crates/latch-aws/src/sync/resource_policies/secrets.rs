//! Secrets Manager secret policies: the resource policy of every secret
//! `ListSecrets` finds (secrets scheduled for deletion are not listed).

use latch_core::inventory::Item;

use super::{item, read, text, Page};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Secrets per `ListSecrets` page (at most 100).
const PAGE: i32 = 100;

pub(super) async fn list(c: &Clients, token: Option<String>) -> Result<Page<String>, AwsError> {
    let page = c.secrets_manager.list_secrets().max_results(PAGE).set_next_token(token).send().await.map_err(|e| classify("secretsmanager:ListSecrets", e).1)?;
    Ok((page.secret_list().iter().filter_map(|s| s.arn().map(str::to_owned)).collect(), page.next_token().map(str::to_owned)))
}

pub(super) async fn policy(c: &Clients, arn: String) -> Result<Option<Item>, AwsError> {
    let secret = arn.as_str();
    let found = read(|| async move {
        let out = c.secrets_manager.get_resource_policy().secret_id(secret).send().await.map_err(|e| classify("secretsmanager:GetResourcePolicy", e))?;
        Ok(text(out.resource_policy()))
    })
    .await?;
    Ok(found.map(|policy| item("secretsmanager", arn, None, &policy)))
}
