//! The exposition: the Prometheus recorder (metrics-exporter-prometheus, render only) and the
//! separate listener of `--metrics-listen` serving `GET /metrics` with axum. Gauges that are
//! cheaper to read than to keep (sockets by transport, rooms live) and the process metrics
//! (metrics-process) are taken at each scrape.

use std::{net::SocketAddr, sync::Arc};

use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge};
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use socketioxide::{SocketIo, adapter::Adapter};
use tokio_util::sync::CancellationToken;

use super::*;

/// Latencies of answers, first tokens and the bus: 1 ms to 30 s.
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Tokens per second of a reply: from a slow CPU model to a fast hosted one.
const TOKENS_PER_SECOND: [f64; 10] = [
    1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 100.0, 200.0, 500.0, 1000.0,
];

static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();

/// Installs the process-wide recorder (once; `false` if one was installed already). Call it
/// before anything counts: handles taken earlier stay no-ops.
pub fn install() -> bool {
    if HANDLE.get().is_some() {
        return false;
    }
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in [
        (ACK_DURATION_SECONDS, &SECONDS[..]),
        (BOT_FIRST_TOKEN_SECONDS, &SECONDS[..]),
        (CLUSTER_BUS_LAG_SECONDS, &SECONDS[..]),
        (BOT_TOKENS_PER_SECOND, &TOKENS_PER_SECOND[..]),
    ] {
        builder = match builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets) {
            Ok(b) => b,
            Err(_) => unreachable!("the bucket lists are not empty"),
        };
    }
    let Ok(handle) = builder.install_recorder() else {
        return false;
    };
    describe();
    HANDLE.get_or_init(|| handle);
    true
}

