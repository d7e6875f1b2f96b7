//! Access policies and requests. State changes are conditional updates
//! (`WHERE state = $from`), so of two replicas racing to move a request only
//! one wins, and the loser sees it.

use std::time::Duration;

use async_trait::async_trait;
use latch_core::access::lifecycle::{EndReason, State};
use latch_core::access::request::{Changes, Decision, Effects, Extension, NewRequest, Request, RequestFilter};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::store::{AccessStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::compose::{Arg, Composed};
use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} `{v}` in the database").into())
}

fn end_reason(s: &str) -> Option<EndReason> {
    match s {
        "expired" => Some(EndReason::Expired),
        "relinquished" => Some(EndReason::Relinquished),
        "revoked" => Some(EndReason::Revoked),
        "failed" => Some(EndReason::Failed),
        _ => None,
    }
}

fn end_reason_str(r: EndReason) -> &'static str {
    match r {
        EndReason::Expired => "expired",
        EndReason::Relinquished => "relinquished",
        EndReason::Revoked => "revoked",
        EndReason::Failed => "failed",
    }
}

fn level_str(l: Level) -> &'static str {
    match l {
        Level::Read => "read",
        Level::Write => "write",
        Level::Admin => "admin",
    }
}

const REQUEST_COLS: &str = "id, org_id, requester_id, requester_email, rule_name, policy_version, reason, duration_secs, state, \
     end_reason, break_glass, created_at, pending_until, decided_at, expires_at, failure";

fn request_row(row: &AnyRow) -> StoreResult<Request> {
    let state: String = row.try_get("state").db()?;
    let end: Option<String> = row.try_get("end_reason").db()?;
    let opt_ts = |c: &str| -> StoreResult<Option<Timestamp>> { Ok(row.try_get::<Option<i64>, _>(c).db()?.map(Timestamp)) };
    Ok(Request {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        requester_id: row.try_get("requester_id").db()?,
        requester_email: row.try_get("requester_email").db()?,
        rule: row.try_get("rule_name").db()?,
        policy_version: row.try_get("policy_version").db()?,
        reason: row.try_get("reason").db()?,
        duration: Duration::from_secs(u64::try_from(row.try_get::<i64, _>("duration_secs").db()?).unwrap_or(0)),
        state: State::parse(&state).ok_or_else(|| corrupt("request state", &state))?,
        end_reason: match end {
            Some(e) => Some(end_reason(&e).ok_or_else(|| corrupt("end reason", &e))?),
            None => None,
        },
        break_glass: row.try_get::<i64, _>("break_glass").db()? != 0,
        created_at: Timestamp(row.try_get("created_at").db()?),
        pending_until: Timestamp(row.try_get("pending_until").db()?),
        decided_at: opt_ts("decided_at")?,
        expires_at: opt_ts("expires_at")?,
        failure: row.try_get("failure").db()?,
        targets: Vec::new(),
        decisions: Vec::new(),
    })
}

fn target_row(row: &AnyRow) -> StoreResult<Target> {
    let kind: String = row.try_get("kind").db()?;
    let level: Option<String> = row.try_get("level").db()?;
    Ok(Target {
        integration: row.try_get("integration").db()?,
        account: row.try_get("account").db()?,
        kind: Kind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        name: row.try_get("name").db()?,
        level: level.as_deref().map(|l| match l {
            "write" => Level::Write,
            "admin" => Level::Admin,
            _ => Level::Read,
        }),
    })
}

/// A decision from a row whose reason and time columns are `reason`, `at`.
fn decision_row(row: &AnyRow, reason: &str, at: &str) -> StoreResult<Decision> {
    Ok(Decision {
        approver_id: row.try_get("approver_id").db()?,
        approver_email: row.try_get("approver_email").db()?,
        decision: row.try_get("decision").db()?,
        reason: row.try_get(reason).db()?,
        at: Timestamp(row.try_get(at).db()?),
    })
}

/// The columns of requests `r` joined with their targets `t` and decisions
/// `d` (see [`REQUEST_JOINS`]), read back apart by [`one_request`].
pub(crate) fn request_select() -> String {
    let cols: Vec<String> = REQUEST_COLS.split(", ").map(|c| format!("r.{}", c.trim())).collect();
    format!(
        "{}, t.idx AS t_idx, t.integration, t.account, t.kind, t.name, t.level,
         d.approver_id, d.approver_email, d.decision, d.reason AS d_reason, d.at AS d_at",
        cols.join(", ")
    )
}

