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

    /// The user the socket belongs to.
    fn user(&self) -> &str;

    /// Whether it can still receive.
    fn connected(&self) -> bool;

    /// Queues `frame` as `event`, or says why not.
    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery;
}

/// A socket and its flow control.
pub struct SocketSink<A: Adapter> {
    socket: SocketRef<A>,
    flow: Arc<Flow>,
    user: String,
}

impl<A: Adapter> SocketSink<A> {
    /// Delivers to `socket`, which belongs to `user`, within the budget of `flow`.
    pub fn new(socket: SocketRef<A>, flow: Arc<Flow>, user: &str) -> Self {
        Self {
            socket,
            flow,
            user: user.to_owned(),
        }
    }
}

impl<A: Adapter> Sink for SocketSink<A> {
    fn id(&self) -> Sid {
        self.socket.id
    }

    fn user(&self) -> &str {
        &self.user
    }

    fn connected(&self) -> bool {
        self.socket.connected()
    }

    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery {
        self.flow.emit(&self.socket, event, frame)
    }
}
