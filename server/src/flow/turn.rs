//! One socket's events in the order they arrived.
//!
//! socketioxide runs every incoming event in its own task, so two events of one socket could be
//! handled at once and finish in any order. Extractors, however, run synchronously in the
//! socket's receive loop, in arrival order: [`Turn`] takes a ticket there, and the handler awaits
//! its turn before it acts. Each waiting ticket has its own wake-up, so releasing a turn wakes
//! exactly the next handler, whatever the number waiting: the cost per event is constant.
//!
//! A `send` lets the next event go ahead as soon as its message is queued in the room's writer
//! (sends stay pipelined, so the writer can batch them), but holds a [`Write`] until the message
//! is stored. An event that reads what earlier ones wrote waits with [`Turn::wait`] until those
//! writes are done; a `send` waits with [`Turn::wait_ordered`] only for the ticket.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::sync::{Notify, oneshot};

use crate::wire::{ErrorBody, ErrorCode};

/// Tickets of one socket, served in the order they were taken.
#[derive(Debug)]
pub struct Sequencer {
    state: Mutex<State>,
    /// Writes started by earlier events and not yet stored.
    writes: AtomicUsize,
    settled: Notify,
    /// Tickets plus writes that may be outstanding before new events are refused.
    max_pending: usize,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    serving: u64,
    /// Tickets released before their turn came (a handler that gave up early).
    released: BTreeSet<u64>,
    /// The one wake-up of each waiting ticket.
    waiting: HashMap<u64, oneshot::Sender<()>>,
}

