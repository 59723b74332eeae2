//! The acknowledgement envelope `{ ok, data | error }` and the error codes.

use serde::Serialize;

/// The error codes of `{ ok: false, error: { code, … } }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Wrong shape, type or missing field.
    BadRequest,
    /// Text over the size limit.
    TooLarge,
    /// Refused identity.
    Unauthorized,
    /// Not allowed for this user.
    Forbidden,
    /// Unknown room, message or user.
    NotFound,
    /// The name is taken (room names are unique regardless of case).
    Conflict,
    /// Too many requests; see `retryAfter`.
    RateLimited,
    /// The request waits in a queue that is full.
    QueueFull,
    /// The server failed.
    Internal,
}

impl ErrorCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::TooLarge => "too_large",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::QueueFull => "queue_full",
            Self::Internal => "internal",
        }
    }
}

/// A refusal as clients receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine-readable.
    pub code: ErrorCode,
    /// Human-readable.
    pub message: String,
    /// Milliseconds until a retry may succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    /// An error without `retryAfter`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The acknowledgement envelope: `{ ok: true, data }` or `{ ok: false, error }`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Reply<T> {
    /// Success.
    Ok {
        /// Always `true`.
        ok: bool,
        /// The answer.
        data: T,
    },
    /// Failure.
    Err {
        /// Always `false`.
        ok: bool,
        /// Why.
        error: ErrorBody,
    },
}

impl<T> From<Result<T, ErrorBody>> for Reply<T> {
    fn from(r: Result<T, ErrorBody>) -> Self {
        match r {
            Ok(data) => Reply::Ok { ok: true, data },
            Err(error) => Reply::Err { ok: false, error },
        }
    }
}

/// An empty object, for acks that carry nothing.
#[derive(Debug, Serialize)]
pub struct Empty {}
