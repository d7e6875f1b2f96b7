//! A stand-in for the two AWS services moto lacks and the `latch` CLI's
//! Identity Center login needs: SSO OIDC (the device authorization grant) and
//! the SSO portal (`GetRoleCredentials` and its listings), written from the
//! public API references so that the official `aws-sdk-ssooidc` and
//! `aws-sdk-sso` clients work against it with their endpoint overridden.
//!
//! It keeps only what those services own (registered clients, device codes,
//! access tokens). Who the user is, what is assigned to them and what a
//! permission set allows are read from moto's sso-admin and identitystore on
//! every call, and the credentials are real moto STS sessions of the role
//! Identity Center would have provisioned (`AWSReservedSSO_…`), so access
//! granted or removed in moto shows at once.
//!
//! Both services and the stand-in's own consent page share one HTTP server;
//! their paths do not overlap:
//!
//! | path | service |
//! |---|---|
//! | `POST /client/register`, `POST /device_authorization`, `POST /token` | SSO OIDC ([`oidc`]) |
//! | `GET /federation/credentials`, `GET /assignment/accounts`, `GET /assignment/roles`, `POST /logout` | SSO portal ([`portal`]) |
//! | `GET /start`, `POST /start/approve` | the person's browser consent ([`approval`]) |

pub mod approval;
mod backing;
pub mod oidc;
pub mod portal;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use aws_config::SdkConfig;
use latch_core::{Clock, Timestamp};
use rand::distributions::{Alphanumeric, Distribution as _, Slice};
use rand::Rng as _;

pub use crate::standin::StandinOptions;

use self::backing::Backing;

/// A running stand-in; the server stops when this is dropped.
pub struct SsoStandin {
    /// Base URL of both services, e.g. `http://127.0.0.1:41234`, for the SDK
    /// clients' endpoint override.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SsoStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoStandin").field("url", &self.url).finish_non_exhaustive()
    }
}

impl SsoStandin {
    /// Starts the stand-in on a free loopback port, backed by the moto at
    /// `moto_endpoint` through `admin`, an administrator of the Organizations
    /// management account (where the Identity Center instance lives).
    pub async fn start(moto_endpoint: &str, admin: SdkConfig) -> anyhow::Result<Self> {
        Self::start_with(moto_endpoint, admin, StandinOptions::default()).await
    }

    /// [`SsoStandin::start`] with a chosen address and clock.
    pub async fn start_with(moto_endpoint: &str, admin: SdkConfig, options: StandinOptions) -> anyhow::Result<Self> {
        let (listener, url) = crate::standin::bind(options.listen).await?;
        let shared = Arc::new(Shared {
            url: url.clone(),
            clock: options.clock,
            backing: Backing::new(moto_endpoint, admin),
            state: Mutex::new(State::default()),
        });
        let router = axum::Router::new()
            .merge(oidc::routes())
            .merge(portal::routes())
            .merge(approval::routes())
            .with_state(Arc::clone(&shared));
        let server = crate::standin::serve("sso stand-in", listener, router);
        Ok(Self { url, shared, server })
    }

    /// Plays the person approving the device request shown as `user_code`
    /// while signed in as the Identity Store user named `user_name`.
    pub async fn approve(&self, user_code: &str, user_name: &str) -> anyhow::Result<()> {
        approval::decide(&self.shared, user_code, Some(user_name)).await.map_err(approval::ApprovalError::into_anyhow)
    }

    /// Plays the person refusing the device request shown as `user_code`.
    pub async fn deny(&self, user_code: &str) -> anyhow::Result<()> {
        approval::decide(&self.shared, user_code, None).await.map_err(approval::ApprovalError::into_anyhow)
    }

    /// Serves until the server task ends (for the binary).
    pub async fn serve_forever(mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("while serving")
    }
}

impl Drop for SsoStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) url: String,
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

/// What SSO OIDC itself owns.
#[derive(Default)]
pub(crate) struct State {
    /// By client id.
    pub(crate) clients: HashMap<String, RegisteredClient>,
    /// By device code.
    pub(crate) devices: HashMap<String, DeviceRequest>,
    /// User code → device code.
    pub(crate) user_codes: HashMap<String, String>,
    /// By access token.
    pub(crate) sessions: HashMap<String, Session>,
}

pub(crate) struct RegisteredClient {
    pub(crate) secret: String,
    pub(crate) secret_expires_at: Timestamp,
}

pub(crate) struct DeviceRequest {
    pub(crate) client_id: String,
    pub(crate) expires_at: Timestamp,
    /// The last poll that was answered, for `SlowDownException`.
    pub(crate) last_poll: Option<Timestamp>,
    pub(crate) decision: Decision,
}

/// Where a device request stands.
#[derive(Clone)]
pub(crate) enum Decision {
    Pending,
    Approved(Person),
    Denied,
    /// A token was issued; the device code cannot be used again.
    Redeemed,
}

/// The Identity Store user a session acts for.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub(crate) user_name: String,
    pub(crate) user_id: String,
}

pub(crate) struct Session {
    pub(crate) person: Person,
    pub(crate) expires_at: Timestamp,
}

/// A random string of `len` letters and digits.
pub(crate) fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A user code such as `KQBD-WXTP`, from letters that cannot be mistaken for
/// one another or for digits.
pub(crate) fn random_user_code() -> String {
    const LETTERS: &[char] = &['B', 'C', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V', 'W', 'X', 'Z'];
    let mut rng = rand::thread_rng();
    let Ok(dist) = Slice::new(LETTERS) else { return "BCDF-GHJK".to_owned() };
    let mut half = || -> String { (0..4).map(|_| *dist.sample(&mut rng)).collect() };
    let first = half();
    format!("{first}-{}", half())
}
