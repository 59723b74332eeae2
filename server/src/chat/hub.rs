//! One task per active room: it stores messages (getting their `seq`), and delivers them to the
//! room's sockets in `seq` order, each exactly once.
//!
//! Delivery is per socket, not a socketioxide broadcast, because a broadcast cannot tell which
//! socket refused a packet. socketioxide refuses an emit once `max_buffer_size` packets wait for a
//! socket; a refused socket is marked *lagging*: live messages skip it, its position (`cursor`)
//! stays, and on each tick the hub replays what it missed in `messages` batches (from a ring of
//! recent messages, else from storage) until it is level again. Nothing is dropped, a slow socket
//! never holds up the room, and what waits for it is bounded.
//!
//! With the default (JSON) parser each payload is serialized once per room, not once per
//! recipient (see [`Frame`]). Every delivery goes through the socket's [`Flow`], so it counts
//! against the socket's output budget; a socket over it is treated as a full queue.
//!
//! A room with no subscriber, no reply streaming and no handle held elsewhere stops its task
//! after [`IDLE`]; the next use starts a fresh one from storage.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use socketioxide::{extract::SocketRef, socket::Sid};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::{
    flow::{Delivery, Flow, Frame},
    store::{Appended, NewMessage, Store, StoredMessage},
    wire::{BotDelta, BotEnd, BotSnapshot, BotStart, ErrorBody, ErrorCode, Message, MessageBatch},
};

/// Largest number of sends stored in one transaction.
const MAX_BATCH: usize = 256;
/// Messages per replay packet.
const PAGE: usize = 100;
/// Recent messages kept in memory for replays.
const RING: usize = 1024;
/// How often lagging sockets are retried.
const TICK: Duration = Duration::from_millis(25);
/// How long a room with nobody to deliver to keeps its task.
pub const IDLE: Duration = Duration::from_secs(60);

/// The room name in socketioxide's adapter that a subscribed socket joins (for typing, presence,
/// edits and other broadcasts that carry no `seq`).
pub fn room_key(room: &str) -> String {
    format!("r:{room}")
}

enum Cmd {
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
    tx: mpsc::UnboundedSender<Cmd>,
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
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Queues a message without waiting; the order of `enqueue` calls is the order of storage.
    /// The returned receiver resolves once it is durable.
    pub fn enqueue(&self, message: NewMessage) -> oneshot::Receiver<Result<Appended, ErrorBody>> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Cmd::Send { reply, .. })) =
            self.tx.send(Cmd::Send { message, reply })
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
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Stops delivering to a socket.
    pub fn unsubscribe(&self, sid: Sid) {
        self.tx.send(Cmd::Unsubscribe { sid }).ok();
    }

    /// Updates a message kept for replays (after an edit or a delete).
    pub fn replace(&self, message: Arc<Message>) {
        self.tx.send(Cmd::Replace { message }).ok();
    }

    /// A streamed reply began (its message is already stored and delivered).
    pub fn stream_start(&self, start: BotStart) {
        self.tx
            .send(Cmd::StreamStart {
                start: Arc::new(start),
            })
            .ok();
    }

    /// More text of the streamed reply `id`; the hub numbers the deltas.
    pub fn stream_delta(&self, id: &str, text: String) {
        self.tx
            .send(Cmd::StreamDelta {
                id: id.to_owned(),
                text,
            })
            .ok();
    }

    /// The streamed reply ended; `message` is its final stored form.
    pub fn stream_end(&self, end: BotEnd, message: Message) {
        let (end, message) = (Arc::new(end), Arc::new(message));
        self.tx.send(Cmd::StreamEnd { end, message }).ok();
    }
}

type HubMap = Arc<Mutex<HashMap<String, Hub>>>;

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
        let (tx, rx) = mpsc::unbounded_channel();
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

struct Sub {
    socket: SocketRef,
    flow: Arc<Flow>,
    /// The last `seq` this socket has been given.
    cursor: i64,
    /// Live delivery is suspended until replays bring `cursor` level with the room.
    lagging: bool,
    /// The last delta of the streaming reply this socket has been given.
    delta_n: u64,
    /// Ends of replies this socket missed while lagging.
    missed_ends: VecDeque<Arc<BotEnd>>,
}

