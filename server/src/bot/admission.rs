//! Who may ask the bot, and in what order: each room's queue with one reply running at a time,
//! and which rooms the bot is in (each user's requests in flight and tokens spent are counted
//! apart, in [`InFlight`](crate::ports::InFlight) and
//! [`TokenBudgets`](crate::ports::TokenBudgets)). Behind
//! [`Admissions`] so that nodes can share it; [`MemoryAdmissions`] serves one process (or chat
//! instances in one process acting as nodes: a request queues behind the reply another node
//! runs, and a cancel from any node stops it).

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::Mutex,
};

use tokio_util::sync::CancellationToken;

use crate::wire::{ErrorBody, ErrorCode};

/// A request for a reply.
#[derive(Debug)]
pub struct Request {
    /// The room.
    pub room: String,
    /// The id of the message that asked.
    pub request_id: String,
    /// That message's `seq`: the reply's context ends there.
    pub request_seq: i64,
    /// Who asked.
    pub user_id: String,
    /// Stops the reply (or keeps it from starting).
    pub cancel: CancellationToken,
    /// When this answers the request again: which reply it regenerates or continues.
    pub again: Option<Again>,
}

/// A request answered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Again {
    /// A new reply that replaces the reply with this id (both are kept).
    Regenerate(String),
    /// A reply that carries on `reply`, whose text so far is `text`.
    Continue {
        /// The reply continued.
        reply: String,
        /// Its text.
        text: String,
    },
}

/// What admission enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests that may wait per room while one runs.
    pub queue_limit: usize,
}

/// Where a queued request went.
#[derive(Debug)]
pub enum Queued {
    /// Nothing runs in the room: this node writes the reply now.
    Start(Request),
    /// It waits at `position` (1 = next).
    Waiting(String, usize),
}

/// What a cancel found.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// The running reply; it is being stopped.
    Running,
    /// A waiting request, now removed: who had asked, and the positions of those still
    /// waiting.
    Waiting(String, Vec<(String, usize)>),
    /// Nothing with that id in the room.
    NotFound,
}

/// The bot's admission state, shared by the nodes of a chat.
pub trait Admissions: Send + Sync + fmt::Debug + 'static {
    /// Reserves a place for a request in `room`'s queue, or says why not.
    fn admit(&self, room: &str, limits: &Limits) -> Result<(), ErrorBody>;
    /// Gives back a place [`admit`](Self::admit) reserved and that was not used.
    fn release(&self, room: &str);
    /// Queues an admitted request.
    fn enqueue(&self, request: Request) -> Queued;
    /// The running reply of `room` is the message `reply_id`.
    fn started(&self, room: &str, reply_id: &str);
    /// The running reply of `room` ended (and was settled): the next request to run, if any,
    /// and the positions of those still waiting.
    fn finished(&self, room: &str) -> Option<(Request, Positions)>;
    /// Stops the running reply or removes the waiting request named `id` (a reply's message
    /// id or a request id).
    fn cancel(&self, room: &str, id: &str) -> Cancelled;
    /// Forgets what waits and runs in `room` (the server stops).
    fn clear(&self, room: &str);
    /// Whether the bot is a member of `room` and whether it is a private bot room, if known.
    fn bot_member(&self, room: &str) -> Option<(bool, bool)>;
    /// Records the bot's membership of `room`.
    fn set_bot_member(&self, room: &str, membership: (bool, bool));
}

/// Each waiting request's place in line (1 = next).
pub type Positions = Vec<(String, usize)>;

#[derive(Debug, Default)]
struct RoomQueue {
    /// The reply being written: (reply message id once started, request id, cancel).
    running: Option<(Option<String>, String, CancellationToken)>,
    waiting: VecDeque<Request>,
    /// Admitted requests whose message is being stored.
    reserved: usize,
}

impl RoomQueue {
    fn positions(&self) -> Positions {
        self.waiting
            .iter()
            .enumerate()
            .map(|(i, r)| (r.request_id.clone(), i + 1))
            .collect()
    }

    fn run(&mut self, request: &Request) {
        self.running = Some((None, request.request_id.clone(), request.cancel.clone()));
    }
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, RoomQueue>,
    member_of: HashMap<String, (bool, bool)>,
}

/// Moves [`BOT_QUEUE_LENGTH`](crate::metrics::BOT_QUEUE_LENGTH) by `by` requests.
fn waiting_changed(by: f64) {
    ::metrics::gauge!(crate::metrics::BOT_QUEUE_LENGTH).increment(by);
}

/// Admission in memory.
#[derive(Debug, Default)]
pub struct MemoryAdmissions(Mutex<State>);

impl MemoryAdmissions {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Admissions for MemoryAdmissions {
    fn admit(&self, room: &str, limits: &Limits) -> Result<(), ErrorBody> {
        let mut state = self.lock();
        let queue = state.rooms.entry(room.to_owned()).or_default();
        let ahead = queue.waiting.len() + queue.reserved;
        if queue.running.is_some() && ahead >= limits.queue_limit {
            return Err(ErrorBody::new(
                ErrorCode::QueueFull,
                format!("{ahead} requests already wait for the bot here"),
            ));
        }
        queue.reserved += 1;
        Ok(())
    }

    fn release(&self, room: &str) {
        if let Some(q) = self.lock().rooms.get_mut(room) {
            q.reserved = q.reserved.saturating_sub(1);
        }
    }

