//! What the store hands out and takes in, and how rows become those types.

use sqlx::{Row, any::AnyRow};

use super::StoreError;

/// A stored message, as delivered to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Server-made id, unique across rooms.
    pub id: String,
    /// The room.
    pub room: String,
    /// Position in the room: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Position of its latest change in the room's change log.
    pub rev: i64,
    /// Author's user id.
    pub user_id: String,
    /// Author's display name at the time of writing.
    pub user_name: String,
    /// The text (empty once deleted).
    pub text: String,
    /// When it was stored, in milliseconds since the Unix epoch.
    pub ts: i64,
    /// When it was last edited.
    pub edited_ts: Option<i64>,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The client's idempotency key.
    pub client_id: Option<String>,
    /// Done, or streaming while a bot reply is being written.
    pub status: MessageStatus,
    /// Free-form JSON for bot replies (finish reason, usage, error).
    pub meta: Option<String>,
    /// Its reactions as served (JSON), once it had any (`[]` when all were taken back).
    pub reactions: Option<String>,
    /// For a bot reply: what it answers, replaces or continues.
    pub links: Links,
    /// The members it names with `@name`, by user id (never its author), in no set order.
    pub mentions: Vec<String>,
}

/// How a bot reply relates to other messages; empty for every other message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The message that asked for the reply.
    pub reply_to: Option<String>,
    /// The reply this one regenerates (both are kept).
    pub replaces: Option<String>,
    /// The reply this one carries on.
    pub continues: Option<String>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Server-made id.
    pub id: String,
    /// Author's user id.
    pub user_id: String,
    /// Author's display name.
    pub user_name: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    /// The idempotency key: the same key from the same user in the same room stores once.
    pub client_id: Option<String>,
    /// Done, or streaming for a bot reply that is about to be written.
    pub status: MessageStatus,
    /// For a streaming reply: the node writing it (see [`Store::end_interrupted`]).
    ///
    /// [`Store::end_interrupted`]: super::Store::end_interrupted
    pub node: Option<String>,
    /// For a bot reply: what it answers, replaces or continues.
    pub links: Links,
}

/// Where a message is in its life, stored as `done` or `streaming`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// Complete.
    Done,
    /// A bot reply still being written; it becomes `Done` when the reply ends.
    Streaming,
}

impl MessageStatus {
    /// The stored (and wire) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Streaming => "streaming",
        }
    }

    /// The stored form read back; `None` for anything this build does not know.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "done" => Some(Self::Done),
            "streaming" => Some(Self::Streaming),
            _ => None,
        }
    }
}

/// What [`Store::append`](super::Store::append) did with one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// Stored now, with a fresh `seq`.
    New(StoredMessage),
    /// Its `client_id` was seen before: this is the message stored the first time.
    Duplicate(StoredMessage),
}

impl Appended {
    /// The stored message, new or not.
    pub fn message(&self) -> &StoredMessage {
        match self {
            Self::New(m) | Self::Duplicate(m) => m,
        }
    }
}

/// Where a room's log stands: its last message (`seq`) and its last change (`rev`). Every
/// change takes the next `rev`; a new message also takes the next `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// The `seq` of the latest message.
    pub seq: i64,
    /// The position of the latest change.
    pub rev: i64,
}

/// A change committed to a room's log: the message in its new state, and where the log stood
/// after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The message changed (edited, deleted, or a reply ended).
    pub message: StoredMessage,
    /// The room's position after this change (`pos.rev == message.rev`).
    pub pos: Pos,
}

/// A room.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Private rooms are visible and open to their members only.
    pub private: bool,
    /// The `seq` of the latest message.
    pub last_seq: i64,
    /// The position of the latest change (see [`Pos`]).
    pub last_rev: i64,
    /// Whether this is a private room between a user and the bot.
    pub bot: bool,
}

/// A room as one user sees it in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    /// The room.
    pub room: Room,
    /// Whether the user is a member.
    pub member: bool,
    /// The user's read mark.
    pub read_seq: i64,
    /// How many messages after the read mark name the user (0 for non-members).
    pub mentions: i64,
}

pub(super) const MESSAGE_COLUMNS: &str = "id, room_id, seq, rev, user_id, user_name, text, ts, edited_ts, deleted, client_id, status, meta, reactions, reply_to, replaces, continues, mentions";

/// [`MESSAGE_COLUMNS`] of the table aliased `m`, for queries that join it with another table.
pub(super) static MESSAGE_COLUMNS_OF_M: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    });

pub(super) fn room_from_row(r: &AnyRow) -> Result<Room, StoreError> {
    Ok(Room {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        private: r.try_get::<i64, _>("private")? != 0,
        last_seq: r.try_get("last_seq")?,
        last_rev: r.try_get("last_rev")?,
        bot: r.try_get::<i64, _>("bot")? != 0,
    })
}

pub(super) fn message_from_row(r: &AnyRow) -> Result<StoredMessage, StoreError> {
    Ok(StoredMessage {
        id: r.try_get("id")?,
        room: r.try_get("room_id")?,
        seq: r.try_get("seq")?,
        rev: r.try_get("rev")?,
        user_id: r.try_get("user_id")?,
        user_name: r.try_get("user_name")?,
        text: r.try_get("text")?,
        ts: r.try_get("ts")?,
        edited_ts: r.try_get("edited_ts")?,
        deleted: r.try_get::<i64, _>("deleted")? != 0,
        client_id: r.try_get("client_id")?,
        status: {
            let status: String = r.try_get("status")?;
            MessageStatus::parse(&status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown message status {status:?}").into())
            })?
        },
        meta: r.try_get("meta")?,
        reactions: r.try_get("reactions")?,
        links: Links {
            reply_to: r.try_get("reply_to")?,
            replaces: r.try_get("replaces")?,
            continues: r.try_get("continues")?,
        },
        mentions: {
            let ids: Option<String> = r.try_get("mentions")?;
            match ids {
                Some(ids) => serde_json::from_str(&ids)
                    .map_err(|e| sqlx::Error::Decode(format!("mentions: {e}").into()))?,
                None => Vec::new(),
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::MessageStatus;

    #[test]
    fn statuses_read_back_as_stored_and_unknown_ones_are_refused() {
        for status in [MessageStatus::Done, MessageStatus::Streaming] {
            assert_eq!(MessageStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MessageStatus::parse("Done"), None);
        assert_eq!(MessageStatus::parse(""), None);
    }
}
