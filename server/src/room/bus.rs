//! The bus between rooms' writers and every node's feeds: what a writer committed, and a bot
//! reply's stream, published per room and received by each feed that follows the room.
//!
//! The bus is allowed to lose messages (a feed that falls too far behind its subscription, a
//! node that was briefly cut off): every logged change carries its position, and a feed that
//! sees a jump treats it as a gap and replays from storage. So a lost message costs latency,
//! never data. The stream of a reply in progress is not in storage; the bus keeps its text so
//! far, and a feed that joins late or missed deltas starts from that snapshot.
//!
//! [`MemoryBus`] serves one process (or several chat instances in one process, as in tests);
//! a bus over Redis serves a cluster behind the same trait.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast;

use crate::{
    store::Pos,
    wire::{BotEnd, BotStart, Message},
};

/// What happened to the message a log entry carries.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A new message (a bot reply's start included): sent to sockets as `message`.
    New,
    /// Its text changed: `edited`.
    Edited,
    /// Its reactions changed: `reacted`.
    Reacted,
    /// It was deleted: `deleted`.
    Deleted,
    /// A bot reply ended: `bot:end`, with its payload.
    Ended(Arc<BotEnd>),
}

/// One committed change of a room's log.
#[derive(Debug)]
pub struct Entry {
    /// Where the room's log stood after it: the change's `rev`, and the room's last `seq`.
    pub pos: Pos,
    /// What changed.
    pub kind: Kind,
    /// The message in its new state.
    pub message: Arc<Message>,
}

/// More text of a streaming reply, numbered from 1 by the bot that writes it.
#[derive(Debug)]
pub struct Delta {
    /// The reply's message id.
    pub id: String,
    /// 1, 2, 3, … per reply.
    pub n: u64,
    /// The new text.
    pub text: String,
}

/// What travels on the bus for one room.
#[derive(Debug, Clone)]
pub enum Event {
    /// A committed change.
    Logged(Arc<Entry>),
    /// A reply began streaming (its message was logged just before).
    Start(Arc<BotStart>),
    /// More text of the streaming reply.
    Delta(Arc<Delta>),
    /// A notice about the room that is not logged.
    Notice(Arc<Notice>),
    /// The bus may have lost events of the room (a node was cut off from the others): each
    /// feed asks storage where the log stands and replays what its sockets lack.
    Resync,
}

/// A notice about a room that is not part of its log (presence, typing, read marks, the bot's
/// queue): delivered once to the sockets level with the room, never replayed. A socket whose
/// queue is full misses it; what it tells can be asked for again.
#[derive(Debug)]
pub struct Notice {
    /// The Socket.IO event.
    pub event: &'static str,
    /// Its payload.
    pub data: serde_json::Value,
    /// Not for this user's sockets (their own typing).
    pub except_user: Option<String>,
}

/// The reply being streamed in a room, as far as it has come.
#[derive(Debug, Clone)]
pub struct Streaming {
    /// Its `bot:start`.
    pub start: Arc<BotStart>,
    /// The text of deltas 1 to `n`.
    pub text: String,
    /// The last delta.
    pub n: u64,
}

/// A feed's subscription to one room: the events from now on, and the reply streaming at the
/// moment it was taken.
#[derive(Debug)]
pub struct Subscription {
    /// Events published after the subscription; `Lagged` when the feed fell behind.
    pub events: broadcast::Receiver<Event>,
    /// The reply in progress, if any.
    pub streaming: Option<Streaming>,
}

/// Publishes rooms' events to every feed that follows them, on this node and others.
pub trait RoomBus: Send + Sync + fmt::Debug + 'static {
    /// Publishes an event of `room`. Events of one room published by one writer arrive in the
    /// order published; nothing waits for a slow subscriber.
    fn publish(&self, room: &str, event: Event);

    /// Follows `room` from now on.
    fn subscribe(&self, room: &str) -> Subscription;

    /// The reply streaming in `room` now, if any (for a feed that missed deltas).
    fn streaming(&self, room: &str) -> Option<Streaming>;

    /// A feed of `room` stopped following it (its subscription is dropped): what the bus holds
    /// for a room nobody follows can go.
    fn unsubscribed(&self, room: &str);
}

/// Events a subscriber may fall behind before it loses some (and replays from storage).
pub const BUS_CAPACITY: usize = 1024;

/// The bus within one process.
#[derive(Default)]
pub struct MemoryBus {
    rooms: Mutex<HashMap<String, Channel>>,
}

struct Channel {
    tx: broadcast::Sender<Event>,
    streaming: Option<Streaming>,
}

impl fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBus")
            .field("rooms", &self.rooms())
            .finish()
    }
}

impl MemoryBus {
    /// Rooms the bus holds a channel for.
    pub fn rooms(&self) -> usize {
        self.lock().len()
    }

    /// The rooms someone follows or a reply streams in.
    pub fn room_ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Applies a stream event to the room's snapshot.
fn follow(streaming: &mut Option<Streaming>, event: &Event) {
    match event {
        Event::Start(start) => {
            *streaming = Some(Streaming {
                start: start.clone(),
                text: String::new(),
                n: 0,
            });
        }
        Event::Delta(delta) => {
            if let Some(s) = streaming.as_mut().filter(|s| s.start.id == delta.id)
                && delta.n == s.n + 1
            {
                s.text.push_str(&delta.text);
                s.n = delta.n;
            }
        }
        Event::Notice(_) | Event::Resync => {}
        Event::Logged(entry) => {
            if matches!(entry.kind, Kind::Ended(_))
                && streaming
                    .as_ref()
                    .is_some_and(|s| s.start.id == entry.message.id)
            {
                *streaming = None;
            }
        }
    }
}

impl RoomBus for MemoryBus {
    fn publish(&self, room: &str, event: Event) {
        let mut rooms = self.lock();
        let keep = match rooms.get_mut(room) {
            Some(channel) => {
                follow(&mut channel.streaming, &event);
                channel.tx.send(event).ok();
                channel.tx.receiver_count() > 0 || channel.streaming.is_some()
            }
            None => {
                // Nobody follows the room: only a stream's state needs keeping for later.
                let mut streaming = None;
                follow(&mut streaming, &event);
                if streaming.is_some() {
                    let (tx, _) = broadcast::channel(BUS_CAPACITY);
                    rooms.insert(room.to_owned(), Channel { tx, streaming });
                }
                true
            }
        };
        if !keep {
            rooms.remove(room);
        }
    }

    fn subscribe(&self, room: &str) -> Subscription {
        let mut rooms = self.lock();
        let channel = rooms.entry(room.to_owned()).or_insert_with(|| Channel {
            tx: broadcast::channel(BUS_CAPACITY).0,
            streaming: None,
        });
        Subscription {
            events: channel.tx.subscribe(),
            streaming: channel.streaming.clone(),
        }
    }

    fn streaming(&self, room: &str) -> Option<Streaming> {
        self.lock().get(room).and_then(|c| c.streaming.clone())
    }

    fn unsubscribed(&self, room: &str) {
        let mut rooms = self.lock();
        if rooms
            .get(room)
            .is_some_and(|c| c.tx.receiver_count() == 0 && c.streaming.is_none())
        {
            rooms.remove(room);
        }
    }
}
