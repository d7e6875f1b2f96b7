//! The store port: everything the control plane persists. Every method that
//! touches tenant data takes the caller's org id and scopes its query by it.
//!
//! Implementations: `latch-store` (SQLite and PostgreSQL), checked by one
//! conformance suite on both.

use async_trait::async_trait;
use thiserror::Error;

use crate::access::lifecycle::State;
use crate::access::notice::Notice;
use crate::access::request::{Changes, Decision, Effects, Extension, Move, NewRequest, Request, RequestFilter};
use crate::audit::{AuditRecord, NewAuditEvent};
use crate::jobs::{Claimed, Job, NewJob};
use crate::clock::Timestamp;
use crate::integration::{AwsIntegration, IntegrationStatus};
use crate::inventory::{Change, Item, SyncRun};
use crate::model::{ApiToken, Group, GroupSource, Org, Principal, Role, Scope, SsoConfig, User, Webhook};
use crate::token::TokenHash;

/// Why a store call failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The record does not exist (in this org).
    #[error("not found")]
    NotFound,
    /// A unique name is taken.
    #[error("already exists")]
    Conflict,
    /// The database cannot be reached right now; the caller may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or corrupt data.
    #[error("database error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Canonical email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in the org.
    pub role: Role,
    /// argon2id PHC hash, if a password is set now.
    pub password_hash: Option<String>,
}

/// A user's stored sign-in secrets, for password sign-in only.
#[derive(Debug, Clone)]
pub struct UserSecrets {
    /// The user.
    pub user: User,
    /// argon2id PHC hash.
    pub password_hash: Option<String>,
    /// Base32 TOTP secret, when TOTP is on.
    pub totp_secret: Option<String>,
}

/// An API token to create.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// The user it acts as.
    pub user_id: String,
    /// Label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Hash of the secret.
    pub hash: TokenHash,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// What kind of sign-in session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser cookie session.
    Web,
    /// A CLI session from the device flow (access + refresh tokens).
    Cli,
}

impl SessionKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Cli => "cli",
        }
    }
}

/// A session to create. For web sessions `secret_hash` is the cookie's hash;
/// CLI sessions are reached through their access and refresh tokens.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The user.
    pub user_id: String,
    /// Web or CLI.
    pub kind: SessionKind,
    /// Hash of the cookie secret (web) or of the first refresh token (CLI).
    pub secret_hash: TokenHash,
    /// Absolute end of the session (refreshes never go past it).
    pub expires_at: Timestamp,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now spent; the session may issue a new pair.
    Rotated {
        /// The session (token family).
        session_id: String,
        /// Its user.
        user_id: String,
        /// The session's absolute end.
        session_expires_at: Timestamp,
    },
    /// Already spent: someone replayed it, so the whole family was revoked.
    Replayed {
        /// The revoked session.
        session_id: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// A device authorization, as the poller and the approver see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// Opaque id.
    pub id: String,
    /// The org signed in to.
    pub org_id: String,
    /// The code shown to the person.
    pub user_code: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Minimum seconds between polls.
    pub interval_secs: i64,
    /// Last poll time.
    pub last_polled_at: Option<Timestamp>,
    /// Pending, approved, denied or consumed.
    pub state: DeviceState,
    /// The approving user, once approved.
    pub user_id: Option<String>,
    /// The client's description of itself (host name), shown to the approver.
    pub client_name: String,
}

/// The life of a device authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for a person.
    Pending,
    /// A person approved; the next poll gets tokens.
    Approved,
    /// A person refused.
    Denied,
    /// Tokens were issued; any further poll is a reuse.
    Consumed,
}

impl DeviceState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Pending => "pending",
            DeviceState::Approved => "approved",
            DeviceState::Denied => "denied",
            DeviceState::Consumed => "consumed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeviceState::Pending),
            "approved" => Some(DeviceState::Approved),
            "denied" => Some(DeviceState::Denied),
            "consumed" => Some(DeviceState::Consumed),
            _ => None,
        }
    }
}

