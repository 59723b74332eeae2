//! The API's extractors: axum's `Json`, `Path` and `Query` with every rejection turned into
//! an [`ApiError`] (400 with the parser's reason, 413 for a body over the limit).

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
    response::IntoResponse,
};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body (`Content-Type: application/json`), refused as a 400 when it is not one.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Path parameters, refused as a 400 when they do not parse.
#[derive(Debug)]
pub struct Path<T>(pub T);

/// A query string, refused as a 400 when it does not parse.
#[derive(Debug)]
pub struct Query<T>(pub T);

fn rejected(rejection: impl IntoResponse + std::fmt::Display) -> ApiError {
    let reason = rejection.to_string();
    ApiError::rejected(rejection.into_response().status(), reason)
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Self(v))
            .map_err(rejected)
    }
}

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(rejected)
    }
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(rejected)
    }
}
