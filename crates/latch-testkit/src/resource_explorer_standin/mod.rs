//! A stand-in for AWS Resource Explorer 2, which moto lacks, written from the
//! public API reference (restJson1, `POST /<Operation>`) so that the official
//! `aws-sdk-resourceexplorer2` client works against it with its endpoint
//! overridden.
//!
//! It keeps only what Resource Explorer itself owns: each account's indexes,
//! views and default view, per region. The resources a search finds are read
//! from moto on every call, as the caller, in the caller's account ([`backing`]):
//! the tagged resources moto's Resource Groups Tagging API reports in each
//! region the view's index covers, and the account's IAM roles and users
//! (global, listed whether tagged or not, and — as the user guide says of
//! Resource Explorer — without their tags). A resource created or deleted in
//! moto shows in the next search.
//!
//! | operation | what it does here |
//! |---|---|
//! | `CreateIndex` | a `LOCAL` index in the caller's region (`ConflictException` if there is one) |
//! | `DeleteIndex` | removes it, with the region's views and default view |
//! | `ListIndexes` | the account's indexes; `Regions` and `Type` filters; paged (`MaxResults` 1–100) |
//! | `CreateView` | a view with an optional `Filters.FilterString` and `IncludedProperties` (`tags`) |
//! | `AssociateDefaultView` / `GetDefaultView` | the region's default view |
//! | `Search` | see below; paged (`MaxResults` 1–1000, `NextToken`) |
//!
//! `Search` uses `ViewArn` or else the region's default view; with neither it
//! answers `UnauthorizedException` (401), as the reference says of a region
//! without a default view. A view ARN that does not exist is
//! `ResourceNotFoundException` (404); a region with no index is
//! `UnauthorizedException` too (a view needs an index). Results are sorted by
//! ARN, capped at 1,000 per query (`Count.Complete` is false beyond it), and
//! the `tags` property is returned only when the view includes it.
//!
//! The query syntax implemented (a subset of the user guide's "Search query
//! syntax reference", see [`query`]): whitespace-separated terms, case
//! insensitive; free-text keywords joined with OR (matched as substrings of the
//! ARN, resource type, and tag keys and values; `*` alone matches everything);
//! the filters `region:`, `service:`, `resourcetype:`, `accountid:`, `id:`
//! (the ARN), `tag:KEY=VALUE`, `tag:KEY` (any value), `tag:none`, `tag.key:`
//! and `tag.value:`, where a trailing `*` matches a prefix and a leading `-`
//! negates; filters with the same prefix are joined with OR, different
//! prefixes with AND, and keywords AND filters. Anything else (an unknown
//! prefix, an empty value) is `ValidationException` (400).
//!
//! Errors carry the exception name in `x-amzn-ErrorType` and a body
//! `{"Message": "..."}`, with the reference's statuses: `ValidationException`
//! 400, `UnauthorizedException` 401, `AccessDeniedException` 403,
//! `ResourceNotFoundException` 404, `ConflictException` 409,
//! `InternalServerException` 500.
//!
//! Signatures are not checked. The caller is the access key (and session
//! token) in the request's SigV4 `Authorization` header; the stand-in calls
//! moto with that key and a made-up secret, which moto accepts while its IAM
//! enforcement is off (the stand-in cannot re-sign a caller's request, so it
//! does not work with enforcement on). Permissions cannot be evaluated either
//! (moto knows no `resource-explorer-2:*` actions), so a test refuses an
//! action to an account with [`ResourceExplorerStandin::refuse`].

mod api;
pub(crate) mod backing;
pub mod query;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use latch_core::{Clock, Timestamp};

pub use crate::standin::StandinOptions;

use self::backing::Backing;

/// A running stand-in; the server stops when this is dropped.
pub struct ResourceExplorerStandin {
    /// Base URL, e.g. `http://127.0.0.1:41234`, for the SDK client's
    /// endpoint override.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ResourceExplorerStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceExplorerStandin").field("url", &self.url).finish_non_exhaustive()
    }
}

impl ResourceExplorerStandin {
    /// Starts the stand-in on a free loopback port, backed by the moto at
    /// `moto_endpoint`.
    pub async fn start(moto_endpoint: &str) -> anyhow::Result<Self> {
        Self::start_with(moto_endpoint, StandinOptions::default()).await
    }

    /// [`ResourceExplorerStandin::start`] with a chosen address and clock.
    pub async fn start_with(moto_endpoint: &str, options: StandinOptions) -> anyhow::Result<Self> {
        let (listener, url) = crate::standin::bind(options.listen).await?;
        let shared = Arc::new(Shared { clock: options.clock, backing: Backing::new(moto_endpoint), state: Mutex::new(State::default()) });
        let router = api::routes().with_state(Arc::clone(&shared));
        let server = crate::standin::serve("resource explorer stand-in", listener, router);
        Ok(Self { url, shared, server })
    }

    /// From now on, answers `AccessDeniedException` when a caller in
    /// `account_id` calls `action` (`resource-explorer-2:Search`), as AWS does
    /// when the caller's policies do not allow it.
    pub fn refuse(&self, account_id: &str, action: &str) {
        self.shared.state().refused.insert((account_id.to_owned(), action.to_owned()));
    }

    /// Forgets every index, view and refusal (after a moto reset).
    pub fn reset(&self) {
        *self.shared.state() = State::default();
    }

    /// Serves until the server task ends (for the binary).
    pub async fn serve_forever(mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("while serving")
    }
}

impl Drop for ResourceExplorerStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) backing: Backing,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The stand-in's own records. Never held across an `.await`.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What Resource Explorer owns, per account and region.
#[derive(Default)]
pub(crate) struct State {
    /// By (account, region).
    pub(crate) regions: BTreeMap<(String, String), RegionState>,
    /// (account, action) pairs answered with `AccessDeniedException`.
    pub(crate) refused: HashSet<(String, String)>,
    /// Search page tokens: token → where the next page starts.
    pub(crate) pages: HashMap<String, PageCursor>,
}

/// One region of one account.
#[derive(Default)]
pub(crate) struct RegionState {
    pub(crate) index: Option<Index>,
    /// By ARN.
    pub(crate) views: BTreeMap<String, View>,
    pub(crate) default_view: Option<String>,
}

/// An index: `LOCAL` (the stand-in creates only those) or `AGGREGATOR`.
#[derive(Clone)]
pub(crate) struct Index {
    pub(crate) arn: String,
    pub(crate) kind: IndexType,
}

/// The index types of the reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexType {
    Local,
    Aggregator,
}

impl IndexType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IndexType::Local => "LOCAL",
            IndexType::Aggregator => "AGGREGATOR",
        }
    }
}

/// A view: a filter and the optional properties it returns.
#[derive(Clone)]
pub(crate) struct View {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) filter: Option<String>,
    pub(crate) include_tags: bool,
    pub(crate) updated_at: Timestamp,
}

/// Where a paged search resumes, and for which search.
pub(crate) struct PageCursor {
    pub(crate) account: String,
    pub(crate) view_arn: String,
    pub(crate) query: String,
    pub(crate) offset: usize,
}

/// A random hex string of `len` characters.
pub(crate) fn random_hex(len: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    (0..len).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0')).collect()
}

/// A UUID-shaped random id, as Resource Explorer puts in its ARNs.
pub(crate) fn random_uuid() -> String {
    format!("{}-{}-{}-{}-{}", random_hex(8), random_hex(4), random_hex(4), random_hex(4), random_hex(12))
}
