//! Effective access over the latest synced inventory of the org's AWS
//! accounts (admins): who can make a request, and what a principal can do,
//! with the statements behind each answer (Latch's policy engine).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use latch_core::model::Scope;
use latch_iam::effective::{AssumePath, Capability, Filter, Finding, Grant, Inventory, OutsideAccess, Outsider, StatementAt};
use latch_iam::eval::Context;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::openapi::AuthErrors;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

/// What an org's inventory was built from: per inventoried account (the
/// connected ones and the members reached through a management account), its
/// latest sync's version, status and items written. A sync that starts,
/// writes a page or ends changes it.
type Built = Vec<(String, i64, String, i64)>;

/// The last inventory built per org, kept while the syncs it was built from
/// are still the latest: repeated questions do not rebuild it (building
/// takes most of a second at 50,000 policies). One entry per org.
#[derive(Default)]
pub struct InventoryCache(std::sync::Mutex<HashMap<String, (Built, Arc<Inventory>)>>);

impl InventoryCache {
    fn get(&self, org_id: &str, built: &Built) -> Option<Arc<Inventory>> {
        let cache = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(org_id).filter(|(b, _)| b == built).map(|(_, inv)| inv.clone())
    }

    fn put(&self, org_id: &str, built: Built, inv: Arc<Inventory>) {
        let mut cache = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert(org_id.to_owned(), (built, inv));
    }
}

/// The engine's inventory of the latest items of every account Latch keeps
/// one of (the connected ones and the members reached through the
/// management account), built again only when some account's sync moved on.
async fn inventory(state: &AppState, org_id: &str) -> ApiResult<Arc<Inventory>> {
    let accounts = latch_aws::member::inventoried_accounts(state.store.as_ref(), org_id).await?;
    // INVARIANT: the syncs are read before the items, so an inventory is
    // never filed under syncs newer than its items.
    let mut built: Built = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let run = state.store.last_sync(org_id, account).await?;
        built.push(match run {
            Some(r) => (account.clone(), r.version, r.status, r.items),
            None => (account.clone(), 0, String::new(), 0),
        });
    }
    if let Some(inv) = state.inventories.get(org_id, &built) {
        return Ok(inv);
    }
    let mut items = Vec::new();
    for account in &accounts {
        items.extend(state.store.items(org_id, account, None).await?);
    }
    let inv = tokio::task::spawn_blocking(move || latch_aws::effective::inventory_from_items(&items))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::Internal(format!("the synced inventory cannot be read: {e}").into()))?;
    let inv = Arc::new(inv);
    state.inventories.put(org_id, built, inv.clone());
    Ok(inv)
}

fn statement(s: &StatementAt) -> Value {
    json!({
        "policy": s.policy.to_string(),
        "kind": s.kind.as_str(),
        "statement": s.statement,
        "sid": s.sid,
        "effect": format!("{:?}", s.effect),
        "via_group": s.via_group,
        "attached_to": s.attached_to,
    })
}

fn statements(list: &[StatementAt]) -> Vec<Value> {
    list.iter().map(statement).collect()
}

fn path(p: &AssumePath) -> Value {
    Value::Array(p.steps.iter().map(|s| json!({"principal": s.principal, "role": s.role, "statements": statements(&s.statements)})).collect())
}

