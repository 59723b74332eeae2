//! What the API asks of this node, behind one object-safe trait so the route handlers need no
//! adapter type: the chat's posting, history, presence and plain events (`chat::broadcast`, on
//! every node), and disconnects through the Socket.IO adapter (so with Redis they reach every
//! node).

use futures_util::future::{BoxFuture, FutureExt};
use socketioxide::{SocketIo, adapter::Adapter, operators::BroadcastOperators};

use crate::{
    chat::{Chat, post::Author},
    ports::{Broadcast, broadcasts::USER_TARGET},
    room::user_room,
    store::{Appended, Store},
    wire::{ErrorBody, ErrorCode, History, User},
};

/// Which sockets an emit is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The sockets subscribed to a chat room (the adapter room `r:<room>`).
    Room(String),
    /// Every socket of a user (the adapter room `u:<user>`).
    User(String),
    /// Every chat socket.
    All,
}

/// The chat and Socket.IO operations the API uses.
pub trait Node: Send + Sync + 'static {
    /// Storage.
    fn store(&self) -> &Store;

    /// Stores and delivers a message as a socket's `send` does (see [`Chat::post`]).
    fn post<'a>(
        &'a self,
        room: &'a str,
        author: Author<'a>,
        text: String,
        client_id: String,
    ) -> BoxFuture<'a, Result<Appended, ErrorBody>>;

    /// A page of a room's messages (see [`Chat::history`]).
    fn history<'a>(
        &'a self,
        room: &'a str,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> BoxFuture<'a, Result<History, ErrorBody>>;

    /// Who is online in `room`, on every node.
    fn online<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<User>>;

    /// A plain event to the sockets of `target`, on every node.
    fn emit<'a>(
        &'a self,
        target: &'a Target,
        event: &'a str,
        data: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), ErrorBody>>;

    /// Disconnects every socket of `user` on every node, each told the server disconnected it;
    /// answers how many sockets the user had on all nodes together.
    fn disconnect_user<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, ErrorBody>>;
}

/// This node's chat and its Socket.IO server.
pub struct ChatNode<A: Adapter> {
    /// The chat.
    pub chat: Chat<A>,
    /// Its Socket.IO server (the adapter reaches the other nodes).
    pub io: SocketIo<A>,
}

fn adapter_failed(e: impl std::fmt::Display) -> ErrorBody {
    tracing::warn!(cause = %e, "the Socket.IO adapter failed");
    ErrorBody::new(ErrorCode::Internal, "cannot reach the sockets")
}

impl<A: Adapter> ChatNode<A> {
    fn chat_sockets(&self) -> Result<BroadcastOperators<A>, ErrorBody> {
        self.io
            .of("/")
            .ok_or_else(|| ErrorBody::new(ErrorCode::Internal, "the chat namespace is not set up"))
    }
}

impl<A: Adapter> Node for ChatNode<A> {
    fn store(&self) -> &Store {
        &self.chat.store
    }

    fn post<'a>(
        &'a self,
        room: &'a str,
        author: Author<'a>,
        text: String,
        client_id: String,
    ) -> BoxFuture<'a, Result<Appended, ErrorBody>> {
        self.chat.post(room, author, text, client_id).boxed()
    }

    fn history<'a>(
        &'a self,
        room: &'a str,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> BoxFuture<'a, Result<History, ErrorBody>> {
        self.chat.history(room, before, after, limit).boxed()
    }

    fn online<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<User>> {
        self.chat.presence.online(room)
    }

    fn emit<'a>(
        &'a self,
        target: &'a Target,
        event: &'a str,
        data: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), ErrorBody>> {
        async move {
            let to = match target {
                Target::Room(room) => vec![room.clone()],
                Target::User(user) => vec![format!("{USER_TARGET}{user}")],
                Target::All => Vec::new(),
            };
            let arg = rmpv::ext::to_value(data)
                .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, format!("data: {e}")))?;
            self.chat.broadcast(Broadcast {
                to,
                except: Vec::new(),
                event: event.to_owned(),
                args: vec![arg],
            })
        }
        .boxed()
    }

    fn disconnect_user<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, ErrorBody>> {
        async move {
            let sockets = self.chat_sockets()?.to(user_room(user));
            let found = sockets
                .clone()
                .fetch_sockets()
                .await
                .map_err(adapter_failed)?
                .len();
            if found > 0 {
                sockets.disconnect().await.map_err(adapter_failed)?;
            }
            Ok(found)
        }
        .boxed()
    }
}
