//! `GET /api/v1/rooms` (every room, paged by id) and `GET /api/v1/rooms/{room}` (one room with
//! who is online in it, on every node).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiState,
    error::{ApiError, ErrorResponse},
    existing_room,
    extract::{Path, Query},
};
use crate::{
    store::Room,
    wire::{ErrorBody, ErrorCode, User},
};

/// Rooms a page holds when the caller does not say.
const DEFAULT_ROOMS: i64 = 100;
/// Most rooms one page may hold.
const MAX_ROOMS: i64 = 1000;

/// A room as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    /// The room's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Only members may read it.
    pub private: bool,
    /// A user's private room with the bot.
    pub bot: bool,
    /// The `seq` of its latest message (0: none yet).
    pub last_seq: i64,
}

impl From<&Room> for RoomSummary {
    fn from(room: &Room) -> Self {
        Self {
            id: room.id.clone(),
            name: room.name.clone(),
            private: room.private,
            bot: room.bot,
            last_seq: room.last_seq,
        }
    }
}

/// A page of rooms.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomList {
    /// By id.
    pub rooms: Vec<RoomSummary>,
    /// The `after` of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which page of rooms.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoomListParams {
    /// Only rooms whose id sorts after this one (the previous page's `next`).
    pub after: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// Every room, public and private, by id, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/rooms",
    tag = "rooms",
    params(RoomListParams),
    responses(
        (status = 200, description = "A page of rooms", body = RoomList),
        (status = 400, description = "Bad query", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 429, description = "Over the key's rate", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list_rooms(
    State(state): State<ApiState>,
    Query(q): Query<RoomListParams>,
) -> Result<axum::Json<RoomList>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_ROOMS);
    if !(1..=MAX_ROOMS).contains(&limit) {
        return Err(ErrorBody::new(
            ErrorCode::BadRequest,
            format!("limit must be 1 to {MAX_ROOMS}"),
        )
        .into());
    }
    let rooms = state
        .node
        .store()
        .rooms_page(q.after.as_deref().unwrap_or(""), limit)
        .await
        .map_err(crate::room::store_error)?;
    let full = i64::try_from(rooms.len()).is_ok_and(|n| n == limit);
    let next = full.then(|| rooms.last().map(|r| r.id.clone())).flatten();
    Ok(axum::Json(RoomList {
        rooms: rooms.iter().map(RoomSummary::from).collect(),
        next,
    }))
}

/// One room and who is online in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomDetail {
    /// The room.
    pub room: RoomSummary,
    /// Users with a socket receiving the room on any node, by name.
    pub online: Vec<User>,
}

/// One room, with its presence as the chat knows it (in cluster mode, across every node).
#[utoipa::path(
    get,
    path = "/api/v1/rooms/{room}",
    tag = "rooms",
    params(("room" = String, Path, description = "The room's id")),
    responses(
        (status = 200, description = "The room", body = RoomDetail),
        (status = 400, description = "Bad path", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 404, description = "No such room", body = ErrorResponse),
        (status = 429, description = "Over the key's rate", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get_room(
    State(state): State<ApiState>,
    Path(room): Path<String>,
) -> Result<axum::Json<RoomDetail>, ApiError> {
    let found = existing_room(&state, &room).await?;
    let online = state.node.online(&room).await;
    Ok(axum::Json(RoomDetail {
        room: RoomSummary::from(&found),
        online,
    }))
}
