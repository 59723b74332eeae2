//! Room events: `rooms`, `create`, `join`, `leave`, `add` and `bot:open`.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use tracing::Instrument;

use super::{
    Failure, answer, bad_payload,
    members::{subscribe_user, unsubscribe_user},
    now_ms, refuse, require_member, room_info, visible_room,
};
use crate::{
    bot::BOT_ID,
    chat::{Chat, Conn, auth},
    flow::{Ack, Turn},
    room::Since,
    wire::{
        AddMember, CreateRoom, Empty, ErrorCode, JOINED_READS_MAX, JoinRoom, Joined, ReadMark,
        RoomOnly,
    },
};

pub(super) async fn list_rooms<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    ack: Ack<A>,
) {
    let result = async {
        turn.wait().await?;
        chat.store
            .rooms_for(&conn.identity.user_id)
            .await
            .map(|rooms| rooms.iter().map(room_info).collect::<Vec<_>>())
            .map_err(Failure::from)
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

fn slug(name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.truncate(24);
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "room".to_owned()
    } else {
        slug
    }
}

pub(super) async fn create_room<A: Adapter>(
    s: SocketRef<A>,
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<CreateRoom>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        let name = auth::valid_name(&payload.name)?;
        turn.wait().await?;
        let user = &conn.identity.user_id;
        chat.check_room_rate(user).await?;
        let id = crate::ids::new_id(&format!("{}-", slug(&name)), 6);
        chat.store
            .create_room(&id, &name, payload.private, false, user, now_ms())
            .await?;
        subscribe_user(&chat, &s, user, &id, None).await;
        let view = visible_room(&chat, user, &id).await?;
        Ok(room_info(&view))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn join_room<A: Adapter>(
    s: SocketRef<A>,
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<JoinRoom>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        let user = &conn.identity.user_id;
        let view = visible_room(&chat, user, &payload.room).await?;
        if view.room.private && !view.member {
            return refuse(
                ErrorCode::Forbidden,
                "private room: ask a member to add you",
            );
        }
        chat.store.add_member(&payload.room, user, now_ms()).await?;
        let since = payload.since.map(|seq| Since {
            seq,
            rev: payload.rev,
        });
        if conn.in_room(&payload.room) {
            if since.is_some() {
                chat.subscribe(&s, &conn, &payload.room, since).await?;
            }
        } else {
            subscribe_user(&chat, &s, user, &payload.room, Some((&s, since))).await;
        }
        let view = visible_room(&chat, user, &payload.room).await?;
        let reads = chat
            .store
            .read_marks(&payload.room, JOINED_READS_MAX)
            .await?
            .into_iter()
            .map(|(user_id, seq)| ReadMark { user_id, seq })
            .collect();
        Ok(Joined {
            room: room_info(&view),
            online: chat.presence.online(&payload.room).await,
            reads,
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn leave_room<A: Adapter>(
    s: SocketRef<A>,
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<RoomOnly>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        let user = &conn.identity.user_id;
        let removed = chat.store.remove_member(&payload.room, user).await?;
        if !removed {
            visible_room(&chat, user, &payload.room).await?;
            return refuse(ErrorCode::Forbidden, "not a member");
        }
        unsubscribe_user(&chat, &s, user, &payload.room).await;
        Ok(Empty {})
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

pub(super) async fn add_member<A: Adapter>(
    s: SocketRef<A>,
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<AddMember>,
    ack: Ack<A>,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await?;
        require_member(&chat, &conn, &payload.room).await?;
        if !chat.store.user_exists(&payload.user).await? {
            return refuse(ErrorCode::NotFound, "no such user");
        }
        let added = chat
            .store
            .add_member(&payload.room, &payload.user, now_ms())
            .await?;
        if payload.user == BOT_ID {
            chat.bot.joined(&payload.room, false);
        }
        if added {
            subscribe_user(&chat, &s, &payload.user, &payload.room, None).await;
        }
        Ok(Empty {})
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

/// The caller's private room with the bot, created on first use.
pub(super) async fn open_bot_room<A: Adapter>(
    s: SocketRef<A>,
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    ack: Ack<A>,
) {
    let result = async {
        turn.wait().await?;
        let user = &conn.identity.user_id;
        let id = format!("bot-{user}");
        if chat.store.room(&id).await?.is_none() {
            chat.store
                .create_room(&id, chat.bot.name(), true, true, user, now_ms())
                .await?;
            chat.store.add_member(&id, BOT_ID, now_ms()).await?;
        }
        // The room is the caller's own: a user who left it is a member again. Membership comes
        // before any subscription.
        chat.store.add_member(&id, user, now_ms()).await?;
        chat.bot.joined(&id, true);
        if !conn.in_room(&id) {
            subscribe_user(&chat, &s, user, &id, None).await;
        }
        let view = visible_room(&chat, user, &id).await?;
        Ok(room_info(&view))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}
