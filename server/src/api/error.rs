//! The API's errors: `{ error: { code, message, retryAfter? } }` with the HTTP status that
//! fits, the chat's error codes where one fits (`wire::ErrorCode`) and `conflict` besides.
//! Any rejection of a request's body, path or query is a 400 (or a 413 for a body over the
//! limit), never axum's default 415 or 422.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::wire::{ErrorBody, ErrorCode};

/// The code of a `409`: the request contradicts what is stored (a `clientId` reused with
/// another text).
pub const CONFLICT: &str = "conflict";

/// A refusal as the API answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Machine-readable: a chat error code (`bad_request`, `not_found`, …) or `conflict`.
    pub code: &'static str,
    /// Human-readable.
    pub message: String,
    /// Milliseconds until a retry may succeed (also sent as `Retry-After`, in seconds).
    pub retry_after: Option<u64>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, as in the chat's acks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `not_found`, `conflict`, `too_large`, `rate_limited`,
    /// `queue_full`, `forbidden` or `internal`.
    pub code: String,
    /// Human-readable.
    pub message: String,
    /// Milliseconds until a retry may succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with `status` and a chat error `code`.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.as_str(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// `409 conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            code: CONFLICT,
            ..Self::new(StatusCode::CONFLICT, ErrorCode::BadRequest, message)
        }
    }

    /// The answer to a request axum's extractors refused with `status`: a body over the limit
    /// stays a 413, anything else (bad JSON, wrong types, missing fields, a wrong or missing
    /// content type, a bad path or query) is a 400.
    pub fn rejected(status: StatusCode, reason: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, ErrorCode::TooLarge, "the request body is too large")
        } else {
            Self::bad_request(reason)
        }
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        let status = match body.code {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited | ErrorCode::QueueFull => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            retry_after: body.retry_after,
            ..Self::new(status, body.code, body.message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                retry_after: self.retry_after,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(ms) = self.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(ms.div_ceil(1000).max(1)),
            );
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_codes_get_their_status() {
        let cases = [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::TooLarge, 413),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::Conflict, 409),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::QueueFull, 429),
            (ErrorCode::Internal, 500),
        ];
        for (code, status) in cases {
            let e = ApiError::from(ErrorBody::new(code, "x"));
            assert_eq!((e.status.as_u16(), e.code), (status, code.as_str()));
        }
    }

    #[test]
    fn every_rejection_but_a_large_body_is_a_400() {
        for status in [400, 415, 422, 405, 404] {
            let e = ApiError::rejected(
                StatusCode::from_u16(status).expect("test value"),
                "why".into(),
            );
            assert_eq!((e.status.as_u16(), e.code), (400, "bad_request"));
        }
        let e = ApiError::rejected(StatusCode::PAYLOAD_TOO_LARGE, "why".into());
        assert_eq!((e.status.as_u16(), e.code), (413, "too_large"));
    }

    #[tokio::test]
    async fn an_answer_is_json_with_its_headers() {
        use http_body_util::BodyExt;
        let limited = ErrorBody {
            retry_after: Some(1500),
            ..ErrorBody::new(ErrorCode::RateLimited, "slow down")
        };
        let response = ApiError::from(limited).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("test value")
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).expect("test value");
        assert_eq!(
            json,
            serde_json::json!({ "error": { "code": "rate_limited", "message": "slow down", "retryAfter": 1500 } })
        );
        let response =
            ApiError::from(ErrorBody::new(ErrorCode::Unauthorized, "no")).into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let response = ApiError::conflict("taken").into_response();
        assert_eq!(response.status(), 409);
    }
}
