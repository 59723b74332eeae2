//! Options of cluster mode: several nodes through Redis, behind a proxy.

use serde::{Deserialize, Serialize};

/// Several nodes as one: Redis, the cluster's name on it, the proxy in front.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Cluster")]
pub struct ClusterOptions {
    /// Redis 7 URL (`redis://HOST:PORT`, RESP3 is used): runs this node as one of a cluster,
    /// with the Socket.IO adapter, the room bus, presence, membership events and rate limits in
    /// Redis. Needs a PostgreSQL --database-url and a --jwt-secret shared by every node
    #[arg(long, env = "CHAT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Keeps this cluster's Redis keys and channels apart from other clusters on the same
    /// Redis (and is the `key` of @socket.io/redis-emitter)
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = "chat")]
    pub redis_prefix: String,

    /// The server is behind a proxy it trusts (nginx): a client's address is the last one the
    /// proxy added to `X-Forwarded-For`, for logs and limits. Never set it when clients reach
    /// the server directly: they could then claim any address
    #[arg(long, env = "CHAT_TRUST_PROXY", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_proxy: bool,
}