/// A device authorization to create.
#[derive(Debug, Clone)]
pub struct NewDeviceAuthorization {
    /// Hash of the device code.
    pub device_code_hash: TokenHash,
    /// The user code (short, shown to people).
    pub user_code: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Minimum seconds between polls.
    pub interval_secs: i64,
    /// The client's description of itself.
    pub client_name: String,
}

/// A one-time enrollment (first admin, or an invited user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// The user it enrolls.
    pub user_id: String,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// Orgs.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates an org; `Conflict` if the slug is taken.
    async fn create_org(&self, slug: &str, name: &str, now: Timestamp) -> StoreResult<Org>;
    /// Finds an org by slug.
    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<Org>>;
    /// How many orgs exist (zero on a fresh database).
    async fn count_orgs(&self) -> StoreResult<i64>;
}

/// Users and groups of one org.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Creates a user; `Conflict` if the email is taken in the org.
    async fn create_user(&self, org_id: &str, user: &NewUser, now: Timestamp) -> StoreResult<User>;
    /// A user by id.
    async fn user_by_id(&self, org_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    /// A user by email, with sign-in secrets.
    async fn user_secrets_by_email(&self, org_id: &str, email: &str) -> StoreResult<Option<UserSecrets>>;
    /// All users of the org, by email.
    async fn list_users(&self, org_id: &str) -> StoreResult<Vec<User>>;
    /// Deletes a user and everything that lets them in (sessions, tokens).
    async fn delete_user(&self, org_id: &str, user_id: &str) -> StoreResult<()>;
    /// Changes a user's role.
    async fn set_role(&self, org_id: &str, user_id: &str, role: Role) -> StoreResult<()>;
    /// Sets a user's password hash.
    async fn set_password(&self, org_id: &str, user_id: &str, password_hash: &str) -> StoreResult<()>;
    /// Sets or clears a user's TOTP secret (and forgets the last used step).
    async fn set_totp(&self, org_id: &str, user_id: &str, secret: Option<&str>) -> StoreResult<()>;
    /// Records that a TOTP code of `step` was used; false if that step (or a
    /// later one) was already used, so a code works once.
    async fn use_totp_step(&self, org_id: &str, user_id: &str, step: i64) -> StoreResult<bool>;
    /// Creates a group; `Conflict` if the name is taken in the org.
    async fn create_group(&self, org_id: &str, name: &str, source: GroupSource, now: Timestamp) -> StoreResult<Group>;
    /// All groups of the org, by name.
    async fn list_groups(&self, org_id: &str) -> StoreResult<Vec<Group>>;
    /// A group by name.
    async fn group_by_name(&self, org_id: &str, name: &str) -> StoreResult<Option<Group>>;
    /// Deletes a group and its memberships.
    async fn delete_group(&self, org_id: &str, group_id: &str) -> StoreResult<()>;
    /// Adds a user to a group (no-op if already in it).
    async fn add_member(&self, org_id: &str, group_id: &str, user_id: &str) -> StoreResult<()>;
    /// Removes a user from a group.
    async fn remove_member(&self, org_id: &str, group_id: &str, user_id: &str) -> StoreResult<()>;
    /// The group's members.
    async fn group_members(&self, org_id: &str, group_id: &str) -> StoreResult<Vec<User>>;
    /// The groups a user is in.
    async fn user_groups(&self, org_id: &str, user_id: &str) -> StoreResult<Vec<Group>>;
    /// Makes the user's IdP-sourced groups exactly `names`, creating groups
    /// as needed; local groups are untouched.
    async fn sync_idp_groups(&self, org_id: &str, user_id: &str, names: &[String], now: Timestamp) -> StoreResult<()>;
}

