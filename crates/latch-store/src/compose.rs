//! PostgreSQL: a change and everything recorded with it (jobs, webhook
//! notices, audit events) as one statement. Each record is a data-modifying
//! `WITH` clause that reads the change's own `RETURNING` rows, so it is
//! written exactly when the change is; and one statement is atomic without
//! an explicit transaction. A change costs one round trip where it cost a
//! `BEGIN`, a statement per record and a `COMMIT`.
//!
//! SQLite runs the same records as statements in a transaction
//! ([`crate::access`]): it has no data-modifying `WITH`, and its statements
//! cost no round trips.

use latch_core::access::notice;
use latch_core::access::request::Effects;
use latch_core::Timestamp;
use sqlx::any::AnyRow;

use crate::error::MapErr;
use latch_core::store::StoreResult;

/// One bound argument.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

/// A statement being built: its `WITH` clauses and arguments.
#[derive(Debug, Default)]
pub(crate) struct Composed {
    clauses: Vec<String>,
    args: Vec<Arg>,
    /// Audit rows waiting for [`Composed::audit_clause`]: (gate, `(ord, …)`).
    audit: Vec<(String, String)>,
}

/// A new random id with `prefix`, made by the database: 128 bits of hex,
/// the shape of [`latch_core::id::new_id`].
fn sql_id(prefix: &str) -> String {
    format!("'{prefix}_' || replace(gen_random_uuid()::TEXT, '-', '')")
}

impl Composed {
    /// `$n` standing for `a`.
    pub(crate) fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// `$n` standing for text `s`.
    pub(crate) fn text(&mut self, s: &str) -> String {
        self.arg(Arg::Text(s.to_owned()))
    }

    /// `$n` standing for `i`.
    pub(crate) fn int(&mut self, i: i64) -> String {
        self.arg(Arg::Int(i))
    }

    /// Adds `name AS (sql)`.
    pub(crate) fn with(&mut self, name: &str, sql: &str) {
        self.clauses.push(format!("{name} AS ({sql})"));
    }

