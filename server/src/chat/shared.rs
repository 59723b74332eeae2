//! What the chat's nodes share: the room bus, presence, membership events, the bot's queues,
//! stop requests, rooms' leases and budgets, and the rate limits. One process is one node with
//! its own; chat instances in one process given the same [`Shared`] act as nodes of one cluster
//! (the in-process tests), as processes do through Redis (`cluster`).

use std::sync::Arc;

use crate::{
    bot::{Admissions, MemoryAdmissions},
    ports::{
        InFlight, Leases, Limiters, Membership, MemoryInFlight, MemoryLeases, MemoryLimiters,
        MemoryMembership, MemoryStops, MemoryTokenBudgets, PresenceTable, Presences, Stops,
        TokenBudgets,
    },
    room::{MemoryBus, RoomBus},
};

/// The state the chat's nodes share, in memory.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Committed changes and bot streams, per room.
    pub bus: Arc<dyn RoomBus>,
    /// Who is online where, counted per node.
    pub presence: Arc<dyn Presences>,
    /// "User U joined or left room R", for each node's sockets of U.
    pub membership: Arc<dyn Membership>,
    /// The bot's queues, running replies and budgets.
    pub bot: Arc<dyn Admissions>,
    /// Rate limits per user.
    pub limiters: Arc<dyn Limiters>,
    /// Requests to stop a reply another node writes.
    pub stops: Arc<dyn Stops>,
    /// Which node writes the bot's reply in a room.
    pub leases: Arc<dyn Leases>,
    /// The bot's tokens spent per user.
    pub budgets: Arc<dyn TokenBudgets>,
    /// The bot's requests in flight per user.
    pub inflight: Arc<dyn InFlight>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            bus: Arc::new(MemoryBus::default()),
            presence: Arc::new(PresenceTable::default()),
            membership: Arc::new(MemoryMembership::default()),
            bot: Arc::new(MemoryAdmissions::default()),
            limiters: Arc::new(MemoryLimiters),
            stops: Arc::new(MemoryStops::default()),
            leases: Arc::new(MemoryLeases::default()),
            budgets: Arc::new(MemoryTokenBudgets::default()),
            inflight: Arc::new(MemoryInFlight::default()),
        }
    }
}