/// Joins request `r`'s targets and decisions: a handful of each, so the
/// product stays small. Rows in [`REQUEST_ORDER`].
pub(crate) const REQUEST_JOINS: &str = "LEFT JOIN request_targets t ON t.request_id = r.id LEFT JOIN request_decisions d ON d.request_id = r.id";

/// The order [`one_request`] reads the rows of [`REQUEST_JOINS`] in.
pub(crate) const REQUEST_ORDER: &str = "t.idx, d.at, d.approver_id";

/// One request with its targets and decisions, in one statement.
fn one_request_sql() -> String {
    format!("SELECT {} FROM requests r {REQUEST_JOINS} WHERE r.org_id = $1 AND r.id = $2 ORDER BY {REQUEST_ORDER}", request_select())
}

/// The request in rows of [`request_select`] (`None` if there are none,
/// or the request's columns are null: an outer join found none).
pub(crate) fn one_request(rows: &[AnyRow]) -> StoreResult<Option<Request>> {
    let Some(first) = rows.first() else { return Ok(None) };
    if first.try_get::<Option<String>, _>("id").db()?.is_none() {
        return Ok(None);
    }
    let mut r = request_row(first)?;
    let mut seen_targets: Vec<i64> = Vec::new();
    for row in rows {
        if let Some(idx) = row.try_get::<Option<i64>, _>("t_idx").db()? {
            if !seen_targets.contains(&idx) {
                seen_targets.push(idx);
                r.targets.push(target_row(row)?);
            }
        }
        if row.try_get::<Option<String>, _>("approver_id").db()?.is_some() {
            let d = decision_row(row, "d_reason", "d_at")?;
            if !r.decisions.iter().any(|x| x.approver_id == d.approver_id) {
                r.decisions.push(d);
            }
        }
    }
    // The rows come ordered by target; decisions in time order.
    r.decisions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.approver_id.cmp(&b.approver_id)));
    Ok(Some(r))
}

impl SqlStore {
    /// Loads targets and decisions into requests (two queries for the lot).
    async fn fill(&self, mut requests: Vec<Request>) -> StoreResult<Vec<Request>> {
        if requests.is_empty() {
            return Ok(requests);
        }
        // Placeholders $1..$n for the ids: portable across both engines.
        let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let list = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let q = format!("SELECT request_id, integration, account, kind, name, level FROM request_targets WHERE request_id IN ({list}) ORDER BY request_id, idx");
        let mut query = sqlx::query(&q);
        for id in &ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(&self.read).await.db()? {
            let rid: String = row.try_get("request_id").db()?;
            let t = target_row(&row)?;
            if let Some(r) = requests.iter_mut().find(|r| r.id == rid) {
                r.targets.push(t);
            }
        }
        let q = format!("SELECT request_id, approver_id, approver_email, decision, reason, at FROM request_decisions WHERE request_id IN ({list}) ORDER BY at, approver_id");
        let mut query = sqlx::query(&q);
        for id in &ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(&self.read).await.db()? {
            let rid: String = row.try_get("request_id").db()?;
            let d = decision_row(&row, "reason", "at")?;
            if let Some(r) = requests.iter_mut().find(|r| r.id == rid) {
                r.decisions.push(d);
            }
        }
        Ok(requests)
    }
}

/// Queues the jobs and notices and appends the audit events that follow a change, inside
/// its transaction.
pub(crate) async fn record_effects(tx: &mut sqlx::AnyConnection, org_id: &str, effects: &Effects, now: Timestamp) -> StoreResult<()> {
    for job in &effects.jobs {
        crate::jobs::enqueue_in(tx, job, now).await?;
    }
    crate::webhooks::queue_in(tx, org_id, &effects.notices, now).await?;
    if let Some(lease) = &effects.completes {
        crate::jobs::complete_in(tx, lease, now).await?;
    }
    crate::audit::append_in(tx, org_id, &effects.audit, now).await
}

