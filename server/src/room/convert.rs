//! Stored messages, and storage failures, in their wire forms.

use serde::Deserialize;
use tracing::warn;

use crate::{
    store::{MessageStatus, StoreError, StoredMessage},
    wire::{BotEnd, ErrorBody, ErrorCode, FinishReason, Message, ReplyError, Usage},
};

/// The wire form of a stored message.
pub fn to_wire(m: &StoredMessage) -> Message {
    Message {
        room: m.room.clone(),
        id: m.id.clone(),
        seq: m.seq,
        rev: m.rev,
        user_id: m.user_id.clone(),
        name: m.user_name.clone(),
        text: m.text.clone(),
        ts: m.ts,
        client_id: m.client_id.clone(),
        edited_ts: m.edited_ts,
        deleted: m.deleted,
        status: (m.status != MessageStatus::Done).then(|| m.status.as_str().into()),
        meta: m.meta.as_deref().and_then(|s| serde_json::from_str(s).ok()),
        // A deleted message shows none of its reactions.
        reactions: m
            .reactions
            .as_deref()
            .filter(|_| !m.deleted)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
        reply_to: m.links.reply_to.clone(),
        replaces: m.links.replaces.clone(),
        continues: m.links.continues.clone(),
        // A delete clears them in the store.
        mentions: m.mentions.clone(),
    }
}

/// What a finished reply keeps in `meta`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplyMeta {
    finish_reason: String,
    usage: Option<Usage>,
    error: Option<ReplyError>,
}

/// The `bot:end` of a finished reply (a message with a reply's `meta`), as it was sent live.
pub fn bot_end(m: &StoredMessage) -> Option<BotEnd> {
    if m.status != MessageStatus::Done {
        return None;
    }
    let meta: ReplyMeta = serde_json::from_str(m.meta.as_deref()?).ok()?;
    Some(BotEnd {
        room: m.room.clone(),
        id: m.id.clone(),
        seq: m.seq,
        rev: m.rev,
        text: m.text.clone(),
        finish_reason: FinishReason::parse(meta.finish_reason),
        usage: meta.usage,
        error: meta.error,
    })
}

/// Logs a storage failure and turns it into what the client may know.
pub fn store_error(e: StoreError) -> ErrorBody {
    match e {
        StoreError::NotFound => ErrorBody::new(ErrorCode::NotFound, "not found"),
        StoreError::NotAuthor => {
            ErrorBody::new(ErrorCode::Forbidden, "only the author may change a message")
        }
        StoreError::NameTaken => {
            ErrorBody::new(ErrorCode::Conflict, "a room with that name exists")
        }
        e @ (StoreError::Db(_) | StoreError::Migrate(_)) => {
            warn!(cause = %e, "storage failed");
            ErrorBody::new(ErrorCode::Internal, "storage failed")
        }
    }
}
