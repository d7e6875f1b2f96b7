//! Extractors whose rejections are [`ApiError`]s: malformed JSON, wrong
//! types, unknown fields, wrong content type, oversized bodies and bad query
//! strings all get a stable code.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(&e)),
        }
    }
}

fn json_rejection(e: &JsonRejection) -> ApiError {
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(_) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        JsonRejection::JsonDataError(d) => ApiError::InvalidJson(format!("invalid request body: {}", d.body_text().trim_start_matches("Failed to deserialize the JSON body into the target type: "))),
        JsonRejection::JsonSyntaxError(_) => ApiError::InvalidJson("the request body is not valid JSON".to_owned()),
        _ => ApiError::InvalidJson("the request body could not be read".to_owned()),
    }
}

/// `application/x-www-form-urlencoded` body (the OAuth endpoints).
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::InvalidRequest(
                "expected `Content-Type: application/x-www-form-urlencoded`".to_owned(),
            )),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(e) => Err(ApiError::InvalidRequest(format!("invalid form body: {}", e.body_text()))),
        }
    }
}

/// Query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::InvalidRequest(format!(
                "invalid query string: {}",
                e.body_text().trim_start_matches("Failed to deserialize query string: ")
            ))),
        }
    }
}
