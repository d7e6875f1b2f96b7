//! A recording provisioner for tests of the requests machinery: it keeps the
//! access it "granted" in memory, can be told to fail (retryably or not) on
//! its next calls or to hold grants until released, and counts calls so tests can assert that access was
//! granted once and removed exactly when the last holder ended.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};

/// What a test sees.
#[derive(Debug, Default)]
struct Inner {
    /// (email, entitlement key) → what was applied.
    live: BTreeMap<(String, String), serde_json::Value>,
    bounds: BTreeMap<(String, String), latch_core::Timestamp>,
    grants: usize,
    revokes: usize,
    fail_grants: Vec<ProvisionError>,
    fail_revokes: Vec<ProvisionError>,
    fail_accounts: BTreeMap<String, ProvisionError>,
    /// Accounts through which the same access is reached (the first names it).
    shared: Vec<String>,
}

impl Inner {
    /// The entitlement `spec` asks for, as this integration identifies it.
    fn key(&self, spec: &GrantSpec) -> String {
        let mut target = spec.target.clone();
        if let Some(first) = self.shared.first().filter(|_| self.shared.contains(&target.account)) {
            target.account.clone_from(first);
        }
        target.entitlement_key()
    }
}

/// The recording provisioner.
#[derive(Debug)]
pub struct RecordingProvisioner(Mutex<Inner>, tokio::sync::watch::Sender<bool>);

impl Default for RecordingProvisioner {
    fn default() -> Self {
        Self(Mutex::default(), tokio::sync::watch::Sender::new(false))
    }
}

impl RecordingProvisioner {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// The access in place now: (email, entitlement key).
    pub fn live(&self) -> Vec<(String, String)> {
        self.with(|i| i.live.keys().cloned().collect())
    }

    /// The time bound the integration holds for `email`'s entitlement `key`
    /// (the latest end any grant asked for).
    pub fn bound(&self, email: &str, key: &str) -> Option<latch_core::Timestamp> {
        self.with(|i| i.bounds.get(&(email.to_owned(), key.to_owned())).copied())
    }

    /// (fresh grants, fresh revocations) so far.
    pub fn counts(&self) -> (usize, usize) {
        self.with(|i| (i.grants, i.revokes))
    }

    /// The next grant calls fail with these errors, in order.
    pub fn fail_grants(&self, errors: Vec<ProvisionError>) {
        self.with(|i| i.fail_grants = errors);
    }

    /// Every grant in `account` fails with `error`.
    pub fn fail_account(&self, account: &str, error: ProvisionError) {
        self.with(|i| i.fail_accounts.insert(account.to_owned(), error));
    }

    /// From now on, access in any of `accounts` is one piece of access (as
    /// an Identity Center group is, whatever account a request names).
    pub fn share_accounts(&self, accounts: &[&str]) {
        self.with(|i| i.shared = accounts.iter().map(|a| (*a).to_owned()).collect());
    }

    /// The next revoke calls fail with these errors, in order.
    pub fn fail_revokes(&self, errors: Vec<ProvisionError>) {
        self.with(|i| i.fail_revokes = errors);
    }

    /// Grant calls wait, from now until [`RecordingProvisioner::release_grants`].
    pub fn hold_grants(&self) {
        self.1.send_replace(true);
    }

    /// Grant calls held go on, and new ones no longer wait.
    pub fn release_grants(&self) {
        self.1.send_replace(false);
    }
}

#[async_trait]
impl Provisioner for RecordingProvisioner {
    async fn entitlement_key(&self, spec: &GrantSpec) -> Result<String, ProvisionError> {
        Ok(self.with(|i| i.key(spec)))
    }

    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
        let _ = self.1.subscribe().wait_for(|held| !held).await;
        self.with(|i| {
            if !i.fail_grants.is_empty() {
                return Err(i.fail_grants.remove(0));
            }
            if let Some(e) = i.fail_accounts.get(&spec.target.account) {
                return Err(e.clone());
            }
            let key = (spec.email.clone(), i.key(spec));
            // Like AWS policy conditions: the bound only ever moves later.
            let bound = i.bounds.entry(key.clone()).or_insert(spec.expires_at);
            *bound = (*bound).max(spec.expires_at);
            if let Some(applied) = i.live.get(&key) {
                return Ok(GrantOutcome::AlreadyGranted(Applied(applied.clone())));
            }
            let applied = serde_json::json!({"recorded": key.1, "for": key.0});
            i.live.insert(key, applied.clone());
            i.grants += 1;
            Ok(GrantOutcome::Granted(Applied(applied)))
        })
    }

    async fn revoke(&self, spec: &GrantSpec, applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
        self.with(|i| {
            if !i.fail_revokes.is_empty() {
                return Err(i.fail_revokes.remove(0));
            }
            // Like a real integration: what to undo comes from the record.
            let Some(recorded) = applied.0.get("recorded").and_then(|k| k.as_str()) else {
                return Err(ProvisionError::Permanent(format!("unreadable grant record: {}", applied.0)));
            };
            let key = (spec.email.clone(), recorded.to_owned());
            match i.live.get(&key) {
                Some(a) if *a == applied.0 => {
                    i.live.remove(&key);
                    i.bounds.remove(&key);
                    i.revokes += 1;
                    Ok(RevokeOutcome::Revoked)
                }
                Some(_) => Err(ProvisionError::Permanent("asked to revoke something other than what was applied".into())),
                None => Ok(RevokeOutcome::AlreadyRevoked),
            }
        })
    }
}
