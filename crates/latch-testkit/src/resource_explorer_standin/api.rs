//! The operations (restJson1: `POST /<Operation>`, JSON bodies with the
//! reference's PascalCase members) and their errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::backing::Caller;
use super::query::{Query, Resource};
use super::{random_hex, random_uuid, Index, IndexType, PageCursor, Shared, View};

/// Search answers at most this many resources per query.
pub const SEARCH_LIMIT: usize = 1000;
const SEARCH_DEFAULT_PAGE: usize = 100;
const LIST_INDEXES_MAX_PAGE: usize = 100;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/CreateIndex", post(create_index))
        .route("/DeleteIndex", post(delete_index))
        .route("/UpdateIndexType", post(update_index_type))
        .route("/ListIndexes", post(list_indexes))
        .route("/CreateView", post(create_view))
        .route("/AssociateDefaultView", post(associate_default_view))
        .route("/GetDefaultView", post(get_default_view))
        .route("/Search", post(search))
}

/// A Resource Explorer exception.
#[derive(Debug)]
pub(crate) enum ReError {
    Validation(String),
    Unauthorized(String),
    AccessDenied(String),
    NotFound(String),
    Conflict(String),
    Internal(String),
}

impl IntoResponse for ReError {
    fn into_response(self) -> Response {
        let (status, exception, message) = match self {
            Self::Validation(m) => (StatusCode::BAD_REQUEST, "ValidationException", m),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "UnauthorizedException", m),
            Self::AccessDenied(m) => (StatusCode::FORBIDDEN, "AccessDeniedException", m),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "ResourceNotFoundException", m),
            Self::Conflict(m) => (StatusCode::CONFLICT, "ConflictException", m),
            Self::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", m),
        };
        (status, [("x-amzn-ErrorType", exception)], Json(json!({ "Message": message }))).into_response()
    }
}

type Answer = Result<Json<Value>, ReError>;

/// The caller's key, region and account, once allowed to call `operation`.
struct Call {
    caller: Caller,
    account: String,
}

impl Call {
    fn region(&self) -> &str {
        &self.caller.region
    }

    fn key(&self) -> (String, String) {
        (self.account.clone(), self.caller.region.clone())
    }
}

async fn authorize(shared: &Shared, headers: &HeaderMap, operation: &str) -> Result<Call, ReError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let caller = header("authorization")
        .and_then(|a| Caller::from_authorization(a, header("x-amz-security-token")))
        .ok_or_else(|| ReError::AccessDenied("Missing Authentication Token: the request is not signed with SigV4".into()))?;
    let account = shared.backing.account(&caller).await.map_err(|e| ReError::Internal(format!("{e:#}")))?;
    let action = format!("resource-explorer-2:{operation}");
    if shared.state().refused.contains(&(account.clone(), action.clone())) {
        return Err(ReError::AccessDenied(format!("User is not authorized to perform: {action}")));
    }
    Ok(Call { caller, account })
}

/// Reads a JSON body (an empty body is `{}`).
fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ReError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ReError::Validation(format!("the request body is not valid: {e}")))
}

/// Adds a member to a JSON object (members the reference marks optional are
/// left out rather than sent as `null`).
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(o) = object.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

