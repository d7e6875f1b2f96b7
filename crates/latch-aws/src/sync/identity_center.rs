//! Identity Center: the instance, its users, groups with their members,
//! permission sets with their policies, and account assignments. The stage
//! is written in pages but restarts from its beginning after a crash (its
//! lists are small next to IAM's, and every write is idempotent).

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use latch_core::inventory::Item;
use serde_json::json;

use super::retry::{all_pages, with_backoff};
use super::{document, Sink, Stop};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Calls in flight at once within the stage.
const CONCURRENCY: usize = 8;

pub(super) async fn sync(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let out = with_backoff(|| async { c.sso_admin.list_instances().send().await.map_err(|e| classify("sso:ListInstances", e).1) }).await?;
    let Some(instance) = out.instances().first() else {
        // No instance: nothing to sync (and any earlier items vanish).
        return Ok(());
    };
    let (Some(ins), Some(store)) = (instance.instance_arn(), instance.identity_store_id()) else { return Ok(()) };
    sink.page("identity-center", vec![Item { kind: "ic-instance".into(), id: ins.to_owned(), data: json!({"identity_store_id": store}) }], None).await?;
    users(c, sink, store).await?;
    groups(c, sink, store).await?;
    permission_sets(c, sink, ins).await
}

async fn users(c: &Clients, sink: &Sink, store: &str) -> Result<(), Stop> {
    let mut token: Option<String> = None;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move { c.identity_store.list_users().identity_store_id(store).set_next_token(t).send().await.map_err(|e| classify("identitystore:ListUsers", e).1) }
        })
        .await?;
        let items: Vec<Item> = page
            .users()
            .iter()
            .map(|u| Item {
                kind: "ic-user".into(),
                id: u.user_id().to_owned(),
                data: json!({
                    "user_name": u.user_name(), "display_name": u.display_name(),
                    "emails": u.emails().iter().filter_map(|e| e.value()).collect::<Vec<_>>(),
                }),
            })
            .collect();
        sink.page("identity-center", items, None).await?;
        match page.next_token() {
            Some(n) => token = Some(n.to_owned()),
            None => return Ok(()),
        }
    }
}

async fn groups(c: &Clients, sink: &Sink, store: &str) -> Result<(), Stop> {
    let mut token: Option<String> = None;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move { c.identity_store.list_groups().identity_store_id(store).set_next_token(t).send().await.map_err(|e| classify("identitystore:ListGroups", e).1) }
        })
        .await?;
        let groups: Vec<(String, Option<String>)> = page.groups().iter().map(|g| (g.group_id().to_owned(), g.display_name().map(str::to_owned))).collect();
        let items: Vec<Item> = stream::iter(groups)
            .map(|(id, name)| async move {
                let members = members(c, store, &id).await?;
                Ok::<_, AwsError>(Item { kind: "ic-group".into(), id, data: json!({"name": name, "members": members}) })
            })
            .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
        sink.page("identity-center", items, None).await?;
        match page.next_token() {
            Some(n) => token = Some(n.to_owned()),
            None => return Ok(()),
        }
    }
}

async fn members(c: &Clients, store: &str, group: &str) -> Result<Vec<String>, AwsError> {
    all_pages(|t| async move {
        let page = c
            .identity_store
            .list_group_memberships()
            .identity_store_id(store)
            .group_id(group)
            .set_next_token(t)
            .send()
            .await
            .map_err(|e| classify("identitystore:ListGroupMemberships", e).1)?;
        let ids = page
            .group_memberships()
            .iter()
            .filter_map(|m| match m.member_id() {
                Some(aws_sdk_identitystore::types::MemberId::UserId(id)) => Some(id.clone()),
                _ => None,
            })
            .collect();
        Ok((ids, page.next_token().map(str::to_owned)))
    })
    .await
}

async fn permission_sets(c: &Clients, sink: &Sink, ins: &str) -> Result<(), Stop> {
    let arns: Vec<String> = all_pages(|t| async move {
        let page = c.sso_admin.list_permission_sets().instance_arn(ins).set_next_token(t).send().await.map_err(|e| classify("sso:ListPermissionSets", e).1)?;
        Ok((page.permission_sets().to_vec(), page.next_token().map(str::to_owned)))
    })
    .await?;
    let sets: Vec<Vec<Item>> =
        stream::iter(arns).map(|ps| async move { permission_set(c, ins, &ps).await }).buffer_unordered(CONCURRENCY).try_collect().await?;
    for items in sets {
        sink.page("identity-center", items, None).await?;
    }
    Ok(())
}

/// One permission set's item and its assignments' items.
async fn permission_set(c: &Clients, ins: &str, ps: &str) -> Result<Vec<Item>, AwsError> {
    let sso = &c.sso_admin;
    let described = with_backoff(|| async {
        sso.describe_permission_set().instance_arn(ins).permission_set_arn(ps).send().await.map_err(|e| classify("sso:DescribePermissionSet", e).1)
    })
    .await?;
    let managed = with_backoff(|| async {
        sso.list_managed_policies_in_permission_set()
            .instance_arn(ins)
            .permission_set_arn(ps)
            .send()
            .await
            .map_err(|e| classify("sso:ListManagedPoliciesInPermissionSet", e).1)
    })
    .await?;
    let inline = with_backoff(|| async {
        sso.get_inline_policy_for_permission_set()
            .instance_arn(ins)
            .permission_set_arn(ps)
            .send()
            .await
            .map_err(|e| classify("sso:GetInlinePolicyForPermissionSet", e).1)
    })
    .await?;
    let set = described.permission_set();
    let mut items = vec![Item {
        kind: "permission-set".into(),
        id: ps.to_owned(),
        data: json!({
            "name": set.and_then(|s| s.name()), "description": set.and_then(|s| s.description()),
            "session_duration": set.and_then(|s| s.session_duration()),
            "managed_policies": managed.attached_managed_policies().iter().filter_map(|p| p.arn()).collect::<Vec<_>>(),
            "inline_policy": inline.inline_policy().filter(|p| !p.is_empty()).map(|p| document(Some(p))),
        }),
    }];
    // Every account the set is provisioned to (the list pages).
    let accounts: Vec<String> = all_pages(|t| async move {
        let page = sso
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(ins)
            .permission_set_arn(ps)
            .set_next_token(t)
            .send()
            .await
            .map_err(|e| classify("sso:ListAccountsForProvisionedPermissionSet", e).1)?;
        Ok((page.account_ids().to_vec(), page.next_token().map(str::to_owned)))
    })
    .await?;
    for account in &accounts {
        let assignments = all_pages(|t| async move {
            let page = sso
                .list_account_assignments()
                .instance_arn(ins)
                .account_id(account)
                .permission_set_arn(ps)
                .set_next_token(t)
                .send()
                .await
                .map_err(|e| classify("sso:ListAccountAssignments", e).1)?;
            Ok((page.account_assignments().to_vec(), page.next_token().map(str::to_owned)))
        })
        .await?;
        for a in assignments {
            let (Some(kind), Some(principal)) = (a.principal_type(), a.principal_id()) else { continue };
            items.push(Item {
                kind: "assignment".into(),
                id: format!("{account}/{ps}/{}/{principal}", kind.as_str()),
                data: json!({"account": account, "permission_set": ps, "principal_type": kind.as_str(), "principal_id": principal}),
            });
        }
    }
    Ok(items)
}
