//! A user gaining or losing a room, applied to every socket of theirs: those on this node at
//! once, those on other nodes through [`Membership`](crate::ports::Membership) events, which
//! [`follow`] applies here for changes made elsewhere.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::{SocketIo, extract::SocketRef};
use tokio::sync::broadcast::error::RecvError;
use tracing::warn;

use super::{conn_of, room_info, visible_room};
use crate::{
    chat::Chat,
    ports::{MemberEvent, Told},
    room::{Since, user_room},
    wire::Left,
};

/// `user` joined `room`: subscribes each of their sockets here (`origin`, the caller's socket,
/// replays from `since`) and tells them with `joined`, then tells the other nodes.
pub(super) async fn subscribe_user<A: Adapter>(
    chat: &Chat<A>,
    via: &SocketRef<A>,
    user: &str,
    room: &str,
    origin: Option<(&SocketRef<A>, Option<Since>)>,
) {
    join_here(
        chat,
        via.within(user_room(user)).sockets(),
        user,
        room,
        origin,
    )
    .await;
    publish(chat, user, room, true);
}

/// `user` left `room`: unsubscribes each of their sockets here and tells them with `left`,
/// then tells the other nodes.
pub(super) async fn unsubscribe_user<A: Adapter>(
    chat: &Chat<A>,
    via: &SocketRef<A>,
    user: &str,
    room: &str,
) {
    leave_here(chat, via.within(user_room(user)).sockets(), room).await;
    publish(chat, user, room, false);
}

fn publish<A: Adapter>(chat: &Chat<A>, user: &str, room: &str, joined: bool) {
    chat.membership.publish(MemberEvent {
        node: chat.node.clone(),
        user_id: user.to_owned(),
        room: room.to_owned(),
        joined,
    });
}

async fn join_here<A: Adapter>(
    chat: &Chat<A>,
    sockets: Vec<SocketRef<A>>,
    user: &str,
    room: &str,
    origin: Option<(&SocketRef<A>, Option<Since>)>,
) {
    for socket in &sockets {
        let Some(conn) = conn_of(socket) else {
            continue;
        };
        let since = origin.and_then(|(o, since)| (o.id == socket.id).then_some(since).flatten());
        chat.subscribe(socket, &conn, room, since).await.ok();
    }
    if let Ok(view) = visible_room(chat, user, room).await {
        let info = room_info(&view);
        for socket in &sockets {
            if socket.emit("joined", &info).is_ok() {
                crate::metrics::meters().emitted("joined");
            }
        }
    }
}

async fn leave_here<A: Adapter>(chat: &Chat<A>, sockets: Vec<SocketRef<A>>, room: &str) {
    let left = Left {
        room: room.to_owned(),
    };
    for socket in &sockets {
        if let Some(conn) = conn_of(socket) {
            chat.unsubscribe(socket, &conn, room).await;
        }
        if socket.emit("left", &left).is_ok() {
            crate::metrics::meters().emitted("left");
        }
    }
}

/// Brings each socket's rooms in line with its user's memberships in storage (after events
/// were lost): it joins the rooms it lacks and leaves those its user no longer belongs to.
async fn resync<A: Adapter>(chat: &Chat<A>, sockets: Vec<SocketRef<A>>) {
    for socket in sockets {
        let Some(conn) = conn_of(&socket) else {
            continue;
        };
        let user = &conn.identity.user_id;
        let Ok(rooms) = chat.store.member_rooms(user).await else {
            continue;
        };
        for room in rooms.iter().filter(|r| !conn.in_room(r)) {
            join_here(chat, vec![socket.clone()], user, room, None).await;
        }
        for room in conn.room_list().iter().filter(|r| !rooms.contains(r)) {
            leave_here(chat, vec![socket.clone()], room).await;
        }
    }
}

/// Applies the membership changes other nodes make to this node's sockets, for as long as the
/// chat runs.
pub(crate) fn follow<A: Adapter>(chat: Chat<A>, io: SocketIo<A>) {
    let mut events = chat.membership.subscribe();
    tokio::spawn(async move {
        loop {
            let event: Arc<MemberEvent> = match events.recv().await {
                Ok(Told::Changed(event)) => event,
                Ok(Told::Resync) => {
                    resync(&chat, io.sockets()).await;
                    continue;
                }
                Err(RecvError::Lagged(n)) => {
                    warn!(missed = n, "membership events lost: resyncing from storage");
                    resync(&chat, io.sockets()).await;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if event.node == chat.node {
                continue;
            }
            let sockets = io.within(user_room(&event.user_id)).sockets();
            if sockets.is_empty() {
                continue;
            }
            if event.joined {
                join_here(&chat, sockets, &event.user_id, &event.room, None).await;
            } else {
                leave_here(&chat, sockets, &event.room).await;
            }
        }
    });
}
