//! The socket.io Admin UI (`@socket.io/admin-ui` 0.5.1): the `/admin` namespace speaking the
//! package's protocol, and its built page at `/admin-ui/`. Only with `--admin-user` and
//! `--admin-password-hash`; without them neither exists. `docs/ADMIN-UI.md` says what is shown,
//! what is redacted and what works across nodes.
//!
//! - [`login`]: the credentials (bcrypt) and the session ids the UI reconnects with.
//! - [`sockets`]: a socket as the UI sees it, its secrets redacted.
//! - [`tracker`]: what the UI was told about this node's sockets; connections counted.
//! - [`feed`]: the chat's socket events and the `server_stats` every 2 s, sent to `/admin`.
//! - [`commands`]: `emit`, `join`, `leave`, `_disconnect`.
//! - [`ui`]: the page.
//!
//! Socket ids leave the server only here: everything this module emits goes to `/admin`.

pub mod commands;
pub mod feed;
pub mod login;
pub mod sockets;
pub mod tracker;
pub mod ui;

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use serde_json::Value;
use socketioxide::{
    SocketIo,
    adapter::Adapter,
    extract::{SocketRef, TryData},
    socket::DisconnectReason,
};

use crate::{
    chat::Chat,
    clock::now_ms,
    config::{AdminMode, Config},
    ports::{Census, CensusRequest},
    wire::admin::AdminConfig,
};

use self::{
    login::{Gate, InvalidCredentials, Login},
    sockets::{Context, reason_name, serialize, transport_name},
    tracker::Tracker,
};

/// The namespace the UI connects to.
pub const NSP: &str = "/admin";
/// The chat's namespace, whose sockets the UI shows.
pub const CHAT_NSP: &str = "/";

/// The Admin UI's side of the server; cheap to clone.
#[derive(Clone)]
pub struct Admin(Arc<Inner>);

/// What [`Admin`] holds.
pub struct Inner {
    gate: Gate,
    /// `development`: every socket event; `production`: the stats only.
    pub mode: AdminMode,
    /// Commands neither offered nor obeyed.
    pub readonly: bool,
    /// This node in `server_stats` (`--node-id`).
    pub server_id: String,
    /// The machine's name.
    pub hostname: String,
    started: Instant,
    cx: Context,
    tracker: Mutex<Tracker>,
    /// Asks the other nodes to tell the admins of their sockets.
    census: Arc<dyn Census>,
}

impl std::ops::Deref for Admin {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// When a socket connected, as the UI was told (`handshake.issued`).
#[derive(Debug, Clone, Copy)]
struct Issued(i64);

/// The session id of a fresh login, sent once the socket is in.
#[derive(Debug, Clone)]
struct NewSession(String);

impl Admin {
    /// The Admin UI, when the configuration enables it; `node` names this server, `secret` is
    /// the token secret (session ids are signed with it), `census` reaches the other nodes (the chat's, [`crate::chat::Shared::census`]).
    pub fn new(cfg: &Config, node: &str, secret: &[u8], census: Arc<dyn Census>) -> Option<Self> {
        let (user, hash) = cfg.admin.credentials()?;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| node.to_owned());
        Some(Self(Arc::new(Inner {
            gate: Gate::new(user, hash, secret),
            mode: cfg.admin.admin_mode,
            readonly: cfg.admin.admin_readonly,
            server_id: node.to_owned(),
            hostname,
            started: Instant::now(),
            cx: Context {
                trust_proxy: cfg.cluster.trust_proxy,
                secure: cfg.tls(),
            },
            tracker: Mutex::default(),
            census,
        })))
    }

    /// Whether every socket event is sent (development mode).
    pub fn verbose(&self) -> bool {
        self.mode == AdminMode::Development
    }

    /// What `config` offers: the commands unless read-only, the per-second counts, and every
    /// event in development mode.
    pub fn features(&self) -> Vec<&'static str> {
        let mut features = if self.readonly {
            Vec::new()
        } else {
            vec![
                "EMIT",
                "JOIN",
                "LEAVE",
                "DISCONNECT",
                "MJOIN",
                "MLEAVE",
                "MDISCONNECT",
            ]
        };
        features.push("AGGREGATED_EVENTS");
        if self.verbose() {
            features.push("ALL_EVENTS");
        }
        features
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets up `/admin` on `io`, follows the chat's sockets and starts the stats. Returns what
    /// the adapter's namespace set-up returns (a future to await for the cluster's adapter).
    pub fn register<A>(&self, io: &SocketIo<A>, chat: &Chat<A>) -> A::InitRes
    where
        A: socketioxide_core::adapter::DefinedAdapter + Adapter,
    {
        use socketioxide::handler::ConnectHandler;
        feed::follow(self.clone(), io.clone(), chat.watch.subscribe());
        feed::stats_every_2s(self.clone(), io.clone());
        feed::answer_census(self.clone(), io.clone(), self.census.subscribe());
        let (admin, gate, io2) = (self.clone(), self.clone(), io.clone());
        tracing::info!(mode = %self.mode, readonly = self.readonly, "Admin UI namespace /admin is on");
        io.ns(
            NSP,
            (move |s: SocketRef<A>| on_connect(s, admin.clone(), io2.clone())).with(
                move |s: SocketRef<A>, TryData(auth): TryData<Value>| {
                    let gate = gate.clone();
                    async move { log_in(s, auth.unwrap_or(Value::Null), gate).await }
                },
            ),
        )
    }
}

