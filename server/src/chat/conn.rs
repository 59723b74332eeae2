//! What the chat keeps per socket: who it is, the positions it asked to replay from, the rooms it
//! receives, its flow control and its first turn.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use super::auth::Identity;
use crate::{
    flow::{Flow, Turn},
    room::Since,
    wire::User,
};

/// Per-socket state, kept in the socket's extensions.
#[derive(Debug)]
pub struct Conn {
    /// The connection's tracing span: every handler of this socket runs in it.
    pub span: tracing::Span,
    /// Who the socket is.
    pub identity: Identity,
    /// Replay positions the client asked for at connect.
    pub since: std::collections::HashMap<String, Since>,
    /// Rooms this socket receives, and whether it is gone.
    rooms: Mutex<Rooms>,
    /// The token handed back in `session`.
    pub token: String,
    /// The socket's flow control (also in its extensions, for the extractors).
    pub flow: Arc<Flow>,
    /// The first turn of the socket's line, for the connect handler: events wait for it.
    setup: Mutex<Option<Turn>>,
}

#[derive(Debug, Default)]
pub(super) struct Rooms {
    pub(super) set: HashSet<String>,
    pub(super) closed: bool,
}

impl Conn {
    /// A socket's state; its first turn is taken now, for the connect handler.
    pub fn new(
        span: tracing::Span,
        identity: Identity,
        since: std::collections::HashMap<String, Since>,
        token: String,
        flow: Arc<Flow>,
    ) -> Self {
        let setup = Mutex::new(Some(flow.turn()));
        Self {
            span,
            identity,
            since,
            rooms: Mutex::new(Rooms::default()),
            token,
            flow,
            setup,
        }
    }

    /// The connect handler's turn (taken once).
    pub fn setup_turn(&self) -> Option<Turn> {
        self.setup.lock().ok().and_then(|mut t| t.take())
    }

    pub(super) fn rooms(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this socket receives `room` (which implies membership).
    pub fn in_room(&self, room: &str) -> bool {
        self.rooms().set.contains(room)
    }

    /// The rooms this socket receives.
    pub fn room_list(&self) -> Vec<String> {
        self.rooms().set.iter().cloned().collect()
    }

    /// The user as others see it.
    pub fn user(&self) -> User {
        User {
            user_id: self.identity.user_id.clone(),
            name: self.identity.name.clone(),
        }
    }
}
