//! A provisioner whose "integration" is an append-only journal file: the
//! access it grants outlives the server process that granted it, as access
//! in AWS does, so a test can kill the server at any point and then read
//! exactly what is in place. Every call takes an exclusive lock on the file,
//! replays it, appends one record and releases the lock, so several server
//! processes may share one journal like replicas share one AWS account.
//!
//! Faults are read from `{journal}.faults` (JSON, see [`Faults`]) on every
//! call, so a test can switch them on and off while the server runs.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::{Clock as _, SystemClock};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// `grant`, `revoke`, or a fault recorded as it happens: `crash` (an
    /// injected abort) or `hang` (a call that never returns).
    pub op: String,
    /// Whose access.
    pub email: String,
    /// Which entitlement.
    pub key: String,
    /// A grant's time bound (ms since the epoch); 0 for a revocation.
    pub expires_at: i64,
    /// When the call happened (ms since the epoch).
    pub at: i64,
    /// Whether it changed anything (a fresh grant or revocation), as opposed
    /// to finding it already done.
    pub fresh: bool,
}

/// Probabilities (0–1) of a fault at each step of a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// The process aborts before the grant takes effect.
    pub crash_before_grant: f64,
    /// The process aborts after the grant took effect, before Latch hears of it.
    pub crash_after_grant: f64,
    /// The process aborts before the revocation takes effect.
    pub crash_before_revoke: f64,
    /// The process aborts after the revocation took effect.
    pub crash_after_revoke: f64,
    /// The call never returns.
    pub hang: f64,
    /// The call fails with a retryable error before doing anything.
    pub fail: f64,
}

impl Faults {
    /// The faults file of `journal`.
    pub fn path(journal: &Path) -> PathBuf {
        let mut p = journal.as_os_str().to_owned();
        p.push(".faults");
        PathBuf::from(p)
    }

