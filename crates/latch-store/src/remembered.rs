//! PostgreSQL: answers remembered between requests, because asking costs a
//! round trip on the hottest paths and the answers rarely change. Who a
//! credential belongs to (every API call starts by resolving its
//! credential) changes only when the credential, its person, their groups
//! or the org's policy do; which events an org's webhooks want (every
//! change to a request would tell them) only when its webhooks do.
//!
//! Triggers on those tables `NOTIFY latch_changes` with the org's id
//! (migration 0017), and every replica listens: a change made anywhere
//! empties the org's entries on every replica within the notification's
//! delivery. Changes made through this store also empty them before the
//! call returns, so a revocation is never answered by the replica that made
//! it. While the listening connection is down (and until it is listening)
//! nothing is remembered. Entries also end after [`TTL`] whatever happens,
//! and a credential's at its own expiry.
//!
//! A lookup remembers its answer only if no change was heard while it ran
//! (a generation count), so an answer read before a revocation is not kept
//! after it.
//!
//! SQLite is not cached: its lookups are in-process reads, not round trips.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use latch_core::model::{CredentialKind, Principal};
use latch_core::Timestamp;

/// The notification channel the triggers use.
pub(crate) const CHANNEL: &str = "latch_changes";

/// The longest an answer is remembered.
pub(crate) const TTL: Duration = Duration::from_secs(10);

/// How long the listener waits before connecting again.
const RECONNECT: Duration = Duration::from_secs(1);

/// Most entries; past it the cache starts over (credentials in use at once
/// are far fewer).
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Default)]
struct Inner {
    /// Whether changes are being heard: entries are kept only then.
    listening: bool,
    /// Bumped by every change heard (and by losing the connection).
    generation: u64,
    entries: HashMap<(CredentialKind, String), Entry>,
    /// Per org, the events each of its webhooks wants (none listed: all),
    /// and until when that may be used.
    hooks: HashMap<String, (Hooks, Timestamp)>,
}

/// The events each of an org's webhooks wants (none listed: all).
pub(crate) type Hooks = Arc<Vec<Vec<String>>>;

#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// Until when it may be used: the credential's expiry or the TTL.
    until: Timestamp,
}

impl Inner {
    /// A lookup starting now.
    fn lookup(&self) -> Lookup {
        Lookup(self.listening.then_some(self.generation))
    }
}

/// Remembered principals (by credential kind and hash) and webhook events
/// (by org).
#[derive(Debug, Clone, Default)]
pub(crate) struct Remembered(Arc<Mutex<Inner>>);

/// A lookup in progress: the generation it started in, if caching.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup(Option<u64>);

