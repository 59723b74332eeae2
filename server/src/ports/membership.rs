//! User-level membership events: "user U joined room R" or "left it", told to every node so
//! that each subscribes or unsubscribes its own sockets of U. The node where the change was
//! made applies it to its sockets at once and publishes it for the others.

use std::{fmt, sync::Arc};

use tokio::sync::broadcast;

/// A user gained or lost a room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberEvent {
    /// The node that made the change (and applied it to its own sockets already).
    pub node: String,
    /// The user.
    pub user_id: String,
    /// The room.
    pub room: String,
    /// Joined (`true`) or left.
    pub joined: bool,
}

/// What a node hears about membership.
#[derive(Debug, Clone)]
pub enum Told {
    /// A user gained or lost a room.
    Changed(Arc<MemberEvent>),
    /// Events may have been lost (the node was cut off from the others): its sockets' rooms
    /// are to be checked against storage.
    Resync,
}

/// Carries membership events to every node.
pub trait Membership: Send + Sync + fmt::Debug + 'static {
    /// Tells every node (this one included; it skips its own).
    fn publish(&self, event: MemberEvent);

    /// The events published from now on; `Lagged` when this node fell behind.
    fn subscribe(&self) -> broadcast::Receiver<Told>;
}

/// Events a node may fall behind before it loses some.
pub const CAPACITY: usize = 1024;

/// Membership events within one process.
#[derive(Debug)]
pub struct MemoryMembership {
    tx: broadcast::Sender<Told>,
}

impl Default for MemoryMembership {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Membership for MemoryMembership {
    fn publish(&self, event: MemberEvent) {
        self.tx.send(Told::Changed(Arc::new(event))).ok();
    }

    fn subscribe(&self) -> broadcast::Receiver<Told> {
        self.tx.subscribe()
    }
}