impl Sub {
    fn new(socket: SocketRef, flow: Arc<Flow>, cursor: i64, lagging: bool) -> Self {
        Self {
            socket,
            flow,
            cursor,
            lagging,
            delta_n: 0,
            missed_ends: VecDeque::new(),
        }
    }
}

/// The reply being streamed in the room: what a late joiner's snapshot holds.
struct Streaming {
    start: Arc<BotStart>,
    text: String,
    n: u64,
}

/// Reply ends kept for one lagging socket; older ones are in the stored messages anyway.
const MAX_MISSED_ENDS: usize = 16;

struct RoomTask {
    room: String,
    store: Store,
    json: bool,
    last_seq: i64,
    subs: HashMap<Sid, Sub>,
    ring: VecDeque<Arc<Message>>,
    streaming: Option<Streaming>,
    /// Where this task is registered, to take itself out when idle.
    hubs: std::sync::Weak<Mutex<HashMap<String, Hub>>>,
}

impl Sub {
    /// Queues a frame for this socket through its flow.
    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery {
        self.flow.emit(&self.socket, event, frame)
    }
}

/// The wire form of a stored message.
pub fn to_wire(m: &StoredMessage) -> Message {
    Message {
        room: m.room.clone(),
        id: m.id.clone(),
        seq: m.seq,
        user_id: m.user_id.clone(),
        name: m.user_name.clone(),
        text: m.text.clone(),
        ts: m.ts,
        client_id: m.client_id.clone(),
        edited_ts: m.edited_ts,
        deleted: m.deleted,
        status: (m.status != "done").then(|| m.status.clone()),
        meta: m.meta.as_deref().and_then(|s| serde_json::from_str(s).ok()),
    }
}

