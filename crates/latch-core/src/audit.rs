//! The audit log is a hash chain per org: each record carries the hash of the
//! one before it, so an edited, inserted or deleted record breaks the chain
//! and [`verify`] names the first record where it breaks.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// The `prev_hash` of an org's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// Who did it: a user id, `system`, or `anonymous`.
    pub actor: String,
    /// What was done, dotted: `auth.sign_in`, `token.revoked`, …
    pub action: String,
    /// What it was done to (an id or an email), possibly empty.
    pub target: String,
    /// Details as a JSON object; never secrets.
    pub detail: serde_json::Value,
}

impl NewAuditEvent {
    /// A new event with an empty detail object.
    pub fn new(actor: impl Into<String>, action: &str, target: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.to_owned(),
            target: target.into(),
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Adds details.
    #[must_use]
    pub fn with(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A chained record as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The org whose chain this is.
    pub org_id: String,
    /// Position in the org's chain, from 1, without gaps.
    pub seq: i64,
    /// When it was recorded.
    pub at: Timestamp,
    /// See [`NewAuditEvent::actor`].
    pub actor: String,
    /// See [`NewAuditEvent::action`].
    pub action: String,
    /// See [`NewAuditEvent::target`].
    pub target: String,
    /// The details exactly as stored (the hash covers this text).
    pub detail: String,
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The hash of a record's content and its predecessor's hash.
#[expect(clippy::too_many_arguments, reason = "every field is part of the chained content")]
pub fn chain_hash(
    org_id: &str,
    seq: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let fields = encode_fields(&[org_id, &seq.to_string(), &at.millis().to_string(), actor, action, target, detail, prev_hash]);
    hex::encode(Sha256::digest(fields))
}

/// Fields as [`chain_hash`] hashes them, one after another: each one's
/// length (8 bytes, big-endian), then its bytes, so that no two different
/// records hash alike. (The PostgreSQL store hashes in the database from
/// these bytes plus the two fields only the chain's head knows.)
#[must_use]
pub fn encode_fields(fields: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| 8 + f.len()).sum());
    for f in fields {
        out.extend_from_slice(&(f.len() as u64).to_be_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

impl AuditRecord {
    /// Chains `event` after a record whose hash is `prev_hash` at `seq - 1`.
    pub fn chain(org_id: &str, seq: i64, at: Timestamp, event: &NewAuditEvent, prev_hash: &str) -> Self {
        let detail = event.detail.to_string();
        let hash = chain_hash(org_id, seq, at, &event.actor, &event.action, &event.target, &detail, prev_hash);
        Self {
            org_id: org_id.to_owned(),
            seq,
            at,
            actor: event.actor.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            detail,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }

    fn recomputed_hash(&self) -> String {
        chain_hash(&self.org_id, self.seq, self.at, &self.actor, &self.action, &self.target, &self.detail, &self.prev_hash)
    }
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainBreak {
    /// A record's content does not match its hash: it was edited.
    Edited {
        /// The record.
        seq: i64,
    },
    /// A record's `prev_hash` does not match the record before it, or a
    /// sequence number is missing: records were deleted or inserted.
    Broken {
        /// The first record after the break.
        seq: i64,
    },
    /// The chain ends before the head says it should: the newest records
    /// were deleted.
    Truncated {
        /// The last record present.
        last_seq: i64,
        /// The sequence number the head records.
        head_seq: i64,
    },
}

/// Checks a whole chain, in `seq` order, against the org's head (the last
/// `seq` and hash recorded when appending).
pub fn verify(records: &[AuditRecord], head: Option<(i64, &str)>) -> Result<usize, ChainBreak> {
    let mut prev_hash = GENESIS.to_owned();
    let mut expected_seq = 1;
    for r in records {
        if r.recomputed_hash() != r.hash {
            return Err(ChainBreak::Edited { seq: r.seq });
        }
        if r.seq != expected_seq || r.prev_hash != prev_hash {
            return Err(ChainBreak::Broken { seq: r.seq });
        }
        prev_hash.clone_from(&r.hash);
        expected_seq += 1;
    }
    let last_seq = expected_seq - 1;
    if let Some((head_seq, head_hash)) = head {
        if head_seq != last_seq || (head_seq > 0 && head_hash != prev_hash) {
            return Err(ChainBreak::Truncated { last_seq, head_seq });
        }
    }
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_owned(), |r| r.hash.clone());
            let ev = NewAuditEvent::new("usr_1", "auth.sign_in", format!("t{seq}"));
            out.push(AuditRecord::chain("org_1", seq, Timestamp(seq * 1000), &ev, &prev));
        }
        out
    }

    fn head(c: &[AuditRecord]) -> Option<(i64, &str)> {
        c.last().map(|r| (r.seq, r.hash.as_str()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, head(&c)), Ok(5));
        assert_eq!(verify(&[], Some((0, ""))), Ok(0));
    }

    #[test]
    fn an_edited_record_is_found() {
        let mut c = chain(5);
        c[2].target = "someone else".into();
        let h = (5, c[4].hash.clone());
        assert_eq!(verify(&c, Some((h.0, &h.1))), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn a_deleted_record_is_found() {
        let mut c = chain(5);
        let h = (5, c[4].hash.clone());
        c.remove(1);
        assert_eq!(verify(&c, Some((h.0, &h.1))), Err(ChainBreak::Broken { seq: 3 }));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_link() {
        let mut c = chain(3);
        let h = (3, c[2].hash.clone());
        let forged = NewAuditEvent::new("usr_1", "auth.sign_in", "forged");
        c[1] = AuditRecord::chain("org_1", 2, Timestamp(2000), &forged, &c[0].hash.clone());
        assert_eq!(verify(&c, Some((h.0, &h.1))), Err(ChainBreak::Broken { seq: 3 }));
    }

    #[test]
    fn deleting_the_newest_records_is_found() {
        let mut c = chain(4);
        let h = (4, c[3].hash.clone());
        c.truncate(2);
        assert_eq!(verify(&c, Some((h.0, &h.1))), Err(ChainBreak::Truncated { last_seq: 2, head_seq: 4 }));
    }
}
