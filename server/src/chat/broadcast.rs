//! Plain events from backends (the HTTP API's `emit`, `@socket.io/redis-emitter`) delivered to
//! this node's sockets: a target `user:<id>` is every socket of the user, any other target the
//! sockets a chat room is delivered to. Each event goes through the socket's [`Flow`] like
//! everything else the chat sends, and is dropped for a socket whose queue or output budget is
//! full: plain events are volatile.
//!
//! [`Flow`]: crate::flow::Flow

use std::sync::Arc;

use socketioxide::{SocketIo, adapter::Adapter};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, warn};

use super::{Chat, conn::Conn};
use crate::{
    flow::{Delivery, Frame},
    ports::{Broadcast, broadcasts::USER_TARGET},
    room::{chat_room, user_room},
    wire::{Args, ErrorBody, ErrorCode, is_reserved_event},
};

/// The adapter room of a target as a backend names it.
pub fn adapter_room(target: &str) -> String {
    match target.strip_prefix(USER_TARGET) {
        Some(user) => user_room(user),
        None => chat_room(target),
    }
}

/// What a plain event may be: a name of its own (not the chat's) and a size within the payload
/// limit (`max_bytes`, as serialized).
pub fn check(event: &Broadcast, max_bytes: u64) -> Result<(), ErrorBody> {
    if event.event.is_empty() || is_reserved_event(&event.event) {
        return Err(ErrorBody::new(
            ErrorCode::BadRequest,
            format!(
                "event name {:?} is reserved by the chat protocol or socket.io",
                event.event
            ),
        ));
    }
    let size = Frame::new(&Args(event.args.clone()), true).size();
    if u64::try_from(size).unwrap_or(u64::MAX) > max_bytes {
        return Err(ErrorBody::new(
            ErrorCode::TooLarge,
            format!("the event's data is {size} bytes, over the limit of {max_bytes}"),
        ));
    }
    Ok(())
}

impl<A: Adapter> Chat<A> {
    /// Sends a plain event to its targets' sockets on every node, after [`check`].
    pub fn broadcast(&self, event: Broadcast) -> Result<(), ErrorBody> {
        check(&event, self.limits.max_event_bytes)?;
        self.broadcasts.publish(event);
        Ok(())
    }
}

/// Delivers the plain events meant for this node's sockets, for as long as the chat runs.
pub(super) fn follow<A: Adapter>(chat: Chat<A>, io: SocketIo<A>) {
    let mut events = chat.broadcasts.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => deliver(&chat, &io, &event),
                Err(RecvError::Lagged(n)) => {
                    warn!(
                        missed = n,
                        "broadcasts: this node fell behind, plain events lost"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

fn deliver<A: Adapter>(chat: &Chat<A>, io: &SocketIo<A>, event: &Arc<Broadcast>) {
    if let Err(e) = check(event, chat.limits.max_event_bytes) {
        warn!(event = %event.event, reason = %e.message, "broadcasts: a plain event refused");
        return;
    }
    let except: Vec<String> = event.except.iter().map(|t| adapter_room(t)).collect();
    let sockets = if event.to.is_empty() {
        io.local().except(except).sockets()
    } else {
        let to: Vec<String> = event.to.iter().map(|t| adapter_room(t)).collect();
        io.local().within(to).except(except).sockets()
    };
    let args = Args(event.args.clone());
    // Not serialized ahead (a JSON frame would be one argument, and binary would be numbers):
    // socketioxide spreads the arguments and sends binary ones as attachments.
    let frame = Frame::new(&args, false);
    let mut dropped = 0usize;
    for socket in &sockets {
        let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
            continue;
        };
        if let Delivery::Full = conn.flow.emit(socket, &event.event, &frame) {
            dropped += 1;
        }
    }
    debug!(event = %event.event, sockets = sockets.len(), dropped, "broadcasts: delivered");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, text: &str) -> Broadcast {
        Broadcast {
            to: Vec::new(),
            except: Vec::new(),
            event: name.into(),
            args: vec![rmpv::Value::from(text)],
        }
    }

    #[test]
    fn targets_name_a_chat_rooms_sockets_or_a_users() {
        assert_eq!(adapter_room("general"), chat_room("general"));
        assert_eq!(adapter_room("user:ann"), user_room("ann"));
        assert_ne!(adapter_room("user:ann"), adapter_room("ann"));
    }

    #[test]
    fn chat_and_socket_io_event_names_are_refused() {
        for name in [
            "message",
            "edited",
            "bot:delta",
            "bot:anything",
            "connect",
            "",
            "session",
        ] {
            let e = check(&event(name, "x"), 1024).expect_err(name);
            assert_eq!(e.code, ErrorCode::BadRequest, "{name}");
        }
        assert!(check(&event("announce", "x"), 1024).is_ok());
    }

    #[test]
    fn data_over_the_payload_limit_is_refused() {
        let big = "x".repeat(2000);
        assert_eq!(
            check(&event("announce", &big), 1024).map_err(|e| e.code),
            Err(ErrorCode::TooLarge)
        );
        assert!(check(&event("announce", &big), 4096).is_ok());
    }
}
