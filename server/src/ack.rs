//! Acknowledgements that are not lost when a socket's outgoing queue is momentarily full.
//!
//! socketioxide's `AckSender::send` fails at once when `max_buffer_size` packets wait for the
//! socket, and the answer is gone. A client that fires many events at once fills that queue with
//! the room's own traffic, so [`Ack`] keeps what it needs to make a fresh `AckSender` and retries
//! for a while (the client is reading, just behind), giving up only when the socket is closed
//! or the deadline passes.

use std::{convert::Infallible, sync::Arc, time::Duration};

use serde::Serialize;
use socketioxide::{
    SendError, SocketError, adapter::Adapter, extract::AckSender, handler::FromMessageParts,
    socket::Socket,
};
use tracing::warn;

/// How long an answer may wait for room in the socket's queue.
const DEADLINE: Duration = Duration::from_secs(30);
/// Pause between attempts.
const PAUSE: Duration = Duration::from_millis(5);

/// The way to answer the current event (nothing happens if the client asked for no answer).
pub struct Ack<A: Adapter = socketioxide::adapter::LocalAdapter> {
    socket: Arc<Socket<A>>,
    ack_id: Option<i64>,
}

impl<A: Adapter> FromMessageParts<A> for Ack<A> {
    type Error = Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self {
            socket: s.clone(),
            ack_id: *ack_id,
        })
    }
}

impl<A: Adapter> Ack<A> {
    /// Sends the answer, waiting for room in the socket's queue if need be.
    pub async fn send<T: Serialize + ?Sized>(self, data: &T) {
        if self.ack_id.is_none() {
            return;
        }
        let started = tokio::time::Instant::now();
        loop {
            let mut unused = socketioxide_core::Value::Str(Default::default(), None);
            let Ok(sender) = AckSender::from_message_parts(&self.socket, &mut unused, &self.ack_id);
            match sender.send(data) {
                Ok(()) => return,
                Err(SendError::Socket(SocketError::InternalChannelFull))
                    if started.elapsed() < DEADLINE =>
                {
                    tokio::time::sleep(PAUSE).await;
                }
                Err(SendError::Socket(SocketError::Closed)) => return,
                Err(e) => {
                    warn!(cause = %e, "cannot send an acknowledgement");
                    return;
                }
            }
        }
    }
}
