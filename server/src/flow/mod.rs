//! One socket's flow: its events in order and bounded in number ([`turn`]), and what waits for
//! it bounded in bytes ([`output`]), with the socket cut when it stays over that bound.
//!
//! A [`Flow`] is made when a socket is admitted and kept in its extensions. Everything the chat
//! queues for a socket goes through [`Flow::emit`] (room deliveries) or [`Ack`] (answers), so
//! the budget sees it; the few small broadcasts socketioxide sends itself (presence, typing,
//! edits, read marks) are not counted.

pub mod frame;
pub mod output;
pub mod turn;

use std::{
    collections::VecDeque,
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use socketioxide::{
    SendError, SocketError,
    adapter::{Adapter, LocalAdapter},
    extract::AckSender,
    handler::FromMessageParts,
    socket::Socket,
};
use tracing::{info, warn};

use self::output::Budget;
pub use self::{
    frame::Frame,
    output::{OutputLimits, Verdict},
    turn::{Sequencer, Turn, Write, too_many_pending},
};
use crate::cut::{Cut, Cuts};

/// Limits every socket's flow is made with.
#[derive(Debug, Clone)]
pub struct FlowLimits {
    /// Events (and writes) one socket may have outstanding.
    pub max_pending: usize,
    /// Its output budget.
    pub output: OutputLimits,
    /// Payloads are serialized once (the JSON parser).
    pub json: bool,
}

/// What happened to one emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for the socket.
    Sent,
    /// Not now (queue or budget full): hold it back and retry.
    Full,
    /// The socket is gone (or was cut).
    Closed,
}

/// One socket's flow control.
pub struct Flow {
    sequencer: Arc<Sequencer>,
    budget: Mutex<Budget>,
    json: bool,
    sid: String,
    /// The connection that opened the session (a direct WebSocket's own).
    opening: Option<Cut>,
    cuts: Arc<Cuts>,
    /// Ack ids of events refused for too many pending, waiting to be answered.
    refusals: Mutex<Refusals>,
    /// The socket was cut: nothing more goes out.
    is_cut: AtomicBool,
}

#[derive(Debug, Default)]
struct Refusals {
    ids: VecDeque<i64>,
    /// A task is sending them.
    flushing: bool,
}

/// Refusals that may wait for one socket; a client past this floods without reading.
const MAX_REFUSALS: usize = 65_536;

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow").field("sid", &"<redacted>").finish()
    }
}

impl Flow {
    /// The flow of `socket`, whose session's opening connection is tagged with its [`Cut`].
    pub fn new<A: Adapter>(socket: &Socket<A>, limits: &FlowLimits, cuts: Arc<Cuts>) -> Self {
        Self {
            sequencer: Arc::new(Sequencer::new(limits.max_pending)),
            budget: Mutex::new(Budget::new(limits.output)),
            json: limits.json,
            sid: socket.id.to_string(),
            opening: socket.req_parts().extensions.get::<Cut>().cloned(),
            cuts,
            refusals: Mutex::default(),
            is_cut: AtomicBool::new(false),
        }
    }

    /// Takes the next place in this socket's line.
    pub fn turn(&self) -> Turn {
        self.sequencer.take()
    }

    /// Events and writes outstanding.
    pub fn outstanding(&self) -> usize {
        self.sequencer.outstanding()
    }

    /// `data` ready to emit to this socket (and others of the same server).
    pub fn frame<'a, T: Serialize + ?Sized>(&self, data: &'a T) -> Frame<'a, T> {
        Frame::new(data, self.json)
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `frame` for `socket` if its queue and budget allow.
    pub fn emit<A: Adapter, T: Serialize + ?Sized>(
        &self,
        socket: &Socket<A>,
        event: &str,
        frame: &Frame<'_, T>,
    ) -> Delivery {
        let delivery = self.try_send(socket, frame.size(), |s| s.emit(event, frame));
        if delivery == Delivery::Sent {
            crate::metrics::meters().emitted(event);
        }
        delivery
    }

    fn try_send<A: Adapter>(
        &self,
        socket: &Socket<A>,
        size: usize,
        send: impl FnOnce(&Socket<A>) -> Result<(), SendError>,
    ) -> Delivery {
        if self.is_cut.load(Ordering::Acquire) {
            return Delivery::Closed;
        }
        match self.budget().take(size) {
            Verdict::Go => {}
            Verdict::Wait => return Delivery::Full,
            Verdict::Cut => return self.cut(),
        }
        match send(socket) {
            Ok(()) => Delivery::Sent,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                match self.budget().refused(size) {
                    Verdict::Cut => self.cut(),
                    _ => Delivery::Full,
                }
            }
            Err(SendError::Socket(SocketError::Closed)) => Delivery::Closed,
            Err(SendError::Serialize(e)) => {
                warn!(cause = %e, "cannot serialize a payload");
                Delivery::Sent
            }
        }
    }

    /// Answers, in order and as the socket drains, events refused for too many pending. They
    /// wait as ack ids in one queue served by one task, not as a task each, so a flood costs
    /// a few bytes per event; a socket with [`MAX_REFUSALS`] waiting is cut.
    fn refuse<A: Adapter>(self: &Arc<Self>, socket: &Arc<Socket<A>>, ack_id: i64) {
        let start = {
            let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            if refusals.ids.len() >= MAX_REFUSALS {
                refusals.ids.clear();
                drop(refusals);
                self.cut();
                return;
            }
            refusals.ids.push_back(ack_id);
            !std::mem::replace(&mut refusals.flushing, true)
        };
        if start {
            tokio::spawn(self.clone().flush_refusals(socket.clone()));
        }
    }

    async fn flush_refusals<A: Adapter>(self: Arc<Self>, socket: Arc<Socket<A>>) {
        let answer = crate::wire::Reply::<()>::from(Err(too_many_pending()));
        let frame = self.frame(&answer);
        let mut pause = PAUSE.0;
        loop {
            let next = {
                let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
                match refusals.ids.front() {
                    Some(id) => *id,
                    None => {
                        refusals.flushing = false;
                        return;
                    }
                }
            };
            let sent = self.try_send(&socket, frame.size(), |_| {
                let mut unused = socketioxide_core::Value::Str(Default::default(), None);
                let Ok(sender) = AckSender::from_message_parts(&socket, &mut unused, &Some(next));
                sender.send(&frame)
            });
            match sent {
                Delivery::Sent => {
                    pause = PAUSE.0;
                    let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
                    refusals.ids.pop_front();
                }
                Delivery::Full => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(PAUSE.1);
                }
                Delivery::Closed => {
                    let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
                    refusals.ids.clear();
                    refusals.flushing = false;
                    return;
                }
            }
        }
    }

    /// Closes the socket's transport: it stayed over its output budget too long.
    fn cut(&self) -> Delivery {
        if self.is_cut.swap(true, Ordering::AcqRel) {
            return Delivery::Closed;
        }
        info!("slow client: output over its limit for too long, disconnecting");
        if let Some(opening) = &self.opening {
            opening.cut();
        }
        self.cuts.cut(&self.sid);
        Delivery::Closed
    }
}