/// Moves a request from `from` to `to` with `c` inside a transaction
/// (SQLite), recording its decision and effects if it moved; false if it
/// was no longer in `from`, and then nothing is recorded.
pub(crate) async fn move_in(tx: &mut sqlx::AnyConnection, org_id: &str, id: &str, from: State, to: State, c: &Changes, now: Timestamp) -> StoreResult<bool> {
    let n = sqlx::query(
        "UPDATE requests SET state = $4, updated_at = $5,
           end_reason = COALESCE($6, end_reason),
           decided_at = COALESCE($7, decided_at),
           expires_at = COALESCE($8, expires_at),
           break_glass = COALESCE($9, break_glass),
           failure = COALESCE($10, failure)
         WHERE org_id = $1 AND id = $2 AND state = $3",
    )
    .bind(org_id)
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now.millis())
    .bind(c.end_reason.map(end_reason_str))
    .bind(c.decided_at.map(Timestamp::millis))
    .bind(c.expires_at.map(Timestamp::millis))
    .bind(c.break_glass.map(i64::from))
    .bind(c.failure.clone())
    .execute(&mut *tx)
    .await
    .db()?
    .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    if let Some(d) = &c.decision {
        sqlx::query("INSERT INTO request_decisions (request_id, approver_id, approver_email, decision, reason, at) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (request_id, approver_id) DO NOTHING")
            .bind(id)
            .bind(&d.approver_id)
            .bind(&d.approver_email)
            .bind(&d.decision)
            .bind(&d.reason)
            .bind(d.at.millis())
            .execute(&mut *tx)
            .await
            .db()?;
    }
    record_effects(tx, org_id, &c.effects, now).await?;
    Ok(true)
}

/// A person's first decision on a request stands (as in [`move_in`]).
const KEEP_FIRST: &str = "ON CONFLICT (request_id, approver_id) DO NOTHING";

#[async_trait]
impl AccessStore for SqlStore {
    async fn put_policy(&self, org_id: &str, source: &str, actor: &str, now: Timestamp) -> StoreResult<i64> {
        // INVARIANT: the version is computed and inserted in one statement;
        // two concurrent applies collide on the primary key (Conflict) rather
        // than both becoming version N.
        let row = sqlx::query(
            "INSERT INTO policies (org_id, version, source, created_by, created_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM policies WHERE org_id = $1
             RETURNING version",
        )
        .bind(org_id)
        .bind(source)
        .bind(actor)
        .bind(now.millis())
        .fetch_one(&self.write)
        .await
        .db()?;
        self.org_changed(org_id);
        row.try_get("version").db()
    }

