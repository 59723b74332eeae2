//! What the server sends about rooms, messages, presence and receipts: answers and events.

use serde::{Deserialize, Serialize};

/// `session`: who the server thinks this socket is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The user id.
    pub user_id: String,
    /// The display name.
    pub name: String,
    /// Whether this is a guest.
    pub guest: bool,
    /// A token to reconnect as the same user.
    pub token: String,
    /// Which bot answers.
    pub bot: super::SessionBot,
}

/// A user as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id.
    pub user_id: String,
    /// The display name.
    pub name: String,
}

/// A room as one user sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Visible to members only.
    pub private: bool,
    /// A private room with the bot.
    pub bot: bool,
    /// The last message's `seq`.
    pub last_seq: i64,
    /// The caller's read mark.
    pub read_seq: i64,
    /// `last_seq - read_seq` for members.
    pub unread: i64,
    /// How many of the unread messages name the caller with `@name` (Matrix's highlight
    /// count); 0 for non-members.
    pub mentions: i64,
    /// Whether the caller is a member.
    pub member: bool,
}

/// A chat message.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The room.
    pub room: String,
    /// Unique id.
    pub id: String,
    /// Position in the room.
    pub seq: i64,
    /// Position of its latest change in the room's change log.
    pub rev: i64,
    /// Author.
    pub user_id: String,
    /// Author's name.
    pub name: String,
    /// Text.
    pub text: String,
    /// Stored at.
    pub ts: i64,
    /// Idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Last edited at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<i64>,
    /// Deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// `streaming` while a bot reply is being written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<std::borrow::Cow<'static, str>>,
    /// Bot reply metadata: finish reason, usage, error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    /// Reactions, each emoji in the order it was first given; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// On a bot reply: the message that asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// On a regenerated bot reply: the reply it replaces (both are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// On a continuation: the reply it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<String>,
    /// The user ids of the members it names with `@name` (never its author); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    /// One of [`REACTION_EMOJI`].
    pub emoji: String,
    /// How many users reacted with it.
    pub count: i64,
    /// The first 20 of them, oldest first.
    pub users: Vec<User>,
}

/// The emoji a message may be reacted to with.
pub const REACTION_EMOJI: &[&str] = &["👍", "👎", "❤️", "😂", "🎉", "😮", "😢", "🙏"];

/// `messages`: a replay batch.
#[derive(Debug, Serialize)]
pub struct MessageBatch<'a> {
    /// The room.
    pub room: &'a str,
    /// In `seq` order.
    pub messages: &'a [std::sync::Arc<Message>],
}

/// The ack of `send`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sent {
    /// Message id.
    pub id: String,
    /// Its `seq`.
    pub seq: i64,
    /// Stored at.
    pub ts: i64,
}

/// `typing` as others receive it.
#[derive(Debug, Clone, Serialize)]
pub struct TypingOut {
    /// Room id.
    pub room: String,
    /// Who.
    pub user: User,
    /// Started or stopped.
    pub typing: bool,
}

/// `read` as members receive it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadOut {
    /// Room id.
    pub room: String,
    /// Whose mark.
    pub user_id: String,
    /// The mark.
    pub seq: i64,
}

/// A member's mark in `join`'s answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    /// Whose mark.
    pub user_id: String,
    /// The mark.
    pub seq: i64,
}

/// `presence`, as members receive it.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceOut {
    /// Room id.
    pub room: String,
    /// Who.
    pub user: User,
    /// Arrived or left.
    pub online: bool,
}

/// The answer to `presence`.
#[derive(Debug, Serialize)]
pub struct Online {
    /// Users with at least one socket in the room.
    pub online: Vec<User>,
}

/// The answer to `search`: one page of matches, best first.
#[derive(Debug, Serialize)]
pub struct SearchPage {
    /// The matches, each as it reads now.
    pub messages: Vec<Message>,
    /// Where the next page starts (pass it back as `before`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Matches in one `search` page.
pub const SEARCH_PAGE: i64 = 20;

/// How deep `search` pages go: matches ranked below this many are not offered.
pub const SEARCH_DEPTH_MAX: i64 = 500;

/// The answer to `join`.
#[derive(Debug, Serialize)]
pub struct Joined {
    /// The room.
    pub room: RoomInfo,
    /// Who is online.
    pub online: Vec<User>,
    /// The read marks of the [`JOINED_READS_MAX`] members furthest ahead, highest first.
    pub reads: Vec<ReadMark>,
}

/// At most this many read marks in a `join` answer: it is sent on every join, so it must not
/// grow with the room's membership. Members further behind (or who have read nothing) are left
/// out; later moves reach the room as `read` events.
pub const JOINED_READS_MAX: usize = 100;

/// `left`.
#[derive(Debug, Serialize)]
pub struct Left {
    /// Room id.
    pub room: String,
}

/// The answer to `history`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    /// In `seq` order.
    pub messages: Vec<Message>,
}

/// The answer to `read`.
#[derive(Debug, Serialize)]
pub struct ReadAck {
    /// The mark now in force.
    pub seq: i64,
}

/// Every event the chat server emits to its clients (the `bot:` ones are reserved as a family).
pub const SERVER_EVENTS: &[&str] = &[
    "session", "message", "messages", "edited", "deleted", "reacted", "presence", "typing", "read",
    "joined", "left",
];

/// Names socket.io itself gives meaning to on a client.
pub const SOCKET_IO_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether a plain event from a backend (the HTTP API, the Redis emitter) may not use `name`:
/// a chat event (it would corrupt the clients' view of their rooms), a `bot:` event, or one
/// socket.io reserves.
pub fn is_reserved_event(name: &str) -> bool {
    name.starts_with("bot:") || SERVER_EVENTS.contains(&name) || SOCKET_IO_EVENTS.contains(&name)
}