/// The place of the current event in its socket's line (see [`turn`]).
impl<A: Adapter> FromMessageParts<A> for Turn {
    type Error = Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        if let Some(flow) = s.extensions.get::<Arc<Flow>>() {
            return Ok(flow.turn());
        }
        // A socket without a flow (the conformance profile): a line of its own, unbounded.
        let sequencer = match s.extensions.get::<Arc<Sequencer>>() {
            Some(sequencer) => sequencer,
            None => {
                let sequencer = Arc::new(Sequencer::new(usize::MAX));
                s.extensions.insert(sequencer.clone());
                sequencer
            }
        };
        Ok(sequencer.take())
    }
}

/// First and longest pause between two attempts to queue an answer.
const PAUSE: (Duration, Duration) = (Duration::from_millis(2), Duration::from_millis(50));

/// The way to answer the current event (nothing happens if the client asked for no answer).
///
/// socketioxide's `AckSender::send` fails at once when the socket's queue is full, and the
/// answer is gone. [`Ack::send`] waits for room in the queue and the budget instead, until the
/// socket closes or is cut for staying over its budget.
///
/// Taking it counts the event as received (its name bounded, see [`crate::metrics`]), and its
/// answer records how long it took.
pub struct Ack<A: Adapter = LocalAdapter> {
    socket: Arc<Socket<A>>,
    ack_id: Option<i64>,
    /// The event's label (an index into the metrics' event names).
    event: usize,
    received: std::time::Instant,
}

impl<A: Adapter> FromMessageParts<A> for Ack<A> {
    type Error = Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        value: &mut socketioxide_core::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let event = socketioxide::extract::Event::from_message_parts(s, value, ack_id)
            .map_or(crate::metrics::EVENTS.len(), |e| {
                crate::metrics::event_index(&e)
            });
        crate::metrics::meters().received(event);
        Ok(Self {
            socket: s.clone(),
            ack_id: *ack_id,
            event,
            received: std::time::Instant::now(),
        })
    }
}

impl<A: Adapter> Ack<A> {
    /// Sends the answer, waiting for room in the socket's queue and budget if need be.
    pub async fn send<T: Serialize + ?Sized>(self, data: &T) {
        let Some(flow) = self.socket.extensions.get::<Arc<Flow>>() else {
            self.attempt(data).ok();
            return;
        };
        if self.ack_id.is_none() {
            return;
        }
        let frame = flow.frame(data);
        let mut pause = PAUSE.0;
        loop {
            let delivery = flow.try_send(&self.socket, frame.size(), |_| self.attempt(&frame));
            if delivery != Delivery::Full {
                crate::metrics::meters().answered(self.event, self.received.elapsed());
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(PAUSE.1);
        }
    }

    /// Answers [`too_many_pending`]: queued in the socket's flow, not held by this task.
    pub fn refuse(self) {
        let Some(ack_id) = self.ack_id else {
            return;
        };
        match self.socket.extensions.get::<Arc<Flow>>() {
            Some(flow) => flow.refuse(&self.socket, ack_id),
            None => {
                let answer = crate::wire::Reply::<()>::from(Err(too_many_pending()));
                self.attempt(&answer).ok();
            }
        }
    }

    fn attempt<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), SendError> {
        let mut unused = socketioxide_core::Value::Str(Default::default(), None);
        let Ok(sender) = AckSender::from_message_parts(&self.socket, &mut unused, &self.ack_id);
        sender.send(data)
    }
}