/// Credentials: API tokens, sessions, CLI tokens, device codes, enrollments.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a new API token.
    async fn create_api_token(&self, org_id: &str, token: &NewApiToken, now: Timestamp) -> StoreResult<ApiToken>;
    /// The org's API tokens, optionally only one user's.
    async fn list_api_tokens(&self, org_id: &str, user_id: Option<&str>) -> StoreResult<Vec<ApiToken>>;
    /// One API token.
    async fn api_token(&self, org_id: &str, token_id: &str) -> StoreResult<Option<ApiToken>>;
    /// Revokes an API token (idempotent).
    async fn revoke_api_token(&self, org_id: &str, token_id: &str, now: Timestamp) -> StoreResult<()>;
    /// The caller behind a live API token.
    async fn authenticate_api_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>>;
    /// Records use of an API token.
    async fn touch_api_token(&self, token_id: &str, now: Timestamp) -> StoreResult<()>;

    /// Starts a session; returns its id.
    async fn create_session(&self, org_id: &str, session: &NewSession, now: Timestamp) -> StoreResult<String>;
    /// The caller behind a live web session cookie.
    async fn authenticate_session(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>>;
    /// Ends a session and every token of its family (idempotent).
    async fn revoke_session(&self, org_id: &str, session_id: &str, now: Timestamp) -> StoreResult<()>;
    /// Issues an access token within a CLI session.
    async fn insert_access_token(&self, session_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()>;
    /// The caller behind a live access token.
    async fn authenticate_access_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>>;
    /// Issues a refresh token within a CLI session.
    async fn insert_refresh_token(&self, session_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()>;
    /// Spends a refresh token, atomically: valid once; a second use revokes
    /// the whole session.
    async fn use_refresh_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<RefreshOutcome>;
    /// The session a refresh token belongs to, whether spent or not (logout).
    async fn session_of_refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<(String, String)>>;

    /// Starts a device authorization in an org.
    async fn create_device_authorization(&self, org_id: &str, d: &NewDeviceAuthorization, now: Timestamp) -> StoreResult<DeviceAuthorization>;
    /// Finds a device authorization by its device code and records the poll;
    /// returns it as it was before this poll.
    async fn poll_device_authorization(&self, org_id: &str, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<DeviceAuthorization>>;
    /// Moves an approved authorization to consumed; false if it was not
    /// approved (so two polls can never both get tokens).
    async fn consume_device_authorization(&self, id: &str) -> StoreResult<bool>;
    /// A pending authorization by user code.
    async fn device_authorization_by_user_code(&self, org_id: &str, user_code: &str) -> StoreResult<Option<DeviceAuthorization>>;
    /// Approves or denies a pending authorization; false if it was not pending.
    async fn decide_device_authorization(&self, org_id: &str, id: &str, user_id: Option<&str>, now: Timestamp) -> StoreResult<bool>;

    /// Stores an enrollment token for a user.
    async fn create_enrollment(&self, org_id: &str, user_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()>;
    /// Spends an enrollment token; `None` if unknown, spent or expired.
    async fn consume_enrollment(&self, org_id: &str, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Enrollment>>;

    /// Counts a failed sign-in under `key` within a window starting at
    /// `window_start`, returning the count including this one.
    async fn record_failure(&self, key: &str, now: Timestamp, window_start: Timestamp) -> StoreResult<i64>;
    /// Failed sign-ins under `key` since `window_start`.
    async fn failures_since(&self, key: &str, window_start: Timestamp) -> StoreResult<i64>;
    /// Forgets failures under `key` (after a successful sign-in).
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
}

/// A single sign-on in flight, from redirect to callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoState {
    /// The org signing in to.
    pub org_id: String,
    /// The OpenID Connect nonce sent.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
    /// Where to send the person afterwards (a local path).
    pub next: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// Single sign-on configuration and in-flight state.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Sets (or replaces) the org's provider.
    async fn set_sso(&self, org_id: &str, config: &SsoConfig, now: Timestamp) -> StoreResult<()>;
    /// The org's provider, if any.
    async fn sso(&self, org_id: &str) -> StoreResult<Option<SsoConfig>>;
    /// Removes the org's provider (idempotent).
    async fn delete_sso(&self, org_id: &str) -> StoreResult<()>;
    /// Records a sign-in in flight under the hash of its `state` value.
    async fn create_sso_state(&self, state_hash: &TokenHash, state: &SsoState) -> StoreResult<()>;
    /// Takes (deletes and returns) a sign-in in flight, if unexpired: each
    /// `state` is accepted once.
    async fn take_sso_state(&self, state_hash: &TokenHash, now: Timestamp) -> StoreResult<Option<SsoState>>;
}

/// Access policies and requests.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Stores a new policy version; returns its number (1, 2, …).
    async fn put_policy(&self, org_id: &str, source: &str, actor: &str, now: Timestamp) -> StoreResult<i64>;
    /// The current policy: version and TOML source.
    async fn current_policy(&self, org_id: &str) -> StoreResult<Option<(i64, String)>>;
    /// One version's TOML source.
    async fn policy_version(&self, org_id: &str, version: i64) -> StoreResult<Option<String>>;
    /// Stores a request with its targets, and `effects` in the same transaction.
    async fn create_request(&self, org_id: &str, r: &NewRequest, now: Timestamp, effects: &Effects) -> StoreResult<Request>;
    /// A request with its targets and decisions.
    async fn request(&self, org_id: &str, id: &str) -> StoreResult<Option<Request>>;
    /// Requests matching `filter`, newest first.
    async fn list_requests(&self, org_id: &str, filter: &RequestFilter) -> StoreResult<Vec<Request>>;
    /// Moves a request from `from` to `to`, setting `changes` and recording
    /// their effects in the same transaction; false if it was no longer in
    /// `from` (someone else moved it first), and then nothing is recorded.
    async fn transition(&self, org_id: &str, id: &str, from: State, to: State, changes: &Changes, now: Timestamp) -> StoreResult<bool>;
    /// Moves an active request's end as `e` says, recording its effects in
    /// the same transaction; false if it is no longer active with that end.
    async fn extend(&self, org_id: &str, id: &str, e: &Extension, now: Timestamp) -> StoreResult<bool>;
    /// Records a decision; `Conflict` if this person already decided.
    async fn add_decision(&self, org_id: &str, request_id: &str, d: &Decision) -> StoreResult<()>;
}

/// The job table.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a job; false if its idempotency key was queued before.
    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> StoreResult<bool>;
    /// Leases the most overdue due job (queued and due, or running with an
    /// expired lease) to `worker` until `lease_until`.
    async fn claim(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> StoreResult<Option<Job>>;
    /// [`JobStore::claim`], or when nothing is due, [`JobStore::next_due`]
    /// after `now`: what an idle worker asks, in one round trip where the
    /// engine allows it.
    async fn claim_or_next_due(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> StoreResult<Claimed> {
        match self.claim(worker, now, lease_until).await? {
            Some(job) => Ok(Claimed::Job(job, None)),
            None => Ok(Claimed::Idle { next_due: self.next_due(now).await? }),
        }
    }
    /// Extends the lease; false if the worker lost it.
    async fn heartbeat(&self, job_id: &str, worker: &str, lease_until: Timestamp) -> StoreResult<bool>;
    /// Marks it done; false if the worker lost the lease.
    async fn complete(&self, job_id: &str, worker: &str, now: Timestamp) -> StoreResult<bool>;
    /// Queues it again at `run_at` after a failure.
    async fn retry(&self, job_id: &str, worker: &str, run_at: Timestamp, error: &str, now: Timestamp) -> StoreResult<bool>;
    /// Queues it again at `run_at` without counting this attempt: it only
    /// waited for another change to the same access to finish, which says
    /// nothing about whether it can succeed.
    async fn postpone(&self, job_id: &str, worker: &str, run_at: Timestamp, now: Timestamp) -> StoreResult<bool>;
    /// Gives up on it: dead, visible, alerting.
    async fn bury(&self, job_id: &str, worker: &str, error: &str, now: Timestamp) -> StoreResult<bool>;
    /// The earliest run time of a queued job later than `after` (a worker
    /// that found nothing to claim at `after` sleeps until then). Lapsed
    /// leases are not counted: the claims that workers make at least every
    /// poll interval take them over.
    async fn next_due(&self, after: Timestamp) -> StoreResult<Option<Timestamp>>;
    /// The org's dead jobs.
    async fn dead_jobs(&self, org_id: &str) -> StoreResult<Vec<Job>>;
    /// Forgets up to `limit` jobs, of every org, that were done before
    /// `before`; how many it forgot. Their idempotency keys go with them,
    /// which is safe once they are old: every key Latch queues names a change
    /// or a time that does not come again. Dead jobs are kept.
    async fn forget_done(&self, before: Timestamp, limit: i64) -> StoreResult<u64>;
}

/// The replicas of `latch server` sharing the database. Each holds a
/// liveness lock for as long as its process lives, so the work a crashed
/// replica held (job leases, entitlement locks) is freed as soon as another
/// replica, or its own restart, looks, not when the leases lapse.
#[async_trait]
pub trait ReplicaStore: Send + Sync {
    /// Takes `replica`'s liveness lock, then registers it. Worker names of
    /// the replica start with `{replica}-`.
    async fn join(&self, replica: &str, now: Timestamp) -> StoreResult<()>;
    /// Finds the registered replicas whose liveness lock is free (their
    /// process is gone), frees the job leases and entitlement locks their
    /// workers held, and forgets them; returns the replicas reaped.
    async fn reap(&self, now: Timestamp) -> StoreResult<Vec<String>>;
    /// Forgets `replica` after a clean stop, releasing its lock.
    async fn leave(&self, replica: &str) -> StoreResult<()>;
}

/// [`GrantStore::take_entitlement`]: `holder` takes the lock on a person's
/// entitlement until `until`, for target `idx` of request `request_id`.
#[derive(Debug, Clone, Copy)]
pub struct Take<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The person.
    pub user_id: &'a str,
    /// The entitlement's key.
    pub key: &'a str,
    /// The job taking it.
    pub holder: &'a str,
    /// Now.
    pub now: Timestamp,
    /// When the lock lapses.
    pub until: Timestamp,
    /// The request whose target will hold the entitlement.
    pub request_id: &'a str,
    /// Which target.
    pub idx: i64,
    /// A move of the request to make first.
    pub first: Option<&'a Move>,
}

/// What [`GrantStore::take_entitlement`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The request was no longer where the move expected: nothing was done.
    Stale,
    /// Another holder's lock is live: only the move (if any) was made.
    Busy,
    /// Locked and held; what is in place now (`None`: nothing granted yet).
    Held(Option<String>),
}

/// [`GrantStore::finish_grant`]: what the integration applied for a
/// person's entitlement, recorded by the lock's holder.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The person.
    pub user_id: &'a str,
    /// The entitlement's key.
    pub key: &'a str,
    /// The job holding its lock.
    pub holder: &'a str,
    /// What is in place now, as the integration describes it.
    pub applied: &'a str,
    /// Recorded with it (its audit event).
    pub effects: &'a Effects,
    /// A move of the request to make with it.
    pub then: Option<&'a Move>,
    /// Now.
    pub now: Timestamp,
}

/// Grants of requests and the entitlements they hold, reference-counted.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Takes the per-person, per-entitlement lock (a lease, so a crashed
    /// holder does not block forever); `Some(applied)` when taken, with what
    /// is in place now (`None`: nothing granted yet).
    async fn lock_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<Option<Option<String>>>;
    /// Releases the lock.
    async fn unlock_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str) -> StoreResult<()>;
    /// The first step of granting a request's target, in one transaction:
    /// `t.first`'s move of the request if given (if the request is no
    /// longer where it expects, nothing else happens), then the
    /// entitlement's lock as [`GrantStore::lock_entitlement`] takes it,
    /// then, if taken, the record that the target holds the entitlement
    /// (idempotent).
    async fn take_entitlement(&self, t: &Take<'_>) -> StoreResult<Taken>;
    /// Records what the integration did for the entitlement (`f.applied`)
    /// with `f.effects` (its audit event), and releases the holder's lock
    /// (if it still has it), in one transaction; with `f.then`, the
    /// request's move is made in the same transaction. True if `f.then`
    /// moved the request (false without it).
    async fn finish_grant(&self, f: &Finish<'_>) -> StoreResult<bool>;
    /// Forgets the entitlement (after revoking it), releasing the lock.
    async fn drop_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str) -> StoreResult<()>;
    /// The entitlement key a request's target was held under, if it ever was.
    async fn grant_key(&self, org_id: &str, request_id: &str, idx: i64) -> StoreResult<Option<String>>;
    /// Records that it no longer does (idempotent).
    async fn release_grant(&self, org_id: &str, request_id: &str, idx: i64, now: Timestamp) -> StoreResult<()>;
    /// How many grants hold the entitlement.
    async fn holders(&self, org_id: &str, user_id: &str, key: &str) -> StoreResult<i64>;
    /// Every entitlement the org's people hold or are being granted now, as
    /// (email, entitlement key): reconciliation tells Latch's own work in
    /// AWS from leftovers by it.
    async fn entitlements(&self, org_id: &str) -> StoreResult<Vec<(String, String)>>;
}

