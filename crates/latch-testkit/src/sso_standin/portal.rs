//! The SSO portal (restJson1): `GetRoleCredentials`, `ListAccounts`,
//! `ListAccountRoles` and `Logout`, per the AWS SSO Portal API reference.
//! The caller is named by the access token from SSO OIDC in the
//! `x-amz-sso_bearer_token` header.
//!
//! Errors carry the exception name in `x-amzn-ErrorType` and
//! `{"message": "..."}`, with the status the reference gives each exception.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::backing::{Directory, Principals};
use super::{Person, Shared};

/// The request header carrying the access token.
pub const BEARER_HEADER: &str = "x-amz-sso_bearer_token";
/// Page size when the caller gives none.
const DEFAULT_PAGE: usize = 20;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/federation/credentials", get(get_role_credentials))
        .route("/assignment/accounts", get(list_accounts))
        .route("/assignment/roles", get(list_account_roles))
        .route("/logout", post(logout))
}

/// An SSO portal exception.
#[derive(Debug)]
pub(crate) enum PortalError {
    InvalidRequest(String),
    ResourceNotFound(String),
    Unauthorized(String),
    /// Details go to the log, never to the caller.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for PortalError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, exception, message) = match self {
            Self::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "InvalidRequestException", m),
            Self::ResourceNotFound(m) => (StatusCode::NOT_FOUND, "ResourceNotFoundException", m),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "UnauthorizedException", m),
            Self::Internal(e) => {
                eprintln!("sso stand-in: internal error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", "internal error".to_owned())
            }
        };
        (status, [("x-amzn-ErrorType", exception)], Json(serde_json::json!({ "message": message }))).into_response()
    }
}

/// The session named by the bearer token, if it is known and current.
fn session(shared: &Shared, headers: &HeaderMap) -> Result<(String, Person), PortalError> {
    let token = headers.get(BEARER_HEADER).and_then(|v| v.to_str().ok()).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(PortalError::Unauthorized("no access token was sent".to_owned()));
    };
    let now = shared.now();
    let state = shared.state();
    match state.sessions.get(token) {
        Some(s) if s.expires_at > now => Ok((token.to_owned(), s.person.clone())),
        Some(_) => Err(PortalError::Unauthorized("the session has expired\nhelp: sign in again".to_owned())),
        None => Err(PortalError::Unauthorized("the session token is not valid".to_owned())),
    }
}

/// The caller, the instance and who they are in assignments.
async fn caller(shared: &Shared, headers: &HeaderMap) -> Result<(Person, Directory, Principals), PortalError> {
    let (_, person) = session(shared, headers)?;
    let dir = shared.backing.directory().await?;
    let Some(principals) = shared.backing.principals(&dir, &person).await? else {
        return Err(PortalError::Unauthorized(format!("user `{}` no longer exists", person.user_name)));
    };
    Ok((person, dir, principals))
}

fn required<'a>(query: &'a HashMap<String, String>, name: &str) -> Result<&'a str, PortalError> {
    query.get(name).map(String::as_str).filter(|v| !v.is_empty()).ok_or_else(|| PortalError::InvalidRequest(format!("`{name}` is required")))
}

