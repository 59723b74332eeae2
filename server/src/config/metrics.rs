//! Options of the metrics listener: Prometheus metrics on an address of their own.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Where `GET /metrics` is served, apart from the public port.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsOptions {
    /// Serve Prometheus metrics at `GET /metrics` on this address (`HOST:PORT`, port 0 picks a
    /// free one), a listener of its own: never the public port. Off by default
    #[arg(long, env = "CHAT_METRICS_LISTEN", value_name = "HOST:PORT")]
    pub metrics_listen: Option<SocketAddr>,
}
