//! What the chat tells an observer about its sockets (the Admin UI): a socket came in, joined
//! or left an adapter room, went away. Nothing is told while no one watches.
//!
//! socketioxide has no hook for an adapter's joins and leaves, nor a second connect or
//! disconnect handler for a namespace, so the chat, which does all of them, reports them here.

use serde_json::{Map, Value};
use socketioxide::{
    adapter::Adapter,
    extract::SocketRef,
    socket::{DisconnectReason, Sid},
};
use tokio::sync::broadcast;

use crate::wire::Auth;

/// Events an observer that falls this far behind loses (it is told it lagged and resyncs).
const CAPACITY: usize = 4096;

/// What stands for a secret in what the chat shows of a handshake.
pub const REDACTED: &str = "[redacted]";

/// One thing that happened to a chat socket.
pub enum SocketEvent<A: Adapter> {
    /// In, authenticated, in its user's room.
    Connected(SocketRef<A>),
    /// Joined an adapter room.
    Joined(Sid, String),
    /// Left an adapter room.
    Left(Sid, String),
    /// Gone, and why.
    Disconnected(Sid, DisconnectReason),
}

impl<A: Adapter> Clone for SocketEvent<A> {
    fn clone(&self) -> Self {
        match self {
            Self::Connected(s) => Self::Connected(s.clone()),
            Self::Joined(sid, room) => Self::Joined(*sid, room.clone()),
            Self::Left(sid, room) => Self::Left(*sid, room.clone()),
            Self::Disconnected(sid, reason) => Self::Disconnected(*sid, *reason),
        }
    }
}

/// The chat's sockets' events, for whoever subscribes.
pub struct Watch<A: Adapter> {
    tx: broadcast::Sender<SocketEvent<A>>,
}

impl<A: Adapter> Default for Watch<A> {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl<A: Adapter> Watch<A> {
    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SocketEvent<A>> {
        self.tx.subscribe()
    }

    /// Whether anyone listens.
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Tells the event to the observers, if any.
    pub(crate) fn tell(&self, event: SocketEvent<A>) {
        if self.watched() {
            let _ = self.tx.send(event);
        }
    }
}

/// The `auth` a socket sent, as an observer may see it: its token replaced by [`REDACTED`].
/// Kept in the socket's extensions while the chat is watched.
#[derive(Debug, Clone)]
pub struct ShownAuth(pub Value);

impl ShownAuth {
    /// What of `auth` may be shown: the guest name and recovery positions, never the token.
    pub fn of(auth: &Auth) -> Self {
        let mut shown = Map::new();
        if auth.token.is_some() {
            shown.insert("token".into(), REDACTED.into());
        }
        if let Some(name) = &auth.name {
            shown.insert("name".into(), name.as_str().into());
        }
        if !auth.since.is_empty() {
            shown.insert("since".into(), serde_json::json!(auth.since));
        }
        if !auth.rev.is_empty() {
            shown.insert("rev".into(), serde_json::json!(auth.rev));
        }
        Self(Value::Object(shown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_never_shown_and_the_rest_is() {
        let auth: Auth = serde_json::from_value(serde_json::json!({
            "token": "eyJhbGciOi.secret.sig", "name": "Ann", "since": { "general": 4 }
        }))
        .expect("auth");
        let shown = ShownAuth::of(&auth).0;
        assert_eq!(
            shown,
            serde_json::json!({ "token": REDACTED, "name": "Ann", "since": { "general": 4 } })
        );
        assert!(!shown.to_string().contains("secret"));
    }

    #[test]
    fn no_one_watching_costs_nothing_and_keeps_nothing() {
        let watch = Watch::<socketioxide::adapter::LocalAdapter>::default();
        assert!(!watch.watched());
        watch.tell(SocketEvent::Joined(Sid::new(), "r:x".into()));
        let mut rx = watch.subscribe();
        assert!(watch.watched());
        watch.tell(SocketEvent::Left(Sid::new(), "r:x".into()));
        assert!(matches!(rx.try_recv(), Ok(SocketEvent::Left(_, room)) if room == "r:x"));
    }
}
