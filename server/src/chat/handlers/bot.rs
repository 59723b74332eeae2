//! The bot's events besides `cancel`: `bot:settings`, `bot:regenerate`, `bot:continue` and
//! `bot:usage`.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{Answer, Failure, answer, bad_payload, require_member};
use crate::{
    bot::BotError,
    chat::{Chat, Conn},
    flow::{Ack, Turn},
    wire::{BotSettingsArgs, ReplyRef, Requested, UsageQuery},
};

impl From<BotError> for Failure {
    fn from(e: BotError) -> Self {
        match e {
            BotError::Refused(body) => Self::Refused(body),
            BotError::Store(e) => Self::Store(e),
        }
    }
}

/// `bot:settings`: reads (any member) or changes (the creator) a room's bot settings.
pub(super) async fn settings<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<BotSettingsArgs>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        if payload.changes() {
            Ok(chat
                .bot
                .change_settings(&conn.identity.user_id, payload)
                .await?)
        } else {
            Ok(chat.bot.settings(&payload.room).await?)
        }
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

/// Regenerates (`continues: false`) or continues the reply `payload` names.
async fn again<A: Adapter>(
    turn: Turn,
    chat: Chat<A>,
    conn: Arc<Conn>,
    payload: Result<ReplyRef, impl std::fmt::Display>,
    ack: Ack<A>,
    continues: bool,
) {
    let result: Answer<Requested> = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        let (request, again) = chat
            .bot
            .again_for(&payload.room, &payload.id, continues)
            .await?;
        let admission = chat
            .bot
            .admit(&payload.room, &conn.identity.user_id)
            .await?;
        chat.bot.submit_again(admission, &request, again).await;
        Ok(Requested {
            request_id: request.id,
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

/// `bot:regenerate`: a new reply to what a reply answered, replacing it (both kept).
pub(super) async fn regenerate<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<ReplyRef>,
    ack: Ack<A>,
) {
    again(turn, chat, conn, payload, ack, false).await;
}

/// `bot:continue`: a reply that carries on one cut short.
pub(super) async fn continue_reply<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<ReplyRef>,
    ack: Ack<A>,
) {
    again(turn, chat, conn, payload, ack, true).await;
}

/// `bot:usage`: the caller's token totals for today and this month.
pub(super) async fn usage<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<UsageQuery>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        if let Some(room) = &payload.room {
            require_member(&chat, &conn, room).await?;
        }
        Ok(chat
            .bot
            .usage(&conn.identity.user_id, payload.room.as_deref())
            .await?)
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}
