//! Delivery of a room to its sockets: each socket's cursor, lag and replay, and the bot's
//! stream (a snapshot for late joiners, the ends a lagging socket missed).

use std::{collections::VecDeque, sync::Arc};

use serde::Serialize;
use socketioxide::{extract::SocketRef, socket::Sid};
use tracing::{debug, warn};

use super::{
    convert::to_wire,
    hub::{PAGE, RING},
    keys::room_key,
    task::RoomTask,
};
use crate::{
    flow::{Delivery, Flow, Frame},
    wire::{BotDelta, BotEnd, BotSnapshot, BotStart, Message, MessageBatch},
};

pub(super) struct Sub {
    pub(super) socket: SocketRef,
    pub(super) flow: Arc<Flow>,
    /// The last `seq` this socket has been given.
    pub(super) cursor: i64,
    /// Live delivery is suspended until replays bring `cursor` level with the room.
    pub(super) lagging: bool,
    /// The last delta of the streaming reply this socket has been given.
    pub(super) delta_n: u64,
    /// Ends of replies this socket missed while lagging.
    pub(super) missed_ends: VecDeque<Arc<BotEnd>>,
}

impl Sub {
    pub(super) fn new(socket: SocketRef, flow: Arc<Flow>, cursor: i64, lagging: bool) -> Self {
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
pub(super) struct Streaming {
    pub(super) start: Arc<BotStart>,
    pub(super) text: String,
    pub(super) n: u64,
}

/// Reply ends kept for one lagging socket; older ones are in the stored messages anyway.
const MAX_MISSED_ENDS: usize = 16;

impl Sub {
    /// Queues a frame for this socket through its flow.
    pub(super) fn deliver<T: Serialize + ?Sized>(
        &self,
        event: &str,
        frame: &Frame<'_, T>,
    ) -> Delivery {
        self.flow.emit(&self.socket, event, frame)
    }
}

impl RoomTask {
    pub(super) fn publish(&mut self, message: Arc<Message>) {
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

    pub(super) fn subscribe(&mut self, socket: SocketRef, flow: Arc<Flow>, since: Option<i64>) {
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

    pub(super) fn replace(&mut self, message: Arc<Message>) {
        if let Some(slot) = self.ring.iter_mut().find(|m| m.id == message.id) {
            *slot = message;
        }
    }

    pub(super) fn stream_start(&mut self, start: Arc<BotStart>) {
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

    pub(super) fn stream_delta(&mut self, id: &str, text: String) {
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

    pub(super) fn stream_end(&mut self, end: Arc<BotEnd>) {
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

    pub(super) fn drop_subs(&mut self, closed: Vec<Sid>) {
        for sid in closed {
            self.subs.remove(&sid);
        }
    }

    /// Once a lagging socket has every message: the reply in progress as a snapshot, then the
    /// reply ends it missed. `true` when it is fully level.
    pub(super) fn level_streams(&mut self, sid: Sid) -> bool {
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

    pub(super) async fn catch_up_all(&mut self) {
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
    pub(super) async fn catch_up(&mut self, sid: Sid) {
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
    pub(super) async fn page_after(&self, seq: i64) -> Option<Vec<Arc<Message>>> {
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
