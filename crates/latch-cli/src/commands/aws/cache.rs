//! The AWS credential cache: one file per server × org × account × role,
//! 0600 in a 0700 directory, written atomically, valid until the earlier of
//! the credentials' expiry and the grant's end. A lock file per entry makes
//! ten shells asking at once wait for the first one's request instead of
//! making ten.
//!
//! Each entry keeps what is needed to decide whether it is still good
//! (`valid_until`, and the server and org for `latch logout`) beside the
//! credentials, so a cache hit is one small file read and no network.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Credentials;
use crate::private_file::{private_dir, write_private};

/// Credentials closer than this to their end are not handed out: a command
/// started with them should have time to finish.
pub const MARGIN: Duration = Duration::from_secs(120);

/// What a cache entry is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Server base URL.
    pub server: String,
    /// Org slug (or a fingerprint of the API token in use).
    pub org: String,
    /// The account as the person named it (id, alias, or empty for "the only one").
    pub account: String,
    /// `role` or `permission-set`.
    pub kind: String,
    /// The role or permission set.
    pub name: String,
}

/// A short hex digest of `parts` (NUL-separated), for file names.
pub fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl Key {
    fn file_stem(&self) -> String {
        digest(&[&self.server, &self.org, &self.account, &self.kind, &self.name])
    }
}

/// One cached entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Server base URL.
    pub server: String,
    /// Org slug.
    pub org: String,
    /// Resolved account id.
    pub account_id: String,
    /// The request whose grant these credentials came from.
    #[serde(default)]
    pub request_id: String,
    /// Epoch seconds after which the entry is useless.
    pub valid_until: i64,
    /// The credentials.
    pub credentials: Credentials,
}

/// The directory of cached AWS credentials.
pub fn dir() -> anyhow::Result<PathBuf> {
    Ok(crate::creds::config_dir()?.join("aws"))
}

fn entry_path(key: &Key) -> anyhow::Result<PathBuf> {
    Ok(dir()?.join(format!("{}.json", key.file_stem())))
}

/// The entry for `key` if it is still good at `now` (epoch seconds).
pub fn get(key: &Key, now: i64) -> Option<Entry> {
    let bytes = std::fs::read(entry_path(key).ok()?).ok()?;
    let e: Entry = serde_json::from_slice(&bytes).ok()?;
    let margin = i64::try_from(MARGIN.as_secs()).unwrap_or(i64::MAX);
    (e.valid_until - margin > now).then_some(e)
}

/// Stores `entry` for `key`.
pub fn put(key: &Key, entry: &Entry) -> anyhow::Result<()> {
    write_private(&entry_path(key)?, &serde_json::to_vec(entry)?)
}

/// An exclusive lock on one cache entry, held until dropped.
pub struct Lock(File);

impl Lock {
    /// Waits for the entry's lock (another `latch` may be fetching it).
    pub fn acquire(key: &Key) -> anyhow::Result<Lock> {
        let d = dir()?;
        private_dir(&d)?;
        let path = d.join(format!("{}.lock", key.file_stem()));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("while opening `{}`", path.display()))?;
        f.lock().with_context(|| format!("while locking `{}`", path.display()))?;
        Ok(Lock(f))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first is explicit.
        let _ = self.0.unlock();
    }
}

/// Deletes the cached credentials of `server`/`org` (all when both are
/// `None`). Returns how many entries were removed.
pub fn wipe(server: Option<&str>, org: Option<&str>) -> anyhow::Result<usize> {
    remove_where(|e| e.is_none_or(|entry| server.is_none_or(|s| s == entry.server) && org.is_none_or(|o| o == entry.org)))
}

/// Deletes the cached credentials that came from `request_id`'s grant (it
/// was given back or taken away). Returns how many entries were removed.
pub fn wipe_request(request_id: &str) -> anyhow::Result<usize> {
    remove_where(|e| e.is_some_and(|entry| entry.request_id == request_id))
}

/// Removes every entry `doomed` says so of (`None`: unreadable).
fn remove_where(doomed: impl Fn(Option<&Entry>) -> bool) -> anyhow::Result<usize> {
    let d = dir()?;
    let entries = match std::fs::read_dir(&d) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("while reading `{}`", d.display())),
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let entry = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Entry>(&b).ok());
        if doomed(entry.as_ref()) {
            std::fs::remove_file(&path).with_context(|| format!("while removing `{}`", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}
