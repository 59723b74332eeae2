//! "Tell the Admin UI of your sockets": the Admin UI lists the sockets of the node it is
//! connected to, and asks every other node, through this, to tell it of theirs. The other nodes
//! answer with one `socket_connected` per socket, emitted through the Socket.IO adapter to the
//! admin socket that asked (or to every admin socket), so that the list spans the cluster.
//! A request lost (a node that fell behind, a Redis outage) leaves an admin's list short of one
//! node's older sockets until its next login.

use super::fanout::{Fanout, MemoryFanout, Origin};

/// A request for every other node's sockets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CensusRequest {
    /// The node that asked: it has told its own sockets already.
    pub node: String,
    /// The admin socket to tell (its id), or every admin socket when `None`.
    pub admin: Option<String>,
}

impl Origin for CensusRequest {
    fn node(&self) -> &str {
        &self.node
    }
}

/// Carries census requests to every node.
pub trait Census: Fanout<CensusRequest> {}

impl<F: Fanout<CensusRequest> + ?Sized> Census for F {}

/// Census requests within one process.
pub type MemoryCensus = MemoryFanout<CensusRequest>;