/// Webhooks and their queued notifications.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Adds a webhook with its signing secret.
    async fn create_webhook(&self, org_id: &str, url: &str, kind: &str, secret: &str, events: &[String], now: Timestamp) -> StoreResult<Webhook>;
    /// The org's webhooks.
    async fn list_webhooks(&self, org_id: &str) -> StoreResult<Vec<Webhook>>;
    /// Removes one.
    async fn delete_webhook(&self, org_id: &str, id: &str) -> StoreResult<()>;
    /// Whether any webhook of the org wants `event`: a change need not
    /// describe itself to nobody. A webhook added meanwhile hears of the
    /// changes that follow it.
    async fn hears(&self, org_id: &str, event: &str, now: Timestamp) -> StoreResult<bool>;
    /// Queues `notices` for every webhook of the org that wants them (one
    /// notification and one delivery job each), in one transaction; returns
    /// how many notifications were queued. A change to a request queues its
    /// notices through its [`Effects`](crate::access::request::Effects)
    /// instead, in the change's own transaction.
    async fn queue_notices(&self, org_id: &str, notices: &[Notice], now: Timestamp) -> StoreResult<usize>;
    /// A queued notification, with its webhook and the webhook's secret.
    async fn notification(&self, org_id: &str, id: &str) -> StoreResult<Option<QueuedNotification>>;
}

