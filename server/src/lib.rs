//! A socket.io v5 realtime chat server with a streaming AI chatbot.
//!
//! # Layout
//! - [`config`]: flags, `CHAT_*` variables and the TOML file merged into one typed [`Config`];
//!   the only module that reads the environment.
//! - [`telemetry`]: `tracing` setup, readable or JSON.
//! - [`app`]: the app builder shared by the server and the conformance profile: the Socket.IO
//!   engine from the configuration and the HTTP router (health, CORS, compression, the `front`
//!   checks: EIO3 gate, cut sessions).
//! - [`api`]: the HTTP API for backends at `/api/v1/` (bearer keys; posts, emits, rooms,
//!   history, sessions; its OpenAPI document), beside `cluster`, above [`chat`].
//! - [`admin`]: the socket.io Admin UI: the `/admin` namespace (`@socket.io/admin-ui`'s
//!   protocol) over the chat's sockets, and its page at `/admin-ui/`; beside `cluster`.
//! - [`serve`]: binding with a large backlog, plain or TLS serving, graceful shutdown.
//! - [`startup`]: what stdout tells a newcomer once listening (URL, database, bot).
//! - [`cut`]: closing one client's transport from the server side (a slow client's).
//! - [`front`]: the checks every HTTP request passes before the Socket.IO layer, in one service.
//! - [`flow`]: one socket's events in order and bounded in number, and what waits for it
//!   bounded in bytes (answers that wait for room, the output budget).
//! - [`room`]: the room layer below chat and bot: each room's writer stores its changes
//!   (getting `seq` and `rev`) and publishes them on a bus; each node's feed delivers them to
//!   its sockets in order (positions, lag, replay, the bot's stream).
//! - [`ports`]: state that will leave the process with several nodes, behind small traits with
//!   in-memory implementations (rate limits, presence).
//! - [`store`]: durable state through sqlx (SQLite by default, PostgreSQL by URL); assigns `seq`
//!   and `rev`.
//! - [`chat`]: the chat application: identity, rooms, messages, presence, typing, receipts.
//! - [`bot`]: the chatbot: queue per room, budgets, streaming replies from a backend
//!   (embedded offline bot or any OpenAI-compatible API).
//! - [`metrics`]: Prometheus metrics: their names, bounded labels, the `/metrics` listener.
//! - [`clock`], [`ids`]: wall-clock time and server-made ids; [`mention`]: reading `@name`.
//! - [`peer`]: a client's address, from the TCP peer or a trusted proxy's `X-Forwarded-For`.
//! - [`wire`]: every type that travels over Socket.IO (the chat protocol of `docs/PROTOCOL.md`).

pub mod admin;
pub mod api;
pub mod app;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cut;
pub mod flow;
pub mod front;
pub mod ids;
pub mod mention;
pub mod metrics;
pub mod peer;
pub mod ports;
pub mod room;
pub mod serve;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod wire;

pub use config::Config;

/// mimalloc instead of the system allocator for every binary built on this crate (the server,
/// the conformance profile, the tests): a Socket.IO server allocates a few small buffers per
/// packet and per recipient, and glibc's malloc spent a quarter of the chat server's CPU on them.
/// `docs/BENCHMARKS.md` has the figures. Without the default feature `mimalloc` the system
/// allocator is used, which heap profilers (heaptrack) can follow.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
