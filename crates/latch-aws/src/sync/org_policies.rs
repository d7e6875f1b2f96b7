//! Organizations' hierarchy and control policies, for effective access:
//! the root (with the policy types enabled on it), the OUs under it and
//! where each account sits (`org-root`, `org-unit`, `org-account`), and the
//! SCPs and RCPs with their documents and the roots, OUs and accounts they
//! are attached to (`org-policy`).
//!
//! Two stages, each resumable: `org-tree` walks the hierarchy breadth first
//! and saves, after every page, the parents still to visit; `org-policies`
//! pages through each policy type and saves the type and page marker.

use std::collections::VecDeque;

use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use latch_core::inventory::Item;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::retry::{all_pages, with_backoff};
use super::{Sink, Stop};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Calls in flight at once within the policies stage.
const CONCURRENCY: usize = 8;

/// The policy types synced, in order.
const TYPES: [PolicyType; 2] = [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy];

/// Where the hierarchy walk is: the parents still to visit (the first is
/// being visited), what of it is being listed, and the page marker.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Walk {
    queue: VecDeque<String>,
    accounts: bool,
    token: Option<String>,
}

pub(super) async fn tree(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    const STAGE: &str = "org-tree";
    let mut walk = match sink.marker(STAGE).await.and_then(|m| serde_json::from_str::<Walk>(&m).ok()) {
        Some(w) => w,
        None => {
            let roots = all_pages(|t| async move {
                let page = c.organizations.list_roots().set_next_token(t).send().await.map_err(|e| classify("organizations:ListRoots", e).1)?;
                Ok((page.roots().to_vec(), page.next_token().map(str::to_owned)))
            })
            .await?;
            let mut walk = Walk::default();
            let items = roots
                .iter()
                .filter_map(|r| {
                    let enabled: Vec<&str> =
                        r.policy_types().iter().filter(|p| p.status() == Some(&PolicyTypeStatus::Enabled)).filter_map(|p| p.r#type()).map(PolicyType::as_str).collect();
                    walk.queue.push_back(r.id()?.to_owned());
                    Some(Item { kind: "org-root".into(), id: r.id()?.to_owned(), data: json!({"arn": r.arn(), "name": r.name(), "policy_types": enabled}) })
                })
                .collect();
            sink.page(STAGE, items, Some(&marker(&walk))).await?;
            walk
        }
    };
    while let Some(parent) = walk.queue.front().cloned() {
        let (p, t) = (parent.as_str(), walk.token.clone());
        let (items, next) = if walk.accounts {
            let page = with_backoff(|| {
                let t = t.clone();
                async move {
                    c.organizations.list_accounts_for_parent().parent_id(p).set_next_token(t).send().await.map_err(|e| classify("organizations:ListAccountsForParent", e).1)
                }
            })
            .await?;
            let items: Vec<Item> = page
                .accounts()
                .iter()
                .filter_map(|a| Some(Item { kind: "org-account".into(), id: a.id()?.to_owned(), data: json!({"parent": p, "name": a.name(), "arn": a.arn()}) }))
                .collect();
            (items, page.next_token().map(str::to_owned))
        } else {
            let page = with_backoff(|| {
                let t = t.clone();
                async move {
                    c.organizations
                        .list_organizational_units_for_parent()
                        .parent_id(p)
                        .set_next_token(t)
                        .send()
                        .await
                        .map_err(|e| classify("organizations:ListOrganizationalUnitsForParent", e).1)
                }
            })
            .await?;
            let items: Vec<Item> = page
                .organizational_units()
                .iter()
                .filter_map(|u| {
                    walk.queue.push_back(u.id()?.to_owned());
                    Some(Item { kind: "org-unit".into(), id: u.id()?.to_owned(), data: json!({"parent": p, "name": u.name(), "arn": u.arn()}) })
                })
                .collect();
            (items, page.next_token().map(str::to_owned))
        };
        match (next, walk.accounts) {
            (Some(n), _) => walk.token = Some(n),
            (None, false) => {
                walk.accounts = true;
                walk.token = None;
            }
            (None, true) => {
                walk.queue.pop_front();
                walk.accounts = false;
                walk.token = None;
            }
        }
        sink.page(STAGE, items, Some(&marker(&walk))).await?;
    }
    Ok(())
}

fn marker<T: Serialize>(state: &T) -> String {
    serde_json::to_string(state).unwrap_or_default()
}

/// Where the policies stage is: the type (index in [`TYPES`]) and page.
#[derive(Debug, Default, Serialize, Deserialize)]
struct At {
    kind: usize,
    token: Option<String>,
}

pub(super) async fn policies(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    const STAGE: &str = "org-policies";
    let mut at = sink.marker(STAGE).await.and_then(|m| serde_json::from_str::<At>(&m).ok()).unwrap_or_default();
    while let Some(kind) = TYPES.get(at.kind) {
        let t = at.token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move { c.organizations.list_policies().filter(kind.clone()).set_next_token(t).send().await.map_err(|e| classify("organizations:ListPolicies", e).1) }
        })
        .await?;
        let ids: Vec<String> = page.policies().iter().filter_map(|p| p.id().map(str::to_owned)).collect();
        let items: Vec<Item> = stream::iter(ids).map(|id| async move { policy(c, &id).await }).buffered(CONCURRENCY).try_collect().await?;
        match page.next_token() {
            Some(n) => at.token = Some(n.to_owned()),
            None => {
                at.kind += 1;
                at.token = None;
            }
        }
        sink.page(STAGE, items, Some(&marker(&at))).await?;
    }
    Ok(())
}

/// One policy's item: its document and where it is attached.
async fn policy(c: &Clients, id: &str) -> Result<Item, AwsError> {
    let out = with_backoff(|| async { c.organizations.describe_policy().policy_id(id).send().await.map_err(|e| classify("organizations:DescribePolicy", e).1) }).await?;
    let targets = all_pages(|t| async move {
        let page = c.organizations.list_targets_for_policy().policy_id(id).set_next_token(t).send().await.map_err(|e| classify("organizations:ListTargetsForPolicy", e).1)?;
        Ok((page.targets().iter().filter_map(|t| t.target_id().map(str::to_owned)).collect(), page.next_token().map(str::to_owned)))
    })
    .await?;
    let p = out.policy();
    let summary = p.and_then(|p| p.policy_summary());
    // The content is the policy's JSON text (not URL-encoded as IAM's).
    let content = p.and_then(|p| p.content()).unwrap_or_default();
    let document = serde_json::from_str(content).unwrap_or_else(|_| serde_json::Value::String(content.to_owned()));
    Ok(Item {
        kind: "org-policy".into(),
        id: id.to_owned(),
        data: json!({
            "arn": summary.and_then(|s| s.arn()), "name": summary.and_then(|s| s.name()),
            "type": summary.and_then(|s| s.r#type()).map(PolicyType::as_str),
            "aws_managed": summary.map(|s| s.aws_managed()), "document": document, "targets": targets,
        }),
    })
}