impl RoomTask {
    /// `data`, serialized now if the parser allows it (see [`Frame`]).
    fn frame<'a, T: Serialize + ?Sized>(&self, data: &'a T) -> Frame<'a, T> {
        Frame::new(data, self.json)
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pending: Option<Cmd> = None;
        loop {
            let cmd = match pending.take() {
                Some(cmd) => cmd,
                None => {
                    let lagging = self.subs.values().any(|s| s.lagging);
                    let idle = self.subs.is_empty() && self.streaming.is_none();
                    tokio::select! {
                        cmd = rx.recv() => match cmd {
                            Some(cmd) => cmd,
                            None => break,
                        },
                        _ = tick.tick(), if lagging => {
                            self.catch_up_all().await;
                            continue;
                        }
                        _ = tokio::time::sleep(IDLE), if idle => {
                            if self.retire(&rx) {
                                break;
                            }
                            continue;
                        }
                    }
                }
            };
            match cmd {
                Cmd::Send { message, reply } => {
                    let mut batch = vec![(message, reply)];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Cmd::Send { message, reply }) => batch.push((message, reply)),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.store_and_deliver(batch).await;
                }
                Cmd::Subscribe {
                    socket,
                    flow,
                    since,
                    reply,
                } => {
                    let sid = socket.id;
                    self.subscribe(socket, flow, since);
                    reply.send(self.last_seq).ok();
                    self.catch_up(sid).await;
                }
                Cmd::Unsubscribe { sid } => {
                    self.subs.remove(&sid);
                }
                Cmd::Replace { message } => self.replace(message),
                Cmd::StreamStart { start } => self.stream_start(start),
                Cmd::StreamDelta { id, text } => self.stream_delta(&id, text),
                Cmd::StreamEnd { end, message } => {
                    self.replace(message);
                    self.stream_end(end);
                }
            }
        }
        debug!(room = self.room, "room task stopped");
    }

    /// Takes this idle room out of the registry if no handle to it is held anywhere else and
    /// no command waits: nobody can then reach it, and it may stop. `true` if it did.
    fn retire(&self, rx: &mpsc::UnboundedReceiver<Cmd>) -> bool {
        let Some(hubs) = self.hubs.upgrade() else {
            return true;
        };
        let mut hubs = hubs.lock().unwrap_or_else(|e| e.into_inner());
        let alone = hubs
            .get(&self.room)
            .is_some_and(|hub| hub.tx.strong_count() == 1);
        if alone && rx.is_empty() {
            hubs.remove(&self.room);
            true
        } else {
            false
        }
    }

    async fn store_and_deliver(
        &mut self,
        batch: Vec<(NewMessage, oneshot::Sender<Result<Appended, ErrorBody>>)>,
    ) {
        let messages: Vec<NewMessage> = batch.iter().map(|(m, _)| m.clone()).collect();
        match self.store.append(&self.room, &messages).await {
            Ok(results) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    if let Appended::New(stored) = &result {
                        self.publish(Arc::new(to_wire(stored)));
                    }
                    reply.send(Ok(result)).ok();
                }
            }
            Err(e) => {
                warn!(cause = %e, room = self.room, "cannot store messages");
                // The seq in storage may have moved if another process wrote: reload it.
                if let Ok(Some(room)) = self.store.room(&self.room).await {
                    self.last_seq = self.last_seq.max(room.last_seq);
                }
                for (_, reply) in batch {
                    reply
                        .send(Err(ErrorBody::new(
                            ErrorCode::Internal,
                            "the message could not be stored",
                        )))
                        .ok();
                }
            }
        }
    }

    fn publish(&mut self, message: Arc<Message>) {
        let seq = message.seq;
        self.last_seq = self.last_seq.max(seq);
        if self.ring.len() == RING {
            self.ring.pop_front();
        }
        self.ring.push_back(message.clone());
        let frame = self.frame(&*message);
        let mut closed = Vec::new();
        for (sid, sub) in &mut self.subs {
            if sub.lagging || sub.cursor >= seq {
                continue;
            }
            if sub.cursor != seq - 1 {
                // A gap (another process stored in between): replay fills it in order.
                sub.lagging = true;
                continue;
            }
            match sub.deliver("message", &frame) {
                Delivery::Sent => sub.cursor = seq,
                Delivery::Full => {
                    debug!(room = self.room, sid = %sid, seq, "slow reader: replaying from here");
                    sub.lagging = true;
                }
                Delivery::Closed => closed.push(*sid),
            }
        }
        for sid in closed {
            self.subs.remove(&sid);
        }
    }

    fn subscribe(&mut self, socket: SocketRef, flow: Arc<Flow>, since: Option<i64>) {
        if !socket.connected() {
            // It disconnected while this subscription was on its way: nothing to deliver to.
            return;
        }
        let sid = socket.id;
        let cursor = since.map(|s| s.clamp(0, self.last_seq));
        socket.join(room_key(&self.room));
        match self.subs.get_mut(&sid) {
            Some(sub) => {
                if let Some(cursor) = cursor
                    && cursor < sub.cursor
                {
                    sub.cursor = cursor;
                    sub.lagging = true;
                }
            }
            None => {
                let cursor = cursor.unwrap_or(self.last_seq);
                // A reply in progress reaches a newcomer as a snapshot, through the catch-up.
                let lagging = cursor < self.last_seq || self.streaming.is_some();
                self.subs
                    .insert(sid, Sub::new(socket, flow, cursor, lagging));
            }
        }
    }

    fn replace(&mut self, message: Arc<Message>) {
        if let Some(slot) = self.ring.iter_mut().find(|m| m.id == message.id) {
            *slot = message;
        }
    }

    fn stream_start(&mut self, start: Arc<BotStart>) {
        let frame = self.frame(&*start);
        let mut closed = Vec::new();
        for (sid, sub) in &mut self.subs {
            sub.delta_n = 0;
            if sub.lagging {
                continue;
            }
            match sub.deliver("bot:start", &frame) {
                Delivery::Sent => {}
                Delivery::Full => sub.lagging = true,
                Delivery::Closed => closed.push(*sid),
            }
        }
        self.drop_subs(closed);
        self.streaming = Some(Streaming {
            start,
            text: String::new(),
            n: 0,
        });
    }

    fn stream_delta(&mut self, id: &str, text: String) {
        let Some(streaming) = self.streaming.as_mut().filter(|s| s.start.id == id) else {
            return;
        };
        streaming.n += 1;
        streaming.text.push_str(&text);
        let n = streaming.n;
        let delta = BotDelta {
            room: &self.room,
            id,
            n,
            text: &text,
        };
        let frame = self.frame(&delta);
        let mut closed = Vec::new();
        for (sid, sub) in &mut self.subs {
            if sub.lagging {
                continue;
            }
            if sub.delta_n + 1 != n {
                sub.lagging = true;
                continue;
            }
            match sub.deliver("bot:delta", &frame) {
                Delivery::Sent => sub.delta_n = n,
                Delivery::Full => sub.lagging = true,
                Delivery::Closed => closed.push(*sid),
            }
        }
        self.drop_subs(closed);
    }

    fn stream_end(&mut self, end: Arc<BotEnd>) {
        if self
            .streaming
            .as_ref()
            .is_some_and(|s| s.start.id == end.id)
        {
            self.streaming = None;
        }
        let frame = self.frame(&*end);
        let mut closed = Vec::new();
        for (sid, sub) in &mut self.subs {
            sub.delta_n = 0;
            if !sub.lagging {
                match sub.deliver("bot:end", &frame) {
                    Delivery::Sent => continue,
                    Delivery::Full => sub.lagging = true,
                    Delivery::Closed => {
                        closed.push(*sid);
                        continue;
                    }
                }
            }
            if sub.missed_ends.len() == MAX_MISSED_ENDS {
                sub.missed_ends.pop_front();
            }
            sub.missed_ends.push_back(end.clone());
        }
        self.drop_subs(closed);
    }

    fn drop_subs(&mut self, closed: Vec<Sid>) {
        for sid in closed {
            self.subs.remove(&sid);
        }
    }

    /// Once a lagging socket has every message: the reply in progress as a snapshot, then the
    /// reply ends it missed. `true` when it is fully level.
    fn level_streams(&mut self, sid: Sid) -> bool {
        let Some(sub) = self.subs.get_mut(&sid) else {
            return true;
        };
        while let Some(end) = sub.missed_ends.front() {
            match sub.deliver("bot:end", &Frame::new(&**end, self.json)) {
                Delivery::Sent => {
                    sub.missed_ends.pop_front();
                }
                Delivery::Full => return false,
                Delivery::Closed => {
                    self.subs.remove(&sid);
                    return true;
                }
            }
        }
        if let Some(streaming) = &self.streaming
            && sub.delta_n < streaming.n.max(1)
        {
            let snapshot = BotSnapshot {
                start: &streaming.start,
                text: &streaming.text,
                n: streaming.n,
            };
            match sub.deliver("bot:snapshot", &Frame::new(&snapshot, self.json)) {
                Delivery::Sent => sub.delta_n = streaming.n,
                Delivery::Full => return false,
                Delivery::Closed => {
                    self.subs.remove(&sid);
                    return true;
                }
            }
        }
        true
    }

    async fn catch_up_all(&mut self) {
        let lagging: Vec<Sid> = self
            .subs
            .iter()
            .filter(|(_, s)| s.lagging)
            .map(|(sid, _)| *sid)
            .collect();
        for sid in lagging {
            self.catch_up(sid).await;
        }
    }

    /// Replays pages to one lagging socket until it is level or its queue is full again.
    async fn catch_up(&mut self, sid: Sid) {
        loop {
            let Some(sub) = self.subs.get(&sid) else {
                return;
            };
            if !sub.lagging {
                return;
            }
            let from = sub.cursor;
            if from >= self.last_seq {
                if self.level_streams(sid)
                    && let Some(sub) = self.subs.get_mut(&sid)
                {
                    sub.lagging = false;
                }
                return;
            }
            let page = match self.page_after(from).await {
                Some(page) if !page.is_empty() => page,
                _ => return,
            };
            let Some(sub) = self.subs.get_mut(&sid) else {
                return;
            };
            let batch = MessageBatch {
                room: &self.room,
                messages: &page,
            };
            match sub.deliver("messages", &Frame::new(&batch, self.json)) {
                Delivery::Sent => {
                    sub.cursor = page.last().map_or(from, |m| m.seq);
                }
                Delivery::Full => return,
                Delivery::Closed => {
                    self.subs.remove(&sid);
                    return;
                }
            }
        }
    }

    /// Up to a page of messages after `seq`: from the ring when it reaches back far enough.
    async fn page_after(&self, seq: i64) -> Option<Vec<Arc<Message>>> {
        if self.ring.front().is_some_and(|m| m.seq <= seq + 1) {
            let start = self.ring.partition_point(|m| m.seq <= seq);
            return Some(self.ring.iter().skip(start).take(PAGE).cloned().collect());
        }
        match self
            .store
            .history(&self.room, None, Some(seq), PAGE as i64)
            .await
        {
            Ok(rows) => Some(rows.iter().map(|m| Arc::new(to_wire(m))).collect()),
            Err(e) => {
                warn!(cause = %e, room = self.room, "cannot read messages to replay");
                None
            }
        }
    }
}
