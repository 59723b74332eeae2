//! Who may call the API: a bearer key among those configured, compared in constant time,
//! then spending one unit of that key's rate. Keys are held as SHA-256 digests only, and the
//! `Authorization` header is marked sensitive by the app's outermost layer (`app::router`), so
//! no log line, debug print or error carries it.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::{
    ports::Limiter,
    wire::{ErrorBody, ErrorCode},
};

/// The configured keys, as digests.
pub struct Keys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} redacted)", self.digests.len())
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

impl Keys {
    /// Holds `keys` (their digests).
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Self {
        Self {
            digests: keys.iter().map(|k| digest(k.as_ref().as_bytes())).collect(),
        }
    }

    /// Whether no key is configured (then the API does not exist).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The name of the key `presented` is, if it is one: the first 16 hex digits of its
    /// digest, for its rate limit (never the key itself). Every configured key is compared, in
    /// constant time, whichever matches.
    pub fn find(&self, presented: &str) -> Option<String> {
        let presented = digest(presented.as_bytes());
        let mut found: Option<&[u8; 32]> = None;
        for known in &self.digests {
            if bool::from(known.ct_eq(&presented)) {
                found = Some(known);
            }
        }
        found.map(|d| d[..8].iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case), if that is what the
/// request carries.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What the guard needs: the keys and the rate per key.
#[derive(Clone)]
pub struct Guard {
    /// The configured keys.
    pub keys: Arc<Keys>,
    /// Requests per key, across the cluster.
    pub limiter: Arc<dyn Limiter>,
}

/// Lets a request with a configured key through, within that key's rate: else `401` (with
/// `WWW-Authenticate: Bearer`) or `429` (with `Retry-After`).
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let Some(key) = bearer(req.headers()).and_then(|t| guard.keys.find(t)) else {
        let why = if req.headers().contains_key(header::AUTHORIZATION) {
            "the API key is not valid"
        } else {
            "send an API key as `Authorization: Bearer <key>`"
        };
        return ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, why)
            .into_response();
    };
    if let Err(wait) = guard.limiter.check(&key).await {
        let body = ErrorBody {
            retry_after: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
            ..ErrorBody::new(
                ErrorCode::RateLimited,
                "too many requests with this API key",
            )
        };
        return ApiError::from(body).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("test value"),
        );
        h
    }

    #[test]
    fn only_a_bearer_token_is_taken() {
        assert_eq!(bearer(&headers("Bearer k-1")), Some("k-1"));
        assert_eq!(bearer(&headers("bearer  k-1 ")), Some("k-1"));
        assert_eq!(bearer(&headers("Basic azE6")), None);
        assert_eq!(bearer(&headers("Bearer ")), None);
        assert_eq!(bearer(&headers("k-1")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn every_configured_key_is_known_and_nothing_else() {
        let keys = Keys::new(&["k-one", "k-two"]);
        let one = keys.find("k-one").expect("test value");
        let two = keys.find("k-two").expect("test value");
        assert_ne!(one, two);
        assert_eq!(one.len(), 16);
        assert!(!one.contains("k-one"));
        for wrong in ["k-on", "k-one ", "K-ONE", "", "k-three"] {
            assert_eq!(keys.find(wrong), None, "{wrong:?}");
        }
        assert!(Keys::new::<&str>(&[]).is_empty());
        assert!(!format!("{keys:?}").contains("k-one"));
    }

    async fn status(app: &axum::Router, auth: Option<&str>) -> (u16, Option<String>) {
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder().uri("/");
        if let Some(auth) = auth {
            req = req.header(header::AUTHORIZATION, auth);
        }
        let req = req.body(axum::body::Body::empty()).expect("request");
        let res = app.clone().oneshot(req).await.expect("answer");
        let retry = res
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        (res.status().as_u16(), retry)
    }

    #[tokio::test]
    async fn the_guard_lets_known_keys_through_within_their_rate() {
        use crate::ports::{Limiters, MemoryLimiters, Rate};
        let guard = Guard {
            keys: Arc::new(Keys::new(&["k-one", "k-two"])),
            limiter: MemoryLimiters.limiter("api", Rate::per_minute(2)),
        };
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "in" }))
            .layer(axum::middleware::from_fn_with_state(guard, super::guard));
        assert_eq!(status(&app, None).await.0, 401);
        assert_eq!(status(&app, Some("Bearer k-three")).await.0, 401);
        assert_eq!(status(&app, Some("Bearer k-one")).await.0, 200);
        assert_eq!(status(&app, Some("Bearer k-one")).await.0, 200);
        let (code, retry) = status(&app, Some("Bearer k-one")).await;
        assert_eq!(code, 429);
        assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
        assert_eq!(
            status(&app, Some("bearer k-two")).await.0,
            200,
            "a key of its own"
        );
    }
}
