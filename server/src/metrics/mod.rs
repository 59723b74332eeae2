//! Prometheus metrics: every metric's name (one constant each, with what it means), the bounded
//! label sets, and the handles the hot paths count with.
//!
//! The layers record through the `metrics` facade (a leaf crate, so any layer may call it);
//! the names live here alone. Without `--metrics-listen` no recorder is installed and every
//! handle is a no-op. [`export`] installs the recorder and serves `GET /metrics`.
//!
//! Labels that come from clients are bounded: an event name outside the chat protocol's
//! ([`EVENTS`]) is the one label [`OTHER`]. Counting a delivery takes no allocation: the
//! handles of every known event are registered once ([`meters`]).

pub mod export;

use std::sync::OnceLock;

use ::metrics::{Counter, Histogram, counter, histogram};

/// Sockets connected now, by `transport` (`polling`, `websocket`) and `namespace` (gauge).
pub const CONNECTIONS: &str = "chat_connections";
/// Sockets that joined a namespace, by `transport` (at connect) and `namespace` (counter).
pub const CONNECTS_TOTAL: &str = "chat_connects_total";
/// Sockets that left, by `reason` (counter).
pub const DISCONNECTS_TOTAL: &str = "chat_disconnects_total";
/// Events received from clients, by `event` (counter).
pub const EVENTS_RECEIVED_TOTAL: &str = "chat_events_received_total";
/// Events queued for clients, by `event`: one per socket reached (counter).
pub const EVENTS_EMITTED_TOTAL: &str = "chat_events_emitted_total";
/// Time from an event's arrival to its answer being queued, by `event` (histogram, seconds).
pub const ACK_DURATION_SECONDS: &str = "chat_ack_duration_seconds";
/// Requests refused, by error `code`: events' error answers and `connect_error`s (counter).
pub const REFUSALS_TOTAL: &str = "chat_refusals_total";
/// Rooms with a feed running on this node: rooms someone here receives now (gauge).
pub const ROOMS_LIVE: &str = "chat_rooms_live";
/// New messages stored by this node's writers (people's and the bot's) (counter).
pub const MESSAGES_STORED_TOTAL: &str = "chat_messages_stored_total";
/// Times a socket fell behind its room's live delivery (its queue was full) (counter).
pub const REPLAY_LAGGING_TOTAL: &str = "chat_replay_lagging_total";
/// Messages replayed to sockets behind their room (in `messages` batches) (counter).
pub const REPLAYED_MESSAGES_TOTAL: &str = "chat_replayed_messages_total";
/// Bytes read from clients' connections, both transports, TLS included (counter).
pub const RECEIVED_BYTES_TOTAL: &str = "chat_transport_received_bytes_total";
/// Bytes written to clients' connections, both transports, TLS included (counter).
pub const SENT_BYTES_TOTAL: &str = "chat_transport_sent_bytes_total";
/// Requests for the bot admitted (queued or started) (counter).
pub const BOT_REQUESTS_TOTAL: &str = "chat_bot_requests_total";
/// Bot replies ended, by `finish` (`stop`, `length`, `cancelled`, `error`, `other`) (counter).
pub const BOT_REPLIES_TOTAL: &str = "chat_bot_replies_total";
/// Time from a reply's start to its first text from the model (histogram, seconds).
pub const BOT_FIRST_TOKEN_SECONDS: &str = "chat_bot_first_token_seconds";
/// Completion tokens per second of a reply, after its first token (histogram).
pub const BOT_TOKENS_PER_SECOND: &str = "chat_bot_tokens_per_second";
/// Bot requests cancelled, by `state` (`running` reply, `waiting` request) (counter).
pub const BOT_CANCELLATIONS_TOTAL: &str = "chat_bot_cancellations_total";
/// Replies failed upstream, by `kind` (`upstream_http`, `upstream_timeout`, …) (counter).
pub const BOT_UPSTREAM_ERRORS_TOTAL: &str = "chat_bot_upstream_errors_total";
/// Requests waiting behind a running reply, all rooms of this node (gauge).
pub const BOT_QUEUE_LENGTH: &str = "chat_bot_queue_length";
/// Bot replies being written by this node now (gauge).
pub const BOT_REPLIES_RUNNING: &str = "chat_bot_replies_running";
/// Cluster mode: time from a bus event's publication on another node to its arrival here
/// (wall clocks of two nodes; histogram, seconds).
pub const CLUSTER_BUS_LAG_SECONDS: &str = "chat_cluster_bus_lag_seconds";
/// Cluster mode: Redis commands, scripts, publications and connection losses that failed
/// (counter).
pub const CLUSTER_REDIS_ERRORS_TOTAL: &str = "chat_cluster_redis_errors_total";
/// Cluster mode: whether this node's Redis connection is up, 1 or 0 (gauge).
pub const CLUSTER_REDIS_UP: &str = "chat_cluster_redis_up";