fn finding(f: &Finding) -> Value {
    json!({
        "principal": f.principal,
        "entity": format!("{:?}", f.entity).to_lowercase(),
        "reason": f.reason.to_string(),
        "statements": statements(&f.statements),
        "assumed_by": f.assumed_by.iter().map(path).collect::<Vec<_>>(),
        "caveats": f.caveats.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// A caller outside the inventory, in the shape of a [`finding`].
fn outsider(o: &OutsideAccess) -> Value {
    let (entity, reason) = match o.kind {
        Outsider::Anyone => ("anyone", "the resource policy allows everyone"),
        Outsider::Account => ("outside-account", "the resource policy allows this account, which Latch does not inventory: its principals its own policies allow"),
        Outsider::Principal => ("outside-principal", "the resource policy allows this principal, whose account Latch does not inventory: if its own policies allow it too"),
    };
    json!({
        "principal": o.principal,
        "entity": entity,
        "outside": true,
        "reason": reason,
        "statements": statements(&o.statements),
        "assumed_by": [],
        "caveats": o.caveats.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn grant(g: &Grant) -> Value {
    json!({
        "statement": statement(&g.statement),
        "actions": g.actions, "not_action": g.not_action,
        "resources": g.resources, "not_resource": g.not_resource,
        "conditional": g.conditional,
        "boundary": format!("{:?}", g.boundary).to_lowercase(),
        "narrowed_by": statements(&g.narrowed_by),
    })
}

fn capability(c: &Capability) -> Value {
    match c {
        Capability::Decision(d) => json!({"decision": {
            "principal": d.principal, "via": d.via.as_ref().map(path), "action": d.action, "resource": d.resource,
            "outcome": d.outcome.as_str(), "reason": d.reason.to_string(), "statements": statements(&d.statements),
        }}),
        Capability::Allow(g) => json!({"allow": grant(g)}),
        Capability::AssumeRole(p) => json!({"assume_role": path(p)}),
        Capability::Incomplete(p) => json!({"incomplete": p.to_string()}),
    }
}

/// Query of `GET /v1/iam/who-can`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WhoCanQuery {
    /// `service:Action`.
    action: String,
    /// The resource ARN (`*` for actions without one).
    resource: String,
}

/// `GET /v1/iam/who-can`.
#[utoipa::path(
    get,
    path = "/v1/iam/who-can",
    operation_id = "who_can",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(WhoCanQuery),
    responses(
        (status = 200, description = "Every IAM user and role in the synced inventory that the engine allows to make the request, with the deciding statements and who can assume each role; then the callers outside the inventory the resource's policy lets in (`outside: true`; `entity` is `anyone`, `outside-account` or `outside-principal`), decided on the resource's side.", body = Vec<Object>),
        (status = 400, description = "`invalid_request`: the action or resource cannot make a request.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn who_can(State(state): State<AppState>, caller: Caller, Query(q): Query<WhoCanQuery>) -> ApiResult<axum::Json<Vec<Value>>> {
    caller.require(Scope::Admin)?;
    let inv = inventory(&state, &caller.org_id).await?;
    let found = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, latch_iam::effective::QueryError> {
        let ctx = Context::default();
        let mut found: Vec<Value> = inv.who_can(&q.action, &q.resource, &ctx)?.iter().map(finding).collect();
        found.extend(inv.who_can_from_outside(&q.action, &q.resource, &ctx)?.iter().map(outsider));
        Ok(found)
    })
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    Ok(axum::Json(found))
}

/// Query of `GET /v1/iam/what-can`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WhatCanQuery {
    /// The IAM user or role ARN.
    principal: String,
    /// Only what concerns this action; with `resource`, the engine's exact decision.
    action: Option<String>,
    /// With `action`: the resource ARN.
    resource: Option<String>,
}

/// `GET /v1/iam/what-can`.
#[utoipa::path(
    get,
    path = "/v1/iam/what-can",
    operation_id = "what_can",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(WhatCanQuery),
    responses(
        (status = 200, description = "The principal's allow statements in effect (with boundary fit and overlapping denies), the roles it can assume, exact decisions for a concrete action and resource, and policies that could not be taken into account.", body = Vec<Object>),
        (status = 400, description = "`invalid_request`: the principal is not in the inventory, or the action or resource cannot make a request.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn what_can(State(state): State<AppState>, caller: Caller, Query(q): Query<WhatCanQuery>) -> ApiResult<axum::Json<Vec<Value>>> {
    caller.require(Scope::Admin)?;
    let inv = inventory(&state, &caller.org_id).await?;
    let filter = Filter { action: q.action, resource: q.resource, context: Context::default() };
    let found = tokio::task::spawn_blocking(move || inv.what_can(&q.principal, &filter).map(|c| c.iter().map(capability).collect::<Vec<_>>()))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    Ok(axum::Json(found))
}
