//! A room's feed on this node: follows the room on the bus and delivers it to this node's
//! subscribed sockets, each at its own position, in log order, each change once.
//!
//! A socket is *level* when its position is the feed's: then live entries go straight to it.
//! A socket whose queue refused a packet, that subscribed with an older position, or that sits
//! behind a jump in the log is *lagging*: live entries skip it and [`replay`](super::replay)
//! brings it level from the ring or storage, then hands it back to live delivery.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Weak},
};

use serde::Serialize;
use socketioxide::socket::Sid;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::{
    bus::{Delta, Entry, Event, Kind, Notice, RoomBus, Streaming},
    registry::Registry,
    reorder::Reorder,
    sink::Sink,
};
use crate::{
    flow::{Delivery, Frame},
    store::{Pos, Store},
    wire::{BotDelta, BotStart, Message},
};

/// Recent messages kept in memory for replays.
pub(super) const RING: usize = 1024;
/// How often lagging sockets are retried.
pub(super) const TICK: std::time::Duration = std::time::Duration::from_millis(25);

/// Where a subscriber says it stands: it has every message up to `seq` and, when `rev` is
/// given, every change up to `rev` to those messages. Without `rev` only messages are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    /// The last message seen.
    pub seq: i64,
    /// The last change seen.
    pub rev: Option<i64>,
}

pub(super) enum FeedCmd<S> {
    Subscribe {
        sink: S,
        since: Option<Since>,
        reply: oneshot::Sender<Pos>,
    },
    Unsubscribe {
        sid: Sid,
    },
}

pub(super) struct Sub<S> {
    pub(super) sink: S,
    /// What this socket has been given.
    pub(super) pos: Pos,
    /// Live delivery is suspended until replays bring it level.
    pub(super) lagging: bool,
    /// The last delta of the streaming reply it has been given.
    pub(super) delta_n: u64,
}

pub(super) struct Feed<S> {
    pub(super) room: String,
    pub(super) store: Store,
    pub(super) bus: Arc<dyn RoomBus>,
    /// Serialize payloads once per room (the JSON parser).
    pub(super) json: bool,
    /// Where the room's log stands as far as this feed knows.
    pub(super) pos: Pos,
    pub(super) subs: HashMap<Sid, Sub<S>>,
    /// The latest messages, contiguous in `seq`, in their latest state.
    pub(super) ring: VecDeque<Arc<Message>>,
    pub(super) streaming: Option<Streaming>,
    /// Entries that came ahead of their turn, and what waits with them.
    pub(super) reorder: Reorder,
    pub(super) registry: Weak<Registry<FeedCmd<S>>>,
}

