//! The queue per room and the budgets per user: what admission counts.

use std::{
    collections::{HashMap, VecDeque},
    time::Instant,
};

use tokio_util::sync::CancellationToken;

use super::Bot;

/// A request for a reply.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) room: String,
    pub(super) request_id: String,
    /// The request's `seq`: the reply's context ends there.
    pub(super) request_seq: i64,
    pub(super) user_id: String,
    pub(super) cancel: CancellationToken,
}

#[derive(Debug, Default)]
pub(super) struct RoomQueue {
    /// The reply being written: (reply message id once started, request id, cancel).
    pub(super) running: Option<(Option<String>, String, CancellationToken)>,
    pub(super) waiting: VecDeque<Request>,
    /// Admitted requests whose message is being stored.
    pub(super) reserved: usize,
}

impl RoomQueue {
    /// Each waiting request's place in line (1 = next).
    pub(super) fn positions(&self) -> Vec<(String, usize)> {
        self.waiting
            .iter()
            .enumerate()
            .map(|(i, r)| (r.request_id.clone(), i + 1))
            .collect()
    }
}

#[derive(Debug, Default)]
pub(super) struct UserBudget {
    pub(super) inflight: usize,
    /// (when, tokens) over the last minute.
    pub(super) spent: VecDeque<(Instant, u64)>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(super) rooms: HashMap<String, RoomQueue>,
    pub(super) users: HashMap<String, UserBudget>,
    /// Per room, once looked up: (the bot is a member, it is a private bot room).
    pub(super) member_of: HashMap<String, (bool, bool)>,
}

/// The bot's shared state in memory: each room's queue and running reply, each user's budget,
/// the rooms the bot is in. Bots of several chat instances in one process (nodes, in tests)
/// share one table: a request queues behind the reply another node runs, and a cancel from
/// any of them stops it.
#[derive(Debug, Default)]
pub struct BotTable(pub(super) std::sync::Mutex<State>);

/// A place reserved for a request, taken before its message is stored so a refusal stores
/// nothing. Dropping it unused gives the place back.
#[must_use]
pub struct Admission {
    pub(super) bot: Bot,
    pub(super) room: String,
    pub(super) user_id: String,
    pub(super) used: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.used {
            let mut state = self.bot.lock();
            if let Some(q) = state.rooms.get_mut(&self.room) {
                q.reserved = q.reserved.saturating_sub(1);
            }
            if let Some(u) = state.users.get_mut(&self.user_id) {
                u.inflight = u.inflight.saturating_sub(1);
            }
        }
    }
}
