//! The HTTP API for a product's other services, at `/api/v1/` on the public port (see
//! `docs/API.md`). It exists only with at least one `--api-key`; each request needs one as a
//! bearer token and spends a unit of that key's rate. The routes call into the chat and room
//! layers (posting through the room's writer, history, presence) and the Socket.IO adapter
//! (emits, disconnects), so in cluster mode every call works on whichever node receives it.
//!
//! - `auth`: the keys and the guard; `error`: the JSON errors; `extract`: axum's extractors
//!   with 400s for every rejection; `node`: what the routes ask of the chat and Socket.IO;
//! - one file per resource: `messages` (post, history), `rooms`, `emit`, `sessions`;
//!   `doc`: the OpenAPI document generated from the routes.

pub mod auth;
pub mod doc;
pub mod emit;
pub mod error;
pub mod extract;
pub mod messages;
pub mod node;
pub mod rooms;
pub mod sessions;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::any,
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{error::ApiError, node::Node};
use crate::{
    config::Config,
    ports::{Limiters, Rate},
    store::Room,
    wire::ErrorCode,
};

/// What every route gets.
#[derive(Clone)]
pub struct ApiState {
    /// The chat and Socket.IO of this node.
    pub node: Arc<dyn Node>,
    /// The OpenAPI document.
    pub doc: doc::Document,
}

/// The room, or `404 not_found`.
async fn existing_room(state: &ApiState, room: &str) -> Result<Room, ApiError> {
    state
        .node
        .store()
        .room(room)
        .await
        .map_err(crate::room::store_error)?
        .ok_or_else(|| ApiError::not_found("no such room"))
}

/// `404 not_found` unless the user was ever recorded (connected, or posted as).
async fn existing_user(state: &ApiState, user: &str) -> Result<(), ApiError> {
    let known = state
        .node
        .store()
        .user_exists(user)
        .await
        .map_err(crate::room::store_error)?;
    known
        .then_some(())
        .ok_or_else(|| ApiError::not_found("no such user"))
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such API route")
}

async fn no_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadRequest,
        "this route does not take this method",
    )
}

async fn disabled() -> Response {
    ApiError::not_found("the HTTP API is not enabled (start the server with --api-key)")
        .into_response()
}

/// The routes with their OpenAPI description; `guard` wraps the ones that need a key.
pub fn routes(guard: auth::Guard) -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .routes(routes!(messages::post_message))
        .routes(routes!(messages::history))
        .routes(routes!(rooms::list_rooms))
        .routes(routes!(rooms::get_room))
        .routes(routes!(emit::emit))
        .routes(routes!(sessions::end_sessions))
        .route_layer(middleware::from_fn_with_state(guard, auth::guard))
        .routes(routes!(doc::openapi_json))
}

/// The API's router for this node (to merge into the app's): the routes when keys are
/// configured, else a JSON 404 under `/api/v1/`. `Err` when the keys cannot be read.
pub fn router(
    cfg: &Config,
    node: Arc<dyn Node>,
    limiters: &dyn Limiters,
) -> Result<Router, String> {
    let keys = auth::Keys::new(&cfg.api.keys()?);
    let fallback = Router::new()
        .route("/api/v1", any(no_route))
        .route("/api/v1/", any(no_route))
        .route("/api/v1/{*rest}", any(no_route));
    if keys.is_empty() {
        return Ok(Router::new()
            .route("/api/v1", any(disabled))
            .route("/api/v1/", any(disabled))
            .route("/api/v1/{*rest}", any(disabled)));
    }
    let guard = auth::Guard {
        keys: Arc::new(keys),
        limiter: limiters.limiter(
            "api",
            Rate::per_second(cfg.api.api_rate_per_sec, cfg.api.api_rate_burst),
        ),
    };
    let (router, openapi) = routes(guard).split_for_parts();
    let doc = doc::Document::default();
    doc.set(openapi.to_json().map_err(|e| e.to_string())?).ok();
    let state = ApiState { node, doc };
    Ok(router
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(cfg.api.api_max_body_bytes))
        .with_state(state)
        .merge(fallback))
}
