//! Configuration: command-line flags, `CHAT_*` environment variables and an optional TOML file.
//!
//! Precedence, highest first: flag, environment variable, `--config` file, built-in default.
//! This is the only module that reads the process environment.
//!
//! - `sections`: the options, grouped (server, transport, storage, auth, limits, bot, llm);
//! - `kinds`: the enumerated values (transports, parser, SQLite sync, log format);
//! - `load`: merging flags, variables, the file and the defaults, and naming what is wrong;
//! - `validate`: values that parse but make no sense.

mod admin;
mod api;
mod cluster;
mod kinds;
mod load;
mod metrics;
mod sections;
mod validate;

pub use self::metrics::MetricsOptions;
pub use admin::{AdminMode, AdminOptions};
pub use api::{ApiOptions, parse_key_file};
pub use cluster::ClusterOptions;
pub use kinds::{LogFormat, ParserKind, SqliteSynchronous, Transport};
pub use load::ConfigError;
pub use sections::{
    AuthOptions, BotOptions, LimitOptions, LlmOptions, ServerOptions, StorageOptions,
    TransportOptions,
};

use std::{path::PathBuf, time::Duration};

use clap::{CommandFactory, FromArgMatches, Parser};
use serde::{Deserialize, Serialize};

/// Prefix of every environment variable the server reads.
pub const ENV_PREFIX: &str = "CHAT_";

/// Every option of the server. Field names are the TOML keys; flags are the kebab-case form.
#[derive(Debug, Clone, Parser, Serialize, Deserialize)]
#[command(
    name = "server",
    version,
    about = "A socket.io v5 realtime chat server"
)]
pub struct Config {
    /// What to do; without a command, serve.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,

    /// TOML file with options; its keys are the long flag names with `_` for `-`.
    #[arg(long, env = "CHAT_CONFIG", value_name = "FILE", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Where the server listens, its HTTP behaviour and its logs.
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerOptions,

    /// Engine.IO and Socket.IO: transports, parser, heartbeats, sizes.
    #[command(flatten)]
    #[serde(flatten)]
    pub transport: TransportOptions,

    /// Where the chat's durable state lives.
    #[command(flatten)]
    #[serde(flatten)]
    pub storage: StorageOptions,

    /// Who may connect: tokens and guests.
    #[command(flatten)]
    #[serde(flatten)]
    pub auth: AuthOptions,

    /// What one client or user may ask and hold.
    #[command(flatten)]
    #[serde(flatten)]
    pub limits: LimitOptions,

    /// The chatbot: its name, prompt, streaming and admission.
    #[command(flatten)]
    #[serde(flatten)]
    pub bot: BotOptions,

    /// The language model behind the bot: any OpenAI-compatible endpoint.
    #[command(flatten)]
    #[serde(flatten)]
    pub llm: LlmOptions,

    /// Several nodes through Redis, behind a proxy.
    #[command(flatten)]
    #[serde(flatten)]
    pub cluster: ClusterOptions,

    /// Prometheus metrics on a listener of their own.
    #[command(flatten)]
    #[serde(flatten)]
    pub metrics: MetricsOptions,
    /// The HTTP API for backends: keys, rate, body limit.
    #[command(flatten)]
    #[serde(flatten)]
    pub api: ApiOptions,
    /// The socket.io Admin UI: the `/admin` namespace and its page.
    #[command(flatten)]
    #[serde(flatten)]
    pub admin: AdminOptions,
}

/// Commands other than serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print a signed token for a user, for development and scripts.
    Token {
        /// The user id (the token's `sub`).
        #[arg(long)]
        user: String,
        /// The display name (default: the user id).
        #[arg(long)]
        name: Option<String>,
        /// How long the token is valid, in seconds.
        #[arg(long, default_value_t = 24 * 3600)]
        ttl_secs: u64,
    },
    /// Print the bcrypt hash of a password read from stdin, for --admin-password-hash.
    HashPassword {
        /// bcrypt's cost (work factor).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
        cost: u32,
    },
}

/// A loaded configuration with the warnings found while loading it, to be logged once logging is up.
#[derive(Debug)]
pub struct Loaded {
    /// The merged, validated configuration.
    pub config: Config,
    /// Non-fatal findings, such as unknown `CHAT_*` variables.
    pub warnings: Vec<String>,
}

impl Config {
    /// The database URL in force: the configured one or the embedded default.
    pub fn database_url(&self) -> String {
        match &self.storage.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.storage.data_dir.join("chat.db").display()
            ),
        }
    }

    /// Whether the database lives in memory only (tests).
    pub fn in_memory_database(&self) -> bool {
        self.database_url().contains(":memory:")
    }

    /// The time between pings.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.transport.ping_interval_ms)
    }

    /// The time a client has to answer a ping.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.transport.ping_timeout_ms)
    }

    /// The time a client has to connect to a namespace.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.transport.connect_timeout_ms)
    }

    /// The default acknowledgement timeout.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_millis(self.transport.ack_timeout_ms)
    }

    /// How long an HTTP connection may wait without a complete request head.
    pub fn http_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.server.http_idle_timeout_ms)
    }

    /// The hard shutdown deadline.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.server.shutdown_timeout_ms)
    }

    /// Whether the server speaks TLS.
    pub fn tls(&self) -> bool {
        self.server.tls_cert.is_some()
    }
}

impl Default for Config {
    fn default() -> Self {
        // The defaults live in the clap attributes alone; parsing no argument yields them.
        Self::command()
            .try_get_matches_from(["server"])
            .ok()
            .and_then(|m| Self::from_arg_matches(&m).ok())
            .unwrap_or_else(|| unreachable!("the built-in defaults always parse"))
    }
}