/// A notification waiting for delivery.
#[derive(Debug, Clone)]
pub struct QueuedNotification {
    /// Where it goes.
    pub webhook: Webhook,
    /// The webhook's signing secret.
    pub secret: String,
    /// What was stored.
    pub payload: String,
    /// Whether `payload` is a [`Notice`] document (rendered per webhook kind
    /// at delivery) rather than a body queued already rendered by an
    /// earlier Latch.
    pub is_document: bool,
}

/// Connected AWS accounts.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Registers an account, or updates its settings if the org already has
    /// it (the ExternalId and creation time are kept; status goes back to
    /// pending when the components change). Returns the stored record.
    async fn put_aws_integration(&self, i: &AwsIntegration) -> StoreResult<AwsIntegration>;
    /// One account of the org, by id or alias.
    async fn aws_integration(&self, org_id: &str, account_or_alias: &str) -> StoreResult<Option<AwsIntegration>>;
    /// The org's accounts, by account id.
    async fn list_aws_integrations(&self, org_id: &str) -> StoreResult<Vec<AwsIntegration>>;
    /// Records a verify result.
    async fn set_aws_status(&self, org_id: &str, account_id: &str, status: IntegrationStatus, missing: &[String], now: Timestamp) -> StoreResult<()>;
    /// Disconnects an account.
    async fn delete_aws_integration(&self, org_id: &str, account_id: &str) -> StoreResult<()>;
}

