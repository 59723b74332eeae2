//! In-order handling of one socket's events.
//!
//! socketioxide runs every incoming event in its own task, so two events from one socket can be
//! handled at the same time and finish in any order. Extractors, however, run synchronously in
//! the socket's receive loop, in arrival order. [`Turn`] is an extractor that takes a ticket
//! there; the handler then awaits its turn, does what must happen in order (store a message,
//! join a room, emit a reply), and releases the turn, explicitly or by dropping it.

use std::{
    collections::BTreeSet,
    convert::Infallible,
    sync::{Arc, Mutex},
};

use socketioxide::{adapter::Adapter, handler::FromMessageParts, socket::Socket};
use tokio::sync::watch;

/// One socket's ticket counter: tickets are served in the order they were taken.
#[derive(Debug)]
pub struct Sequencer {
    state: Mutex<SequencerState>,
    serving: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct SequencerState {
    next_ticket: u64,
    serving: u64,
    /// Tickets released before their turn came (a handler that gave up early).
    released: BTreeSet<u64>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Self {
            state: Mutex::new(SequencerState::default()),
            serving: watch::channel(0).0,
        }
    }
}

impl Sequencer {
    fn take(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        ticket
    }

    fn release(&self, ticket: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.released.insert(ticket);
        let before = state.serving;
        loop {
            let serving = state.serving;
            if !state.released.remove(&serving) {
                break;
            }
            state.serving += 1;
        }
        if state.serving != before {
            self.serving.send_replace(state.serving);
        }
    }
}

/// A place in the socket's queue, taken when the event arrived.
#[derive(Debug)]
pub struct Turn {
    sequencer: Arc<Sequencer>,
    ticket: u64,
    released: bool,
}

impl Turn {
    /// Waits until every event that arrived before this one has released its turn.
    pub async fn wait(&self) {
        let mut rx = self.sequencer.serving.subscribe();
        // The sender lives in the sequencer we hold, so the channel cannot close.
        let _ = rx.wait_for(|serving| *serving >= self.ticket).await;
    }

    /// Lets the next event of this socket go ahead.
    pub fn release(mut self) {
        self.released = true;
        self.sequencer.release(self.ticket);
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.released {
            self.sequencer.release(self.ticket);
        }
    }
}

impl<A: Adapter> FromMessageParts<A> for Turn {
    type Error = Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let sequencer = match s.extensions.get::<Arc<Sequencer>>() {
            Some(seq) => seq,
            None => {
                let seq = Arc::new(Sequencer::default());
                s.extensions.insert(seq.clone());
                seq
            }
        };
        let ticket = sequencer.take();
        Ok(Turn {
            sequencer,
            ticket,
            released: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(seq: &Arc<Sequencer>) -> Turn {
        Turn {
            sequencer: seq.clone(),
            ticket: seq.take(),
            released: false,
        }
    }

    #[tokio::test]
    async fn turns_are_served_in_ticket_order_even_when_released_early() {
        let seq = Arc::new(Sequencer::default());
        let (a, b, c) = (turn(&seq), turn(&seq), turn(&seq));
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |t: Turn, name: &'static str| {
            let order = order.clone();
            tokio::spawn(async move {
                t.wait().await;
                order.lock().map(|mut o| o.push(name)).ok();
                t.release();
            })
        };
        let hc = spawn(c, "c");
        let hb = spawn(b, "b");
        tokio::task::yield_now().await;
        assert!(
            order.lock().map(|o| o.is_empty()).unwrap_or(false),
            "nothing runs before a"
        );
        drop(a); // a gives up without waiting: b and c still run, in order
        hb.await.ok();
        hc.await.ok();
        assert_eq!(*order.lock().expect("lock"), vec!["b", "c"]);
    }
}
