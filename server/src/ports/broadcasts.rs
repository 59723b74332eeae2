//! Plain events for the sockets of rooms or users, on every node: what a backend sends through
//! the HTTP API's `emit` or publishes with `@socket.io/redis-emitter`. Unlike chat traffic they
//! are not stored and have no position: a socket that is not connected, or whose queue is
//! full, misses them (they are volatile, as an emit to a full socket is in socket.io).

use std::{fmt, sync::Arc};

use tokio::sync::broadcast;

/// A plain event and whom it is for, in the emitter's terms: a target is a chat room's id as
/// clients know it, or `user:<id>` for every socket of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The sockets in any of these; none means every chat socket.
    pub to: Vec<String>,
    /// Minus the sockets in any of these.
    pub except: Vec<String>,
    /// The event's name.
    pub event: String,
    /// Its arguments (binary ones stay binary).
    pub args: Vec<rmpv::Value>,
}

/// The prefix of a target that names a user rather than a room.
pub const USER_TARGET: &str = "user:";

/// Carries plain events to every node.
pub trait Broadcasts: Send + Sync + fmt::Debug + 'static {
    /// Sends `event` to every node, this one included.
    fn publish(&self, event: Broadcast);

    /// The events for this node's sockets, from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>>;
}

/// Events a node may fall behind before it loses some.
pub const CAPACITY: usize = 1024;

/// Plain events within one process.
#[derive(Debug)]
pub struct MemoryBroadcasts {
    tx: broadcast::Sender<Arc<Broadcast>>,
}

impl Default for MemoryBroadcasts {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl MemoryBroadcasts {
    /// Hands `event` to this node's subscribers (a cluster node's own and the ones it hears).
    pub fn deliver(&self, event: Broadcast) {
        self.tx.send(Arc::new(event)).ok();
    }
}

impl Broadcasts for MemoryBroadcasts {
    fn publish(&self, event: Broadcast) {
        self.deliver(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.tx.subscribe()
    }
}
