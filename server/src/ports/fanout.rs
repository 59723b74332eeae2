//! Requests every node hears, each skipped by the node that sent it: the shape [`super::stops`]
//! and [`super::census`] share. In one process a broadcast channel; over Redis, one channel
//! of JSON messages (`cluster`).

use std::{fmt, sync::Arc};

use tokio::sync::broadcast;

/// A request that names the node it came from, which does not act on it again.
pub trait Origin {
    /// The node that sent it.
    fn node(&self) -> &str;
}

/// Carries requests of type `T` to every node.
pub trait Fanout<T>: Send + Sync + fmt::Debug + 'static {
    /// Tells every node (this one included; it skips its own).
    fn publish(&self, request: T);

    /// The requests published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<T>>;
}

/// Requests a node may fall behind before it loses some.
pub const CAPACITY: usize = 256;

/// Requests within one process.
#[derive(Debug)]
pub struct MemoryFanout<T> {
    tx: broadcast::Sender<Arc<T>>,
}

impl<T> Default for MemoryFanout<T> {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl<T: Send + Sync + fmt::Debug + 'static> Fanout<T> for MemoryFanout<T> {
    fn publish(&self, request: T) {
        self.tx.send(Arc::new(request)).ok();
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<T>> {
        self.tx.subscribe()
    }
}
