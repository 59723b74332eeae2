//! What clients send: the handshake's `auth` and the payload of each event.

use serde::Deserialize;

/// The handshake's `auth` payload.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// A JWT.
    pub token: Option<String>,
    /// A guest's display name.
    pub name: Option<String>,
    /// Last `seq` seen per room, for recovery.
    #[serde(default)]
    pub since: std::collections::HashMap<String, i64>,
    /// Last change position (`rev`) seen per room: with `since`, changes after it are
    /// replayed too.
    #[serde(default)]
    pub rev: std::collections::HashMap<String, i64>,
}

/// `create`.
#[derive(Debug, Deserialize)]
pub struct CreateRoom {
    /// Display name.
    pub name: String,
    /// Members only.
    #[serde(default)]
    pub private: bool,
}

/// `join`.
#[derive(Debug, Deserialize)]
pub struct JoinRoom {
    /// Room id.
    pub room: String,
    /// Replay after this `seq`.
    pub since: Option<i64>,
    /// With `since`: replay the changes after this `rev` too.
    pub rev: Option<i64>,
}

/// Events that name only a room: `leave`, `presence`.
#[derive(Debug, Deserialize)]
pub struct RoomOnly {
    /// Room id.
    pub room: String,
}

/// `add`.
#[derive(Debug, Deserialize)]
pub struct AddMember {
    /// Room id.
    pub room: String,
    /// The user id to add.
    pub user: String,
}

/// `send`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    /// Room id.
    pub room: String,
    /// Text.
    pub text: String,
    /// Idempotency key.
    pub client_id: String,
}

/// `edit`.
#[derive(Debug, Deserialize)]
pub struct EditMessage {
    /// Room id.
    pub room: String,
    /// Message id.
    pub id: String,
    /// New text.
    pub text: String,
}

/// `react`: `on` adds the caller's reaction, `false` takes it back.
#[derive(Debug, Deserialize)]
pub struct ReactMessage {
    /// Room id.
    pub room: String,
    /// Message id.
    pub id: String,
    /// One of [`REACTION_EMOJI`](super::REACTION_EMOJI).
    pub emoji: String,
    /// Add or remove.
    pub on: bool,
}

/// `delete`.
#[derive(Debug, Deserialize)]
pub struct DeleteMessage {
    /// Room id.
    pub room: String,
    /// Message id.
    pub id: String,
}

/// `history`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Room id.
    pub room: String,
    /// Only messages with a smaller `seq`.
    pub before: Option<i64>,
    /// Only messages with a greater `seq`.
    pub after: Option<i64>,
    /// At most this many (default 50, at most 100).
    pub limit: Option<i64>,
}

/// `typing`, both ways.
#[derive(Debug, Deserialize)]
pub struct TypingIn {
    /// Room id.
    pub room: String,
    /// Started or stopped.
    pub typing: bool,
}

/// `read`, from the client.
#[derive(Debug, Deserialize)]
pub struct ReadIn {
    /// Room id.
    pub room: String,
    /// The last `seq` read.
    pub seq: i64,
}

/// `cancel`.
#[derive(Debug, Deserialize)]
pub struct CancelReply {
    /// Room id.
    pub room: String,
    /// The reply's message id (or a waiting request's id).
    pub id: String,
}

/// `search`.
#[derive(Debug, Deserialize)]
pub struct SearchIn {
    /// One room; without it, every room the caller belongs to and every public room.
    #[serde(default)]
    pub room: Option<String>,
    /// Words to find, all of them (1 to [`SEARCH_QUERY_MAX`] characters).
    pub query: String,
    /// The `next` of the page before, for the page after it.
    #[serde(default)]
    pub before: Option<String>,
}

/// The longest `search` query, in characters.
pub const SEARCH_QUERY_MAX: usize = 200;