    /// Writes the faults for `journal` (atomically: temp file, then rename).
    pub fn set(&self, journal: &Path) -> anyhow::Result<()> {
        let path = Self::path(journal);
        let tmp = path.with_extension("faults.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)?;
        std::fs::rename(tmp, path)?;
        Ok(())
    }

    fn read(journal: &Path) -> Faults {
        std::fs::read(Self::path(journal)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    fn roll(p: f64) -> bool {
        p > 0.0 && rand::thread_rng().gen_bool(p.min(1.0))
    }
}

/// The state a journal describes.
#[derive(Debug, Default, Clone)]
pub struct Journal {
    /// Every record, in order.
    pub records: Vec<Record>,
}

impl Journal {
    /// Reads the journal at `path` (empty when it does not exist yet).
    pub fn read(path: &Path) -> anyhow::Result<Journal> {
        match File::open(path) {
            Ok(f) => Self::from_reader(&f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn from_reader(f: &File) -> anyhow::Result<Journal> {
        let mut records = Vec::new();
        for line in BufReader::new(f).lines() {
            let line = line?;
            if !line.trim().is_empty() {
                records.push(serde_json::from_str(&line)?);
            }
        }
        Ok(Journal { records })
    }

    /// The access in place: (email, key) → its time bound (the latest any
    /// grant asked for since it was last granted fresh).
    pub fn live(&self) -> BTreeMap<(String, String), i64> {
        let mut live = BTreeMap::new();
        for r in &self.records {
            let k = (r.email.clone(), r.key.clone());
            match r.op.as_str() {
                "grant" => {
                    let bound = live.entry(k).or_insert(r.expires_at);
                    *bound = (*bound).max(r.expires_at);
                }
                "revoke" => {
                    live.remove(&k);
                }
                _ => {}
            }
        }
        live
    }

    /// When injected faults aborted a server (ms since the epoch).
    pub fn crashes(&self) -> Vec<i64> {
        self.faults("crash")
    }

    /// When injected faults of kind `op` (`crash`, `hang`) happened.
    pub fn faults(&self, op: &str) -> Vec<i64> {
        self.records.iter().filter(|r| r.op == op).map(|r| r.at).collect()
    }

    /// Fresh revocations that came while a grant applied before them still
    /// asked for the access to last: (email, key, revoked at, wanted until).
    /// Reference counting exists to make this empty.
    pub fn premature_revocations(&self) -> Vec<(String, String, i64, i64)> {
        let mut wanted: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut early = Vec::new();
        for r in &self.records {
            let k = (r.email.clone(), r.key.clone());
            match r.op.as_str() {
                "grant" => {
                    let w = wanted.entry(k).or_insert(r.expires_at);
                    *w = (*w).max(r.expires_at);
                }
                "revoke" if r.fresh => {
                    if let Some(&until) = wanted.get(&k) {
                        if until > r.at {
                            early.push((k.0, k.1, r.at, until));
                        }
                    }
                }
                _ => {}
            }
        }
        early
    }

    /// Episodes of access, in order: (email, key, granted at, time bound,
    /// revoked at — `None` while still in place).
    pub fn episodes(&self) -> Vec<Episode> {
        let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut out: Vec<Episode> = Vec::new();
        for r in &self.records {
            let k = (r.email.clone(), r.key.clone());
            match (r.op.as_str(), open.get(&k).copied()) {
                ("grant", None) => {
                    open.insert(k.clone(), out.len());
                    out.push(Episode { email: k.0, key: k.1, granted_at: r.at, bound: r.expires_at, revoked_at: None });
                }
                ("grant", Some(i)) => {
                    if let Some(e) = out.get_mut(i) {
                        e.bound = e.bound.max(r.expires_at);
                    }
                }
                ("revoke", Some(i)) => {
                    if let Some(e) = out.get_mut(i) {
                        e.revoked_at = Some(r.at);
                    }
                    open.remove(&k);
                }
                _ => {}
            }
        }
        out
    }
}

/// One stretch of time an entitlement was in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// Whose.
    pub email: String,
    /// Which.
    pub key: String,
    /// When it was granted fresh (ms).
    pub granted_at: i64,
    /// The latest end any grant in it asked for (ms).
    pub bound: i64,
    /// When it was revoked (ms), if it was.
    pub revoked_at: Option<i64>,
}

/// The journaling provisioner.
#[derive(Debug, Clone)]
pub struct JournalProvisioner {
    path: PathBuf,
}

impl JournalProvisioner {
    /// A provisioner writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// One call: lock, replay, maybe fault, append, maybe crash, unlock.
    fn apply(&self, op: &str, spec: &GrantSpec) -> Result<bool, ProvisionError> {
        let faults = Faults::read(&self.path);
        if Faults::roll(faults.fail) {
            return Err(ProvisionError::Retryable("injected failure".into()));
        }
        let io = |e: std::io::Error| ProvisionError::Retryable(format!("journal: {e}"));
        let mut f = OpenOptions::new().create(true).read(true).append(true).open(&self.path).map_err(io)?;
        f.lock().map_err(io)?;
        if Faults::roll(faults.hang) {
            // Recorded, the lock released, then never returns (the caller
            // must give up on it; the thread stays parked).
            append(&mut f, &Record::event("hang", spec)).map_err(io)?;
            f.unlock().map_err(io)?;
            loop {
                std::thread::park();
            }
        }
        let journal = Journal::from_reader(&f).map_err(|e| ProvisionError::Retryable(format!("journal: {e}")))?;
        let key = spec.target.entitlement_key();
        let live = journal.live().contains_key(&(spec.email.clone(), key.clone()));
        let (fresh, before, after) = match op {
            "grant" => (!live, faults.crash_before_grant, faults.crash_after_grant),
            _ => (live, faults.crash_before_revoke, faults.crash_after_revoke),
        };
        if Faults::roll(before) {
            crash(&mut f, spec);
        }
        let record = Record {
            op: op.to_owned(),
            email: spec.email.clone(),
            key,
            expires_at: if op == "grant" { spec.expires_at.millis() } else { 0 },
            at: SystemClock.now().millis(),
            fresh,
        };
        append(&mut f, &record).map_err(io)?;
        if Faults::roll(after) {
            crash(&mut f, spec);
        }
        f.unlock().map_err(io)?;
        Ok(fresh)
    }

    async fn call(&self, op: &'static str, spec: &GrantSpec) -> Result<bool, ProvisionError> {
        let (me, spec) = (self.clone(), spec.clone());
        tokio::task::spawn_blocking(move || me.apply(op, &spec)).await.map_err(|e| ProvisionError::Retryable(e.to_string()))?
    }
}

/// Records the crash (so a test knows when the server went down), then
/// aborts the process: no destructors, no unlock, like `kill -9`.
fn crash(f: &mut File, spec: &GrantSpec) -> ! {
    let _ = append(f, &Record::event("crash", spec));
    std::process::abort()
}

fn append(f: &mut File, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    f.seek(SeekFrom::End(0))?;
    f.write_all(&line)
}

impl Record {
    /// A fault, recorded so that a test knows it happened and when.
    fn event(op: &str, spec: &GrantSpec) -> Record {
        Record { op: op.into(), email: spec.email.clone(), key: spec.target.entitlement_key(), expires_at: 0, at: SystemClock.now().millis(), fresh: false }
    }
}

#[async_trait]
impl Provisioner for JournalProvisioner {
    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
        let applied = Applied(serde_json::json!({"journal_key": spec.target.entitlement_key()}));
        Ok(if self.call("grant", spec).await? { GrantOutcome::Granted(applied) } else { GrantOutcome::AlreadyGranted(applied) })
    }

    async fn revoke(&self, spec: &GrantSpec, _applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
        Ok(if self.call("revoke", spec).await? { RevokeOutcome::Revoked } else { RevokeOutcome::AlreadyRevoked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::access::target::{Kind, Target};
    use latch_core::Timestamp;

    fn spec(name: &str, expires_at: i64) -> GrantSpec {
        let target = Target { integration: "aws".into(), account: "111111111111".into(), kind: Kind::Role, name: name.into(), level: None };
        GrantSpec { org_id: "org".into(), user_id: "usr".into(), email: "a@x.io".into(), target, expires_at: Timestamp(expires_at) }
    }

    #[tokio::test]
    async fn grants_and_revocations_are_journaled_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let p = JournalProvisioner::new(path.clone());
        assert!(matches!(p.grant(&spec("R", 10)).await, Ok(GrantOutcome::Granted(_))));
        assert!(matches!(p.grant(&spec("R", 20)).await, Ok(GrantOutcome::AlreadyGranted(_))));
        let live = Journal::read(&path).unwrap().live();
        assert_eq!(live.values().copied().collect::<Vec<_>>(), [20], "the bound only moves later");
        assert_eq!(p.revoke(&spec("R", 0), &Applied::default()).await, Ok(RevokeOutcome::Revoked));
        assert_eq!(p.revoke(&spec("R", 0), &Applied::default()).await, Ok(RevokeOutcome::AlreadyRevoked));
        assert!(Journal::read(&path).unwrap().live().is_empty());
        Faults { fail: 1.0, ..Faults::default() }.set(&path).unwrap();
        assert!(matches!(p.grant(&spec("R", 30)).await, Err(ProvisionError::Retryable(_))));
        assert_eq!(Journal::read(&path).unwrap().records.len(), 4, "a failed call changes nothing");
    }
}
