//! Log entries that arrive ahead of their turn. With several nodes, a room's entries reach a
//! feed out of `rev` order now and then: the node's own at once, the others' a moment later
//! through the bus, while their `rev`s were given in the database's order. A feed holds what
//! comes early for up to [`HOLD`] and delivers it when the entries before it arrive; only a
//! hole that stays open that long (a message the bus lost) is a gap replayed from storage.
//! While a hole is open the room's other events (a reply's start and text, notices) wait too,
//! so that they keep their place after the entries before them.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::time::Instant;

use super::bus::{Entry, Event};
use crate::store::Pos;

/// How long an early entry waits for the ones before it.
pub const HOLD: Duration = Duration::from_millis(200);
/// Entries, and other events, that may wait at once; one more is a gap.
pub const MAX_HELD: usize = 512;

/// What a feed holds while a hole is open.
#[derive(Debug, Default)]
pub struct Reorder {
    entries: BTreeMap<i64, Arc<Entry>>,
    events: Vec<Event>,
    deadline: Option<Instant>,
}

impl Reorder {
    /// Whether a hole is open (entries wait for the ones before them).
    pub fn is_open(&self) -> bool {
        !self.entries.is_empty()
    }

    /// When the hole counts as a gap, if one is open.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Holds an entry that came early; `false` when too much waits already.
    pub fn hold(&mut self, entry: Arc<Entry>) -> bool {
        self.entries.insert(entry.pos.rev, entry);
        self.deadline.get_or_insert_with(|| Instant::now() + HOLD);
        self.entries.len() + self.events.len() <= MAX_HELD
    }

    /// Holds another event while the hole is open; `false` when too much waits already.
    pub fn hold_event(&mut self, event: Event) -> bool {
        self.events.push(event);
        self.entries.len() + self.events.len() <= MAX_HELD
    }

    /// The held entry that comes right after `rev`, if it came (forgetting older ones).
    pub fn next_after(&mut self, rev: i64) -> Option<Arc<Entry>> {
        while self
            .entries
            .first_key_value()
            .is_some_and(|(r, _)| *r <= rev)
        {
            self.entries.pop_first();
        }
        let next = match self.entries.first_key_value() {
            Some((r, _)) if *r == rev + 1 => self.entries.pop_first().map(|(_, e)| e),
            _ => None,
        };
        if next.is_some() {
            // Progress: what still waits gets its time again.
            self.deadline = (!self.entries.is_empty()).then(|| Instant::now() + HOLD);
        } else if self.entries.is_empty() {
            self.deadline = None;
        }
        next
    }

    /// Once no hole is open: the other events that waited, in the order they came.
    pub fn take_events(&mut self) -> Vec<Event> {
        if self.is_open() {
            return Vec::new();
        }
        std::mem::take(&mut self.events)
    }

    /// Gives up on the hole: forgets what waits, and says where the furthest entry held stood.
    pub fn give_up(&mut self) -> Option<Pos> {
        let furthest = self.entries.last_key_value().map(|(_, e)| e.pos);
        self.entries.clear();
        self.events.clear();
        self.deadline = None;
        furthest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{room::bus::Kind, wire::Message};

    fn entry(rev: i64) -> Arc<Entry> {
        let message = Message {
            room: "r".into(),
            id: format!("m{rev}"),
            seq: rev,
            rev,
            user_id: "ada".into(),
            name: "Ada".into(),
            text: String::new(),
            ts: 0,
            client_id: None,
            edited_ts: None,
            deleted: false,
            status: None,
            meta: None,
            reactions: Vec::new(),
            reply_to: None,
            replaces: None,
            continues: None,
            mentions: Vec::new(),
        };
        Arc::new(Entry {
            pos: Pos { seq: rev, rev },
            kind: Kind::New,
            message: Arc::new(message),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn early_entries_come_out_in_order_once_the_hole_fills() {
        let mut r = Reorder::default();
        assert!(r.hold(entry(4)) && r.hold(entry(3)));
        assert_eq!(r.deadline(), Some(Instant::now() + HOLD));
        assert!(r.hold_event(Event::Resync));
        assert!(r.next_after(1).is_none(), "2 has not come");
        assert!(
            r.take_events().is_empty(),
            "events wait while the hole is open"
        );
        // 2 came and was applied by the feed: 3 and 4 follow.
        let order: Vec<i64> = [r.next_after(2), r.next_after(3), r.next_after(4)]
            .into_iter()
            .flatten()
            .map(|e| e.pos.rev)
            .collect();
        assert_eq!(order, [3, 4]);
        assert!(!r.is_open() && r.deadline().is_none());
        assert_eq!(r.take_events().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn giving_up_says_how_far_the_log_went_and_too_much_waiting_is_a_gap() {
        let mut r = Reorder::default();
        r.hold(entry(9));
        r.hold(entry(7));
        assert_eq!(r.give_up(), Some(Pos { seq: 9, rev: 9 }));
        assert!(!r.is_open() && r.deadline().is_none());
        let mut within = true;
        for rev in 10..10 + MAX_HELD as i64 + 1 {
            within = r.hold(entry(rev));
        }
        assert!(!within, "one more than MAX_HELD waiting is refused");
    }
}
