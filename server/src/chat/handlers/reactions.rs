//! `react`: a member adds or takes back an emoji on a message of the room.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{answer, bad_payload, now_ms, refuse, require_member};
use crate::{
    chat::{Chat, Conn},
    flow::{Ack, Turn},
    room::to_wire,
    wire::{ErrorCode, REACTION_EMOJI, ReactMessage},
};

pub(super) async fn react<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<ReactMessage>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        if !REACTION_EMOJI.contains(&payload.emoji.as_str()) {
            return refuse(
                ErrorCode::BadRequest,
                "emoji must be one of 👍 👎 ❤️ 😂 🎉 😮 😢 🙏",
            );
        }
        turn.wait().await?;
        // Reactions are changes like messages: they spend the same allowance.
        chat.check_rate(&conn.identity.user_id).await?;
        require_member(&chat, &conn, &payload.room).await?;
        let message = chat
            .writers
            .get(&payload.room)
            .await?
            .react(
                &payload.id,
                &conn.identity.user_id,
                &payload.emoji,
                payload.on,
                now_ms(),
            )
            .await?;
        Ok(to_wire(&message))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}