    /// Records `effects` if the clause `gate` changed a row (it returns one
    /// row, or none if its change did not happen). Several gates may record
    /// effects in one statement; their audit events keep the order in which
    /// they were recorded.
    pub(crate) fn effects(&mut self, gate: &str, org_id: &str, effects: &Effects, now: Timestamp) {
        let org = self.text(org_id);
        let at = self.int(now.millis());
        if !effects.jobs.is_empty() {
            let rows: Vec<String> = effects
                .jobs
                .iter()
                .map(|j| {
                    let id = match &j.leased {
                        Some(l) => self.text(&l.lease.job_id),
                        None => self.text(&latch_core::id::new_id("job")),
                    };
                    let (o, k, s, key) = (self.text(&j.org_id), self.text(&j.kind), self.text(&j.subject), self.text(&j.idempotency_key));
                    let (max, run) = (self.int(j.max_attempts), self.int(j.run_at.millis()));
                    // A job queued leased is `running` for its holder (`NewJob::leased`).
                    let lease = match &j.leased {
                        Some(l) => format!("'running', 1, {}, {}", self.text(&l.lease.worker), self.int(l.until.millis())),
                        None => "'queued', 0, NULL::TEXT, NULL::BIGINT".to_owned(),
                    };
                    format!("({id}, {o}, {k}, {s}, {key}, {max}, {run}, {lease})")
                })
                .collect();
            self.with(
                &format!("{gate}_jobs"),
                &format!(
                    "INSERT INTO jobs (id, org_id, kind, subject, idempotency_key, state, attempts, max_attempts, run_at, lease_owner, lease_until, created_at, updated_at)
                     SELECT v.id, v.org_id, v.kind, v.subject, v.key, v.state, v.attempts, v.max, v.run, v.owner, v.until, {at}, {at}
                     FROM {gate}, (VALUES {}) v(id, org_id, kind, subject, key, max, run, state, attempts, owner, until)
                     ON CONFLICT (idempotency_key) DO NOTHING",
                    rows.join(", ")
                ),
            );
        }
        if !effects.notices.is_empty() {
            let rows: Vec<String> = effects.notices.iter().map(|n| format!("({}, {})", self.text(&n.event), self.text(&n.document))).collect();
            // A webhook with no events listed gets every event
            // (`Notice::wanted_by`); events are stored space-separated.
            self.with(
                &format!("{gate}_notices"),
                &format!(
                    "INSERT INTO notifications (id, org_id, webhook_id, event, payload, created_at, format)
                     SELECT {}, {org}, w.id, v.event, v.document, {at}, 'document'
                     FROM {gate}, webhooks w, (VALUES {}) v(event, document)
                     WHERE w.org_id = {org}
                       AND (btrim(w.events) = '' OR position(' ' || v.event || ' ' IN ' ' || w.events || ' ') > 0)
                     RETURNING id",
                    sql_id("ntf"),
                    rows.join(", ")
                ),
            );
            let (kind, max) = (self.text(notice::JOB_KIND), self.int(notice::MAX_ATTEMPTS));
            self.with(
                &format!("{gate}_notice_jobs"),
                &format!(
                    "INSERT INTO jobs (id, org_id, kind, subject, idempotency_key, state, attempts, max_attempts, run_at, created_at, updated_at)
                     SELECT {}, {org}, {kind}, n.id, 'notify:' || n.id, 'queued', 0, {max}, {at}, {at}, {at} FROM {gate}_notices n",
                    sql_id("job")
                ),
            );
        }
        if let Some(lease) = &effects.completes {
            let (job, worker) = (self.text(&lease.job_id), self.text(&lease.worker));
            self.with(
                &format!("{gate}_completed"),
                &format!(
                    "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, updated_at = {at}
                     FROM {gate} WHERE jobs.id = {job} AND jobs.lease_owner = {worker} AND jobs.state = 'running' RETURNING jobs.id"
                ),
            );
        }
        for e in &effects.audit {
            let ord = self.audit.len();
            let row = format!("({ord}, {org}, {at}, {}, {}, {}, {})", self.text(&e.actor), self.text(&e.action), self.text(&e.target), self.text(&e.detail.to_string()));
            self.audit.push((gate.to_owned(), row));
        }
    }

    /// The clause appending every gate's audit events, in the order they
    /// were recorded (the waiting events' ids are their order), each only
    /// if its gate's change happened.
    fn audit_clause(&mut self) {
        if self.audit.is_empty() {
            return;
        }
        let mut gates: Vec<&str> = Vec::new();
        let rows: Vec<String> = self
            .audit
            .iter()
            .map(|(gate, row)| {
                let g = gates.iter().position(|x| x == gate).unwrap_or_else(|| {
                    gates.push(gate);
                    gates.len() - 1
                });
                format!("({g}, {}", &row[1..])
            })
            .collect();
        let when: Vec<String> = gates.iter().enumerate().map(|(g, gate)| format!("(v.g = {g} AND EXISTS (SELECT 1 FROM {gate}))")).collect();
        let sql = format!(
            "INSERT INTO audit_pending (org_id, at, actor, action, target, detail)
             SELECT v.org_id, v.at, v.actor, v.action, v.target, v.detail
             FROM (VALUES {}) v(g, ord, org_id, at, actor, action, target, detail)
             WHERE {} ORDER BY v.ord",
            rows.join(", "),
            when.join(" OR ")
        );
        self.with("audited", &sql);
    }

    /// Runs `WITH … select` on `conn`; the rows of `select`.
    pub(crate) async fn fetch(mut self, select: &str, conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> StoreResult<Vec<AnyRow>> {
        self.audit_clause();
        let sql = format!("WITH {} {select}", self.clauses.join(",\n"));
        let mut q = sqlx::query(&sql);
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::OptText(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::OptInt(i) => q.bind(i),
            };
        }
        q.fetch_all(conn).await.db()
    }
}
