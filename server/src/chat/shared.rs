//! What the chat's nodes share: the room bus, the presence table and the bot's queues. One
//! process is one node with its own; chat instances in one process given the same [`Shared`]
//! act as nodes of one cluster (the in-process tests), as processes will through Redis.

use std::sync::Arc;

use crate::{
    bot::BotTable,
    ports::PresenceTable,
    room::{MemoryBus, RoomBus},
};

/// The state the chat's nodes share, in memory.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Committed changes and bot streams, per room.
    pub bus: Arc<dyn RoomBus>,
    /// Who is online where, counted per node.
    pub presence: Arc<PresenceTable>,
    /// The bot's queues, running replies and budgets.
    pub bot: Arc<BotTable>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            bus: Arc::new(MemoryBus::default()),
            presence: Arc::default(),
            bot: Arc::default(),
        }
    }
}
