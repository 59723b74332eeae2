//! The handles the chat and the bot hold: [`Writers`] (each room's writer on this node, and
//! the bus for a reply's stream) and [`Feeds`] (each room's feed on this node). Both start a
//! room's task on first use; the task stops when idle.

use std::sync::Arc;

use socketioxide::socket::Sid;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::{
    bus::{Delta, Event, Notice, RoomBus},
    convert::store_error,
    feed::{Feed, FeedCmd, Since},
    registry::Registry,
    sink::Sink,
    writer::{WriteCmd, Writer},
};
use crate::{
    store::{Appended, Change, NewMessage, Pos, Reacted, Store, StoredMessage},
    wire::{BotEnd, BotStart, ErrorBody, ErrorCode},
};

fn gone() -> ErrorBody {
    ErrorBody::new(ErrorCode::Internal, "the room is unavailable")
}

async fn load(store: &Store, room: &str) -> Result<Pos, ErrorBody> {
    match store.room(room).await {
        Ok(Some(r)) => Ok(Pos {
            seq: r.last_seq,
            rev: r.last_rev,
        }),
        Ok(None) => Err(ErrorBody::new(ErrorCode::NotFound, "no such room")),
        Err(e) => {
            warn!(cause = %e, room, "cannot load room");
            Err(ErrorBody::new(ErrorCode::Internal, "storage failed"))
        }
    }
}

/// Every room's writer on this node.
pub struct Writers {
    store: Store,
    bus: Arc<dyn RoomBus>,
    registry: Arc<Registry<WriteCmd>>,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writers({} rooms)", self.registry.len())
    }
}

impl Writers {
    /// No writer yet; they publish on `bus`.
    pub fn new(store: Store, bus: Arc<dyn RoomBus>) -> Self {
        Self {
            store,
            bus,
            registry: Arc::default(),
        }
    }

    /// The writer of `room` (which must exist in storage).
    pub async fn get(&self, room: &str) -> Result<RoomWriter, ErrorBody> {
        if let Some(tx) = self.registry.get(room) {
            return Ok(self.handle(room, tx));
        }
        load(&self.store, room).await?;
        let tx = self.registry.get_or_start(room, |rx| {
            let writer = Writer {
                room: room.to_owned(),
                store: self.store.clone(),
                bus: self.bus.clone(),
                registry: Arc::downgrade(&self.registry),
            };
            tokio::spawn(writer.run(rx));
        });
        Ok(self.handle(room, tx))
    }

    fn handle(&self, room: &str, tx: mpsc::Sender<WriteCmd>) -> RoomWriter {
        RoomWriter {
            room: room.to_owned(),
            tx,
            bus: self.bus.clone(),
        }
    }

    /// Rooms whose writer runs on this node.
    pub fn running(&self) -> usize {
        self.registry.len()
    }

    /// The reply streaming in `room` as far as the bus has seen it, whichever node writes it.
    pub fn streaming(&self, room: &str) -> Option<super::bus::Streaming> {
        self.bus.streaming(room)
    }

    /// Tells the sockets of `room` on every node `event` with `data`, except those of
    /// `except_user`: a notice, not logged (see [`Notice`]).
    pub fn notice<T: serde::Serialize>(
        &self,
        room: &str,
        event: &'static str,
        data: &T,
        except_user: Option<&str>,
    ) {
        match serde_json::to_value(data) {
            Ok(data) => {
                let notice = Notice {
                    event,
                    data,
                    except_user: except_user.map(str::to_owned),
                };
                self.bus.publish(room, Event::Notice(Arc::new(notice)));
            }
            Err(e) => warn!(cause = %e, event, "cannot serialize a notice"),
        }
    }
}

/// A handle on a room's writer.
#[derive(Clone, Debug)]
pub struct RoomWriter {
    room: String,
    tx: mpsc::Sender<WriteCmd>,
    bus: Arc<dyn RoomBus>,
}

impl RoomWriter {
    /// Stores a message and publishes it; resolves once it is durable.
    pub async fn send(&self, message: NewMessage) -> Result<Appended, ErrorBody> {
        self.enqueue(message).await.await.map_err(|_| gone())?
    }