/// Help lines of every metric, and the counters of every bounded label registered at 0 so
/// they exist from the start (a rate over a series that appears late misses its first
/// increase, and an alert on it has nothing to watch).
fn describe() {
    let counters = [
        (CONNECTS_TOTAL, "Sockets that joined a namespace"),
        (DISCONNECTS_TOTAL, "Sockets that left, by reason"),
        (EVENTS_RECEIVED_TOTAL, "Events received from clients"),
        (
            EVENTS_EMITTED_TOTAL,
            "Events queued for clients, one per socket",
        ),
        (REFUSALS_TOTAL, "Requests refused, by error code"),
        (MESSAGES_STORED_TOTAL, "New messages stored by this node"),
        (
            REPLAY_LAGGING_TOTAL,
            "Times a socket fell behind live delivery",
        ),
        (
            REPLAYED_MESSAGES_TOTAL,
            "Messages replayed to lagging sockets",
        ),
        (RECEIVED_BYTES_TOTAL, "Bytes read from client connections"),
        (SENT_BYTES_TOTAL, "Bytes written to client connections"),
        (BOT_REQUESTS_TOTAL, "Bot requests admitted"),
        (BOT_REPLIES_TOTAL, "Bot replies ended, by finish reason"),
        (BOT_CANCELLATIONS_TOTAL, "Bot requests cancelled"),
        (
            BOT_UPSTREAM_ERRORS_TOTAL,
            "Bot replies failed upstream, by kind",
        ),
        (CLUSTER_REDIS_ERRORS_TOTAL, "Redis operations that failed"),
    ];
    for (name, help) in counters {
        describe_counter!(name, help);
    }
    for name in [
        MESSAGES_STORED_TOTAL,
        REPLAY_LAGGING_TOTAL,
        REPLAYED_MESSAGES_TOTAL,
        BOT_REQUESTS_TOTAL,
    ] {
        counter!(name).increment(0);
    }
    let labelled: [(&str, &str, &[&'static str]); 4] = [
        (BOT_REPLIES_TOTAL, "finish", &FINISHES),
        (BOT_CANCELLATIONS_TOTAL, "state", &CANCEL_STATES),
        (BOT_UPSTREAM_ERRORS_TOTAL, "kind", &UPSTREAM_KINDS),
        (DISCONNECTS_TOTAL, "reason", &DISCONNECT_REASONS),
    ];
    for (name, label, values) in labelled {
        for value in values {
            counter!(name, label => *value).increment(0);
        }
    }
    use crate::wire::ErrorCode as E;
    for code in [
        E::BadRequest,
        E::TooLarge,
        E::Unauthorized,
        E::Forbidden,
        E::NotFound,
        E::RateLimited,
        E::QueueFull,
        E::Internal,
    ] {
        counter!(REFUSALS_TOTAL, "code" => code.as_str()).increment(0);
    }
    for (name, help) in [
        (CONNECTIONS, "Sockets connected now"),
        (ROOMS_LIVE, "Rooms with a feed on this node"),
        (
            BOT_QUEUE_LENGTH,
            "Bot requests waiting behind a running reply",
        ),
        (
            BOT_REPLIES_RUNNING,
            "Bot replies being written by this node",
        ),
        (CLUSTER_REDIS_UP, "Whether the Redis connection is up"),
    ] {
        describe_gauge!(name, help);
    }
    gauge!(BOT_QUEUE_LENGTH).increment(0.0);
    gauge!(BOT_REPLIES_RUNNING).increment(0.0);
    for (name, help) in [
        (ACK_DURATION_SECONDS, "Time to answer an event"),
        (BOT_FIRST_TOKEN_SECONDS, "Time to a reply's first token"),
        (BOT_TOKENS_PER_SECOND, "Tokens per second of a reply"),
        (
            CLUSTER_BUS_LAG_SECONDS,
            "Time from publication to arrival on the bus",
        ),
    ] {
        describe_histogram!(name, help);
    }
    meters();
}

/// Namespaces whose sockets [`connections`] counts.
pub type Namespaces = &'static [&'static str];

/// Sets [`CONNECTIONS`] from this node's sockets of `namespaces`.
pub fn connections<A: Adapter>(io: &SocketIo<A>, namespaces: Namespaces) {
    for ns in namespaces {
        let (mut polling, mut websocket) = (0u32, 0u32);
        if let Some(ops) = io.of(*ns) {
            for socket in ops.sockets() {
                match socket.transport_type() {
                    socketioxide::TransportType::Polling => polling += 1,
                    socketioxide::TransportType::Websocket => websocket += 1,
                }
            }
        }
        gauge!(CONNECTIONS, "transport" => "polling", "namespace" => *ns).set(polling);
        gauge!(CONNECTIONS, "transport" => "websocket", "namespace" => *ns).set(websocket);
    }
}

/// What a scrape reads before rendering: gauges taken from the live state.
pub type Scrape = Arc<dyn Fn() + Send + Sync>;

/// The running metrics listener.
pub struct Listener {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Binds `addr` and serves `GET /metrics` there; `scrape` runs before each rendering.
    /// Needs [`install`] first.
    pub async fn start(addr: SocketAddr, scrape: Scrape) -> std::io::Result<Self> {
        let handle = HANDLE
            .get()
            .cloned()
            .ok_or_else(|| std::io::Error::other("no metrics recorder installed"))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let collector = Arc::new(metrics_process::Collector::default());
        collector.describe();
        let router = Router::new()
            .route("/metrics", get(render))
            .with_state(Exposition {
                handle,
                scrape,
                collector,
            });
        let stop = CancellationToken::new();
        let until = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(until)
                .await
            {
                tracing::warn!(cause = %e, "metrics listener failed");
            }
        });
        Ok(Self { addr, stop, task })
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The line printed on stdout after the listening line; tests read the port from it.
    pub fn line(&self) -> String {
        format!("metrics on http://{}/metrics", self.addr)
    }

    /// Stops serving (a scrape under way finishes).
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.ok();
    }
}

#[derive(Clone)]
struct Exposition {
    handle: PrometheusHandle,
    scrape: Scrape,
    collector: Arc<metrics_process::Collector>,
}

async fn render(State(exposition): State<Exposition>) -> impl IntoResponse {
    (exposition.scrape)();
    exposition.collector.collect();
    exposition.handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exposition.handle.render(),
    )
}