/// Sleeps until `at` (forever without one; the branch is disabled then).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl<S: Sink> Feed<S> {
    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<FeedCmd<S>>,
        mut events: broadcast::Receiver<Event>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let lagging = self.subs.values().any(|s| s.lagging);
            let idle = self.subs.is_empty() && self.streaming.is_none();
            let hole = self.reorder.deadline();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => break,
                },
                event = events.recv() => match event {
                    Ok(Event::Resync) => self.resync().await,
                    Ok(event) => self.event(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        debug!(room = self.room, missed = n, "the feed fell behind the bus");
                        self.resync().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick(), if lagging => self.catch_up_all().await,
                () = sleep_until(hole), if hole.is_some() => {
                    debug!(room = self.room, "a hole in the log stayed open: a gap");
                    self.gap();
                }
                () = tokio::time::sleep(super::IDLE), if idle => {
                    if self.registry.upgrade().is_none_or(|r| r.retire(&self.room, &rx)) {
                        break;
                    }
                }
            }
        }
        drop(events);
        self.bus.unsubscribed(&self.room);
        debug!(room = self.room, "room feed stopped");
    }

    pub(super) async fn command(&mut self, cmd: FeedCmd<S>) {
        match cmd {
            FeedCmd::Subscribe { sink, since, reply } => {
                let sid = sink.id();
                self.subscribe(sink, since);
                reply.send(self.pos).ok();
                self.catch_up(sid).await;
            }
            FeedCmd::Unsubscribe { sid } => {
                self.subs.remove(&sid);
            }
        }
    }

    pub(super) fn subscribe(&mut self, sink: S, since: Option<Since>) {
        if !sink.connected() {
            // It disconnected while this subscription was on its way: nothing to deliver to.
            return;
        }
        let at = since.map(|s| Pos {
            seq: s.seq.clamp(0, self.pos.seq),
            rev: s.rev.map_or(self.pos.rev, |r| r.clamp(0, self.pos.rev)),
        });
        match self.subs.get_mut(&sink.id()) {
            Some(sub) => {
                if let Some(at) = at
                    && (at.seq < sub.pos.seq || at.rev < sub.pos.rev)
                {
                    sub.pos = Pos {
                        seq: at.seq.min(sub.pos.seq),
                        rev: at.rev.min(sub.pos.rev),
                    };
                    sub.lagging = true;
                }
            }
            None => {
                let pos = at.unwrap_or(self.pos);
                // A reply in progress reaches a newcomer as a snapshot, through the catch-up.
                let lagging = pos != self.pos || self.streaming.is_some();
                let sub = Sub {
                    sink,
                    pos,
                    lagging,
                    delta_n: 0,
                };
                self.subs.insert(sub.sink.id(), sub);
            }
        }
    }

    /// The feed lost track of the bus: storage says where the log stands, the bus where the
    /// stream is, and every socket replays what it lacks.
    pub(super) async fn resync(&mut self) {
        match self.store.room(&self.room).await {
            Ok(Some(room)) => {
                self.pos = self.pos.max(Pos {
                    seq: room.last_seq,
                    rev: room.last_rev,
                });
            }
            Ok(None) => {}
            Err(e) => warn!(cause = %e, room = self.room, "cannot reload the room's position"),
        }
        self.gap();
    }

    /// Every socket replays what it lacks, up to the furthest entry known (held ones too).
    fn gap(&mut self) {
        if let Some(furthest) = self.reorder.give_up() {
            self.pos = self.pos.max(furthest);
        }
        self.ring.clear();
        self.streaming = self.bus.streaming(&self.room);
        for sub in self.subs.values_mut() {
            sub.lagging = true;
        }
    }

    pub(super) fn event(&mut self, event: Event) {
        if self.reorder.is_open() && !matches!(event, Event::Logged(_) | Event::Resync) {
            // It keeps its place after the entries the feed waits for.
            if !self.reorder.hold_event(event) {
                self.gap();
            }
            return;
        }
        match event {
            Event::Logged(entry) => self.logged(entry),
            Event::Start(start) => self.start(start),
            Event::Delta(delta) => self.delta(&delta),
            Event::Notice(notice) => self.notice(&notice),
            // It needs storage: `run` takes it.
            Event::Resync => self.gap(),
        }
    }

    /// An entry of the log: delivered in `rev` order, held when it comes early.
    fn logged(&mut self, entry: Arc<Entry>) {
        if entry.pos.rev <= self.pos.rev {
            return; // known already (from storage, or published twice)
        }
        if entry.pos.rev != self.pos.rev + 1 {
            if !self.reorder.hold(entry) {
                debug!(
                    room = self.room,
                    "too much came ahead of a hole in the log: a gap"
                );
                self.gap();
            }
            return;
        }
        self.apply(&entry);
        while let Some(next) = self.reorder.next_after(self.pos.rev) {
            self.apply(&next);
        }
        for held in self.reorder.take_events() {
            self.event(held);
        }
    }

    /// Delivers the entry right after the feed's position.
    fn apply(&mut self, entry: &Entry) {
        let before = self.pos;
        let ended = matches!(entry.kind, Kind::Ended(_));
        if ended
            && self
                .streaming
                .as_ref()
                .is_some_and(|s| s.start.id == entry.message.id)
        {
            self.streaming = None;
        }
        self.pos = entry.pos;
        self.keep(entry);
        if ended {
            self.reset_deltas();
        }
        let after = entry.pos;
        match &entry.kind {
            Kind::New => self.deliver_entry("message", &*entry.message, before, after),
            Kind::Edited => self.deliver_entry("edited", &*entry.message, before, after),
            Kind::Reacted => self.deliver_entry("reacted", &*entry.message, before, after),
            Kind::Deleted => self.deliver_entry("deleted", &*entry.message, before, after),
            Kind::Ended(end) => self.deliver_entry("bot:end", &**end, before, after),
        }
    }

    /// Delivers a log entry to the sockets that were level with the log before it.
    fn deliver_entry<T: Serialize + ?Sized>(
        &mut self,
        event: &str,
        data: &T,
        before: Pos,
        after: Pos,
    ) {
        let frame = Frame::new(data, self.json);
        self.broadcast(
            event,
            &frame,
            |sub| sub.pos == before,
            |sub| sub.pos = after,
        );
    }

    /// A reply began or ended: every socket's count of its deltas starts again.
    fn reset_deltas(&mut self) {
        for sub in self.subs.values_mut() {
            sub.delta_n = 0;
        }
    }

    /// Keeps the ring current: new messages at its end, changed ones in place.
    fn keep(&mut self, entry: &Entry) {
        let message = entry.message.clone();
        if matches!(entry.kind, Kind::New) {
            if self.ring.back().is_some_and(|m| m.seq + 1 != message.seq) {
                self.ring.clear();
            }
            if self.ring.len() == RING {
                self.ring.pop_front();
            }
            self.ring.push_back(message);
        } else if let Some(slot) = self.ring.iter_mut().find(|m| m.id == message.id) {
            *slot = message;
        }
    }

    fn start(&mut self, start: Arc<BotStart>) {
        self.reset_deltas();
        let frame = Frame::new(&*start, self.json);
        self.broadcast("bot:start", &frame, |_| true, |_| {});
        self.streaming = Some(Streaming {
            start,
            text: String::new(),
            n: 0,
        });
    }

    fn delta(&mut self, delta: &Delta) {
        let Some(streaming) = self.streaming.as_mut().filter(|s| s.start.id == delta.id) else {
            // A stream this feed did not see begin: take it up from the bus's snapshot.
            self.gap();
            return;
        };
        if delta.n <= streaming.n {
            return;
        }
        if delta.n != streaming.n + 1 {
            self.gap();
            return;
        }
        streaming.n = delta.n;
        streaming.text.push_str(&delta.text);
        let n = delta.n;
        let room = self.room.clone();
        let out = BotDelta {
            room: &room,
            id: &delta.id,
            n,
            text: &delta.text,
        };
        let frame = Frame::new(&out, self.json);
        self.broadcast(
            "bot:delta",
            &frame,
            |sub| sub.delta_n + 1 == n,
            |sub| sub.delta_n = n,
        );
    }

    /// A notice goes to the level sockets it is for; one whose queue is full misses it (it is
    /// not replayed, so it does not hold the socket back).
    fn notice(&mut self, notice: &Notice) {
        let frame = Frame::new(&notice.data, self.json);
        let mut closed = Vec::new();
        for (sid, sub) in &self.subs {
            if sub.lagging || notice.except_user.as_deref() == Some(sub.sink.user()) {
                continue;
            }
            if let Delivery::Closed = sub.sink.deliver(notice.event, &frame) {
                closed.push(*sid);
            }
        }
        for sid in closed {
            self.subs.remove(&sid);
        }
    }

    /// Delivers one frame to every level socket that `ready` accepts (the others become
    /// lagging), applying `sent` to those that took it.
    fn broadcast<T: Serialize + ?Sized>(
        &mut self,
        event: &str,
        frame: &Frame<'_, T>,
        mut ready: impl FnMut(&mut Sub<S>) -> bool,
        mut sent: impl FnMut(&mut Sub<S>),
    ) {
        let mut closed = Vec::new();
        for (sid, sub) in &mut self.subs {
            if sub.lagging {
                continue;
            }
            if !ready(sub) {
                sub.lagging = true;
                continue;
            }
            match sub.sink.deliver(event, frame) {
                Delivery::Sent => sent(sub),
                Delivery::Full => {
                    debug!(room = self.room, sid = %sid, event, "slow reader: replaying from here");
                    ::metrics::counter!(crate::metrics::REPLAY_LAGGING_TOTAL).increment(1);
                    sub.lagging = true;
                }
                Delivery::Closed => closed.push(*sid),
            }
        }
        for sid in closed {
            self.subs.remove(&sid);
        }
    }
}