/// The inventory of connected accounts: the current items, and per sync
/// version what appeared, changed and vanished.
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// The account's running sync (a crashed one is resumed), or a new one
    /// with the next version.
    async fn begin_sync(&self, org_id: &str, account_id: &str, now: Timestamp) -> StoreResult<SyncRun>;
    /// Writes one page of items seen by sync `version`, recording which are
    /// new or different; repeating a page is harmless.
    async fn put_items(&self, org_id: &str, account_id: &str, version: i64, items: &[Item]) -> StoreResult<()>;
    /// Saves where the sync is, so a crash resumes from there.
    async fn save_cursor(&self, org_id: &str, account_id: &str, version: i64, cursor: &serde_json::Value) -> StoreResult<()>;
    /// Ends sync `version`: items it did not see vanish. Returns the run.
    async fn finish_sync(&self, org_id: &str, account_id: &str, version: i64, now: Timestamp) -> StoreResult<SyncRun>;
    /// Marks sync `version` failed (the next sync starts a new version).
    async fn fail_sync(&self, org_id: &str, account_id: &str, version: i64, error: &str, now: Timestamp) -> StoreResult<()>;
    /// The account's latest sync.
    async fn last_sync(&self, org_id: &str, account_id: &str) -> StoreResult<Option<SyncRun>>;
    /// The account's current items, optionally of one kind, by id.
    async fn items(&self, org_id: &str, account_id: &str, kind: Option<&str>) -> StoreResult<Vec<Item>>;
    /// The account's current items of `kind` whose id ends with `suffix`
    /// (a role by `/NAME`, a resource by its ARN), read without the rest.
    async fn items_ending(&self, org_id: &str, account_id: &str, kind: &str, suffix: &str) -> StoreResult<Vec<Item>>;
    /// What sync `version` found changed.
    async fn changes(&self, org_id: &str, account_id: &str, version: i64) -> StoreResult<Vec<Change>>;
}

