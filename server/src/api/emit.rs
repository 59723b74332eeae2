//! `POST /api/v1/emit`: a plain Socket.IO event to the sockets of a chat room, of a user, or
//! to every chat socket, on every node (`chat::broadcast`: through each socket's flow control,
//! as the Redis emitter's events); not stored, not replayed.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::is_reserved_event;

use super::{
    ApiState,
    error::{ApiError, ErrorResponse},
    existing_room,
    extract::Json,
    node::Target,
};

/// The longest event name, in characters.
const MAX_EVENT_CHARS: usize = 64;

/// An event to emit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmitRequest {
    /// A chat room's id: the sockets subscribed to it. At most one of `room` and `user`.
    pub room: Option<String>,
    /// A user id: every socket of that user.
    pub user: Option<String>,
    /// The event name (1 to 64 characters, not a reserved one).
    pub event: String,
    /// The event's one argument: any JSON value, within the body limit.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The answer to an emit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Emitted {
    /// Always `true`: the event was handed to the nodes (delivery is not confirmed).
    pub accepted: bool,
}

/// Why `event` may not be emitted, if it may not.
pub fn refuse_event(event: &str) -> Option<String> {
    if event.is_empty() || event.chars().count() > MAX_EVENT_CHARS {
        return Some(format!("event must be 1 to {MAX_EVENT_CHARS} characters"));
    }
    if event.chars().any(char::is_control) {
        return Some("event has control characters".to_owned());
    }
    if is_reserved_event(event) {
        return Some(format!("`{event}` is an event of the chat protocol"));
    }
    None
}

/// Emits `event` with `data` to the sockets of `room` (those receiving the chat room), of
/// `user` (all of their sockets), or, with neither, to every chat socket, on every node.
#[utoipa::path(
    post,
    path = "/api/v1/emit",
    tag = "events",
    request_body = EmitRequest,
    responses(
        (status = 202, description = "Handed to the nodes", body = Emitted),
        (status = 400, description = "Malformed request, both room and user, or a reserved event", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 404, description = "No such room or user", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 429, description = "Over the key's rate", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn emit(
    State(state): State<ApiState>,
    Json(body): Json<EmitRequest>,
) -> Result<(StatusCode, axum::Json<Emitted>), ApiError> {
    if let Some(why) = refuse_event(&body.event) {
        return Err(ApiError::bad_request(why));
    }
    let target = match (body.room, body.user) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give room or user, not both"));
        }
        (Some(room), None) => {
            existing_room(&state, &room).await?;
            Target::Room(room)
        }
        (None, Some(user)) => {
            super::existing_user(&state, &user).await?;
            Target::User(user)
        }
        (None, None) => Target::All,
    };
    state.node.emit(&target, &body.event, &body.data).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Emitted { accepted: true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_protocol_s_events_are_refused() {
        for event in [
            "message",
            "presence",
            "bot:delta",
            "bot:anything",
            "connect_error",
        ] {
            assert!(refuse_event(event).is_some(), "{event}");
        }
        for bad in ["", "a\u{0}b", &"x".repeat(65)] {
            assert!(refuse_event(bad).is_some(), "{bad:?}");
        }
        for fine in ["order:shipped", "Message", "notice", &"x".repeat(64)] {
            assert_eq!(refuse_event(fine), None, "{fine}");
        }
    }
}
