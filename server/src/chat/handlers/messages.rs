//! Message events: `send`, `edit`, `delete`, `history` and the bot's `cancel`.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{answer, bad_payload, now_ms, refuse, require_member, visible_room};
use crate::{
    chat::{
        Chat, Conn,
        history::page_limit,
        post::{Admit, Author},
    },
    flow::{Ack, Turn},
    room::to_wire,
    wire::{
        CancelReply, DeleteMessage, EditMessage, Empty, ErrorBody, ErrorCode, HistoryQuery,
        SendMessage, Sent,
    },
};

pub(super) async fn send<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<SendMessage>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        chat.check_text(&payload.text)?;
        if payload.client_id.is_empty() || payload.client_id.chars().count() > 64 {
            return refuse(ErrorCode::BadRequest, "clientId must be 1 to 64 characters");
        }
        // Only the order: earlier sends may still be storing, this one is queued behind them.
        turn.wait_ordered().await?;
        // After the turn, so the allowance is spent in the order the messages were sent.
        chat.check_rate(&conn.identity.user_id).await?;
        require_member(&chat, &conn, &payload.room).await?;
        let writer = chat.writers.get(&payload.room).await?;
        let user = &conn.identity.user_id;
        let admission = match chat
            .admit(&payload.room, user, &payload.text, &payload.client_id)
            .await?
        {
            Admit::Go(admission) => admission,
            Admit::Stored(m) => {
                return Ok(Sent {
                    id: m.id,
                    seq: m.seq,
                    ts: m.ts,
                });
            }
        };
        // Later events that read wait until this message is stored (and handed to the bot).
        let _write = turn.write();
        let author = Author {
            user_id: user,
            name: &conn.identity.name,
        };
        let stored = writer
            .enqueue(Chat::<A>::new_message(
                author,
                payload.text,
                payload.client_id,
            ))
            .await;
        // The writer now holds this message in order; the next event may go ahead.
        turn.release();
        if chat.typing.stop(&payload.room, user) {
            chat.typing_notice(&payload.room, conn.user(), false);
        }
        let appended = stored
            .await
            .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the room is unavailable"))??;
        chat.stored(admission, &appended).await;
        let m = appended.message();
        Ok(Sent {
            id: m.id.clone(),
            seq: m.seq,
            ts: m.ts,
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn edit<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<EditMessage>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        chat.check_text(&payload.text)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        let change = chat
            .writers
            .get(&payload.room)
            .await?
            .change(
                &payload.id,
                &conn.identity.user_id,
                Some(payload.text),
                now_ms(),
            )
            .await?;
        Ok(to_wire(&change.message))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn delete<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<DeleteMessage>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        let change = chat
            .writers
            .get(&payload.room)
            .await?
            .change(&payload.id, &conn.identity.user_id, None, now_ms())
            .await?;
        Ok(to_wire(&change.message))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn history<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<HistoryQuery>,
    ack: Ack<A>,
) {
    let result = async {
        let q = payload.map_err(bad_payload)?;
        let limit = page_limit(q.limit)?;
        turn.wait().await?;
        // Public rooms can be read before joining; private ones need membership.
        visible_room(&chat, &conn.identity.user_id, &q.room).await?;
        Ok(chat.history(&q.room, q.before, q.after, limit).await?)
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn cancel<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<CancelReply>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        if chat.bot.cancel(&payload.room, &payload.id).await {
            Ok(Empty {})
        } else {
            refuse(ErrorCode::NotFound, "no reply in progress with that id")
        }
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}
