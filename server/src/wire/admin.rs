//! What the `/admin` namespace sends, shaped as `@socket.io/admin-ui` 0.5.1 shapes it (its
//! `typed-events.d.ts`): the configuration, the server's stats and the sockets.

use serde::Serialize;
use serde_json::{Map, Value};

/// `config`: what the UI may offer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminConfig {
    /// `EMIT`, `JOIN`, `LEAVE`, `DISCONNECT`, `MJOIN`, `MLEAVE`, `MDISCONNECT`,
    /// `AGGREGATED_EVENTS`, `ALL_EVENTS`.
    pub supported_features: Vec<&'static str>,
}

/// `server_stats`, every 2 s from every node; the UI keys them by `serverId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// The node's name in the cluster (`--node-id`).
    pub server_id: String,
    /// The machine's host name.
    pub hostname: String,
    /// The process id.
    pub pid: u32,
    /// Seconds since the server started.
    pub uptime: f64,
    /// Connected Engine.IO clients.
    pub clients_count: usize,
    /// Those of them still on HTTP long-polling.
    pub polling_clients_count: usize,
    /// Counts per second since the last stats (connections, disconnections).
    pub aggregated_events: Vec<AggregatedEvent>,
    /// Each namespace and its sockets on this node.
    pub namespaces: Vec<NamespaceDetails>,
}

/// A count of one kind of event within one second.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedEvent {
    /// The second, in milliseconds since the epoch.
    pub timestamp: i64,
    /// `rawConnection` or `rawDisconnection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The disconnection's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<&'static str>,
    /// How many.
    pub count: u64,
}

/// A namespace and how many sockets it has here.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceDetails {
    /// `/` or `/admin`.
    pub name: String,
    /// Its sockets on this node.
    pub sockets_count: usize,
}

/// A socket as the UI lists it (`all_sockets`, `socket_connected`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SerializedSocket {
    /// The socket id (shown only to the Admin UI).
    pub id: String,
    /// The Engine.IO client's id, shortened as the package does (12 characters).
    pub client_id: String,
    /// `polling` or `websocket`.
    pub transport: &'static str,
    /// The namespace.
    pub nsp: String,
    /// Who the server took the socket for (`userId`, `name`, `guest`).
    pub data: Value,
    /// The handshake, secrets redacted.
    pub handshake: Handshake,
    /// Its adapter rooms.
    pub rooms: Vec<String>,
}

/// What the socket's first request carried, secrets redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Handshake {
    /// The client's address.
    pub address: String,
    /// Request headers; credentials redacted.
    pub headers: Map<String, Value>,
    /// Query parameters; secrets redacted.
    pub query: Map<String, Value>,
    /// When the socket connected, in milliseconds since the epoch.
    pub issued: i64,
    /// The same, as a date.
    pub time: String,
    /// Over TLS.
    pub secure: bool,
    /// The request's path and query.
    pub url: String,
    /// Sent with an `Origin` (a page from elsewhere).
    pub xdomain: bool,
    /// The socket's `auth`, its token redacted.
    pub auth: Value,
}

/// `socket_updated` after a transport upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct SocketUpdate {
    /// The socket id.
    pub id: String,
    /// The namespace.
    pub nsp: String,
    /// The transport now.
    pub transport: &'static str,
}
