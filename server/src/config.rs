//! Configuration: command-line flags, `CHAT_*` environment variables and an optional TOML file.
//!
//! Precedence, highest first: flag, environment variable, `--config` file, built-in default.
//! This is the only module that reads the process environment.

use std::{collections::BTreeSet, ffi::OsString, net::IpAddr, path::PathBuf, time::Duration};

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum, parser::ValueSource};
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
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What to do; without a command, serve.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,

    /// TOML file with options; its keys are the long flag names with `_` for `-`.
    #[arg(long, env = "CHAT_CONFIG", value_name = "FILE", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "CHAT_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one; the listening line shows which).
    #[arg(long, env = "CHAT_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Length of the TCP accept queue, so bursts of handshakes are not refused.
    #[arg(long, env = "CHAT_BACKLOG", default_value_t = 4096)]
    pub backlog: u32,

    /// Allowed CORS origin; repeat the flag (or comma-separate the variable). `*` allows any
    /// origin (development only). Empty: no CORS headers, same-origin pages only.
    #[arg(long = "cors-origin", env = "CHAT_CORS_ORIGIN", value_delimiter = ',')]
    #[serde(default)]
    pub cors_origin: Vec<String>,

    /// PEM certificate chain; with --tls-key the server speaks https and wss only.
    #[arg(long, env = "CHAT_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key matching --tls-cert.
    #[arg(long, env = "CHAT_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Also accept Engine.IO v3 clients (socket.io-client 2.x).
    #[arg(long, env = "CHAT_ALLOW_EIO3", default_value_t = false)]
    pub allow_eio3: bool,

    /// Transports clients may use.
    #[arg(long, env = "CHAT_TRANSPORTS", value_delimiter = ',', default_values_t = [Transport::Polling, Transport::Websocket])]
    pub transports: Vec<Transport>,

    /// Socket.IO packet parser; clients must use the same one.
    #[arg(long, env = "CHAT_PARSER", default_value_t = ParserKind::Common)]
    pub parser: ParserKind,

    /// Interval between Engine.IO pings, in milliseconds.
    #[arg(long, env = "CHAT_PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,

    /// How long a client has to answer a ping before it is dropped, in milliseconds.
    #[arg(long, env = "CHAT_PING_TIMEOUT_MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,

    /// How long a client has to join a namespace after the handshake, in milliseconds.
    #[arg(long, env = "CHAT_CONNECT_TIMEOUT_MS", default_value_t = 45_000)]
    pub connect_timeout_ms: u64,

    /// How long the server waits for a client's acknowledgement, in milliseconds.
    #[arg(long, env = "CHAT_ACK_TIMEOUT_MS", default_value_t = 5_000)]
    pub ack_timeout_ms: u64,

    /// Largest HTTP long-polling body and WebSocket message accepted, in bytes.
    #[arg(long, env = "CHAT_MAX_PAYLOAD_BYTES", default_value_t = 1_000_000)]
    pub max_payload_bytes: u64,

    /// Packets that may wait for one slow client before emits to it are refused (the chat then
    /// replays what that client missed from storage as it catches up).
    #[arg(long, env = "CHAT_MAX_BUFFER_SIZE", default_value_t = 1024)]
    pub max_buffer_size: usize,

    /// Read buffer of each WebSocket connection, in bytes; larger messages grow it. Every idle
    /// connection holds one, so it is kept small (socketioxide's default is 4096).
    #[arg(long, env = "CHAT_WS_READ_BUFFER_BYTES", default_value_t = 1024)]
    pub ws_read_buffer_bytes: usize,

    /// Events one connection may have waiting or running at once; beyond it an event is
    /// answered `rate_limited` at once.
    #[arg(long, env = "CHAT_MAX_PENDING_EVENTS", default_value_t = 256)]
    pub max_pending_events: usize,

    /// Bytes the server may queue for one connection (answers, messages, replays, bot events),
    /// refilled over 5 s; past it answers wait and messages are replayed later from storage.
    #[arg(long, env = "CHAT_CLIENT_OUTPUT_LIMIT_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub client_output_limit_bytes: usize,

    /// A connection whose output stays over its limit this long is disconnected (it reconnects
    /// and recovers by `seq`), in milliseconds.
    #[arg(long, env = "CHAT_SLOW_CLIENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub slow_client_timeout_ms: u64,

    /// Long-polling responses larger than this are compressed (gzip or brotli), in bytes.
    #[arg(long, env = "CHAT_COMPRESSION_MIN_BYTES", default_value_t = 1024)]
    pub compression_min_bytes: u64,

    /// An HTTP connection that has not sent a complete request head this long after it was
    /// accepted or after its previous response is closed, in milliseconds (it bounds silent,
    /// slow-header and idle keep-alive connections; requests being served and WebSockets are
    /// not affected).
    #[arg(long, env = "CHAT_HTTP_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    pub http_idle_timeout_ms: u64,

    /// Hard deadline for a graceful shutdown after SIGINT or SIGTERM, in milliseconds.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,

    /// Log format on stderr.
    #[arg(long, env = "CHAT_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Folder of the demo page served at `/` (built by `npm run build` in web-client/).
    #[arg(long, env = "CHAT_STATIC_DIR", default_value = "web-client/dist")]
    pub static_dir: PathBuf,

    /// Folder for the embedded database and the generated token secret.
    #[arg(long, env = "CHAT_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Database: `sqlite://FILE`, `sqlite::memory:` or `postgres://…`. Default: a SQLite file
    /// `chat.db` in the data folder.
    #[arg(long, env = "CHAT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// PostgreSQL schema holding the tables (created if missing).
    #[arg(long, env = "CHAT_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,

    /// SQLite durability: `full` survives power loss, `normal` survives a crash of the server.
    #[arg(long, env = "CHAT_SQLITE_SYNCHRONOUS", default_value_t = SqliteSynchronous::Full)]
    pub sqlite_synchronous: SqliteSynchronous,

    /// Let clients without a token in as guests, named by the `name` they give.
    #[arg(long, env = "CHAT_ALLOW_GUESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_guests: bool,

    /// Secret for HS256 tokens. Default: read from (or created in) `jwt-secret` in the data folder;
    /// with an in-memory database, a random one per start.
    #[arg(long, env = "CHAT_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// How long a guest's token stays valid, in seconds.
    #[arg(long, env = "CHAT_GUEST_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub guest_token_ttl_secs: u64,

    /// Longest message text, in bytes of UTF-8.
    #[arg(long, env = "CHAT_MAX_MESSAGE_BYTES", default_value_t = 4096)]
    pub max_message_bytes: usize,

    /// Messages a user may send per second, sustained.
    #[arg(long, env = "CHAT_RATE_LIMIT_PER_SEC", default_value_t = 20)]
    pub rate_limit_per_sec: u32,

    /// Messages a user may send at once before the sustained rate applies.
    #[arg(long, env = "CHAT_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// Rooms a user may create per minute (also the burst).
    #[arg(long, env = "CHAT_ROOMS_PER_MINUTE", default_value_t = 10)]
    pub rooms_per_minute: u32,

    /// `typing` notices a user may send per second (bursts of twice that).
    #[arg(long, env = "CHAT_TYPING_PER_SEC", default_value_t = 5)]
    pub typing_per_sec: u32,

    /// How long a `typing` notice lasts unless repeated, in milliseconds.
    #[arg(long, env = "CHAT_TYPING_TIMEOUT_MS", default_value_t = 5_000)]
    pub typing_timeout_ms: u64,

    /// The bot's display name; its user id is `bot`.
    #[arg(long, env = "CHAT_BOT_NAME", default_value = "Assistant")]
    pub bot_name: String,

    /// Base URL of an OpenAI-compatible API (OpenAI, Ollama's `/v1`, llama.cpp, vLLM). Without
    /// it the embedded offline bot answers.
    #[arg(long, env = "CHAT_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// Model name sent upstream.
    #[arg(long, env = "CHAT_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,

    /// API key sent as a bearer token (never logged).
    #[arg(long, env = "CHAT_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,

    /// File holding the API key (first line), instead of --llm-api-key.
    #[arg(long, env = "CHAT_LLM_API_KEY_FILE")]
    pub llm_api_key_file: Option<PathBuf>,

    /// Time allowed to connect upstream, in milliseconds.
    #[arg(long, env = "CHAT_LLM_CONNECT_TIMEOUT_MS", default_value_t = 5_000)]
    pub llm_connect_timeout_ms: u64,

    /// Time allowed until the first token, in milliseconds.
    #[arg(
        long,
        env = "CHAT_LLM_FIRST_TOKEN_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub llm_first_token_timeout_ms: u64,

    /// Longest silence allowed between tokens, in milliseconds.
    #[arg(long, env = "CHAT_LLM_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    pub llm_idle_timeout_ms: u64,

    /// System prompt put before the room's messages.
    #[arg(
        long,
        env = "CHAT_BOT_SYSTEM_PROMPT",
        default_value = "You are a helpful assistant in a group chat. Answer briefly and clearly."
    )]
    pub bot_system_prompt: String,

    /// Characters of recent room messages sent as context (newest kept).
    #[arg(long, env = "CHAT_BOT_CONTEXT_CHARS", default_value_t = 8_000)]
    pub bot_context_chars: usize,

    /// Deltas are merged for at most this long, in milliseconds (the first text after a pause
    /// goes out at once; at most one delta per this interval).
    #[arg(long, env = "CHAT_BOT_COALESCE_MS", default_value_t = 10)]
    pub bot_coalesce_ms: u64,

    /// Deltas are merged until this many bytes wait.
    #[arg(long, env = "CHAT_BOT_COALESCE_BYTES", default_value_t = 64)]
    pub bot_coalesce_bytes: usize,

    /// Requests that may wait per room behind the running reply.
    #[arg(long, env = "CHAT_BOT_QUEUE_LIMIT", default_value_t = 5)]
    pub bot_queue_limit: usize,

    /// Requests one user may have waiting or running.
    #[arg(long, env = "CHAT_BOT_MAX_INFLIGHT", default_value_t = 2)]
    pub bot_max_inflight: usize,

    /// Tokens one user may spend per minute (usage reported upstream, else text length / 4).
    #[arg(long, env = "CHAT_BOT_TOKENS_PER_MINUTE", default_value_t = 20_000)]
    pub bot_tokens_per_minute: u64,

    /// Which logs to write, in `tracing` filter syntax (for example `debug` or `server=trace`).
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info,socketioxide=warn,engineioxide=warn,sqlx=warn"
    )]
    pub log_filter: String,
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
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