/// The label of every event name outside the chat protocol.
pub const OTHER: &str = "other";

/// Every event name of the chat protocol (`docs/PROTOCOL.md`), both directions (`presence`,
/// `typing` and `read` go both ways): the label set of `event`, with [`OTHER`] for the rest.
pub const EVENTS: [&str; 33] = [
    // The most frequent deliveries first: the label is found by a scan from the start.
    "message",
    "bot:delta",
    "presence",
    "typing",
    "read",
    "messages",
    "edited",
    "deleted",
    "reacted",
    "bot:start",
    "bot:end",
    "bot:snapshot",
    "bot:queued",
    "session",
    "joined",
    "left",
    // From clients only.
    "send",
    "rooms",
    "create",
    "join",
    "leave",
    "add",
    "edit",
    "delete",
    "react",
    "history",
    "search",
    "cancel",
    "bot:open",
    "bot:settings",
    "bot:regenerate",
    "bot:continue",
    "bot:usage",
];

/// Labels of `event`: [`EVENTS`] then [`OTHER`].
const LABELS: usize = EVENTS.len() + 1;

/// The place of `name` among the `event` labels: its index in [`EVENTS`], or the last for
/// any other name.
pub fn event_index(name: &str) -> usize {
    EVENTS
        .iter()
        .position(|known| *known == name)
        .unwrap_or(EVENTS.len())
}

/// The `event` label of `name`: itself if the protocol knows it, else [`OTHER`].
pub fn event_label(name: &str) -> &'static str {
    EVENTS.get(event_index(name)).copied().unwrap_or(OTHER)
}

/// The labels of `finish` ([`BOT_REPLIES_TOTAL`]).
pub const FINISHES: [&str; 5] = ["stop", "length", "cancelled", "error", OTHER];
/// The labels of `state` ([`BOT_CANCELLATIONS_TOTAL`]).
pub const CANCEL_STATES: [&str; 2] = ["running", "waiting"];
/// The labels of `kind` ([`BOT_UPSTREAM_ERRORS_TOTAL`]): the backends' error codes.
pub const UPSTREAM_KINDS: [&str; 5] = [
    "upstream_http",
    "upstream_timeout",
    "upstream_unreachable",
    "upstream_broken",
    "upstream_malformed",
];
/// The labels of `reason` ([`DISCONNECTS_TOTAL`]).
pub const DISCONNECT_REASONS: [&str; 8] = [
    "transport_close",
    "multiple_http_polling",
    "packet_parsing",
    "transport_error",
    "heartbeat_timeout",
    "client_disconnect",
    "server_disconnect",
    "closing_server",
];

/// The `finish` label of a reply's finish reason: the known ones, else [`OTHER`].
pub fn finish_label(reason: &str) -> &'static str {
    FINISHES
        .into_iter()
        .find(|known| *known == reason)
        .unwrap_or(OTHER)
}

/// Handles the hot paths count with, registered once for every label.
pub struct Meters {
    /// [`RECEIVED_BYTES_TOTAL`].
    pub received_bytes: Counter,
    /// [`SENT_BYTES_TOTAL`].
    pub sent_bytes: Counter,
    received: [Counter; LABELS],
    emitted: [Counter; LABELS],
    ack: [Histogram; LABELS],
}

