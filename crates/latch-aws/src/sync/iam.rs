//! IAM: users, groups, roles and managed policies with their attachments,
//! inline policies and tags (one paginated `GetAccountAuthorizationDetails`
//! stream), the credential report (passwords, MFA, access keys and their
//! last use), and the account's aliases.

use std::time::Duration;

use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, Tag};
use latch_core::inventory::Item;
use serde_json::{json, Map, Value};

use super::retry::with_backoff;
use super::{document, time, Sink, Stop};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

/// Items per page (the API allows up to 1000; 500 keeps peak memory down).
const PAGE: i32 = 500;

fn tags(t: &[Tag]) -> Value {
    Value::Object(t.iter().map(|t| (t.key.clone(), Value::String(t.value.clone()))).collect::<Map<_, _>>())
}

fn inline(list: &[PolicyDetail]) -> Value {
    Value::Array(list.iter().map(|p| json!({"name": p.policy_name(), "document": document(p.policy_document())})).collect())
}

fn attached(list: &[AttachedPolicy]) -> Value {
    Value::Array(list.iter().filter_map(|p| p.policy_arn().map(|a| Value::String(a.to_owned()))).collect())
}

pub(super) async fn authorization_details(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let mut marker = sink.marker("iam").await;
    loop {
        let m = marker.clone();
        let page = with_backoff(|| {
            let m = m.clone();
            async move { c.iam.get_account_authorization_details().max_items(PAGE).set_marker(m).send().await.map_err(|e| classify("iam:GetAccountAuthorizationDetails", e).1) }
        })
        .await?;
        let mut items = Vec::new();
        for u in page.user_detail_list() {
            let Some(arn) = u.arn() else { continue };
            items.push(Item {
                kind: "iam-user".into(),
                id: arn.to_owned(),
                data: json!({
                    "name": u.user_name(), "id": u.user_id(), "path": u.path(), "created": time(u.create_date()),
                    "tags": tags(u.tags()), "groups": u.group_list(), "inline_policies": inline(u.user_policy_list()),
                    "attached_policies": attached(u.attached_managed_policies()),
                    "permissions_boundary": u.permissions_boundary().and_then(|b| b.permissions_boundary_arn()),
                }),
            });
        }
        for g in page.group_detail_list() {
            let Some(arn) = g.arn() else { continue };
            items.push(Item {
                kind: "iam-group".into(),
                id: arn.to_owned(),
                data: json!({
                    "name": g.group_name(), "id": g.group_id(), "path": g.path(), "created": time(g.create_date()),
                    "inline_policies": inline(g.group_policy_list()), "attached_policies": attached(g.attached_managed_policies()),
                }),
            });
        }
        for r in page.role_detail_list() {
            let Some(arn) = r.arn() else { continue };
            items.push(Item {
                kind: "iam-role".into(),
                id: arn.to_owned(),
                data: json!({
                    "name": r.role_name(), "id": r.role_id(), "path": r.path(), "created": time(r.create_date()),
                    "trust_policy": document(r.assume_role_policy_document()), "tags": tags(r.tags()),
                    "inline_policies": inline(r.role_policy_list()), "attached_policies": attached(r.attached_managed_policies()),
                    "permissions_boundary": r.permissions_boundary().and_then(|b| b.permissions_boundary_arn()),
                    "last_used": time(r.role_last_used().and_then(|l| l.last_used_date())),
                }),
            });
        }
        for p in page.policies() {
            let Some(arn) = p.arn() else { continue };
            let default = p.policy_version_list().iter().find(|v| v.is_default_version());
            items.push(Item {
                kind: "iam-policy".into(),
                id: arn.to_owned(),
                data: json!({
                    "name": p.policy_name(), "id": p.policy_id(), "path": p.path(), "attachments": p.attachment_count(),
                    "default_version": p.default_version_id(), "document": document(default.and_then(|v| v.document())),
                }),
            });
        }
        let next = if page.is_truncated() { page.marker().map(str::to_owned) } else { None };
        sink.page("iam", items, next.as_deref()).await?;
        match next {
            Some(n) => marker = Some(n),
            None => return Ok(()),
        }
    }
}

pub(super) async fn credential_report(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    // AWS builds the report asynchronously: ask until it is complete.
    let mut complete = false;
    for _ in 0..60 {
        let out = with_backoff(|| async { c.iam.generate_credential_report().send().await.map_err(|e| classify("iam:GenerateCredentialReport", e).1) }).await?;
        if out.state().map(|s| s.as_str()) == Some("COMPLETE") {
            complete = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if !complete {
        return Err(Stop::Aws(AwsError::Unavailable("iam:GenerateCredentialReport: the report was not ready within a minute".into())));
    }
    let out = with_backoff(|| async { c.iam.get_credential_report().send().await.map_err(|e| classify("iam:GetCredentialReport", e).1) }).await?;
    let bytes = out.content().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    let items = parse_report(&bytes).map_err(|e| Stop::Aws(AwsError::Refused { action: "iam:GetCredentialReport".into(), code: "Unreadable".into(), message: e }))?;
    sink.page("credential-report", items, None).await?;
    Ok(())
}

/// The credential report's CSV, one item per user (keyed by the user's ARN).
fn parse_report(csv_bytes: &[u8]) -> Result<Vec<Item>, String> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let mut items = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        let mut data = Map::new();
        for (h, v) in headers.iter().zip(row.iter()) {
            data.insert(h.to_owned(), Value::String(v.to_owned()));
        }
        let Some(arn) = data.get("arn").and_then(Value::as_str).map(str::to_owned) else { continue };
        items.push(Item { kind: "credential".into(), id: arn, data: Value::Object(data) });
    }
    Ok(items)
}

pub(super) async fn aliases(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let out = with_backoff(|| async { c.iam.list_account_aliases().send().await.map_err(|e| classify("iam:ListAccountAliases", e).1) }).await?;
    let item = Item { kind: "account-aliases".into(), id: c.account_id.clone(), data: json!({"aliases": out.account_aliases()}) };
    sink.page("aliases", vec![item], None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_report;

    #[test]
    fn the_credential_report_is_read_as_csv_with_quoted_names() {
        let csv = "user,arn,password_enabled,mfa_active,access_key_1_active,access_key_1_last_used_date\n\
                   <root_account>,arn:aws:iam::111111111111:root,not_supported,true,false,N/A\n\
                   \"a,b\",\"arn:aws:iam::111111111111:user/a,b\",true,false,true,2026-11-01T00:00:00+00:00\n";
        let items = parse_report(csv.as_bytes()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].id, "arn:aws:iam::111111111111:user/a,b");
        assert_eq!(items[1].data["user"], "a,b");
        assert_eq!(items[1].data["access_key_1_last_used_date"], "2026-11-01T00:00:00+00:00");
    }
}
