//! Stored messages in their wire form.

use crate::{
    store::{MessageStatus, StoredMessage},
    wire::Message,
};

/// The wire form of a stored message.
pub fn to_wire(m: &StoredMessage) -> Message {
    Message {
        room: m.room.clone(),
        id: m.id.clone(),
        seq: m.seq,
        user_id: m.user_id.clone(),
        name: m.user_name.clone(),
        text: m.text.clone(),
        ts: m.ts,
        client_id: m.client_id.clone(),
        edited_ts: m.edited_ts,
        deleted: m.deleted,
        status: (m.status != MessageStatus::Done).then(|| m.status.as_str()),
        meta: m.meta.as_deref().and_then(|s| serde_json::from_str(s).ok()),
    }
}
