//! Payload shapes shared by handlers.

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{SeqAccess, Visitor},
    ser::SerializeTuple,
};

/// Every argument of an event, however many there are.
///
/// socketioxide hands a handler all of an event's arguments only when the extracted type is
/// tuple-like, and emits a value as several arguments only when it serializes as a tuple; a
/// `Vec` would be one array argument. This type is tuple-like both ways.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args<T>(pub Vec<T>);

impl<T: Serialize> Serialize for Args<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for item in &self.0 {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Args<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ArgsVisitor<T> {
            type Value = Args<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of event arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Args(items))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// The chat protocol (docs/PROTOCOL.md). Only this module derives Serialize/Deserialize for what
// travels over Socket.IO.
// ---------------------------------------------------------------------------------------------

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
}

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
}

/// A user as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Whether the caller is a member.
    pub member: bool,
}

/// A chat message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The room.
    pub room: String,
    /// Unique id.
    pub id: String,
    /// Position in the room.
    pub seq: i64,
    /// Author.
    pub user_id: String,
    /// Author's name.
    pub name: String,
    /// Text.
    pub text: String,
    /// Stored at.
    pub ts: i64,
    /// Idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Last edited at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<i64>,
    /// Deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// `streaming` while a bot reply is being written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Bot reply metadata: finish reason, usage, error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// `messages`: a replay batch.
#[derive(Debug, Serialize)]
pub struct MessageBatch<'a> {
    /// The room.
    pub room: &'a str,
    /// In `seq` order.
    pub messages: &'a [std::sync::Arc<Message>],
}

/// The ack of `send`.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Message id.
    pub id: String,
    /// Its `seq`.
    pub seq: i64,
    /// Stored at.
    pub ts: i64,
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

/// `read`, from the client.
#[derive(Debug, Deserialize)]
pub struct ReadIn {
    /// Room id.
    pub room: String,
    /// The last `seq` read.
    pub seq: i64,
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
#[derive(Debug, Serialize)]
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

/// `bot:queued`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotQueued {
    /// Room id.
    pub room: String,
    /// The id of the message that asked.
    pub request_id: String,
    /// 1 = next.
    pub position: usize,
}

/// `bot:start`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotStart {
    /// Room id.
    pub room: String,
    /// The reply's message id.
    pub id: String,
    /// The reply's room `seq`.
    pub seq: i64,
    /// The id of the message that asked.
    pub request_id: String,
    /// The bot's user id.
    pub user_id: String,
    /// The bot's name.
    pub name: String,
    /// Started at.
    pub ts: i64,
}

/// `bot:delta`.
#[derive(Debug, Clone, Serialize)]
pub struct BotDelta<'a> {
    /// Room id.
    pub room: &'a str,
    /// The reply's message id.
    pub id: &'a str,
    /// 1, 2, 3, … within this reply.
    pub n: u64,
    /// New text.
    pub text: &'a str,
}

/// `bot:snapshot`: the reply so far.
#[derive(Debug, Clone, Serialize)]
pub struct BotSnapshot<'a> {
    /// What `bot:start` said.
    #[serde(flatten)]
    pub start: &'a BotStart,
    /// Text through delta `n`.
    pub text: &'a str,
    /// The last delta included.
    pub n: u64,
}

/// Token counts of a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens read.
    pub prompt_tokens: u64,
    /// Tokens written.
    pub completion_tokens: u64,
}

/// Why a reply failed, as members read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    /// Machine-readable (`upstream_http`, `upstream_timeout`, …).
    pub code: String,
    /// Human-readable.
    pub message: String,
}

/// `bot:end`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotEnd {
    /// Room id.
    pub room: String,
    /// The reply's message id.
    pub id: String,
    /// The reply's room `seq`.
    pub seq: i64,
    /// The whole text.
    pub text: String,
    /// `stop`, `length`, `cancelled` or `error`.
    pub finish_reason: String,
    /// Token counts, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What went wrong, for `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

/// `cancel`.
#[derive(Debug, Deserialize)]
pub struct CancelReply {
    /// Room id.
    pub room: String,
    /// The reply's message id (or a waiting request's id).
    pub id: String,
}