/// The connect middleware of `/admin`: good credentials or a live session, else
/// `connect_error` "invalid credentials".
async fn log_in<A: Adapter>(
    s: SocketRef<A>,
    auth: Value,
    admin: Admin,
) -> Result<(), InvalidCredentials> {
    match admin.gate.check(&auth).await {
        Ok(Login::Fresh(id)) => {
            s.extensions.insert(NewSession(id));
            Ok(())
        }
        Ok(Login::Resumed) => Ok(()),
        Err(e) => {
            tracing::warn!("Admin UI login refused");
            Err(e)
        }
    }
}

/// An admin socket is in: its session, the commands, `config`, and in development mode every
/// socket; the other admins hear of it as of any socket.
async fn on_connect<A: Adapter>(s: SocketRef<A>, admin: Admin, io: SocketIo<A>) {
    tracing::info!("Admin UI connected");
    if let Some(NewSession(id)) = s.extensions.get::<NewSession>() {
        s.emit("session", &id).ok();
    }
    commands::register(&s, &admin, &io);
    let d_admin = admin.clone();
    let d_io = io.clone();
    s.on_disconnect(move |s: SocketRef<A>, reason: DisconnectReason| {
        let (admin, io) = (d_admin.clone(), d_io.clone());
        async move { admin.told_disconnect(&io, NSP, s.id, reason).await }
    });
    s.emit(
        "config",
        &AdminConfig {
            supported_features: admin.features(),
        },
    )
    .ok();
    // The room of its own id, as in Node: the other nodes reach it there through the adapter.
    s.join(s.id.to_string());
    admin.told_connect(&io, &s).await;
    if admin.verbose() {
        s.emit("all_sockets", &admin.all_sockets(&io)).ok();
        admin.ask_census(Some(s.id.to_string()));
    }
}

impl Admin {
    /// Asks every other node to tell `admin` (an admin socket's id; every admin when `None`)
    /// of its sockets, after this node told its own.
    fn ask_census(&self, admin: Option<String>) {
        self.census.publish(CensusRequest {
            node: self.server_id.clone(),
            admin,
        });
    }

    /// Every socket of this node in `/` and `/admin`, as the UI lists them.
    pub fn all_sockets<A: Adapter>(
        &self,
        io: &SocketIo<A>,
    ) -> Vec<crate::wire::admin::SerializedSocket> {
        [CHAT_NSP, NSP]
            .into_iter()
            .filter_map(|nsp| io.of(nsp))
            .flat_map(|ns| ns.sockets())
            .map(|s| {
                let issued = s.extensions.get::<Issued>().map_or_else(now_ms, |i| i.0);
                serialize(&s, self.cx, issued)
            })
            .collect()
    }

    /// A socket came in: counted, and told in development mode.
    async fn told_connect<A: Adapter>(&self, io: &SocketIo<A>, s: &SocketRef<A>) {
        let now = now_ms();
        s.extensions.insert(Issued(now));
        let shown = serialize(s, self.cx, now);
        self.tracker().connected(
            (shown.nsp.clone(), s.id),
            transport_name(s.transport_type()),
            &shown.rooms,
            now,
        );
        if self.verbose() {
            feed::tell(io, "socket_connected", &(shown, sockets::iso8601(now))).await;
        }
    }

    /// A socket went away: counted, and told with the rooms it left in development mode.
    async fn told_disconnect<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        nsp: &str,
        sid: socketioxide::socket::Sid,
        reason: DisconnectReason,
    ) {
        let now = now_ms();
        let reason = reason_name(reason);
        let rooms = self
            .tracker()
            .disconnected(&(nsp.to_owned(), sid), reason, now);
        if let Some(rooms) = rooms
            && self.verbose()
        {
            feed::gone(io, nsp, sid, reason, &rooms).await;
        }
    }

    /// A socket joined or left a room: told in development mode, once.
    pub async fn told_room<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        nsp: &str,
        sid: socketioxide::socket::Sid,
        room: &str,
        join: bool,
    ) {
        let key = (nsp.to_owned(), sid);
        let news = {
            let mut tracker = self.tracker();
            if join {
                tracker.joined(&key, room)
            } else {
                tracker.left(&key, room)
            }
        };
        if news && self.verbose() {
            let event = if join { "room_joined" } else { "room_left" };
            let at = sockets::iso8601(now_ms());
            feed::tell(io, event, &(nsp, room, sid.to_string(), at)).await;
        }
    }
}