impl Sequencer {
    /// A sequencer refusing events once `max_pending` are outstanding.
    pub fn new(max_pending: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            writes: AtomicUsize::new(0),
            settled: Notify::new(),
            max_pending: max_pending.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place in line; a refused one when too many events are outstanding.
    pub fn take(self: &Arc<Self>) -> Turn {
        let mut state = self.lock();
        let outstanding = usize::try_from(state.next - state.serving).unwrap_or(usize::MAX)
            + self.writes.load(Ordering::Acquire);
        let ticket = (outstanding < self.max_pending).then(|| {
            let ticket = state.next;
            state.next += 1;
            ticket
        });
        Turn {
            sequencer: self.clone(),
            ticket,
            released: false,
        }
    }

    /// Events taken and not yet released, plus writes not yet stored.
    pub fn outstanding(&self) -> usize {
        let state = self.lock();
        usize::try_from(state.next - state.serving).unwrap_or(usize::MAX)
            + self.writes.load(Ordering::Acquire)
    }

    fn release(&self, ticket: u64) {
        let mut state = self.lock();
        state.waiting.remove(&ticket);
        if ticket != state.serving {
            state.released.insert(ticket);
            return;
        }
        state.serving += 1;
        loop {
            let serving = state.serving;
            if !state.released.remove(&serving) {
                break;
            }
            state.serving += 1;
        }
        let serving = state.serving;
        if let Some(next) = state.waiting.remove(&serving) {
            next.send(()).ok();
        }
    }

    async fn turn_of(&self, ticket: u64) {
        let rx = {
            let mut state = self.lock();
            if state.serving >= ticket {
                return;
            }
            let (tx, rx) = oneshot::channel();
            state.waiting.insert(ticket, tx);
            rx
        };
        // The sender lives in `waiting` until this ticket is served or released; a release of
        // this very ticket cannot happen while its holder waits here.
        rx.await.ok();
    }

    async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.writes.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A place in the socket's line, taken when the event arrived. Dropping it lets the next event
/// go ahead. A turn taken while too many events were outstanding is refused: waiting for it
/// answers [`too_many_pending`].
#[derive(Debug)]
pub struct Turn {
    sequencer: Arc<Sequencer>,
    ticket: Option<u64>,
    released: bool,
}

impl Turn {
    fn ticket(&self) -> Result<u64, ErrorBody> {
        self.ticket.ok_or_else(too_many_pending)
    }

    /// Waits until every earlier event has released its turn and every earlier write is stored.
    pub async fn wait(&self) -> Result<(), ErrorBody> {
        self.sequencer.turn_of(self.ticket()?).await;
        self.sequencer.settled().await;
        Ok(())
    }

    /// Waits until every earlier event has released its turn (earlier writes may still be
    /// storing: for a write that is queued behind them anyway).
    pub async fn wait_ordered(&self) -> Result<(), ErrorBody> {
        self.sequencer.turn_of(self.ticket()?).await;
        Ok(())
    }

    /// Marks a write in progress: later events that read wait until the guard is dropped.
    pub fn write(&self) -> Write {
        self.sequencer.writes.fetch_add(1, Ordering::AcqRel);
        Write {
            sequencer: self.sequencer.clone(),
        }
    }

    /// Lets the next event of this socket go ahead.
    pub fn release(mut self) {
        self.released = true;
        if let Some(ticket) = self.ticket {
            self.sequencer.release(ticket);
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.released
            && let Some(ticket) = self.ticket
        {
            self.sequencer.release(ticket);
        }
    }
}

/// A write that later reads must wait for; dropping it says the write is done.
#[derive(Debug)]
pub struct Write {
    sequencer: Arc<Sequencer>,
}

impl Drop for Write {
    fn drop(&mut self) {
        if self.sequencer.writes.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.sequencer.settled.notify_waiters();
        }
    }
}

/// The answer to an event refused because its socket has too many outstanding.
pub fn too_many_pending() -> ErrorBody {
    ErrorBody {
        retry_after: Some(100),
        ..ErrorBody::new(
            ErrorCode::RateLimited,
            "too many requests in flight on this connection; wait for answers",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequencer(max: usize) -> Arc<Sequencer> {
        Arc::new(Sequencer::new(max))
    }

    #[tokio::test]
    async fn turns_are_served_in_ticket_order_even_when_released_early() {
        let seq = sequencer(16);
        let (a, b, c) = (seq.take(), seq.take(), seq.take());
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |t: Turn, name: &'static str| {
            let order = order.clone();
            tokio::spawn(async move {
                t.wait().await.expect("under the limit");
                order.lock().map(|mut o| o.push(name)).ok();
                t.release();
            })
        };
        let hc = spawn(c, "c");
        let hb = spawn(b, "b");
        tokio::task::yield_now().await;
        assert!(order.lock().map(|o| o.is_empty()).unwrap_or(false));
        drop(a); // a gives up without waiting: b and c still run, in order
        hb.await.ok();
        hc.await.ok();
        assert_eq!(*order.lock().expect("lock"), vec!["b", "c"]);
    }

    #[tokio::test]
    async fn a_read_waits_for_an_earlier_write_but_a_write_does_not() {
        let seq = sequencer(16);
        let first = seq.take();
        let write = first.write();
        first.release();
        let next_write = seq.take();
        // Does not wait for the first write to be stored.
        next_write.wait_ordered().await.expect("under the limit");
        next_write.release();
        let read = seq.take();
        let waiting = tokio::spawn(async move { read.wait().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a read must wait for the write");
        drop(write);
        assert!(waiting.await.expect("read ran").is_ok());
    }

    #[tokio::test]
    async fn events_beyond_the_limit_are_refused_and_counted_again_once_released() {
        let seq = sequencer(2);
        let a = seq.take();
        let b = seq.take();
        let third = seq.take();
        assert_eq!(
            third.wait().await.map_err(|e| e.code),
            Err(ErrorCode::RateLimited),
            "third is over the limit"
        );
        drop(third); // a refused turn holds no place
        let w = a.write();
        a.release();
        assert!(
            seq.take().wait().await.is_err(),
            "a pending write still counts"
        );
        drop(w);
        drop(b);
        assert!(seq.take().wait().await.is_ok(), "room again");
    }

    /// Counts how often the inner future is polled.
    struct Polls<F> {
        inner: std::pin::Pin<Box<F>>,
        polls: Arc<AtomicUsize>,
    }

    impl<F: std::future::Future> std::future::Future for Polls<F> {
        type Output = F::Output;
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<F::Output> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            self.inner.as_mut().poll(cx)
        }
    }

    #[tokio::test]
    async fn a_release_wakes_only_the_next_waiter() {
        // With one wake-up for every waiter per release, 2,000 queued events cost about two
        // million polls; with one wake-up per ticket, a few per event.
        const N: usize = 2_000;
        let seq = sequencer(N + 1);
        let polls = Arc::new(AtomicUsize::new(0));
        let first = seq.take();
        let mut handles = Vec::new();
        for _ in 0..N {
            let turn = seq.take();
            let wait = Polls {
                inner: Box::pin(async move { turn.wait().await.is_ok() }),
                polls: polls.clone(),
            };
            handles.push(tokio::spawn(wait));
        }
        tokio::task::yield_now().await;
        drop(first);
        for h in handles {
            assert!(h.await.expect("task"), "every event served");
        }
        assert!(
            polls.load(Ordering::Relaxed) <= 3 * N,
            "{} polls for {N} events",
            polls.load(Ordering::Relaxed)
        );
        assert_eq!(seq.outstanding(), 0);
    }
}
