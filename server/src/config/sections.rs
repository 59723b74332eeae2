//! The options, grouped by what they configure. Each group is flattened into [`Config`](super::Config):
//! the flags, variables and TOML keys stay flat (`--port`, `CHAT_PORT`, `port = 3000`).

use std::{net::IpAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::kinds::{LogFormat, ParserKind, SqliteSynchronous, Transport};

/// Where the server listens, its HTTP behaviour and its logs.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Listening, HTTP and logs")]
pub struct ServerOptions {
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

    /// Long-polling responses larger than this are compressed (gzip or brotli), in bytes.
    #[arg(long, env = "CHAT_COMPRESSION_MIN_BYTES", default_value_t = 1024)]
    pub compression_min_bytes: u64,

    /// An HTTP connection that has not sent a complete request head this long after it was
    /// accepted or after its previous response is closed, in milliseconds (it bounds silent,
    /// slow-header and idle keep-alive connections; requests being served and WebSockets are
    /// not affected).
    #[arg(long, env = "CHAT_HTTP_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    pub http_idle_timeout_ms: u64,

    /// This node's name among the servers sharing one database, in logs and metrics: a node
    /// starting up ends only the bot replies it left streaming itself. With --redis-url, `local`
    /// means a name generated at start (`node-` and 8 hex digits); a name given must be unique
    /// in the cluster.
    #[arg(long, env = "CHAT_NODE_ID", default_value = "local")]
    pub node_id: String,

    /// Hard deadline for a graceful shutdown after SIGINT or SIGTERM, in milliseconds.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,

    /// Folder of the demo page served at `/` (built by `npm run build` in web-client/).
    #[arg(long, env = "CHAT_STATIC_DIR", default_value = "web-client/dist")]
    pub static_dir: PathBuf,

    /// Log format on stderr.
    #[arg(long, env = "CHAT_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Which logs to write, in `tracing` filter syntax (for example `debug` or `server=trace`).
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info,socketioxide=warn,engineioxide=warn,sqlx=warn"
    )]
    pub log_filter: String,
}

/// Engine.IO and Socket.IO: transports, parser, heartbeats, sizes.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Engine.IO and Socket.IO")]
pub struct TransportOptions {
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
}

/// Where the chat's durable state lives.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Storage")]
pub struct StorageOptions {
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
}

/// Who may connect: tokens and guests.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Identity")]
pub struct AuthOptions {
    /// Let clients without a token in as guests, named by the `name` they give.
    #[arg(long, env = "CHAT_ALLOW_GUESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_guests: bool,

    /// Secret for HS256 tokens. Default: one kept in the database and shared by every node using it
    /// (created on first start, from an earlier version's `jwt-secret` file in the data folder if any);
    /// with an in-memory database, a random one per start.
    #[arg(long, env = "CHAT_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// How long a guest's token stays valid, in seconds.
    #[arg(long, env = "CHAT_GUEST_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub guest_token_ttl_secs: u64,

    /// New guests one client address may start per minute (also the burst), across the cluster;
    /// 0: no limit. Behind a proxy, needs --trust-proxy to tell clients apart.
    #[arg(long, env = "CHAT_GUESTS_PER_MINUTE", default_value_t = 0)]
    pub guests_per_minute: u32,
}

/// What one client or user may ask and hold.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Limits per client")]
pub struct LimitOptions {
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
}

/// The chatbot: its name, prompt, streaming and admission.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "The chatbot")]
pub struct BotOptions {
    /// The bot's display name; its user id is `bot`.
    #[arg(long, env = "CHAT_BOT_NAME", default_value = "Assistant")]
    pub bot_name: String,

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
}

/// The language model behind the bot: any OpenAI-compatible endpoint.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "The language model (OpenAI-compatible)")]
pub struct LlmOptions {
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
}
