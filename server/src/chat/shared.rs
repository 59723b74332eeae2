//! What the chat's nodes share: the room bus, presence, membership events, the bot's share
//! (queues, stop requests, rooms' leases, budgets: [`BotShared`]), the rate limits, plain
//! events from backends and the Admin UI's census of sockets. One process is one node with
//! its own; chat instances in one process given the same [`Shared`] act as nodes of one cluster
//! (the in-process tests), as processes do through Redis (`cluster`).

use std::sync::Arc;

use crate::{
    bot::BotShared,
    ports::{
        Broadcasts, Census, Limiters, Membership, MemoryBroadcasts, MemoryCensus, MemoryLimiters,
        MemoryMembership, PresenceTable, Presences,
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
    /// The bot's queues, cancels, rooms' leases and budgets.
    pub bot: BotShared,
    /// Rate limits per user.
    pub limiters: Arc<dyn Limiters>,
    /// Plain events from backends for rooms' and users' sockets.
    pub broadcasts: Arc<dyn Broadcasts>,
    /// The Admin UI's requests for every node's sockets.
    pub census: Arc<dyn Census>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            bus: Arc::new(MemoryBus::default()),
            presence: Arc::new(PresenceTable::default()),
            membership: Arc::new(MemoryMembership::default()),
            bot: BotShared::in_memory(),
            limiters: Arc::new(MemoryLimiters),
            broadcasts: Arc::new(MemoryBroadcasts::default()),
            census: Arc::new(MemoryCensus::default()),
        }
    }
}
