//! Message events: `send`, `edit`, `delete`, `history` and the bot's `cancel`.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{Answer, answer, bad_payload, now_ms, refuse, require_member, visible_room};
use crate::{
    chat::{Chat, Conn},
    flow::{Ack, Turn},
    room::to_wire,
    store::{Appended, MessageStatus, NewMessage},
    wire::{
        CancelReply, DeleteMessage, EditMessage, Empty, ErrorBody, ErrorCode, History,
        HistoryQuery, SendMessage, Sent,
    },
};

fn check_text<A: Adapter>(chat: &Chat<A>, text: &str) -> Answer<()> {
    if text.trim().is_empty() {
        return refuse(ErrorCode::BadRequest, "text is empty");
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return refuse(
            ErrorCode::BadRequest,
            "text has control characters (only tabs and line breaks are allowed)",
        );
    }
    if text.len() > chat.limits.max_message_bytes {
        return refuse(
            ErrorCode::TooLarge,
            format!("text is over {} bytes", chat.limits.max_message_bytes),
        );
    }
    Ok(())
}

pub(super) async fn send<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<SendMessage>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        check_text(&chat, &payload.text)?;
        if payload.client_id.is_empty() || payload.client_id.chars().count() > 64 {
            return refuse(ErrorCode::BadRequest, "clientId must be 1 to 64 characters");
        }
        // Only the order: earlier sends may still be storing, this one is queued behind them.
        turn.wait_ordered().await?;
        // After the turn, so the allowance is spent in the order the messages were sent.
        chat.check_rate(&conn.identity.user_id).await?;
        require_member(&chat, &conn, &payload.room).await?;
        let writer = chat.writers.get(&payload.room).await?;
        // A request for the bot is admitted (or refused) before anything is stored.
        let admission = if chat.bot.addressed(&payload.room, &payload.text).await {
            match chat.bot.admit(&payload.room, &conn.identity.user_id).await {
                Ok(admission) => Some(admission),
                Err(refused) => {
                    // A resend of a message already stored gets its first ack, not a refusal.
                    let user = &conn.identity.user_id;
                    return match chat
                        .store
                        .by_client_id(&payload.room, user, &payload.client_id)
                        .await
                    {
                        Ok(Some(m)) => Ok(Sent {
                            id: m.id,
                            seq: m.seq,
                            ts: m.ts,
                        }),
                        _ => Err(refused.into()),
                    };
                }
            }
        } else {
            None
        };
        // Later events that read wait until this message is stored (and handed to the bot).
        let _write = turn.write();
        let stored = writer
            .enqueue(NewMessage {
                id: crate::ids::new_id("m_", 16),
                user_id: conn.identity.user_id.clone(),
                user_name: conn.identity.name.clone(),
                text: payload.text,
                ts: now_ms(),
                client_id: Some(payload.client_id),
                status: MessageStatus::Done,
                node: None,
            })
            .await;
        // The writer now holds this message in order; the next event may go ahead.
        turn.release();
        if chat.typing.stop(&payload.room, &conn.identity.user_id) {
            chat.typing_notice(&payload.room, conn.user(), false);
        }
        let appended = stored
            .await
            .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the room is unavailable"))??;
        let m = match &appended {
            Appended::New(m) | Appended::Duplicate(m) => m,
        };
        if let (Some(admission), Appended::New(m)) = (admission, &appended) {
            chat.bot.submit(admission, m).await;
        }
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
        check_text(&chat, &payload.text)?;
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
        let limit = q.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return refuse(ErrorCode::BadRequest, "limit must be 1 to 100");
        }
        turn.wait().await?;
        // Public rooms can be read before joining; private ones need membership.
        visible_room(&chat, &conn.identity.user_id, &q.room).await?;
        let rows = chat
            .store
            .history(&q.room, q.before, q.after, limit)
            .await?;
        Ok(History {
            messages: rows.iter().map(to_wire).collect(),
        })
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
