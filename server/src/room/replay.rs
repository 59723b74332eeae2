//! Bringing a lagging socket level with its room's log, a packet at a time as its queue allows:
//!
//! 1. the messages after its `seq`, in `messages` batches, each in its latest state (from the
//!    ring when it reaches back far enough, else from storage);
//! 2. then the changes after its `rev` to the messages it had before, in log order, each as the
//!    event it was live (`edited`, `deleted`, `bot:end`);
//! 3. then the reply streaming now, as a `bot:snapshot`.
//!
//! Each step moves the socket's position only by what its queue took, so a socket whose queue
//! fills up mid-way resumes on the next tick where it stopped.

use std::sync::Arc;

use socketioxide::socket::Sid;
use tracing::warn;

use super::{
    convert::{bot_end, to_wire},
    feed::{Feed, RING},
    sink::Sink,
};
use crate::{
    flow::{Delivery, Frame},
    store::StoredMessage,
    wire::{BotSnapshot, Message, MessageBatch},
};

/// Messages or changes per replay query.
pub(super) const PAGE: usize = 100;

/// What one replay step did.
enum Step {
    /// Moved on; go on.
    Next,
    /// Stop for now (level, full queue, socket gone, storage failed).
    Stop,
}

impl<S: Sink> Feed<S> {
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

    /// Replays to one lagging socket until it is level or its queue is full again.
    pub(super) async fn catch_up(&mut self, sid: Sid) {
        loop {
            let Some(sub) = self.subs.get(&sid).filter(|s| s.lagging) else {
                return;
            };
            let at = sub.pos;
            let step = if at.seq < self.pos.seq {
                self.replay_messages(sid, at.seq).await
            } else if at.rev < self.pos.rev {
                self.replay_changes(sid, at.seq, at.rev).await
            } else {
                if self.level_streams(sid)
                    && let Some(sub) = self.subs.get_mut(&sid)
                {
                    sub.lagging = false;
                }
                Step::Stop
            };
            if let Step::Stop = step {
                return;
            }
        }
    }

    async fn replay_messages(&mut self, sid: Sid, after: i64) -> Step {
        let page = match self.page_after(after).await {
            Some(page) if !page.is_empty() => page,
            _ => return Step::Stop,
        };
        let batch = MessageBatch {
            room: &self.room,
            messages: &page,
        };
        let delivery = match self.subs.get(&sid) {
            Some(sub) => sub.sink.deliver("messages", &Frame::new(&batch, self.json)),
            None => return Step::Stop,
        };
        let last = page.last().map_or(after, |m| m.seq);
        if delivery == Delivery::Sent {
            ::metrics::counter!(crate::metrics::REPLAYED_MESSAGES_TOTAL)
                .increment(page.len() as u64);
        }
        self.after_delivery(sid, delivery, |sub| sub.pos.seq = last)
    }

    async fn replay_changes(&mut self, sid: Sid, seq: i64, after: i64) -> Step {
        let rows = match self
            .store
            .changes_after(&self.room, after, self.pos.rev, seq, PAGE as i64)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                warn!(cause = %e, room = self.room, "cannot read changes to replay");
                return Step::Stop;
            }
        };
        for row in &rows {
            let delivery = match self.subs.get(&sid) {
                Some(sub) => deliver_change(&sub.sink, row, self.json),
                None => return Step::Stop,
            };
            if let Step::Stop = self.after_delivery(sid, delivery, |sub| sub.pos.rev = row.rev) {
                return Step::Stop;
            }
        }
        if rows.len() < PAGE {
            // Every change up to the feed's position has been given.
            let rev = self.pos.rev;
            if let Some(sub) = self.subs.get_mut(&sid) {
                sub.pos.rev = rev;
            }
        }
        Step::Next
    }

    fn after_delivery(
        &mut self,
        sid: Sid,
        delivery: Delivery,
        sent: impl FnOnce(&mut super::feed::Sub<S>),
    ) -> Step {
        match delivery {
            Delivery::Sent => {
                if let Some(sub) = self.subs.get_mut(&sid) {
                    sent(sub);
                }
                Step::Next
            }
            Delivery::Full => Step::Stop,
            Delivery::Closed => {
                self.subs.remove(&sid);
                Step::Stop
            }
        }
    }

    /// Once a socket has the whole log: the reply in progress as a snapshot. `true` when it is
    /// fully level.
    fn level_streams(&mut self, sid: Sid) -> bool {
        let Some(sub) = self.subs.get_mut(&sid) else {
            return true;
        };
        let Some(streaming) = &self.streaming else {
            return true;
        };
        if sub.delta_n >= streaming.n.max(1) {
            return true;
        }
        let snapshot = BotSnapshot {
            start: &streaming.start,
            text: &streaming.text,
            n: streaming.n,
        };
        match sub
            .sink
            .deliver("bot:snapshot", &Frame::new(&snapshot, self.json))
        {
            Delivery::Sent => {
                sub.delta_n = streaming.n;
                true
            }
            Delivery::Full => false,
            Delivery::Closed => {
                self.subs.remove(&sid);
                true
            }
        }
    }

    /// Up to a page of messages after `seq` up to the feed's position: from the ring when it
    /// reaches back far enough.
    async fn page_after(&self, seq: i64) -> Option<Vec<Arc<Message>>> {
        if self.ring.front().is_some_and(|m| m.seq <= seq + 1)
            && self.ring.back().is_some_and(|m| m.seq >= self.pos.seq)
        {
            let start = self.ring.partition_point(|m| m.seq <= seq);
            return Some(self.ring.iter().skip(start).take(PAGE).cloned().collect());
        }
        debug_assert!(self.ring.len() <= RING);
        match self
            .store
            .history(&self.room, Some(self.pos.seq + 1), Some(seq), PAGE as i64)
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

/// A stored change as the event it was live; a message never changed since it was stored (or
/// a reply still streaming) is skipped, as the socket has it. The log keeps a message's latest
/// state, not which change made it, so a message that was ever reacted to is also sent as
/// `reacted` (after its `edited` or `bot:end`): the socket then has it as stored.
fn deliver_change<S: Sink>(sink: &S, m: &StoredMessage, json: bool) -> Delivery {
    if m.deleted {
        return sink.deliver("deleted", &Frame::new(&to_wire(m), json));
    }
    let first = if let Some(end) = bot_end(m) {
        sink.deliver("bot:end", &Frame::new(&end, json))
    } else if m.edited_ts.is_some() {
        sink.deliver("edited", &Frame::new(&to_wire(m), json))
    } else {
        Delivery::Sent
    };
    match first {
        Delivery::Sent if m.reactions.is_some() => {
            sink.deliver("reacted", &Frame::new(&to_wire(m), json))
        }
        other => other,
    }
}