impl Meters {
    fn register() -> Self {
        let label = |i: usize| EVENTS.get(i).copied().unwrap_or(OTHER);
        Self {
            received_bytes: counter!(RECEIVED_BYTES_TOTAL),
            sent_bytes: counter!(SENT_BYTES_TOTAL),
            received: std::array::from_fn(|i| counter!(EVENTS_RECEIVED_TOTAL, "event" => label(i))),
            emitted: std::array::from_fn(|i| counter!(EVENTS_EMITTED_TOTAL, "event" => label(i))),
            ack: std::array::from_fn(|i| histogram!(ACK_DURATION_SECONDS, "event" => label(i))),
        }
    }

    /// Counts an event received; its index (see [`event_index`]) is kept for its answer.
    pub fn received(&self, event: usize) {
        self.received[event.min(LABELS - 1)].increment(1);
    }

    /// Counts `event` queued for one socket.
    pub fn emitted(&self, event: &str) {
        self.emitted[event_index(event)].increment(1);
    }

    /// Records how long the answer to an event (by index) took.
    pub fn answered(&self, event: usize, took: std::time::Duration) {
        self.ack[event.min(LABELS - 1)].record(took.as_secs_f64());
    }
}

static METERS: OnceLock<Meters> = OnceLock::new();

/// The hot paths' handles. Registered on first use, which comes after [`export::install`] in
/// the server (handles taken before a recorder is installed stay no-ops).
pub fn meters() -> &'static Meters {
    METERS.get_or_init(Meters::register)
}

/// Sets [`ROOMS_LIVE`].
pub fn rooms_live(rooms: usize) {
    ::metrics::gauge!(ROOMS_LIVE).set(rooms as f64);
}

/// Counts a socket gone, by why.
pub fn disconnected(reason: socketioxide::socket::DisconnectReason) {
    use socketioxide::socket::DisconnectReason as R;
    let at = match reason {
        R::TransportClose => 0,
        R::MultipleHttpPollingError => 1,
        R::PacketParsingError => 2,
        R::TransportError => 3,
        R::HeartbeatTimeout => 4,
        R::ClientNSDisconnect => 5,
        R::ServerNSDisconnect => 6,
        R::ClosingServer => 7,
    };
    counter!(DISCONNECTS_TOTAL, "reason" => DISCONNECT_REASONS[at]).increment(1);
}

/// Counts a refusal with error `code`.
pub fn refused(code: &'static str) {
    counter!(REFUSALS_TOTAL, "code" => code).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_event_names_are_their_own_label() {
        for name in EVENTS {
            assert_eq!(event_label(name), name);
        }
        assert_eq!(EVENTS[event_index("send")], "send");
    }

    #[test]
    fn any_other_name_is_the_one_label_other() {
        for name in [
            "",
            "Send",
            "send ",
            "bot:",
            "x".repeat(10_000).as_str(),
            "other",
        ] {
            assert_eq!(event_label(name), OTHER, "{name:?}");
            assert_eq!(event_index(name), EVENTS.len());
        }
    }

    /// Every event of `docs/PROTOCOL.md`'s event tables (`| event | payload |` ones)
    /// has a label of its own.
    #[test]
    fn every_event_of_the_protocol_is_known() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md");
        let doc = std::fs::read_to_string(path).expect("docs/PROTOCOL.md");
        let mut in_table = false;
        let mut found = 0;
        for line in doc.lines() {
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            if line.starts_with("| event") && line.contains("| payload |") {
                in_table = true;
                continue;
            }
            let Some(name) = line.split('`').nth(1).filter(|_| in_table) else {
                continue;
            };
            assert_eq!(event_label(name), name, "PROTOCOL.md's {name} has no label");
            found += 1;
        }
        assert!(found >= 25, "only {found} events found in PROTOCOL.md");
    }

    #[test]
    fn event_names_are_unique() {
        let set: std::collections::HashSet<_> = EVENTS.iter().collect();
        assert_eq!(set.len(), EVENTS.len());
    }

    #[test]
    fn unknown_finish_reasons_are_other() {
        assert_eq!(finish_label("stop"), "stop");
        assert_eq!(finish_label("cancelled"), "cancelled");
        assert_eq!(finish_label("content_filter"), OTHER);
    }

    #[test]
    fn an_index_out_of_range_counts_as_other() {
        // No recorder here: the handles are no-ops, and a wrong index must not panic.
        meters().received(usize::MAX);
        meters().answered(LABELS + 3, std::time::Duration::from_millis(1));
    }
}