/// One page of `items` by `max_result` and `next_token` (an offset).
fn page<T>(items: Vec<T>, query: &HashMap<String, String>) -> Result<(Vec<T>, Option<String>), PortalError> {
    let size = match query.get("max_result") {
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| PortalError::InvalidRequest(format!("`max_result` `{v}` is not between 1 and 100")))?,
        None => DEFAULT_PAGE,
    };
    let start = match query.get("next_token") {
        Some(v) => v.parse::<usize>().ok().filter(|n| *n <= items.len()).ok_or_else(|| PortalError::InvalidRequest("`next_token` is not valid".to_owned()))?,
        None => 0,
    };
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(end - start).collect(), next))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentialsBody {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    /// Epoch milliseconds.
    expiration: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetRoleCredentialsOutput {
    role_credentials: RoleCredentialsBody,
}

async fn get_role_credentials(State(shared): State<Arc<Shared>>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Result<Json<GetRoleCredentialsOutput>, PortalError> {
    let (person, dir, principals) = caller(&shared, &headers).await?;
    let role_name = required(&query, "role_name")?;
    let account = required(&query, "account_id")?;
    let no_access = || PortalError::ResourceNotFound(format!("no access to role `{role_name}` in account `{account}`"));
    let Some(ps) = shared.backing.find_permission_set(&dir, role_name).await? else {
        return Err(no_access());
    };
    if !shared.backing.is_assigned(&dir, &principals, account, &ps).await? {
        return Err(no_access());
    }
    let c = shared.backing.role_credentials(&dir, &ps, account, &person).await?;
    // INVARIANT: `expiration` is epoch milliseconds, as the portal sends it.
    Ok(Json(GetRoleCredentialsOutput {
        role_credentials: RoleCredentialsBody { access_key_id: c.access_key_id, secret_access_key: c.secret_access_key, session_token: c.session_token, expiration: c.expiration },
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody {
    account_id: String,
    account_name: String,
    email_address: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListAccountsOutput {
    account_list: Vec<AccountBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

async fn list_accounts(State(shared): State<Arc<Shared>>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Result<Json<ListAccountsOutput>, PortalError> {
    let (_, dir, principals) = caller(&shared, &headers).await?;
    let assigned: BTreeSet<String> = shared.backing.assignments(&dir, &principals, None).await?.into_iter().map(|(account, _)| account).collect();
    let mut known = if assigned.is_empty() { BTreeMap::new() } else { shared.backing.accounts().await };
    let accounts = assigned
        .into_iter()
        .map(|id| {
            let info = known.remove(&id);
            AccountBody {
                account_name: info.as_ref().map_or_else(|| id.clone(), |i| i.name.clone()),
                email_address: info.map(|i| i.email).unwrap_or_default(),
                account_id: id,
            }
        })
        .collect();
    let (account_list, next_token) = page(accounts, &query)?;
    Ok(Json(ListAccountsOutput { account_list, next_token }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    role_name: String,
    account_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListAccountRolesOutput {
    role_list: Vec<RoleBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

async fn list_account_roles(State(shared): State<Arc<Shared>>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Result<Json<ListAccountRolesOutput>, PortalError> {
    let (_, dir, principals) = caller(&shared, &headers).await?;
    let account = required(&query, "account_id")?;
    let assigned = shared.backing.assignments(&dir, &principals, Some(account)).await?;
    let mut names = BTreeSet::new();
    for (_, arn) in assigned.iter().filter(|(a, _)| a == account) {
        names.insert(shared.backing.describe_permission_set(&dir, arn).await?.name);
    }
    let roles = names.into_iter().map(|role_name| RoleBody { role_name, account_id: account.to_owned() }).collect();
    let (role_list, next_token) = page(roles, &query)?;
    Ok(Json(ListAccountRolesOutput { role_list, next_token }))
}

async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<StatusCode, PortalError> {
    let (token, _) = session(&shared, &headers)?;
    shared.state().sessions.remove(&token);
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list() {
        let q = |size: &str, token: Option<&str>| {
            let mut m = HashMap::from([("max_result".to_owned(), size.to_owned())]);
            if let Some(t) = token {
                m.insert("next_token".to_owned(), t.to_owned());
            }
            m
        };
        let (first, next) = page(vec![1, 2, 3], &q("2", None)).unwrap();
        assert_eq!((first, next.as_deref()), (vec![1, 2], Some("2")));
        let (second, next) = page(vec![1, 2, 3], &q("2", Some("2"))).unwrap();
        assert_eq!((second, next), (vec![3], None));
        assert!(page(vec![1], &q("0", None)).is_err());
        assert!(page(vec![1], &q("2", Some("5"))).is_err());
    }
}
