//! One function per client event. Each is shaped alike: parse the payload (`TryData`, so a bad
//! one still gets an answer), wait its [`Turn`](crate::flow::Turn) (so one connection's events
//! apply in the order sent), authorize, act, and answer with the ack envelope. This module holds
//! the connection's life (middleware, connect, disconnect) and what the events share; the events
//! are grouped by family in `rooms`, `messages`, `reactions`, `search`, `live` and `bot`.

mod bot;
mod live;
mod members;
mod messages;
mod reactions;
mod rooms;
mod search;

use std::{net::SocketAddr, sync::Arc};

use axum::extract::ConnectInfo;
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use tracing::{Instrument, debug, info_span};

pub(crate) use self::members::follow as follow_membership;
use self::{
    live::{presence, read, typing},
    messages::{cancel, delete, edit, history, send},
    reactions::react,
    rooms::{add_member, create_room, join_room, leave_room, list_rooms, open_bot_room},
};
use super::{
    Chat, Conn, auth, store_error,
    watch::{ShownAuth, SocketEvent},
};
use crate::{
    clock::now_ms,
    flow::{Ack, Flow, turn::too_many_pending},
    peer::client_addr,
    room::{Since, user_room},
    store::{RoomView, StoreError},
    wire::{Auth, ErrorBody, ErrorCode, Reply, RoomInfo, Session},
};

/// Why a handler did not do what it was asked. Handlers return it with `?` from either
/// source; [`answer`] turns it into the error the client gets and logs it, once.
#[derive(Debug)]
enum Failure {
    /// Refused: a bad payload, not allowed, over a limit (logged at debug).
    Refused(ErrorBody),
    /// Storage said no (`not_found`, `forbidden`) or failed (`internal`, logged at warn with
    /// its cause).
    Store(StoreError),
}

impl From<ErrorBody> for Failure {
    fn from(body: ErrorBody) -> Self {
        Self::Refused(body)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

type Answer<T> = Result<T, Failure>;

/// A refusal with `code` and `message`.
fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Answer<T> {
    Err(Failure::Refused(ErrorBody::new(code, message)))
}

async fn answer<A: Adapter, T: Serialize>(ack: Ack<A>, result: Answer<T>) {
    let result = result.map_err(|failure| match failure {
        Failure::Refused(body) => {
            debug!(code = body.code.as_str(), message = %body.message, "refused");
            body
        }
        Failure::Store(e) => store_error(e),
    });
    if let Err(e) = &result {
        crate::metrics::refused(e.code.as_str());
    }
    if let Err(e) = &result
        && *e == too_many_pending()
    {
        // A socket over its pending limit is flooding: its refusals wait in one queue.
        ack.refuse();
        return;
    }
    ack.send(&Reply::from(result)).await;
}

fn bad_payload(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, format!("invalid payload: {e}"))
}

fn conn_of<A: Adapter>(s: &SocketRef<A>) -> Option<Arc<Conn>> {
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
        mentions: view.mentions,
        member: view.member,
    }
}

/// The connect middleware: decides who the socket is, or refuses it with `connect_error`
/// (counted by its code).
pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    auth: TryData<Auth>,
    chat: Chat<A>,
) -> Result<(), ErrorBody> {
    let admitted = admit(s, auth, chat).await;
    if let Err(e) = &admitted {
        crate::metrics::refused(e.code.as_str());
    }
    admitted
}

async fn admit<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Auth>,
    chat: Chat<A>,
) -> Result<(), ErrorBody> {
    let auth = auth.map_err(|_| {
        ErrorBody::new(
            ErrorCode::BadRequest,
            "auth must be an object with a token or a name",
        )
    })?;
    let identity = auth::authenticate(&auth, &chat.tokens, chat.limits.allow_guests)?;
    let parts = s.req_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let addr = client_addr(peer, &parts.headers, chat.limits.trust_proxy);
    let token = match (&auth.token, identity.guest) {
        (Some(token), false) => token.clone(),
        // A guest's own token names the same guest again; only a new guest counts.
        (Some(_), true) => mint(&chat, &identity)?,
        (None, _) => {
            chat.check_guest_rate(addr).await?;
            mint(&chat, &identity)?
        }
    };
    let addr = addr.map_or_else(|| "-".to_owned(), |a| a.to_string());
    let span = info_span!(
        "conn",
        user = %identity.user_id,
        guest = identity.guest,
        %addr,
        node = tracing::field::Empty
    );
    if chat.limits.name_node {
        span.record("node", tracing::field::display(&chat.node));
    }
    let flow = Arc::new(Flow::new(&s, &chat.flow_limits, chat.cuts.clone()));
    s.extensions.insert(flow.clone());
    if chat.watch.watched() {
        s.extensions.insert(ShownAuth::of(&auth));
    }
    let since = auth
        .since
        .iter()
        .map(|(room, &seq)| {
            let rev = auth.rev.get(room).copied();
            (room.clone(), Since { seq, rev })
        })
        .collect();
    s.extensions
        .insert(Arc::new(Conn::new(span, identity, since, token, flow)));
    // socketioxide sends CONNECT after this middleware and runs the connect handler later, in a
    // task of its own: an event the client sends the moment CONNECT arrives must find these.
    register_events(&s);
    Ok(())
}

