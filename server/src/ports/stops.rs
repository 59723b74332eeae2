//! "Stop reply R in room X", for the node that writes it. A `cancel` reaches the node its
//! socket is on; when the reply runs on another one, this carries the request there, and that
//! node stops it as if its own client had asked (the upstream request is aborted).

use std::{fmt, sync::Arc};

use tokio::sync::broadcast;

/// A request to stop a reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StopRequest {
    /// The node that asked (which did not find the reply among its own).
    pub node: String,
    /// The room.
    pub room: String,
    /// The reply's message id or the id of the message that asked for it.
    pub id: String,
}

/// Carries stop requests to every node.
pub trait Stops: Send + Sync + fmt::Debug + 'static {
    /// Tells every node (this one included; it skips its own).
    fn publish(&self, stop: StopRequest);

    /// The requests published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<StopRequest>>;
}

/// Requests a node may fall behind before it loses some.
pub const CAPACITY: usize = 256;

/// Stop requests within one process.
#[derive(Debug)]
pub struct MemoryStops {
    tx: broadcast::Sender<Arc<StopRequest>>,
}

impl Default for MemoryStops {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Stops for MemoryStops {
    fn publish(&self, stop: StopRequest) {
        self.tx.send(Arc::new(stop)).ok();
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<StopRequest>> {
        self.tx.subscribe()
    }
}
