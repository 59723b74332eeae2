//! The app builder shared by the real server and the conformance profile: the Socket.IO
//! engine configured from [`Config`], and the HTTP router around it.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, Method, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use socketioxide::{
    ParserConfig, SocketIo, SocketIoBuilder, TransportType, adapter::Adapter, layer::SocketIoLayer,
};
use tower::ServiceBuilder;
use tower_http::{
    compression::{CompressionLayer, Predicate, predicate::SizeAbove},
    cors::{AllowOrigin, CorsLayer},
};

pub use crate::front::{SOCKET_IO_PATH, engine_io_version};
use crate::{
    config::{Config, ParserKind, Transport},
    cut::Cuts,
    front::FrontLayer,
};

/// A check of a backend the server needs (the database, say): `Err` says what is down.
pub type ReadinessCheck =
    Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Whether the server is ready to take traffic; `/readyz` reports it.
#[derive(Clone, Default)]
pub struct Readiness {
    serving: Arc<AtomicBool>,
    checks: Vec<(&'static str, ReadinessCheck)>,
}

/// What is not ready, by name (`server`, `database`, `redis`), with the reason.
pub type NotReady = Vec<(&'static str, String)>;

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("serving", &self.is_serving())
            .field("checks", &self.checks.len())
            .finish()
    }
}

impl Readiness {
    /// Adds a check of the backend `name` that `/readyz` runs on each request.
    pub fn with_check(mut self, name: &'static str, check: ReadinessCheck) -> Self {
        self.checks.push((name, check));
        self
    }

    /// Marks the server listening (`true`) or draining (`false`).
    pub fn set(&self, serving: bool) {
        self.serving.store(serving, Ordering::Release);
    }

    /// Whether the server is listening and not draining.
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Serving, and every backend answers within two seconds; else what is not ready. The
    /// backends are asked at once.
    pub async fn check(&self) -> Result<(), NotReady> {
        let mut down = NotReady::new();
        if !self.is_serving() {
            down.push(("server", "not serving (starting or draining)".to_owned()));
        }
        let checks = self.checks.iter().map(|(name, check)| async move {
            match tokio::time::timeout(std::time::Duration::from_secs(2), check()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some((*name, e)),
                Err(_) => Some((*name, "did not answer within 2 s".to_owned())),
            }
        });
        down.extend(
            futures_util::future::join_all(checks)
                .await
                .into_iter()
                .flatten(),
        );
        if down.is_empty() { Ok(()) } else { Err(down) }
    }
}

/// A Socket.IO builder with every engine option taken from the configuration.
pub fn socket_io_builder(cfg: &Config) -> SocketIoBuilder {
    let mut builder = SocketIo::builder()
        .ping_interval(cfg.ping_interval())
        .ping_timeout(cfg.ping_timeout())
        .connect_timeout(cfg.connect_timeout())
        .ack_timeout(cfg.ack_timeout())
        .max_payload(cfg.transport.max_payload_bytes)
        .ws_max_message_size(usize::try_from(cfg.transport.max_payload_bytes).unwrap_or(usize::MAX))
        // tungstenite reads a whole frame before it checks the message size: a frame header
        // declaring more than the limit must be refused as it arrives.
        .ws_max_frame_size(usize::try_from(cfg.transport.max_payload_bytes).unwrap_or(usize::MAX))
        .max_buffer_size(cfg.transport.max_buffer_size)
        .ws_read_buffer_size(cfg.transport.ws_read_buffer_bytes);
    builder = match (
        cfg.transport.transports.contains(&Transport::Polling),
        cfg.transport.transports.contains(&Transport::Websocket),
    ) {
        (true, false) => builder.transports([TransportType::Polling]),
        (false, true) => builder.transports([TransportType::Websocket]),
        _ => builder.transports([TransportType::Polling, TransportType::Websocket]),
    };
    match cfg.transport.parser {
        ParserKind::Common => builder.with_parser(ParserConfig::common()),
        ParserKind::Msgpack => builder.with_parser(ParserConfig::msgpack()),
    }
}

/// The HTTP application: health endpoints, Socket.IO at [`SOCKET_IO_PATH`], and in front of
/// both (outermost first) CORS, compression and the [`Front`](crate::front::Front) checks (the
/// Engine.IO v3 gate, the sessions the server cut in `cuts`, credentials marked sensitive).
/// `extra` holds the application's own routes (static files, …).
///
/// The three are one layer of the router, composed with [`ServiceBuilder`]: each
/// `Router::layer` adds a boxed clone of the whole stack under it to every request.
pub fn router<A: Adapter>(
    cfg: &Config,
    io_layer: SocketIoLayer<A>,
    readiness: Readiness,
    cuts: Arc<Cuts>,
    extra: Router,
) -> Router {
    let front = ServiceBuilder::new()
        .option_layer(cors_layer(&cfg.server.cors_origin))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .compress_when(compressible(cfg.server.compression_min_bytes)),
        )
        .layer(FrontLayer::new(cfg.transport.allow_eio3, cuts));
    extra
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(readiness))
        .layer(io_layer)
        .layer(front)
}

/// Serves the demo page's files at `/`, if the folder exists.
pub fn static_files(dir: &std::path::Path) -> Router {
    if !dir.is_dir() {
        tracing::warn!(dir = %dir.display(), "no demo page: build it with `npm run build` in web-client/");
        return Router::new();
    }
    Router::new().fallback_service(
        tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true),
    )
}

/// Compress bodies of known size above the threshold; never a protocol switch (WebSocket).
fn compressible(min_bytes: u64) -> impl Predicate {
    SizeAbove::new(min_bytes)
        .and(tower_http::compression::predicate::DefaultPredicate::new())
        .and(|status: StatusCode, _: _, _: &_, _: &_| status != StatusCode::SWITCHING_PROTOCOLS)
}

/// Answers preflights and allows credentials for the configured origins; `*` mirrors any origin
/// (a literal `*` is not allowed together with credentials).
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Liveness: the process answers HTTP.
async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok")
}

/// Readiness: listening, not draining, and the backends (the database) answer.
async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match readiness.check().await {
        Ok(()) => (
            StatusCode::OK,
            no_store,
            Json(serde_json::json!({ "ready": true })),
        ),
        Err(down) => {
            let down: Vec<_> = down
                .into_iter()
                .map(|(name, reason)| serde_json::json!({ "name": name, "reason": reason }))
                .collect();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                no_store,
                Json(serde_json::json!({ "ready": false, "down": down })),
            )
        }
    }
}
