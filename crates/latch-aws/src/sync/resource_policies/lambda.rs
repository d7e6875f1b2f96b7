//! Lambda function policies: the policy of every function `ListFunctions`
//! finds (the unqualified function's; aliases and versions have their own,
//! not read). `GetPolicy` answers `ResourceNotFoundException` for a
//! function without one: no item.

use latch_core::inventory::Item;

use super::{item, read, text, Page};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Functions per `ListFunctions` page (at most 50).
const PAGE: i32 = 50;

pub(super) async fn list(c: &Clients, marker: Option<String>) -> Result<Page<String>, AwsError> {
    let page = c.lambda.list_functions().max_items(PAGE).set_marker(marker).send().await.map_err(|e| classify("lambda:ListFunctions", e).1)?;
    Ok((page.functions().iter().filter_map(|f| f.function_arn().map(str::to_owned)).collect(), page.next_marker().map(str::to_owned)))
}

pub(super) async fn policy(c: &Clients, arn: String) -> Result<Option<Item>, AwsError> {
    let function = arn.as_str();
    let found = read(|| async move {
        let out = c.lambda.get_policy().function_name(function).send().await.map_err(|e| classify("lambda:GetPolicy", e))?;
        Ok(text(out.policy()))
    })
    .await?;
    Ok(found.map(|policy| item("lambda", arn, None, &policy)))
}
