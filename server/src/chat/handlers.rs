//! One function per client event. Each is shaped alike: parse the payload (`TryData`, so a bad
//! one still gets an answer), authorize, act, and answer with the ack envelope. Events whose
//! order matters take a [`Turn`] so one connection's events apply in the order sent.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use socketioxide::{
    SocketIo,
    extract::{Extension, SocketRef, State, TryData},
};
use tracing::{Instrument, debug, info_span};

use super::{Chat, Conn, auth, hub, store_error, user_room};
use crate::{
    ack::Ack,
    bot::BOT_ID,
    order::Turn,
    store::{Appended, NewMessage, RoomView},
    wire::{
        AddMember, Auth, CancelReply, CreateRoom, DeleteMessage, EditMessage, Empty, ErrorBody,
        ErrorCode, History, HistoryQuery, JoinRoom, Joined, Left, Online, ReadAck, ReadIn,
        ReadMark, ReadOut, Reply, RoomInfo, RoomOnly, SendMessage, Sent, Session, TypingIn,
        TypingOut,
    },
};

type Answer<T> = Result<T, ErrorBody>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

async fn answer<T: Serialize>(ack: Ack, result: Answer<T>) {
    if let Err(e) = &result {
        debug!(code = e.code.as_str(), message = %e.message, "refused");
    }
    ack.send(&Reply::from(result)).await;
}

fn bad_payload(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, format!("invalid payload: {e}"))
}

fn conn_of(s: &SocketRef) -> Option<Arc<Conn>> {
    s.extensions.get::<Arc<Conn>>()
}

fn room_info(view: &RoomView) -> RoomInfo {
    let unread = if view.member {
        (view.room.last_seq - view.read_seq).max(0)
    } else {
        0
    };
    RoomInfo {
        id: view.room.id.clone(),
        name: view.room.name.clone(),
        private: view.room.private,
        bot: view.room.bot,
        last_seq: view.room.last_seq,
        read_seq: view.read_seq,
        unread,
        member: view.member,
    }
}

/// The connect middleware: decides who the socket is, or refuses it with `connect_error`.
pub async fn authenticate(
    s: SocketRef,
    TryData(auth): TryData<Auth>,
    chat: Chat,
) -> Result<(), ErrorBody> {
    let auth = auth.map_err(|_| {
        ErrorBody::new(
            ErrorCode::BadRequest,
            "auth must be an object with a token or a name",
        )
    })?;
    let identity = auth::authenticate(&auth, &chat.tokens, chat.limits.allow_guests)?;
    let token = match (&auth.token, identity.guest) {
        (Some(token), false) => token.clone(),
        _ => chat
            .tokens
            .mint(&identity, chat.limits.guest_token_ttl_secs)
            .map_err(|_| ErrorBody::new(ErrorCode::Internal, "cannot sign a token"))?,
    };
    let span = info_span!("conn", user = %identity.user_id, guest = identity.guest);
    s.extensions.insert(Arc::new(Conn {
        span,
        identity,
        since: auth.since,
        rooms: Mutex::new(Default::default()),
        token,
    }));
    Ok(())
}

/// A socket is in: it joins its user's room, learns who it is, receives its rooms (replayed
/// from `auth.since`), and its event handlers are set.
pub async fn on_connect(s: SocketRef, chat: Chat) {
    let Some(conn) = conn_of(&s) else {
        s.disconnect().ok();
        return;
    };
    let span = conn.span.clone();
    async {
        tracing::info!(transport = ?s.transport_type(), "connected");
        // Handlers first, before any await: an event the client sends right after connecting
        // must find them.
        s.on("rooms", list_rooms);
        s.on("create", create_room);
        s.on("join", join_room);
        s.on("leave", leave_room);
        s.on("add", add_member);
        s.on("send", send);
        s.on("edit", edit);
        s.on("delete", delete);
        s.on("history", history);
        s.on("presence", presence);
        s.on("typing", typing);
        s.on("read", read);
        s.on("cancel", cancel);
        s.on("bot:open", open_bot_room);
        s.on_disconnect(on_disconnect);
        s.join(user_room(&conn.identity.user_id));
        let id = &conn.identity;
        if let Err(e) = chat
            .store
            .upsert_user(&id.user_id, &id.name, id.guest, now_ms())
            .await
        {
            store_error(e);
        }
        let session = Session {
            user_id: id.user_id.clone(),
            name: id.name.clone(),
            guest: id.guest,
            token: conn.token.clone(),
        };
        s.emit("session", &session).ok();

        match chat.store.member_rooms(&id.user_id).await {
            Ok(rooms) => {
                for room in rooms {
                    let since = conn.since.get(&room).copied();
                    chat.subscribe(&s, &conn, &room, since).await.ok();
                }
            }
            Err(e) => {
                store_error(e);
            }
        }
    }
    .instrument(span)
    .await;
}

