//! `POST /api/v1/rooms/{room}/messages` (a message stored and delivered as a socket's `send`
//! is) and `GET /api/v1/rooms/{room}/history` (pages as the socket `history` event gives).

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiState,
    error::{ApiError, ErrorResponse},
    existing_room,
    extract::{Json, Path, Query},
};
use crate::{
    chat::{auth::valid_name, history::page_limit, post::Author},
    clock::now_ms,
    store::Appended,
    wire::{History, Sent},
};

/// The user a message is written as when the request names none.
pub const API_USER: &str = "api";
/// That user's name when the request gives none.
pub const API_USER_NAME: &str = "API";

/// A message to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostMessage {
    /// The text, under the same rules as a socket's `send`.
    pub text: String,
    /// The author's user id (1 to 128 bytes, not `bot`); default `api`.
    pub user_id: Option<String>,
    /// The author's display name (1 to 64 characters); default: the name the user was last
    /// recorded with, else the user id (`API` for `api`).
    pub name: Option<String>,
    /// Idempotency key (1 to 64 characters), per author and room; default: a fresh one.
    pub client_id: Option<String>,
}

/// Who writes, and under which name.
async fn author(state: &ApiState, body: &PostMessage) -> Result<(String, String), ApiError> {
    let user = body.user_id.as_deref().unwrap_or(API_USER);
    if user.is_empty() || user.len() > 128 || user.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "userId must be 1 to 128 bytes without control characters",
        ));
    }
    if user == crate::bot::BOT_ID {
        return Err(ApiError::bad_request("userId `bot` is the chatbot's"));
    }
    let name = match &body.name {
        Some(name) => valid_name(name)?,
        None if user == API_USER => API_USER_NAME.to_owned(),
        None => state
            .node
            .store()
            .user_name(user)
            .await
            .map_err(crate::room::store_error)?
            .unwrap_or_else(|| user.to_owned()),
    };
    Ok((user.to_owned(), name))
}

/// Stores a message in the room through its writer and delivers it to every subscribed socket
/// on every node. Answers 201 when stored now, 200 with the same answer when the `clientId`
/// was already used by this author in this room with the same text (409 with another text).
#[utoipa::path(
    post,
    path = "/api/v1/rooms/{room}/messages",
    tag = "messages",
    params(("room" = String, Path, description = "The room's id")),
    request_body = PostMessage,
    responses(
        (status = 201, description = "Stored now", body = Sent),
        (status = 200, description = "Already stored under this clientId", body = Sent),
        (status = 400, description = "Malformed request or text", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 404, description = "No such room", body = ErrorResponse),
        (status = 409, description = "clientId already used with another text", body = ErrorResponse),
        (status = 413, description = "Body or text too large", body = ErrorResponse),
        (status = 429, description = "Over the key's rate, or the bot's queue is full", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn post_message(
    State(state): State<ApiState>,
    Path(room): Path<String>,
    Json(body): Json<PostMessage>,
) -> Result<(StatusCode, axum::Json<Sent>), ApiError> {
    let (user, name) = author(&state, &body).await?;
    let client_id = match body.client_id {
        Some(id) if id.is_empty() || id.chars().count() > 64 => {
            return Err(ApiError::bad_request("clientId must be 1 to 64 characters"));
        }
        Some(id) => id,
        None => crate::ids::new_id("api-", 16),
    };
    existing_room(&state, &room).await?;
    state
        .node
        .store()
        .upsert_user(&user, &name, false, now_ms())
        .await
        .map_err(crate::room::store_error)?;
    let text = body.text;
    let author = Author {
        user_id: &user,
        name: &name,
    };
    let appended = state
        .node
        .post(&room, author, text.clone(), client_id)
        .await?;
    let (status, m) = match &appended {
        Appended::New(m) => (StatusCode::CREATED, m),
        Appended::Duplicate(m) if m.text == text => (StatusCode::OK, m),
        Appended::Duplicate(_) => {
            return Err(ApiError::conflict(
                "this clientId was used by this author in this room with another text",
            ));
        }
    };
    let sent = Sent {
        id: m.id.clone(),
        seq: m.seq,
        ts: m.ts,
    };
    Ok((status, axum::Json(sent)))
}

/// Which page of history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only messages with a smaller `seq`.
    pub before: Option<i64>,
    /// Only messages with a greater `seq`.
    pub after: Option<i64>,
    /// At most this many, 1 to 100 (default 50).
    pub limit: Option<i64>,
}

/// A page of the room's messages in `seq` order, as the socket `history` event answers:
/// the newest `limit`, or with `after` the oldest after it; `before` and `after` are exclusive.
/// Private rooms too. Deleted messages are included (`deleted: true`, empty text).
#[utoipa::path(
    get,
    path = "/api/v1/rooms/{room}/history",
    tag = "messages",
    params(("room" = String, Path, description = "The room's id"), HistoryParams),
    responses(
        (status = 200, description = "The page", body = History),
        (status = 400, description = "Bad query", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 404, description = "No such room", body = ErrorResponse),
        (status = 429, description = "Over the key's rate", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<ApiState>,
    Path(room): Path<String>,
    Query(q): Query<HistoryParams>,
) -> Result<axum::Json<History>, ApiError> {
    let limit = page_limit(q.limit)?;
    existing_room(&state, &room).await?;
    Ok(axum::Json(
        state.node.history(&room, q.before, q.after, limit).await?,
    ))
}
