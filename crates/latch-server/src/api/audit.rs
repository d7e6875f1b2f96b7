//! Reading the audit chain (admins). Verification happens in the client,
//! with the same chain code, so a compromised server cannot vouch for itself.

use axum::extract::{State};
use latch_core::audit::AuditRecord;
use latch_core::model::Scope;
use serde::{Deserialize, Serialize};

use crate::api::openapi::AuthErrors;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

/// Query of `GET /v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Records with a `seq` greater than this (0: from the start).
    #[serde(default)]
    after: i64,
    /// At most this many records (default 500, clamped to 1..=5000).
    #[serde(default)]
    limit: Option<i64>,
}

/// The chain's head: the last record's position and hash, kept apart from
/// the records so that deleting the newest ones is detected.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Head {
    /// The last record's `seq`.
    seq: i64,
    /// The last record's `hash`.
    hash: String,
}

/// A page of records, oldest first, with the head.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The records, by `seq`.
    records: Vec<AuditRecord>,
    /// The chain's head; null while the chain is empty.
    #[schema(required = true)]
    head: Option<Head>,
}

/// `GET /v1/audit?after=SEQ&limit=N`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "get_audit_page",
    tag = "audit",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's org's audit chain. Verify it client-side (`latch admin audit verify`).", body = Page),
        (status = 400, description = "A query parameter is malformed or unknown. This rejection comes from the framework: its body is plain text, not an `ErrorBody`.", content_type = "text/plain", body = String),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn page(State(state): State<AppState>, caller: Caller, Query(q): Query<PageQuery>) -> ApiResult<axum::Json<Page>> {
    caller.require(Scope::Admin)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let records = state.store.audit_page(&caller.org_id, q.after, limit).await?;
    let head = state.store.audit_head(&caller.org_id).await?.map(|(seq, hash)| Head { seq, hash });
    Ok(axum::Json(Page { records, head }))
}