async fn on_disconnect(
    s: SocketRef,
    reason: socketioxide::socket::DisconnectReason,
    State(chat): State<Chat>,
) {
    let Some(conn) = conn_of(&s) else { return };
    conn.span
        .in_scope(|| tracing::info!(?reason, "disconnected"));
    let rooms: Vec<String> = conn
        .rooms
        .lock()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default();
    for room in rooms {
        chat.unsubscribe(&s, &conn, &room).await;
    }
}

/// The room, if it exists and the user may see it; with its membership.
async fn visible_room(chat: &Chat, user: &str, room: &str) -> Answer<RoomView> {
    let found = chat.store.room(room).await.map_err(store_error)?;
    let Some(found) = found else {
        return Err(ErrorBody::new(ErrorCode::NotFound, "no such room"));
    };
    let member = chat
        .store
        .is_member(room, user)
        .await
        .map_err(store_error)?;
    if found.private && !member {
        return Err(ErrorBody::new(
            ErrorCode::Forbidden,
            "private room: ask a member to add you",
        ));
    }
    let read_seq = if member {
        chat.store.read_seq(room, user).await.map_err(store_error)?
    } else {
        0
    };
    Ok(RoomView {
        room: found,
        member,
        read_seq,
    })
}

/// Membership check, fast when this socket already receives the room.
async fn require_member(chat: &Chat, conn: &Conn, room: &str) -> Answer<()> {
    if conn.in_room(room) {
        return Ok(());
    }
    let view = visible_room(chat, &conn.identity.user_id, room).await?;
    if view.member {
        Ok(())
    } else {
        Err(ErrorBody::new(ErrorCode::Forbidden, "join the room first"))
    }
}

/// Subscribes every local socket of `user` to `room` and tells them with `joined`.
/// `origin` (the caller's socket) replays from `since`.
async fn subscribe_user(
    chat: &Chat,
    via: &SocketRef,
    user: &str,
    room: &str,
    origin: Option<(&SocketRef, Option<i64>)>,
) {
    let sockets = via.within(user_room(user)).sockets();
    for socket in sockets {
        let Some(conn) = conn_of(&socket) else {
            continue;
        };
        let since = origin.and_then(|(o, since)| (o.id == socket.id).then_some(since).flatten());
        chat.subscribe(&socket, &conn, room, since).await.ok();
    }
    if let Ok(view) = visible_room(chat, user, room).await {
        via.within(user_room(user))
            .emit("joined", &room_info(&view))
            .await
            .ok();
    }
}