    async fn current_policy(&self, org_id: &str) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT version, source FROM policies WHERE org_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(org_id)
            .fetch_optional(&self.read)
            .await
            .db()?;
        row.map(|r| Ok((r.try_get("version").db()?, r.try_get("source").db()?))).transpose()
    }

    async fn policy_version(&self, org_id: &str, version: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT source FROM policies WHERE org_id = $1 AND version = $2")
            .bind(org_id)
            .bind(version)
            .fetch_optional(&self.read)
            .await
            .db()?;
        row.map(|r| r.try_get("source").db()).transpose()
    }

    async fn create_request(&self, org_id: &str, r: &NewRequest, now: Timestamp, effects: &Effects) -> StoreResult<Request> {
        if self.engine == Engine::Postgres {
            return create_postgres(self, org_id, r, now, effects).await;
        }
        let id = r.id.clone();
        let mut tx = self.write.begin().await.db()?;
        sqlx::query(&format!(
            "INSERT INTO requests ({REQUEST_COLS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 0, $10, $11, $12, NULL, NULL, $10)"
        ))
        .bind(&id)
        .bind(org_id)
        .bind(&r.requester_id)
        .bind(&r.requester_email)
        .bind(&r.rule)
        .bind(r.policy_version)
        .bind(&r.reason)
        .bind(i64::try_from(r.duration.as_secs()).unwrap_or(i64::MAX))
        .bind(r.state.as_str())
        .bind(now.millis())
        .bind(r.pending_until.millis())
        .bind((r.state == State::Approved).then_some(now.millis()))
        .execute(&mut *tx)
        .await
        .db()?;
        for (idx, t) in r.targets.iter().enumerate() {
            sqlx::query("INSERT INTO request_targets (request_id, idx, integration, account, kind, name, level) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(i64::try_from(idx).unwrap_or(i64::MAX))
                .bind(&t.integration)
                .bind(&t.account)
                .bind(t.kind.as_str())
                .bind(&t.name)
                .bind(t.level.map(level_str))
                .execute(&mut *tx)
                .await
                .db()?;
        }
        record_effects(&mut tx, org_id, effects, now).await?;
        tx.commit().await.db()?;
        // Exactly what was inserted (the conformance tests read it back).
        Ok(r.created(org_id, now))
    }

    async fn request(&self, org_id: &str, id: &str) -> StoreResult<Option<Request>> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let rows = sqlx::query(SQL.get_or_init(one_request_sql)).bind(org_id).bind(id).fetch_all(&self.write).await.db()?;
        one_request(&rows)
    }

    async fn list_requests(&self, org_id: &str, f: &RequestFilter) -> StoreResult<Vec<Request>> {
        let states: Vec<&str> = f.states.iter().map(|s| s.as_str()).collect();
        // States are a closed set of our own names, so they are inlined.
        let state_clause = if states.is_empty() {
            String::new()
        } else {
            format!(" AND state IN ({})", states.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
        };
        let limit = if f.limit > 0 { f.limit.min(1000) } else { 100 };
        let rows = sqlx::query(&format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE org_id = $1 AND ($2 IS NULL OR requester_id = $2){state_clause}
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(org_id)
        .bind(f.requester_id.clone())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .db()?;
        let requests = rows.iter().map(request_row).collect::<StoreResult<Vec<_>>>()?;
        self.fill(requests).await
    }

    async fn transition(&self, org_id: &str, id: &str, from: State, to: State, c: &Changes, now: Timestamp) -> StoreResult<bool> {
        if self.engine == Engine::Postgres {
            return transition_postgres(self, org_id, id, from, to, c, now).await;
        }
        let mut tx = self.write.begin().await.db()?;
        if !move_in(&mut tx, org_id, id, from, to, c, now).await? {
            return Ok(false);
        }
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn extend(&self, org_id: &str, id: &str, e: &Extension, now: Timestamp) -> StoreResult<bool> {
        if self.engine == Engine::Postgres {
            return extend_postgres(self, org_id, id, e, now).await;
        }
        let mut tx = self.write.begin().await.db()?;
        let n = sqlx::query(
            "UPDATE requests SET expires_at = $4, duration_secs = $5, updated_at = $6
             WHERE org_id = $1 AND id = $2 AND state = 'active' AND expires_at = $3",
        )
        .bind(org_id)
        .bind(id)
        .bind(e.from.millis())
        .bind(e.to.millis())
        .bind(i64::try_from(e.duration.as_secs()).unwrap_or(i64::MAX))
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        record_effects(&mut tx, org_id, &e.effects, now).await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn add_decision(&self, org_id: &str, request_id: &str, d: &Decision) -> StoreResult<()> {
        let n = sqlx::query(
            "INSERT INTO request_decisions (request_id, approver_id, approver_email, decision, reason, at)
             SELECT id, $3, $4, $5, $6, $7 FROM requests WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(request_id)
        .bind(&d.approver_id)
        .bind(&d.approver_email)
        .bind(&d.decision)
        .bind(&d.reason)
        .bind(d.at.millis())
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

/// How many rows the clause `name` of a composed statement changed.
fn count_changed(name: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM {name}")
}

/// The count of [`count_changed`].
fn changed(rows: &[AnyRow]) -> StoreResult<i64> {
    rows.first().map_or(Ok(0), |r| r.try_get::<i64, _>("n").db())
}

/// [`AccessStore::create_request`] on PostgreSQL: one statement.
async fn create_postgres(store: &SqlStore, org_id: &str, r: &NewRequest, now: Timestamp, effects: &Effects) -> StoreResult<Request> {
    let mut c = Composed::default();
    let values = [
        c.text(&r.id),
        c.text(org_id),
        c.text(&r.requester_id),
        c.text(&r.requester_email),
        c.text(&r.rule),
        c.int(r.policy_version),
        c.text(&r.reason),
        c.int(i64::try_from(r.duration.as_secs()).unwrap_or(i64::MAX)),
        c.text(r.state.as_str()),
        "NULL".to_owned(),
        "0".to_owned(),
        c.int(now.millis()),
        c.int(r.pending_until.millis()),
        c.arg(Arg::OptInt((r.state == State::Approved).then_some(now.millis()))),
        "NULL".to_owned(),
        "NULL".to_owned(),
        c.int(now.millis()),
    ];
    c.with("created", &format!("INSERT INTO requests ({REQUEST_COLS}, updated_at) VALUES ({}) RETURNING id", values.join(", ")));
    if !r.targets.is_empty() {
        let rows: Vec<String> = r
            .targets
            .iter()
            .enumerate()
            .map(|(idx, t)| {
                let idx = c.int(i64::try_from(idx).unwrap_or(i64::MAX));
                let level = c.arg(Arg::OptText(t.level.map(|l| level_str(l).to_owned())));
                format!("({idx}, {}, {}, {}, {}, {level})", c.text(&t.integration), c.text(&t.account), c.text(t.kind.as_str()), c.text(&t.name))
            })
            .collect();
        c.with(
            "targets",
            &format!(
                "INSERT INTO request_targets (request_id, idx, integration, account, kind, name, level)
                 SELECT created.id, v.idx, v.integration, v.account, v.kind, v.name, v.level
                 FROM created, (VALUES {}) v(idx, integration, account, kind, name, level)",
                rows.join(", ")
            ),
        );
    }
    c.effects("created", org_id, effects, now);
    c.fetch(&count_changed("created"), &store.write).await?;
    Ok(r.created(org_id, now))
}

/// [`AccessStore::transition`] on PostgreSQL: one statement.
async fn transition_postgres(store: &SqlStore, org_id: &str, id: &str, from: State, to: State, ch: &Changes, now: Timestamp) -> StoreResult<bool> {
    let mut c = Composed::default();
    move_clause(&mut c, "moved", org_id, id, from, to, ch, now);
    Ok(changed(&c.fetch(&count_changed("moved"), &store.write).await?)? == 1)
}

/// Adds the clause `gate` moving a request from `from` to `to` with `ch`,
/// and its decision and effects, recorded only if it moves (PostgreSQL).
#[allow(clippy::too_many_arguments, reason = "the clause's name, the request, its move and the time")]
pub(crate) fn move_clause(c: &mut Composed, gate: &str, org_id: &str, id: &str, from: State, to: State, ch: &Changes, now: Timestamp) {
    let (org, rid, from, to, at) = (c.text(org_id), c.text(id), c.text(from.as_str()), c.text(to.as_str()), c.int(now.millis()));
    let end = c.arg(Arg::OptText(ch.end_reason.map(|e| end_reason_str(e).to_owned())));
    let decided = c.arg(Arg::OptInt(ch.decided_at.map(Timestamp::millis)));
    let expires = c.arg(Arg::OptInt(ch.expires_at.map(Timestamp::millis)));
    let glass = c.arg(Arg::OptInt(ch.break_glass.map(i64::from)));
    let failure = c.arg(Arg::OptText(ch.failure.clone()));
    c.with(
        gate,
        &format!(
            "UPDATE requests SET state = {to}, updated_at = {at}, end_reason = COALESCE({end}, end_reason),
               decided_at = COALESCE({decided}, decided_at), expires_at = COALESCE({expires}, expires_at),
               break_glass = COALESCE({glass}, break_glass), failure = COALESCE({failure}, failure)
             WHERE org_id = {org} AND id = {rid} AND state = {from} RETURNING id"
        ),
    );
    if let Some(d) = &ch.decision {
        let values = [c.text(&d.approver_id), c.text(&d.approver_email), c.text(&d.decision), c.text(&d.reason), c.int(d.at.millis())].join(", ");
        c.with(
            &format!("{gate}_decision"),
            &format!("INSERT INTO request_decisions (request_id, approver_id, approver_email, decision, reason, at) SELECT id, {values} FROM {gate} {KEEP_FIRST}"),
        );
    }
    c.effects(gate, org_id, &ch.effects, now);
}

/// [`AccessStore::extend`] on PostgreSQL: one statement.
async fn extend_postgres(store: &SqlStore, org_id: &str, id: &str, e: &Extension, now: Timestamp) -> StoreResult<bool> {
    let mut c = Composed::default();
    let (org, rid, from, to, at) = (c.text(org_id), c.text(id), c.int(e.from.millis()), c.int(e.to.millis()), c.int(now.millis()));
    let secs = c.int(i64::try_from(e.duration.as_secs()).unwrap_or(i64::MAX));
    c.with(
        "extended",
        &format!(
            "UPDATE requests SET expires_at = {to}, duration_secs = {secs}, updated_at = {at}
             WHERE org_id = {org} AND id = {rid} AND state = 'active' AND expires_at = {from} RETURNING id"
        ),
    );
    c.effects("extended", org_id, &e.effects, now);
    Ok(changed(&c.fetch(&count_changed("extended"), &store.write).await?)? == 1)
}