/// A fresh token for a guest.
fn mint<A: Adapter>(chat: &Chat<A>, identity: &auth::Identity) -> Result<String, ErrorBody> {
    chat.tokens
        .mint(identity, chat.limits.guest_token_ttl_secs)
        .map_err(|_| ErrorBody::new(ErrorCode::Internal, "cannot sign a token"))
}

fn register_events<A: Adapter>(s: &SocketRef<A>) {
    s.on("rooms", list_rooms);
    s.on("create", create_room);
    s.on("join", join_room);
    s.on("leave", leave_room);
    s.on("add", add_member);
    s.on("send", send);
    s.on("edit", edit);
    s.on("delete", delete);
    s.on("react", react);
    s.on("history", history);
    s.on("search", search::search);
    s.on("presence", presence);
    s.on("typing", typing);
    s.on("read", read);
    s.on("cancel", cancel);
    s.on("bot:open", open_bot_room);
    s.on("bot:settings", bot::settings);
    s.on("bot:regenerate", bot::regenerate);
    s.on("bot:continue", bot::continue_reply);
    s.on("bot:usage", bot::usage);
    // Events outside the protocol get no answer; their `Ack` counts them (as `other`).
    s.on_fallback(async |_: Ack<A>| {});
    s.on_disconnect(on_disconnect);
}

/// A socket is in: it joins its user's room, learns who it is and receives its rooms (replayed
/// from `auth.since`). This holds the socket's first turn, so its events wait until it is done.
pub async fn on_connect<A: Adapter>(s: SocketRef<A>, chat: Chat<A>) {
    let Some(conn) = conn_of(&s) else {
        s.disconnect().ok();
        return;
    };
    let _setup = conn.setup_turn();
    let span = conn.span.clone();
    async {
        tracing::info!(transport = ?s.transport_type(), "connected");
        let transport = match s.transport_type() {
            socketioxide::TransportType::Polling => "polling",
            socketioxide::TransportType::Websocket => "websocket",
        };
        ::metrics::counter!(crate::metrics::CONNECTS_TOTAL, "transport" => transport, "namespace" => "/")
            .increment(1);
        s.join(user_room(&conn.identity.user_id));
        chat.watch.tell(SocketEvent::Connected(s.clone()));
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
            bot: chat.bot.describe(),
        };
        if s.emit("session", &session).is_ok() {
            crate::metrics::meters().emitted("session");
        }

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

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    reason: socketioxide::socket::DisconnectReason,
    State(chat): State<Chat<A>>,
) {
    let Some(conn) = conn_of(&s) else { return };
    conn.span
        .in_scope(|| tracing::info!(?reason, "disconnected"));
    crate::metrics::disconnected(reason);
    chat.watch.tell(SocketEvent::Disconnected(s.id, reason));
    chat.disconnect(&s, &conn).await;
}

/// The room, if it exists and the user may see it; with its membership.
async fn visible_room<A: Adapter>(chat: &Chat<A>, user: &str, room: &str) -> Answer<RoomView> {
    let found = chat.store.room(room).await?;
    let Some(found) = found else {
        return refuse(ErrorCode::NotFound, "no such room");
    };
    let membership = chat.store.membership(room, user).await?;
    let member = membership.is_some();
    if found.private && !member {
        return refuse(
            ErrorCode::Forbidden,
            "private room: ask a member to add you",
        );
    }
    Ok(RoomView {
        room: found,
        member,
        read_seq: membership.map_or(0, |m| m.read_seq),
        mentions: membership.map_or(0, |m| m.mentions),
    })
}

/// Membership check, fast when this socket already receives the room.
async fn require_member<A: Adapter>(chat: &Chat<A>, conn: &Conn, room: &str) -> Answer<()> {
    if conn.in_room(room) {
        return Ok(());
    }
    let view = visible_room(chat, &conn.identity.user_id, room).await?;
    if view.member {
        Ok(())
    } else {
        refuse(ErrorCode::Forbidden, "join the room first")
    }
}