impl Remembered {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered answers, if `lookup` started while changes were
    /// heard and none has been heard since: only then may it keep what it
    /// found.
    fn unchanged_since(&self, lookup: Lookup) -> Option<std::sync::MutexGuard<'_, Inner>> {
        let Lookup(Some(started)) = lookup else { return None };
        let inner = self.inner();
        (inner.listening && inner.generation == started).then_some(inner)
    }

    /// The principal of credential `hash` of `kind`, if remembered and still
    /// usable at `now`; else the [`Lookup`] to [`Remembered::keep`] the
    /// answer with.
    pub(crate) fn get(&self, kind: CredentialKind, hash: &str, now: Timestamp) -> Result<Principal, Lookup> {
        let inner = self.inner();
        match inner.entries.get(&(kind, hash.to_owned())) {
            Some(e) if inner.listening && now < e.until => Ok(e.principal.clone()),
            _ => Err(inner.lookup()),
        }
    }

    /// Remembers what `lookup` found, usable until `expires_at` (the
    /// credential's) or [`TTL`] after `now`, unless a change was heard
    /// since it started.
    pub(crate) fn keep(&self, lookup: Lookup, kind: CredentialKind, hash: &str, principal: &Principal, expires_at: Timestamp, now: Timestamp) {
        let Some(mut inner) = self.unchanged_since(lookup) else { return };
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        let until = Timestamp(expires_at.millis().min(now.plus(TTL).millis()));
        inner.entries.insert((kind, hash.to_owned()), Entry { principal: principal.clone(), until });
    }

    /// What the org's webhooks want, if remembered and still usable at
    /// `now`; else the [`Lookup`] to [`Remembered::keep_hooks`] it with.
    pub(crate) fn hooks(&self, org_id: &str, now: Timestamp) -> Result<Hooks, Lookup> {
        let inner = self.inner();
        match inner.hooks.get(org_id) {
            Some((events, until)) if inner.listening && now < *until => Ok(events.clone()),
            _ => Err(inner.lookup()),
        }
    }

    /// Remembers what `lookup` found of the org's webhooks, as
    /// [`Remembered::keep`] does.
    pub(crate) fn keep_hooks(&self, lookup: Lookup, org_id: &str, events: Hooks, now: Timestamp) {
        let Some(mut inner) = self.unchanged_since(lookup) else { return };
        if inner.hooks.len() >= MAX_ENTRIES {
            inner.hooks.clear();
        }
        inner.hooks.insert(org_id.to_owned(), (events, now.plus(TTL)));
    }

    /// A change to the org's credentials, people, groups, policy or
    /// webhooks; an empty id: to any org's.
    pub(crate) fn changed(&self, org_id: &str) {
        let mut inner = self.inner();
        inner.generation += 1;
        if org_id.is_empty() {
            inner.entries.clear();
            inner.hooks.clear();
        } else {
            inner.entries.retain(|_, e| e.principal.org_id != org_id);
            inner.hooks.remove(org_id);
        }
    }

    /// API token `token_id`'s use was recorded at `at`.
    pub(crate) fn touched(&self, token_id: &str, at: Timestamp) {
        for e in self.inner().entries.values_mut() {
            if e.principal.credential == CredentialKind::Api && e.principal.credential_id == token_id {
                e.principal.last_used_at = Some(at);
            }
        }
    }

    /// Whether changes are heard; either way, everything is forgotten.
    fn listening(&self, on: bool) {
        let mut inner = self.inner();
        inner.listening = on;
        inner.generation += 1;
        inner.entries.clear();
        inner.hooks.clear();
    }

    /// Listens for changes on the database at `url` for as long as the
    /// returned task runs, connecting again whenever the connection drops.
    pub(crate) fn listen(&self, url: String) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => match listener.listen(CHANNEL).await {
                        Ok(()) => {
                            cache.listening(true);
                            // `None`: the connection dropped; what was
                            // sent meanwhile is lost, so all is forgotten.
                            while let Ok(Some(n)) = listener.try_recv().await {
                                cache.changed(n.payload());
                            }
                            tracing::warn!("lost the connection that hears changes; remembering nothing until it is back");
                        }
                        Err(e) => tracing::warn!(error = %e, "could not listen for changes"),
                    },
                    Err(e) => tracing::warn!(error = %e, "could not connect to hear changes"),
                }
                cache.listening(false);
                tokio::time::sleep(RECONNECT).await;
            }
        })
    }
}