fn page_size(requested: Option<i64>, max: usize, default: usize) -> Result<usize, ReError> {
    match requested {
        None => Ok(default),
        Some(n) => usize::try_from(n).ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| ReError::Validation(format!("MaxResults must be between 1 and {max}"))),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateIndexInput {
    #[serde(rename = "ClientToken")]
    _client_token: Option<String>,
    #[serde(rename = "Tags")]
    _tags: Option<BTreeMap<String, String>>,
}

async fn create_index(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "CreateIndex").await?;
    let _input: CreateIndexInput = parse(&body)?;
    let now = shared.now();
    let mut state = shared.state();
    let region = state.regions.entry(call.key()).or_default();
    if let Some(index) = &region.index {
        return Err(ReError::Conflict(format!("an index already exists in this Region: {}", index.arn)));
    }
    let arn = format!("arn:{}:resource-explorer-2:{}:{}:index/{}", partition(call.region()), call.region(), call.account, random_uuid());
    region.index = Some(Index { arn: arn.clone(), kind: IndexType::Local });
    // AWS answers CREATING and turns ACTIVE within minutes; here at once.
    Ok(Json(json!({ "Arn": arn, "CreatedAt": now.to_rfc3339(), "State": "ACTIVE" })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ArnInput {
    arn: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

/// The caller's index in its region, if `arn` names it.
fn own_index(shared: &Shared, call: &Call, arn: Option<&str>) -> Result<Index, ReError> {
    let arn = arn.ok_or_else(|| ReError::Validation("Arn is required".into()))?;
    let state = shared.state();
    state
        .regions
        .get(&call.key())
        .and_then(|r| r.index.clone())
        .filter(|i| i.arn == arn)
        .ok_or_else(|| ReError::NotFound(format!("no index `{arn}` in this Region")))
}

async fn delete_index(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "DeleteIndex").await?;
    let input: ArnInput = parse(&body)?;
    let index = own_index(&shared, &call, input.arn.as_deref())?;
    shared.state().regions.remove(&call.key());
    Ok(Json(json!({ "Arn": index.arn, "State": "DELETED", "LastUpdatedAt": shared.now().to_rfc3339() })))
}

async fn update_index_type(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "UpdateIndexType").await?;
    let input: ArnInput = parse(&body)?;
    let kind = match input.kind.as_deref() {
        Some("LOCAL") => IndexType::Local,
        Some("AGGREGATOR") => IndexType::Aggregator,
        other => return Err(ReError::Validation(format!("Type must be LOCAL or AGGREGATOR, not {other:?}"))),
    };
    let index = own_index(&shared, &call, input.arn.as_deref())?;
    let mut state = shared.state();
    if kind == IndexType::Aggregator {
        let elsewhere = state.regions.iter().any(|((account, region), r)| {
            *account == call.account && region != call.region() && r.index.as_ref().is_some_and(|i| i.kind == IndexType::Aggregator)
        });
        if elsewhere {
            return Err(ReError::Conflict("the account already has an aggregator index in another Region".into()));
        }
    }
    if let Some(i) = state.regions.get_mut(&call.key()).and_then(|r| r.index.as_mut()) {
        i.kind = kind;
    }
    Ok(Json(json!({ "Arn": index.arn, "State": "ACTIVE", "Type": kind.as_str(), "LastUpdatedAt": shared.now().to_rfc3339() })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListIndexesInput {
    #[serde(rename = "Type")]
    kind: Option<String>,
    regions: Option<Vec<String>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

async fn list_indexes(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "ListIndexes").await?;
    let input: ListIndexesInput = parse(&body)?;
    let size = page_size(input.max_results, LIST_INDEXES_MAX_PAGE, LIST_INDEXES_MAX_PAGE)?;
    if let Some(k) = input.kind.as_deref().filter(|k| !["LOCAL", "AGGREGATOR"].contains(k)) {
        return Err(ReError::Validation(format!("Type must be LOCAL or AGGREGATOR, not `{k}`")));
    }
    let start = match input.next_token.as_deref() {
        None => 0,
        Some(t) => t.strip_prefix("indexes-").and_then(|n| n.parse().ok()).ok_or_else(|| ReError::Validation("the NextToken is not valid".into()))?,
    };
    let state = shared.state();
    let all: Vec<Value> = state
        .regions
        .iter()
        .filter(|((account, region), _)| *account == call.account && input.regions.as_ref().is_none_or(|rs| rs.contains(region)))
        .filter_map(|((_, region), r)| r.index.as_ref().map(|i| (region, i)))
        .filter(|(_, i)| input.kind.as_deref().is_none_or(|k| k == i.kind.as_str()))
        .map(|(region, i)| json!({ "Arn": i.arn, "Region": region, "Type": i.kind.as_str() }))
        .collect();
    let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let mut out = json!({ "Indexes": page });
    if start + size < all.len() {
        set(&mut out, "NextToken", json!(format!("indexes-{}", start + size)));
    }
    Ok(Json(out))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateViewInput {
    view_name: Option<String>,
    filters: Option<FiltersInput>,
    included_properties: Option<Vec<PropertyInput>>,
    #[serde(rename = "ClientToken")]
    _client_token: Option<String>,
    #[serde(rename = "Scope")]
    _scope: Option<String>,
    #[serde(rename = "Tags")]
    _tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct FiltersInput {
    filter_string: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PropertyInput {
    name: String,
}

fn view_json(v: &View, account: &str, region: &str) -> Value {
    let mut out = json!({
        "ViewArn": v.arn,
        "ViewName": v.name,
        "Owner": account,
        "Scope": format!("arn:{}:iam::{account}:root", partition(region)),
        "Filters": { "FilterString": v.filter.clone().unwrap_or_default() },
        "LastUpdatedAt": v.updated_at.to_rfc3339(),
    });
    if v.include_tags {
        set(&mut out, "IncludedProperties", json!([{ "Name": "tags" }]));
    }
    out
}

async fn create_view(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "CreateView").await?;
    let input: CreateViewInput = parse(&body)?;
    let name = input.view_name.ok_or_else(|| ReError::Validation("ViewName is required".into()))?;
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ReError::Validation(format!("ViewName `{name}` must be 1 to 64 letters, digits and hyphens")));
    }
    let filter = input.filters.and_then(|f| f.filter_string).filter(|f| !f.trim().is_empty());
    if let Some(f) = &filter {
        let q = Query::parse(f).map_err(ReError::Validation)?;
        if q.has_keywords() {
            return Err(ReError::Validation("a view's FilterString may hold filters only, not keywords".into()));
        }
    }
    let mut include_tags = false;
    for p in input.included_properties.unwrap_or_default() {
        match p.name.as_str() {
            "tags" => include_tags = true,
            other => return Err(ReError::Validation(format!("IncludedProperties: unknown property `{other}`; the one property is `tags`"))),
        }
    }
    let now = shared.now();
    let mut state = shared.state();
    let region = state.regions.entry(call.key()).or_default();
    if region.index.is_none() {
        return Err(ReError::Unauthorized("Resource Explorer has no index in this Region: create one with CreateIndex first".into()));
    }
    if region.views.values().any(|v| v.name == name) {
        return Err(ReError::Conflict(format!("a view named `{name}` already exists in this Region")));
    }
    let arn = format!("arn:{}:resource-explorer-2:{}:{}:view/{name}/{}", partition(call.region()), call.region(), call.account, random_uuid());
    let view = View { arn: arn.clone(), name, filter, include_tags, updated_at: now };
    let out = view_json(&view, &call.account, call.region());
    region.views.insert(arn, view);
    Ok(Json(json!({ "View": out })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ViewArnInput {
    view_arn: Option<String>,
}

async fn associate_default_view(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "AssociateDefaultView").await?;
    let input: ViewArnInput = parse(&body)?;
    let arn = input.view_arn.ok_or_else(|| ReError::Validation("ViewArn is required".into()))?;
    let mut state = shared.state();
    let region = state.regions.get_mut(&call.key()).filter(|r| r.views.contains_key(&arn)).ok_or_else(|| ReError::NotFound(format!("no view `{arn}` in this Region")))?;
    region.default_view = Some(arn.clone());
    Ok(Json(json!({ "ViewArn": arn })))
}

async fn get_default_view(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    let call = authorize(&shared, &headers, "GetDefaultView").await?;
    let state = shared.state();
    Ok(Json(match state.regions.get(&call.key()).and_then(|r| r.default_view.clone()) {
        Some(arn) => json!({ "ViewArn": arn }),
        None => json!({}),
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct SearchInput {
    query_string: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    view_arn: Option<String>,
}

async fn search(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let call = authorize(&shared, &headers, "Search").await?;
    let input: SearchInput = parse(&body)?;
    let text = input.query_string.ok_or_else(|| ReError::Validation("QueryString is required".into()))?;
    if text.len() > 1280 {
        return Err(ReError::Validation("QueryString is longer than 1280 characters".into()));
    }
    let query = Query::parse(&text).map_err(ReError::Validation)?;
    let size = page_size(input.max_results, SEARCH_LIMIT, SEARCH_DEFAULT_PAGE)?;

    // The view, the regions its index covers, and where this page starts.
    let (view, regions, start) = {
        let state = shared.state();
        let here = state.regions.get(&call.key());
        let view_arn = match input.view_arn {
            Some(arn) => arn,
            None => here
                .and_then(|r| r.default_view.clone())
                .ok_or_else(|| ReError::Unauthorized("this Region has no default view: pass a ViewArn or associate a default view".into()))?,
        };
        let view = here.and_then(|r| r.views.get(&view_arn)).cloned().ok_or_else(|| ReError::NotFound(format!("no view `{view_arn}` in this Region")))?;
        let Some(index) = here.and_then(|r| r.index.as_ref()) else {
            return Err(ReError::Unauthorized("Resource Explorer has no index in this Region".into()));
        };
        let regions: Vec<String> = match index.kind {
            IndexType::Local => vec![call.region().to_owned()],
            IndexType::Aggregator => {
                state.regions.iter().filter(|((account, _), r)| *account == call.account && r.index.is_some()).map(|((_, region), _)| region.clone()).collect()
            }
        };
        let start = match input.next_token.as_deref() {
            None => 0,
            Some(t) => {
                let cursor = state.pages.get(t).ok_or_else(|| ReError::Validation("the NextToken is not valid or has expired".into()))?;
                if cursor.account != call.account || cursor.view_arn != view.arn || cursor.query != text {
                    return Err(ReError::Validation("the NextToken belongs to another search".into()));
                }
                cursor.offset
            }
        };
        (view, regions, start)
    };

    let view_filter = match &view.filter {
        Some(f) => Query::parse(f).map_err(ReError::Validation)?,
        None => Query::default(),
    };
    let all = shared.backing.resources(&call.caller, &call.account, &regions).await.map_err(|e| ReError::Internal(format!("{e:#}")))?;
    let matched: Vec<&Resource> = all.iter().filter(|r| view_filter.matches(r) && query.matches(r)).collect();
    let complete = matched.len() <= SEARCH_LIMIT;
    let total = matched.len().min(SEARCH_LIMIT);
    let now = shared.now().to_rfc3339();
    let page: Vec<Value> = matched.iter().take(SEARCH_LIMIT).skip(start).take(size).map(|r| resource_json(r, view.include_tags, &now)).collect();
    let mut out = json!({
        "Resources": page,
        "ViewArn": view.arn,
        "Count": { "TotalResources": total, "Complete": complete },
    });
    if start + size < total {
        let token = random_hex(48);
        shared.state().pages.insert(token.clone(), PageCursor { account: call.account.clone(), view_arn: view.arn.clone(), query: text, offset: start + size });
        set(&mut out, "NextToken", json!(token));
    }
    Ok(Json(out))
}

fn resource_json(r: &Resource, include_tags: bool, now: &str) -> Value {
    let mut properties = Vec::new();
    if include_tags && !r.tags.is_empty() {
        let tags: Vec<Value> = r.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect();
        properties.push(json!({ "Name": "tags", "Data": tags, "LastReportedAt": now }));
    }
    json!({
        "Arn": r.arn,
        "OwningAccountId": r.owning_account,
        "Region": r.region,
        "ResourceType": r.resource_type,
        "Service": r.service,
        "LastReportedAt": now,
        "Properties": properties,
    })
}