/// Each org's signing key for the tokens Latch issues (AWS federation).
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// The org's key: (key id, the private key PEM as stored: sealed by the server).
    async fn signing_key(&self, org_id: &str) -> StoreResult<Option<(String, String)>>;
    /// Stores a key unless the org has one (two replicas racing keep the
    /// first); returns the org's key.
    async fn put_signing_key(&self, org_id: &str, kid: &str, private_pem: &str, now: Timestamp) -> StoreResult<(String, String)>;
    /// Replaces the stored form of a key (`from` → `to`, e.g. sealing one
    /// stored in the clear); false if it changed meanwhile.
    async fn reseal_signing_key(&self, org_id: &str, kid: &str, from: &str, to: &str) -> StoreResult<bool>;
}

/// The audit chain.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records an event for the org's chain. It is chained by the next
    /// [`AuditStore::seal_audit`] (or read of the chain), never lost.
    async fn append_audit(&self, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<()>;
    /// Chains the events recorded and not yet chained, of `org_id` or of
    /// every org (`None`), onto their chains; how many.
    async fn seal_audit(&self, org_id: Option<&str>) -> StoreResult<usize>;
    /// Records with `seq > after`, oldest first, at most `limit` (sealing
    /// what is waiting first).
    async fn audit_page(&self, org_id: &str, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>>;
    /// The org's head: last seq and hash (sealing what is waiting first).
    async fn audit_head(&self, org_id: &str) -> StoreResult<Option<(i64, String)>>;
}

/// Everything the control plane persists.
#[async_trait]
pub trait Store: OrgStore + PeopleStore + CredentialStore + AuditStore + SsoStore + AccessStore + JobStore + ReplicaStore + GrantStore + WebhookStore + IntegrationStore + InventoryStore + SigningKeyStore {
    /// Cheap liveness check of the database.
    async fn ping(&self) -> StoreResult<()>;
    /// Which engine: `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
}
