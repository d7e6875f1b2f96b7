//! The tags of what a request names, read from the latest synced inventory,
//! so access policy rules can match on them (`resource = { tags = {…} }`).
//! Something the inventory has not seen carries no tags, so a rule with tag
//! conditions does not cover it.

use std::collections::BTreeMap;

use latch_core::access::target::{Kind, Target};
use latch_core::inventory::Item;
use serde_json::Value;

use crate::error::ApiResult;
use crate::state::AppState;

/// Whether an item is the one a target names.
type Matcher = fn(&Item, &str) -> bool;

/// The inventory kind holding a target's kind, how its id ends, and how to
/// find the item.
fn source(kind: Kind, name: &str) -> Option<(&'static str, String, Matcher)> {
    fn by_name(i: &Item, name: &str) -> bool {
        i.data.get("name").and_then(Value::as_str) == Some(name)
    }
    fn by_arn(i: &Item, arn: &str) -> bool {
        i.id == arn
    }
    match kind {
        // A role's ARN ends with `/NAME`, after its path.
        Kind::Role => Some(("iam-role", format!("/{name}"), by_name)),
        Kind::Resource => Some(("resource", name.to_owned(), by_arn)),
        Kind::PermissionSet | Kind::Group | Kind::Policy => None,
    }
}

/// Tags of one item as a map.
pub fn of(item: &Item) -> BTreeMap<String, String> {
    item.data
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// The tags of `target` in the org's inventory (none if not synced).
pub async fn for_target(state: &AppState, org_id: &str, target: &Target) -> ApiResult<BTreeMap<String, String>> {
    let Some((kind, suffix, matches)) = source(target.kind, &target.name) else { return Ok(BTreeMap::new()) };
    let items = state.store.items_ending(org_id, &target.account, kind, &suffix).await?;
    Ok(items.iter().find(|i| matches(i, &target.name)).map(of).unwrap_or_default())
}
