//! The handle on a room's task, and the registry that starts rooms on first use.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use socketioxide::{extract::SocketRef, socket::Sid};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::task::RoomTask;
use crate::{
    flow::Flow,
    store::{Appended, NewMessage, Store},
    wire::{BotEnd, BotStart, ErrorBody, ErrorCode, Message},
};

/// Commands that may wait for a room's task; beyond it, whoever sends one waits for room (the
/// room's writers and the bot are slowed down, nothing is dropped or grows without bound).
pub(super) const COMMANDS: usize = 1024;
/// Largest number of sends stored in one transaction.
pub(super) const MAX_BATCH: usize = 256;
/// Messages per replay packet.
pub(super) const PAGE: usize = 100;
/// Recent messages kept in memory for replays.
pub(super) const RING: usize = 1024;
/// How often lagging sockets are retried.
pub(super) const TICK: Duration = Duration::from_millis(25);
/// How long a room with nobody to deliver to keeps its task.
pub const IDLE: Duration = Duration::from_secs(60);

pub(super) enum Cmd {
    Send {
        message: NewMessage,
        reply: oneshot::Sender<Result<Appended, ErrorBody>>,
    },
    Subscribe {
        socket: SocketRef,
        flow: Arc<Flow>,
        since: Option<i64>,
        reply: oneshot::Sender<i64>,
    },
    Unsubscribe {
        sid: Sid,
    },
    Replace {
        message: Arc<Message>,
    },
    StreamStart {
        start: Arc<BotStart>,
    },
    StreamDelta {
        id: String,
        text: String,
    },
    StreamEnd {
        end: Arc<BotEnd>,
        message: Arc<Message>,
    },
}

/// A handle on a room's task.
#[derive(Clone, Debug)]
pub struct Hub {
    pub(super) tx: mpsc::Sender<Cmd>,
}

fn gone() -> ErrorBody {
    ErrorBody::new(ErrorCode::Internal, "the room is unavailable")
}

impl Hub {
    /// Stores a message and delivers it; resolves once it is durable.
    pub async fn send(&self, message: NewMessage) -> Result<Appended, ErrorBody> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Send { message, reply })
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Queues a message without waiting for it to be stored (only for room in the queue); the
    /// order of `enqueue` calls is the order of storage. The returned receiver resolves once it
    /// is durable.
    pub async fn enqueue(
        &self,
        message: NewMessage,
    ) -> oneshot::Receiver<Result<Appended, ErrorBody>> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Cmd::Send { reply, .. })) =
            self.tx.send(Cmd::Send { message, reply }).await
        {
            reply.send(Err(gone())).ok();
        }
        rx
    }

    /// Starts delivering the room to `socket`: from after `since` (replayed), else from now.
    /// Returns the room's last `seq`.
    pub async fn subscribe(
        &self,
        socket: SocketRef,
        flow: Arc<Flow>,
        since: Option<i64>,
    ) -> Result<i64, ErrorBody> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Subscribe {
                socket,
                flow,
                since,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Stops delivering to a socket.
    pub async fn unsubscribe(&self, sid: Sid) {
        self.tx.send(Cmd::Unsubscribe { sid }).await.ok();
    }

    /// Updates a message kept for replays (after an edit or a delete).
    pub async fn replace(&self, message: Arc<Message>) {
        self.tx.send(Cmd::Replace { message }).await.ok();
    }

    /// A streamed reply began (its message is already stored and delivered).
    pub async fn stream_start(&self, start: BotStart) {
        self.tx
            .send(Cmd::StreamStart {
                start: Arc::new(start),
            })
            .await
            .ok();
    }

    /// More text of the streamed reply `id`; the hub numbers the deltas.
    pub async fn stream_delta(&self, id: &str, text: String) {
        self.tx
            .send(Cmd::StreamDelta {
                id: id.to_owned(),
                text,
            })
            .await
            .ok();
    }

    /// The streamed reply ended; `message` is its final stored form.
    pub async fn stream_end(&self, end: BotEnd, message: Message) {
        let (end, message) = (Arc::new(end), Arc::new(message));
        self.tx.send(Cmd::StreamEnd { end, message }).await.ok();
    }
}

pub(super) type HubMap = Arc<Mutex<HashMap<String, Hub>>>;

/// Every room's hub, started on first use and stopped when idle.
#[derive(Debug)]
pub struct Hubs {
    store: Store,
    /// The Socket.IO parser is the JSON one, so payloads can be serialized once per room.
    json: bool,
    hubs: HubMap,
}

impl Hubs {
    /// No hub yet. `json`: the server uses the default (JSON) parser.
    pub fn new(store: Store, json: bool) -> Self {
        Self {
            store,
            json,
            hubs: HubMap::default(),
        }
    }

    /// The hub of `room` if its task runs.
    pub fn existing(&self, room: &str) -> Option<Hub> {
        self.lock().get(room).cloned()
    }

    /// Rooms whose task runs.
    pub fn running(&self) -> usize {
        self.lock().len()
    }

    /// The hub of `room` (which must exist in storage).
    pub async fn get(&self, room: &str) -> Result<Hub, ErrorBody> {
        if let Some(hub) = self.lock().get(room) {
            return Ok(hub.clone());
        }
        let last_seq = match self.store.room(room).await {
            Ok(Some(r)) => r.last_seq,
            Ok(None) => return Err(ErrorBody::new(ErrorCode::NotFound, "no such room")),
            Err(e) => {
                warn!(cause = %e, room, "cannot load room");
                return Err(ErrorBody::new(ErrorCode::Internal, "storage failed"));
            }
        };
        let mut hubs = self.lock();
        // Another task may have started it while we read the room.
        if let Some(hub) = hubs.get(room) {
            return Ok(hub.clone());
        }
        let (tx, rx) = mpsc::channel(COMMANDS);
        let hub = Hub { tx };
        let task = RoomTask {
            room: room.to_owned(),
            store: self.store.clone(),
            json: self.json,
            last_seq,
            subs: HashMap::new(),
            ring: VecDeque::new(),
            streaming: None,
            hubs: Arc::downgrade(&self.hubs),
        };
        tokio::spawn(task.run(rx));
        hubs.insert(room.to_owned(), hub.clone());
        Ok(hub)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hub>> {
        self.hubs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
