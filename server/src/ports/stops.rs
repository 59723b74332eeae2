//! "Stop reply R in room X", for the node that writes it. A `cancel` reaches the node its
//! socket is on; when the reply runs on another one, this carries the request there, and that
//! node stops it as if its own client had asked (the upstream request is aborted).

use super::fanout::{Fanout, MemoryFanout, Origin};

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

impl Origin for StopRequest {
    fn node(&self) -> &str {
        &self.node
    }
}

/// Carries stop requests to every node.
pub trait Stops: Fanout<StopRequest> {}

impl<F: Fanout<StopRequest> + ?Sized> Stops for F {}

/// Stop requests within one process.
pub type MemoryStops = MemoryFanout<StopRequest>;