/// Stops a task when the last clone is dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::model::Role;

    fn principal(org: &str, id: &str) -> Principal {
        Principal {
            org_id: org.into(),
            org_slug: org.into(),
            user_id: "u".into(),
            email: "a@b.c".into(),
            role: Role::Member,
            credential: CredentialKind::Api,
            credential_id: id.into(),
            scopes: None,
            last_used_at: None,
            groups: None,
            policy_version: None,
        }
    }

    const T: Timestamp = Timestamp(1_000_000);

    #[test]
    fn nothing_is_kept_unless_listening() {
        let c = Remembered::default();
        let lookup = c.get(CredentialKind::Api, "h", T).unwrap_err();
        c.keep(lookup, CredentialKind::Api, "h", &principal("o", "t"), T.plus(TTL), T);
        assert!(c.get(CredentialKind::Api, "h", T).is_err());
    }

    #[test]
    fn answers_end_at_expiry_ttl_and_changes() {
        let c = Remembered::default();
        c.listening(true);
        let keep = |hash: &str, org: &str, expires: Timestamp| {
            let lookup = c.get(CredentialKind::Api, hash, T).unwrap_err();
            c.keep(lookup, CredentialKind::Api, hash, &principal(org, hash), expires, T);
        };
        keep("a", "o1", T.plus(Duration::from_secs(3600)));
        keep("b", "o1", T.plus(Duration::from_secs(2)));
        keep("c", "o2", T.plus(Duration::from_secs(3600)));
        assert_eq!(c.get(CredentialKind::Api, "a", T).unwrap().credential_id, "a");
        // Another kind of credential with the same hash is another entry.
        assert!(c.get(CredentialKind::Session, "a", T).is_err());
        // The credential's own expiry, then the TTL.
        assert!(c.get(CredentialKind::Api, "b", T.plus(Duration::from_secs(1))).is_ok());
        assert!(c.get(CredentialKind::Api, "b", T.plus(Duration::from_secs(2))).is_err());
        assert!(c.get(CredentialKind::Api, "a", T.plus(TTL)).is_err());
        // A change to one org forgets that org only.
        c.changed("o1");
        assert!(c.get(CredentialKind::Api, "a", T).is_err());
        assert!(c.get(CredentialKind::Api, "c", T).is_ok());
        c.changed("");
        assert!(c.get(CredentialKind::Api, "c", T).is_err());
    }

    #[test]
    fn a_lookup_that_overlapped_a_change_is_not_kept() {
        let c = Remembered::default();
        c.listening(true);
        let lookup = c.get(CredentialKind::Api, "h", T).unwrap_err();
        c.changed("other-org");
        c.keep(lookup, CredentialKind::Api, "h", &principal("o", "t"), T.plus(TTL), T);
        assert!(c.get(CredentialKind::Api, "h", T).is_err());
        // Losing the connection forgets everything and stops keeping.
        let lookup = c.get(CredentialKind::Api, "h", T).unwrap_err();
        c.keep(lookup, CredentialKind::Api, "h", &principal("o", "t"), T.plus(TTL), T);
        assert!(c.get(CredentialKind::Api, "h", T).is_ok());
        c.listening(false);
        assert!(c.get(CredentialKind::Api, "h", T).is_err());
    }

    #[test]
    fn webhook_events_are_per_org_and_end_with_changes() {
        let c = Remembered::default();
        assert!(c.hooks("o1", T).is_err());
        c.listening(true);
        let lookup = c.hooks("o1", T).unwrap_err();
        c.keep_hooks(lookup, "o1", Arc::new(vec![vec!["request.active".to_owned()]]), T);
        assert_eq!(c.hooks("o1", T).unwrap().len(), 1);
        assert!(c.hooks("o2", T).is_err());
        assert!(c.hooks("o1", T.plus(TTL)).is_err(), "the TTL");
        c.changed("o1");
        assert!(c.hooks("o1", T).is_err());
        // A lookup that overlapped a change is not kept.
        let lookup = c.hooks("o1", T).unwrap_err();
        c.changed("o3");
        c.keep_hooks(lookup, "o1", Arc::new(Vec::new()), T);
        assert!(c.hooks("o1", T).is_err());
    }

    #[test]
    fn recorded_use_updates_the_answer() {
        let c = Remembered::default();
        c.listening(true);
        let lookup = c.get(CredentialKind::Api, "h", T).unwrap_err();
        c.keep(lookup, CredentialKind::Api, "h", &principal("o", "t"), T.plus(TTL), T);
        c.touched("t", T);
        assert_eq!(c.get(CredentialKind::Api, "h", T).unwrap().last_used_at, Some(T));
    }
}