async fn list_rooms(State(chat): State<Chat>, Extension(conn): Extension<Arc<Conn>>, ack: Ack) {
    let result = chat
        .store
        .rooms_for(&conn.identity.user_id)
        .instrument(conn.span.clone())
        .await
        .map(|rooms| rooms.iter().map(room_info).collect::<Vec<_>>())
        .map_err(store_error);
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

async fn create_room(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<CreateRoom>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        let name = auth::valid_name(&payload.name)?;
        turn.wait().await;
        let id = auth::new_id(&format!("{}-", slug(&name)), 6);
        let user = &conn.identity.user_id;
        chat.store
            .create_room(&id, &name, payload.private, false, user, now_ms())
            .await
            .map_err(store_error)?;
        subscribe_user(&chat, &s, user, &id, None).await;
        let view = visible_room(&chat, user, &id).await?;
        Ok(room_info(&view))
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn join_room(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<JoinRoom>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await;
        let user = &conn.identity.user_id;
        let view = visible_room(&chat, user, &payload.room).await?;
        if view.room.private && !view.member {
            return Err(ErrorBody::new(
                ErrorCode::Forbidden,
                "private room: ask a member to add you",
            ));
        }
        chat.store
            .add_member(&payload.room, user, now_ms())
            .await
            .map_err(store_error)?;
        if conn.in_room(&payload.room) {
            if payload.since.is_some() {
                chat.subscribe(&s, &conn, &payload.room, payload.since)
                    .await?;
            }
        } else {
            subscribe_user(&chat, &s, user, &payload.room, Some((&s, payload.since))).await;
        }
        let view = visible_room(&chat, user, &payload.room).await?;
        let reads = chat
            .store
            .read_marks(&payload.room)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|(user_id, seq)| ReadMark { user_id, seq })
            .collect();
        Ok(Joined {
            room: room_info(&view),
            online: chat.presence.online(&payload.room),
            reads,
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn leave_room(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<RoomOnly>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await;
        let user = &conn.identity.user_id;
        let removed = chat
            .store
            .remove_member(&payload.room, user)
            .await
            .map_err(store_error)?;
        if !removed {
            visible_room(&chat, user, &payload.room).await?;
            return Err(ErrorBody::new(ErrorCode::Forbidden, "not a member"));
        }
        for socket in s.within(user_room(user)).sockets() {
            if let Some(c) = conn_of(&socket) {
                chat.unsubscribe(&socket, &c, &payload.room).await;
            }
        }
        let left = Left {
            room: payload.room.clone(),
        };
        s.within(user_room(user)).emit("left", &left).await.ok();
        Ok(Empty {})
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn add_member(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<AddMember>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await;
        require_member(&chat, &conn, &payload.room).await?;
        if !chat
            .store
            .user_exists(&payload.user)
            .await
            .map_err(store_error)?
        {
            return Err(ErrorBody::new(ErrorCode::NotFound, "no such user"));
        }
        let added = chat
            .store
            .add_member(&payload.room, &payload.user, now_ms())
            .await
            .map_err(store_error)?;
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

fn check_text(chat: &Chat, text: &str) -> Answer<()> {
    if text.trim().is_empty() {
        return Err(ErrorBody::new(ErrorCode::BadRequest, "text is empty"));
    }
    if text.len() > chat.limits.max_message_bytes {
        return Err(ErrorBody::new(
            ErrorCode::TooLarge,
            format!("text is over {} bytes", chat.limits.max_message_bytes),
        ));
    }
    Ok(())
}

async fn send(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<SendMessage>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        check_text(&chat, &payload.text)?;
        if payload.client_id.is_empty() || payload.client_id.chars().count() > 64 {
            return Err(ErrorBody::new(
                ErrorCode::BadRequest,
                "clientId must be 1 to 64 characters",
            ));
        }
        turn.wait().await;
        // After the turn, so the allowance is spent in the order the messages were sent.
        chat.check_rate(&conn.identity.user_id)?;
        require_member(&chat, &conn, &payload.room).await?;
        let hub = chat.hubs.get(&payload.room).await?;
        // A request for the bot is admitted (or refused) before anything is stored.
        let admission = if chat.bot.addressed(&payload.room, &payload.text).await {
            match chat.bot.admit(&payload.room, &conn.identity.user_id) {
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
                        _ => Err(refused),
                    };
                }
            }
        } else {
            None
        };
        let stored = hub.enqueue(NewMessage {
            id: auth::new_id("m_", 16),
            user_id: conn.identity.user_id.clone(),
            user_name: conn.identity.name.clone(),
            text: payload.text,
            ts: now_ms(),
            client_id: Some(payload.client_id),
            status: "done",
        });
        // The hub now holds this message in order; the next event may go ahead.
        turn.release();
        if chat.typing.stop(&payload.room, &conn.identity.user_id) {
            let note = TypingOut {
                room: payload.room.clone(),
                user: conn.user(),
                typing: false,
            };
            s.to(hub::room_key(&payload.room))
                .except(user_room(&conn.identity.user_id))
                .emit("typing", &note)
                .await
                .ok();
        }
        let appended = stored
            .await
            .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the room is unavailable"))??;
        let m = match &appended {
            Appended::New(m) | Appended::Duplicate(m) => m,
        };
        if let (Some(admission), Appended::New(m)) = (admission, &appended) {
            chat.bot.submit(admission, m.id.clone()).await;
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

async fn edit(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<EditMessage>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        check_text(&chat, &payload.text)?;
        turn.wait().await;
        require_member(&chat, &conn, &payload.room).await?;
        let changed = chat
            .store
            .edit(
                &payload.room,
                &payload.id,
                &conn.identity.user_id,
                &payload.text,
                now_ms(),
            )
            .await
            .map_err(store_error)?;
        publish_change(&chat, &s, &payload.room, &changed, "edited").await
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

/// Tells the room about an edited or deleted message and keeps the hub's replay copy current.
async fn publish_change(
    chat: &Chat,
    s: &SocketRef,
    room: &str,
    changed: &crate::store::StoredMessage,
    event: &str,
) -> Answer<crate::wire::Message> {
    let message = Arc::new(hub::to_wire(changed));
    chat.hubs.get(room).await?.replace(message.clone());
    s.within(hub::room_key(room))
        .emit(event, &*message)
        .await
        .ok();
    Ok((*message).clone())
}

async fn delete(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<DeleteMessage>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await;
        require_member(&chat, &conn, &payload.room).await?;
        let changed = chat
            .store
            .delete(&payload.room, &payload.id, &conn.identity.user_id, now_ms())
            .await
            .map_err(store_error)?;
        publish_change(&chat, &s, &payload.room, &changed, "deleted").await
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn history(
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<HistoryQuery>,
    ack: Ack,
) {
    let result = async {
        let q = payload.map_err(bad_payload)?;
        let limit = q.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(ErrorBody::new(
                ErrorCode::BadRequest,
                "limit must be 1 to 100",
            ));
        }
        // Public rooms can be read before joining; private ones need membership.
        visible_room(&chat, &conn.identity.user_id, &q.room).await?;
        let rows = chat
            .store
            .history(&q.room, q.before, q.after, limit)
            .await
            .map_err(store_error)?;
        Ok(History {
            messages: rows.iter().map(hub::to_wire).collect(),
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn presence(
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<RoomOnly>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        visible_room(&chat, &conn.identity.user_id, &payload.room).await?;
        Ok(Online {
            online: chat.presence.online(&payload.room),
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn typing(
    io: SocketIo,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<TypingIn>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        require_member(&chat, &conn, &payload.room).await?;
        let user = conn.identity.user_id.clone();
        let note = TypingOut {
            room: payload.room.clone(),
            user: conn.user(),
            typing: payload.typing,
        };
        let others = |io: &SocketIo| io.to(hub::room_key(&payload.room)).except(user_room(&user));
        if payload.typing {
            let generation = chat.typing.start(&payload.room, &user);
            others(&io).volatile().emit("typing", &note).await.ok();
            let (chat, room, timeout) = (
                chat.clone(),
                payload.room.clone(),
                chat.limits.typing_timeout,
            );
            let lapsed = TypingOut {
                typing: false,
                ..note
            };
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                if chat.typing.lapse(&room, &user, generation) {
                    io.to(hub::room_key(&room))
                        .except(user_room(&user))
                        .emit("typing", &lapsed)
                        .await
                        .ok();
                }
            });
        } else if chat.typing.stop(&payload.room, &user) {
            others(&io).emit("typing", &note).await.ok();
        }
        Ok(Empty {})
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn read(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<ReadIn>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        turn.wait().await;
        require_member(&chat, &conn, &payload.room).await?;
        let user = &conn.identity.user_id;
        let before = chat
            .store
            .read_seq(&payload.room, user)
            .await
            .map_err(store_error)?;
        let seq = chat
            .store
            .mark_read(&payload.room, user, payload.seq)
            .await
            .map_err(store_error)?;
        if seq != before {
            let note = ReadOut {
                room: payload.room.clone(),
                user_id: user.clone(),
                seq,
            };
            s.within(hub::room_key(&payload.room))
                .emit("read", &note)
                .await
                .ok();
        }
        Ok(ReadAck { seq })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

async fn cancel(
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<CancelReply>,
    ack: Ack,
) {
    let result = async {
        let payload = payload.map_err(bad_payload)?;
        require_member(&chat, &conn, &payload.room).await?;
        if chat.bot.cancel(&payload.room, &payload.id).await {
            Ok(Empty {})
        } else {
            Err(ErrorBody::new(
                ErrorCode::NotFound,
                "no reply in progress with that id",
            ))
        }
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

/// The caller's private room with the bot, created on first use.
async fn open_bot_room(
    s: SocketRef,
    turn: Turn,
    State(chat): State<Chat>,
    Extension(conn): Extension<Arc<Conn>>,
    ack: Ack,
) {
    let result = async {
        turn.wait().await;
        let user = &conn.identity.user_id;
        let id = format!("bot-{user}");
        if chat.store.room(&id).await.map_err(store_error)?.is_none() {
            chat.store
                .create_room(&id, chat.bot.name(), true, true, user, now_ms())
                .await
                .map_err(store_error)?;
            chat.store
                .add_member(&id, BOT_ID, now_ms())
                .await
                .map_err(store_error)?;
        }
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
