//! Live state events: `presence`, `typing` and `read`.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{answer, bad_payload, require_member, visible_room};
use crate::{
    chat::{Chat, Conn},
    flow::{Ack, Turn},
    wire::{Empty, Online, ReadAck, ReadIn, ReadOut, RoomOnly, TypingIn},
};

pub(super) async fn presence<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<RoomOnly>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        visible_room(&chat, &conn.identity.user_id, &payload.room).await?;
        Ok(Online {
            online: chat.presence.online(&payload.room).await,
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn typing<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<TypingIn>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        let user = conn.user();
        let changed = if payload.typing {
            chat.check_typing_rate(&user.user_id).await?;
            chat.typing.start(&payload.room, &user);
            true
        } else {
            chat.typing.stop(&payload.room, &user.user_id)
        };
        if changed {
            chat.typing_notice(&payload.room, user, payload.typing);
        }
        Ok(Empty {})
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn read<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<ReadIn>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        let user = &conn.identity.user_id;
        let before = chat.store.read_seq(&payload.room, user).await?;
        let seq = chat
            .store
            .mark_read(&payload.room, user, payload.seq)
            .await?;
        if seq != before {
            let note = ReadOut {
                room: payload.room.clone(),
                user_id: user.clone(),
                seq,
            };
            chat.writers.notice(&payload.room, "read", &note, None);
        }
        Ok(ReadAck { seq })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}