/// The Socket.IO packet encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParserKind {
    /// The default JSON-based parser every client speaks.
    Common,
    /// MessagePack (`socket.io-msgpack-parser` on the client).
    Msgpack,
}

/// SQLite's `synchronous` pragma.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Every commit reaches the disk before the ack (survives power loss).
    Full,
    /// Commits reach the OS before the ack (survives a crash of the server, not of the machine).
    Normal,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

macro_rules! display_as_value_enum {
    ($($ty:ty),*) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.to_possible_value() {
                    Some(v) => f.write_str(v.get_name()),
                    None => Ok(()),
                }
            }
        }
    )*};
}
display_as_value_enum!(Transport, ParserKind, LogFormat, SqliteSynchronous);

/// Why the configuration was refused. Every message names the option at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Flags or environment variables did not parse; clap's message names the flag.
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The `--config` file could not be read.
    #[error("in config: cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML.
    #[error("in config: {path} is not valid TOML: {source}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// A key of the file or a value is wrong.
    #[error("in {key}: {message}")]
    Invalid {
        /// The option's name as written in the TOML file.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
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
    /// Loads the configuration from the process's arguments and environment.
    pub fn load() -> Result<Loaded, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(std::env::args_os(), &env)
    }

    /// Loads from explicit arguments; `env` is only used to report unknown `CHAT_*` variables
    /// (clap itself reads the real environment for each option's variable).
    pub fn load_from<I, T>(args: I, env: &[(String, String)]) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::load_with_defaults(args, env, &[])
    }

    /// Like [`Config::load_from`], with other built-in defaults for some keys (the conformance
    /// profile uses this). Flags, variables and the file still override them.
    pub fn load_with_defaults<I, T>(
        args: I,
        env: &[(String, String)],
        defaults: &[(&str, serde_json::Value)],
    ) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        let mut merged = serde_json::to_value(&cli)
            .map_err(|e| ConfigError::invalid("config", e.to_string()))?;
        let from_default = |key: &str| {
            matches!(
                matches.value_source(key),
                None | Some(ValueSource::DefaultValue)
            )
        };

        for (key, value) in defaults {
            if from_default(key) {
                merged[*key] = value.clone();
            }
        }

        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table =
                toml::from_str(&text).map_err(|source| ConfigError::ParseFile {
                    path: path.clone(),
                    source,
                })?;
            let known = merged
                .as_object()
                .map(|o| o.keys().cloned().collect::<BTreeSet<_>>())
                .unwrap_or_default();
            for (key, value) in table {
                if !known.contains(&key) {
                    return Err(ConfigError::invalid(
                        &key,
                        format!("unknown key in {}", path.display()),
                    ));
                }
                if let toml::Value::Float(f) = &value
                    && !f.is_finite()
                {
                    // JSON has no NaN or infinity: it would become `null`, read as "not set".
                    return Err(ConfigError::invalid(&key, "must be a finite value"));
                }
                if from_default(&key) {
                    let value = serde_json::to_value(value)
                        .map_err(|e| ConfigError::invalid(&key, e.to_string()))?;
                    merged[key.as_str()] = value;
                }
            }
        }

        let mut config: Config = match serde_json::from_value(merged.clone()) {
            Ok(c) => c,
            Err(_) => return Err(name_bad_key(&cli, &merged)),
        };
        config.config = cli.config;
        config.command = cli.command;
        config.validate()?;

        let warnings = unknown_env_vars(env)
            .into_iter()
            .map(|name| format!("unknown environment variable {name} ignored"))
            .collect();
        Ok(Loaded { config, warnings })
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("ping_interval_ms", self.ping_interval_ms),
            ("ping_timeout_ms", self.ping_timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("ack_timeout_ms", self.ack_timeout_ms),
            ("max_payload_bytes", self.max_payload_bytes),
            ("shutdown_timeout_ms", self.shutdown_timeout_ms),
            ("http_idle_timeout_ms", self.http_idle_timeout_ms),
            ("max_buffer_size", self.max_buffer_size as u64),
            ("ws_read_buffer_bytes", self.ws_read_buffer_bytes as u64),
            ("max_pending_events", self.max_pending_events as u64),
            (
                "client_output_limit_bytes",
                self.client_output_limit_bytes as u64,
            ),
            ("slow_client_timeout_ms", self.slow_client_timeout_ms),
            ("rooms_per_minute", u64::from(self.rooms_per_minute)),
            ("typing_per_sec", u64::from(self.typing_per_sec)),
            ("backlog", u64::from(self.backlog)),
            ("max_message_bytes", self.max_message_bytes as u64),
            ("rate_limit_per_sec", u64::from(self.rate_limit_per_sec)),
            ("rate_limit_burst", u64::from(self.rate_limit_burst)),
            ("typing_timeout_ms", self.typing_timeout_ms),
            ("guest_token_ttl_secs", self.guest_token_ttl_secs),
            ("llm_connect_timeout_ms", self.llm_connect_timeout_ms),
            (
                "llm_first_token_timeout_ms",
                self.llm_first_token_timeout_ms,
            ),
            ("llm_idle_timeout_ms", self.llm_idle_timeout_ms),
            ("bot_context_chars", self.bot_context_chars as u64),
            ("bot_coalesce_bytes", self.bot_coalesce_bytes as u64),
            ("bot_max_inflight", self.bot_max_inflight as u64),
            ("bot_tokens_per_minute", self.bot_tokens_per_minute),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be greater than 0"));
            }
        }
        if self.transports.is_empty() {
            return Err(ConfigError::invalid(
                "transports",
                "at least one transport is needed",
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::invalid(
                "tls_cert",
                "--tls-cert and --tls-key go together",
            ));
        }
        for (key, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("no such file: {}", path.display()),
                ));
            }
        }
        for origin in &self.cors_origin {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !ok {
                return Err(ConfigError::invalid(
                    "cors_origin",
                    format!("{origin:?} is not `*` nor an http(s) origin"),
                ));
            }
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        if let Some(schema) = &self.database_schema
            && (schema.is_empty()
                || schema.len() > 63
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(ConfigError::invalid(
                "database_schema",
                "use 1-63 letters, digits or _",
            ));
        }
        if let Some(url) = &self.llm_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "llm_base_url",
                "must be an http(s) URL",
            ));
        }
        if self.llm_api_key.is_some() && self.llm_api_key_file.is_some() {
            return Err(ConfigError::invalid(
                "llm_api_key",
                "give --llm-api-key or --llm-api-key-file, not both",
            ));
        }
        if let Some(path) = &self.llm_api_key_file
            && !path.is_file()
        {
            return Err(ConfigError::invalid(
                "llm_api_key_file",
                format!("no such file: {}", path.display()),
            ));
        }
        auth_name_ok(&self.bot_name).map_err(|m| ConfigError::invalid("bot_name", m))?;
        if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::invalid(
                "jwt_secret",
                "must be at least 16 bytes",
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one or the embedded default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("chat.db").display()
            ),
        }
    }

    /// Whether the database lives in memory only (tests).
    pub fn in_memory_database(&self) -> bool {
        self.database_url().contains(":memory:")
    }

    /// The time between pings.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// The time a client has to answer a ping.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }

    /// The time a client has to connect to a namespace.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// The default acknowledgement timeout.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_millis(self.ack_timeout_ms)
    }

    /// How long an HTTP connection may wait without a complete request head.
    pub fn http_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.http_idle_timeout_ms)
    }

    /// The hard shutdown deadline.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// Whether the server speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
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

fn auth_name_ok(name: &str) -> Result<(), &'static str> {
    let n = name.trim().chars().count();
    if n == 0 || n > 64 || name.chars().any(char::is_control) {
        return Err("must be 1 to 64 characters without control characters");
    }
    Ok(())
}

/// Finds which key makes the merged document fail to deserialize, so the error can name it.
fn name_bad_key(cli: &Config, merged: &serde_json::Value) -> ConfigError {
    let Ok(base) = serde_json::to_value(cli) else {
        return ConfigError::invalid("config", "cannot be represented");
    };
    if let Some(fields) = merged.as_object() {
        for (key, value) in fields {
            let mut probe = base.clone();
            probe[key.as_str()] = value.clone();
            if let Err(e) = serde_json::from_value::<Config>(probe) {
                return ConfigError::invalid(key, e.to_string());
            }
        }
    }
    ConfigError::invalid("config", "invalid value")
}

/// `CHAT_*` variables that no option reads: most likely typos.
fn unknown_env_vars(env: &[(String, String)]) -> Vec<String> {
    let cmd = Config::command();
    let known: BTreeSet<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    env.iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(ENV_PREFIX) && !known.contains(*k))
        .cloned()
        .collect()
}
