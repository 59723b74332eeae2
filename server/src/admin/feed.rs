//! What `/admin` hears without asking: the chat's socket events as they happen (development
//! mode) and `server_stats` every 2 s (both modes).
//!
//! Everything is emitted to the whole `/admin` namespace through the adapter, as the package
//! does: on the cluster's adapter every node's events and stats reach an admin connected to any
//! node, and the UI tells the nodes apart by `serverId`.

use std::{collections::HashSet, sync::Arc, time::Duration};

use serde::Serialize;
use socketioxide::{SocketIo, adapter::Adapter, socket::Sid};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{Admin, CHAT_NSP, NSP, tracker::Now};
use crate::{
    chat::watch::SocketEvent,
    clock::now_ms,
    ports::CensusRequest,
    wire::admin::{NamespaceDetails, ServerStats, SocketUpdate},
};

/// The period of `server_stats`, as in the package.
pub const STATS_PERIOD: Duration = Duration::from_secs(2);

/// Emits `event` with `data` (a tuple is several arguments) to every admin socket.
pub async fn tell<A: Adapter, T: Serialize + ?Sized>(io: &SocketIo<A>, event: &str, data: &T) {
    let Some(ns) = io.of(NSP) else { return };
    if let Err(e) = ns.emit(event, data).await {
        tracing::debug!(event, cause = %e, "cannot tell the Admin UI");
    }
}

/// Tells that a socket went away, then that it left each of its rooms (the package's order:
/// the adapter's leave events come a tick after `disconnect`).
pub async fn gone<A: Adapter>(
    io: &SocketIo<A>,
    nsp: &str,
    sid: Sid,
    reason: &str,
    rooms: &[String],
) {
    let (id, at) = (sid.to_string(), super::sockets::iso8601(now_ms()));
    tell(io, "socket_disconnected", &(nsp, &id, reason, &at)).await;
    for room in rooms {
        tell(io, "room_left", &(nsp, room, &id, &at)).await;
    }
}

/// Follows the chat's socket events for as long as the chat runs.
pub fn follow<A: Adapter>(admin: Admin, io: SocketIo<A>, mut events: Receiver<SocketEvent<A>>) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(SocketEvent::Connected(s)) => {
                    if s.connected() {
                        admin.told_connect(&io, &s).await;
                    }
                }
                Ok(SocketEvent::Joined(sid, room)) => {
                    admin.told_room(&io, CHAT_NSP, sid, &room, true).await;
                }
                Ok(SocketEvent::Left(sid, room)) => {
                    admin.told_room(&io, CHAT_NSP, sid, &room, false).await;
                }
                Ok(SocketEvent::Disconnected(sid, reason)) => {
                    admin.told_disconnect(&io, CHAT_NSP, sid, reason).await;
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "Admin UI fell behind the chat's socket events: resent every socket"
                    );
                    admin.resync(&io).await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// `server_stats` now and every [`STATS_PERIOD`], after telling upgrades and sockets that went
/// away unseen.
pub fn stats_every_2s<A: Adapter>(admin: Admin, io: SocketIo<A>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(STATS_PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            admin.tick(&io).await;
        }
    });
}

/// A namespace's sockets on this node, as they are now.
fn now_in<A: Adapter>(io: &SocketIo<A>, nsp: &str) -> Vec<Now> {
    io.of(nsp).map_or_else(Vec::new, |ns| {
        ns.sockets()
            .into_iter()
            .map(|s| Now {
                key: (nsp.to_owned(), s.id),
                transport: super::sockets::transport_name(s.transport_type()),
            })
            .collect()
    })
}

/// The stats of this node from its sockets now (`/` then `/admin`).
pub fn assemble(
    admin: &Admin,
    chat: &[Now],
    admins: &[Now],
    aggregated_events: Vec<crate::wire::admin::AggregatedEvent>,
) -> ServerStats {
    let mut clients = HashSet::new();
    let mut polling = HashSet::new();
    for s in chat.iter().chain(admins) {
        clients.insert(s.key.1);
        if s.transport == "polling" {
            polling.insert(s.key.1);
        }
    }
    ServerStats {
        server_id: admin.server_id.clone(),
        hostname: admin.hostname.clone(),
        pid: std::process::id(),
        uptime: admin.started.elapsed().as_secs_f64(),
        clients_count: clients.len(),
        polling_clients_count: polling.len(),
        aggregated_events,
        namespaces: vec![
            NamespaceDetails {
                name: CHAT_NSP.to_owned(),
                sockets_count: chat.len(),
            },
            NamespaceDetails {
                name: NSP.to_owned(),
                sockets_count: admins.len(),
            },
        ],
    }
}

impl Admin {
    /// One stats tick.
    async fn tick<A: Adapter>(&self, io: &SocketIo<A>) {
        let (chat, admins) = (now_in(io, CHAT_NSP), now_in(io, NSP));
        let all: Vec<Now> = chat.iter().chain(&admins).cloned().collect();
        let (changes, events) = {
            let mut tracker = self.tracker();
            (tracker.reconcile(&all), tracker.take_events())
        };
        if self.verbose() {
            for ((nsp, sid), transport) in changes.upgraded {
                let update = SocketUpdate {
                    id: sid.to_string(),
                    nsp,
                    transport,
                };
                tell(io, "socket_updated", &update).await;
            }
            for ((nsp, sid), rooms) in changes.vanished {
                gone(io, &nsp, sid, "transport close", &rooms).await;
            }
        }
        tell(io, "server_stats", &assemble(self, &chat, &admins, events)).await;
    }

    /// After missed events: the tracker starts again from the sockets as they are, and every
    /// admin gets `all_sockets` again.
    async fn resync<A: Adapter>(&self, io: &SocketIo<A>) {
        let sockets = self.all_sockets(io);
        {
            let mut tracker = self.tracker();
            tracker.clear_sockets();
            for s in &sockets {
                if let Ok(sid) = s.id.parse::<Sid>() {
                    tracker.restore((s.nsp.clone(), sid), s.transport, &s.rooms);
                }
            }
        }
        if self.verbose() {
            tell(io, "all_sockets", &sockets).await;
            self.ask_census(None);
        }
    }

    /// Tells the admin a census request names (or every admin) of this node's sockets, one
    /// `socket_connected` each, with the time each connected.
    async fn answer<A: Adapter>(&self, io: &SocketIo<A>, request: &CensusRequest) {
        let Some(ns) = io.of(NSP) else { return };
        for socket in self.all_sockets(io) {
            let at = super::sockets::iso8601(socket.handshake.issued);
            let to = match &request.admin {
                Some(admin) => ns.clone().to(admin.clone()),
                None => ns.clone(),
            };
            if let Err(e) = to.emit("socket_connected", &(socket, at)).await {
                tracing::debug!(cause = %e, "cannot answer the Admin UI's census");
            }
        }
    }
}

/// Answers the other nodes' census requests (development mode only: in production the UI
/// lists no sockets).
pub fn answer_census<A: Adapter>(
    admin: Admin,
    io: SocketIo<A>,
    mut requests: Receiver<Arc<CensusRequest>>,
) {
    if !admin.verbose() {
        return;
    }
    tokio::spawn(async move {
        loop {
            match requests.recv().await {
                Ok(request) => admin.answer(&io, &request).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "Admin UI census requests lost: some lists stay short"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}