    fn enqueue(&self, request: Request) -> Queued {
        let mut state = self.lock();
        let queue = state.rooms.entry(request.room.clone()).or_default();
        queue.reserved = queue.reserved.saturating_sub(1);
        if queue.running.is_none() && queue.waiting.is_empty() {
            queue.run(&request);
            return Queued::Start(request);
        }
        let id = request.request_id.clone();
        queue.waiting.push_back(request);
        waiting_changed(1.0);
        Queued::Waiting(id, queue.waiting.len())
    }

    fn started(&self, room: &str, reply_id: &str) {
        if let Some((id, _, _)) = self
            .lock()
            .rooms
            .get_mut(room)
            .and_then(|q| q.running.as_mut())
        {
            *id = Some(reply_id.to_owned());
        }
    }

    fn finished(&self, room: &str) -> Option<(Request, Positions)> {
        let mut state = self.lock();
        let queue = state.rooms.get_mut(room)?;
        queue.running = None;
        let next = queue.waiting.pop_front()?;
        waiting_changed(-1.0);
        queue.run(&next);
        Some((next, queue.positions()))
    }

    fn cancel(&self, room: &str, id: &str) -> Cancelled {
        let mut state = self.lock();
        let Some(queue) = state.rooms.get_mut(room) else {
            return Cancelled::NotFound;
        };
        if let Some((reply_id, request_id, cancel)) = &queue.running
            && (reply_id.as_deref() == Some(id) || request_id == id)
        {
            cancel.cancel();
            return Cancelled::Running;
        }
        let Some(at) = queue.waiting.iter().position(|r| r.request_id == id) else {
            return Cancelled::NotFound;
        };
        let removed = queue.waiting.remove(at);
        waiting_changed(-1.0);
        let user = removed.map(|r| r.user_id).unwrap_or_default();
        Cancelled::Waiting(user, queue.positions())
    }

    fn clear(&self, room: &str) {
        if let Some(queue) = self.lock().rooms.get_mut(room) {
            queue.running = None;
            waiting_changed(-(queue.waiting.len() as f64));
            queue.waiting.clear();
        }
    }

    fn bot_member(&self, room: &str) -> Option<(bool, bool)> {
        self.lock().member_of.get(room).copied()
    }

    fn set_bot_member(&self, room: &str, membership: (bool, bool)) {
        self.lock().member_of.insert(room.to_owned(), membership);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { queue_limit: 1 };

    fn request(room: &str, id: &str, user: &str) -> Request {
        Request {
            room: room.into(),
            request_id: id.into(),
            request_seq: 1,
            user_id: user.into(),
            cancel: CancellationToken::new(),
            again: None,
        }
    }

    fn ask(a: &MemoryAdmissions, room: &str, id: &str, user: &str) -> Result<Queued, ErrorCode> {
        a.admit(room, &LIMITS).map_err(|e| e.code)?;
        Ok(a.enqueue(request(room, id, user)))
    }

    #[test]
    fn one_reply_runs_per_room_the_queue_is_bounded_and_moves_in_order() {
        let a = MemoryAdmissions::default();
        assert!(matches!(ask(&a, "r", "q1", "ada"), Ok(Queued::Start(_))));
        assert!(
            matches!(ask(&a, "s", "q2", "ada"), Ok(Queued::Start(_))),
            "another room runs too"
        );
        assert!(matches!(ask(&a, "r", "q3", "ben"), Ok(Queued::Waiting(id, 1)) if id == "q3"));
        assert_eq!(ask(&a, "r", "q4", "cat").err(), Some(ErrorCode::QueueFull));
        let (next, positions) = a.finished("r").expect("q3 is next");
        assert_eq!((next.request_id.as_str(), positions.len()), ("q3", 0));
        assert!(a.finished("r").is_none());
    }

    #[test]
    fn a_cancel_stops_the_running_reply_or_removes_a_waiting_request() {
        let a = MemoryAdmissions::default();
        let Ok(Queued::Start(running)) = ask(&a, "r", "q1", "ada") else {
            panic!("q1 runs")
        };
        a.started("r", "m-reply");
        assert!(matches!(ask(&a, "r", "q2", "ben"), Ok(Queued::Waiting(..))));
        assert_eq!(
            a.cancel("r", "q2"),
            Cancelled::Waiting("ben".into(), vec![])
        );
        assert_eq!(a.cancel("r", "q2"), Cancelled::NotFound);
        assert_eq!(
            a.cancel("r", "m-reply"),
            Cancelled::Running,
            "by the reply's id"
        );
        assert!(running.cancel.is_cancelled());
        assert_eq!(a.cancel("elsewhere", "q1"), Cancelled::NotFound);
    }

    #[test]
    fn a_place_admitted_and_never_used_is_given_back() {
        let a = MemoryAdmissions::default();
        assert!(matches!(ask(&a, "r", "q1", "ada"), Ok(Queued::Start(_))));
        assert!(a.admit("r", &LIMITS).is_ok(), "the one place in the queue");
        assert_eq!(
            a.admit("r", &LIMITS).map_err(|e| e.code).err(),
            Some(ErrorCode::QueueFull)
        );
        a.release("r");
        assert!(a.admit("r", &LIMITS).is_ok(), "given back");
    }
}