    /// Queues a message without waiting for it to be stored (only for room in the queue); the
    /// order of `enqueue` calls is the order of storage. The receiver resolves once it is
    /// durable.
    pub async fn enqueue(
        &self,
        message: NewMessage,
    ) -> oneshot::Receiver<Result<Appended, ErrorBody>> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(WriteCmd::Send { reply, .. })) =
            self.tx.send(WriteCmd::Send { message, reply }).await
        {
            reply.send(Err(gone())).ok();
        }
        rx
    }

    /// Edits (`Some(text)`) or deletes (`None`) the user's own message.
    pub async fn change(
        &self,
        id: &str,
        user: &str,
        text: Option<String>,
        ts: i64,
    ) -> Result<Change, ErrorBody> {
        let (reply, rx) = oneshot::channel();
        let cmd = WriteCmd::Change {
            id: id.to_owned(),
            user: user.to_owned(),
            text,
            ts,
            reply,
        };
        self.tx.send(cmd).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(store_error)
    }

    /// Adds (`on`) or takes back the user's reaction; the message as it then is.
    pub async fn react(
        &self,
        id: &str,
        user: &str,
        emoji: &str,
        on: bool,
        ts: i64,
    ) -> Result<StoredMessage, ErrorBody> {
        let (reply, rx) = oneshot::channel();
        let cmd = WriteCmd::React {
            id: id.to_owned(),
            user: user.to_owned(),
            emoji: emoji.to_owned(),
            on,
            ts,
            reply,
        };
        self.tx.send(cmd).await.map_err(|_| gone())?;
        match rx.await.map_err(|_| gone())?.map_err(store_error)? {
            Reacted::Changed(change) => Ok(change.message),
            Reacted::Unchanged(message) => Ok(message),
        }
    }

    /// A streamed reply began (its message is already stored and published).
    pub fn stream_start(&self, start: BotStart) {
        self.bus.publish(&self.room, Event::Start(Arc::new(start)));
    }

    /// Delta `n` (1, 2, …) of the streamed reply `id`.
    pub fn stream_delta(&self, id: &str, n: u64, text: String) {
        let delta = Delta {
            id: id.to_owned(),
            n,
            text,
        };
        self.bus.publish(&self.room, Event::Delta(Arc::new(delta)));
    }

    /// Stores a streamed reply's final text and publishes its end.
    pub async fn finish(&self, end: BotEnd, meta: String) -> Result<Change, ErrorBody> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteCmd::Finish { end, meta, reply })
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(store_error)
    }
}

/// Every room's feed on this node, delivering to sinks of type `S`.
pub struct Feeds<S> {
    store: Store,
    bus: Arc<dyn RoomBus>,
    /// The Socket.IO parser is the JSON one, so payloads can be serialized once per room.
    json: bool,
    registry: Arc<Registry<FeedCmd<S>>>,
}

impl<S> std::fmt::Debug for Feeds<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Feeds({} rooms)", self.registry.len())
    }
}

impl<S: Sink> Feeds<S> {
    /// No feed yet; they follow `bus`. `json`: the server uses the default (JSON) parser.
    pub fn new(store: Store, bus: Arc<dyn RoomBus>, json: bool) -> Self {
        Self {
            store,
            bus,
            json,
            registry: Arc::default(),
        }
    }

    async fn get(&self, room: &str) -> Result<mpsc::Sender<FeedCmd<S>>, ErrorBody> {
        if let Some(tx) = self.registry.get(room) {
            return Ok(tx);
        }
        // Subscribed before reading the position: whatever commits in between arrives on the
        // bus, and is skipped if storage already showed it.
        let subscription = self.bus.subscribe(room);
        let pos = load(&self.store, room).await?;
        Ok(self.registry.get_or_start(room, |rx| {
            let feed = Feed {
                room: room.to_owned(),
                store: self.store.clone(),
                bus: self.bus.clone(),
                json: self.json,
                pos,
                subs: Default::default(),
                ring: Default::default(),
                streaming: subscription.streaming,
                reorder: Default::default(),
                registry: Arc::downgrade(&self.registry),
            };
            tokio::spawn(feed.run(rx, subscription.events));
        }))
    }

    /// Starts delivering `room` to `sink`: from after `since` (replayed), else from now.
    /// Returns where the room's log stands.
    pub async fn subscribe(
        &self,
        room: &str,
        sink: S,
        since: Option<Since>,
    ) -> Result<Pos, ErrorBody> {
        let tx = self.get(room).await?;
        let (reply, rx) = oneshot::channel();
        tx.send(FeedCmd::Subscribe { sink, since, reply })
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Stops delivering `room` to a socket.
    pub async fn unsubscribe(&self, room: &str, sid: Sid) {
        if let Some(tx) = self.registry.get(room) {
            tx.send(FeedCmd::Unsubscribe { sid }).await.ok();
        }
    }

    /// Rooms whose feed runs on this node.
    pub fn running(&self) -> usize {
        self.registry.len()
    }
}
