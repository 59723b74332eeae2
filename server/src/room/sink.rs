//! Where a feed delivers: one socket, through its flow control. A trait so that the feed's
//! state machine can be driven against a recording sink in tests.

use std::sync::Arc;

use serde::Serialize;
use socketioxide::{adapter::Adapter, extract::SocketRef, socket::Sid};

use crate::flow::{Delivery, Flow, Frame};

/// One recipient of a room's feed.
pub trait Sink: Send + Sync + 'static {
    /// The socket's id (the key of its subscription).
    fn id(&self) -> Sid;

    /// Whether it can still receive.
    fn connected(&self) -> bool;

    /// Queues `frame` as `event`, or says why not.
    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery;
}

/// A socket and its flow control.
pub struct SocketSink<A: Adapter> {
    socket: SocketRef<A>,
    flow: Arc<Flow>,
}

impl<A: Adapter> SocketSink<A> {
    /// Delivers to `socket` within the budget of `flow`.
    pub fn new(socket: SocketRef<A>, flow: Arc<Flow>) -> Self {
        Self { socket, flow }
    }
}

impl<A: Adapter> Sink for SocketSink<A> {
    fn id(&self) -> Sid {
        self.socket.id
    }

    fn connected(&self) -> bool {
        self.socket.connected()
    }

    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery {
        self.flow.emit(&self.socket, event, frame)
    }
}
