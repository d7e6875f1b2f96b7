//! Reading the audit chain (admins). Verification happens in the client,
//! with the same chain code, so a compromised server cannot vouch for itself.

use axum::extract::{Query, State};
use latch_core::audit::AuditRecord;
use latch_core::model::Scope;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// Query of `GET /v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// The chain's head.
#[derive(Debug, Serialize)]
pub struct Head {
    seq: i64,
    hash: String,
}

/// A page of records, oldest first, with the head.
#[derive(Debug, Serialize)]
pub struct Page {
    records: Vec<AuditRecord>,
    head: Option<Head>,
}

/// `GET /v1/audit?after=SEQ&limit=N`.
pub async fn page(State(state): State<AppState>, caller: Caller, Query(q): Query<PageQuery>) -> ApiResult<axum::Json<Page>> {
    caller.require(Scope::Admin)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let records = state.store.audit_page(&caller.org_id, q.after, limit).await?;
    let head = state.store.audit_head(&caller.org_id).await?.map(|(seq, hash)| Head { seq, hash });
    Ok(axum::Json(Page { records, head }))
}
