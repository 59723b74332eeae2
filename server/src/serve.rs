//! Binding, serving (plain or TLS) and the graceful shutdown sequence.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use axum::Router;
use axum_server::{Handle, accept::NoDelayAcceptor, tls_rustls::RustlsConfig};
use socketioxide::{SocketIo, adapter::Adapter};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::{app::Readiness, config::Config, cut::CutAcceptor};

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The certificate or key could not be loaded.
    #[error("in tls_cert/tls_key: {0}")]
    Tls(io::Error),
    /// The HTTP server failed.
    #[error("server failed: {0}")]
    Io(#[from] io::Error),
}

/// Binds the configured address with the configured accept backlog (tokio's default of 128
/// overflows under bursts of handshakes).
pub fn bind(cfg: &Config) -> Result<std::net::TcpListener, ServeError> {
    let addr = SocketAddr::new(cfg.server.host, cfg.server.port);
    let bind = || -> io::Result<std::net::TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(cfg.server.backlog).unwrap_or(i32::MAX))?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    };
    bind().map_err(|source| ServeError::Bind { addr, source })
}

/// The line printed on stdout once listening; scripts and tests wait for it.
pub fn listening_line(cfg: &Config, addr: SocketAddr) -> String {
    let scheme = if cfg.tls() { "https" } else { "http" };
    format!("listening on {scheme}://{addr}")
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains: every Socket.IO client
/// is told the server is closing (`io.close()`, which axum alone would not do for upgraded
/// WebSockets), in-flight HTTP requests finish, and all of it is cut at the configured deadline.
pub async fn serve<A: Adapter>(
    cfg: &Config,
    listener: std::net::TcpListener,
    router: Router,
    io: SocketIo<A>,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let handle: Handle<SocketAddr> = Handle::new();
    let idle = cfg.http_idle_timeout();
    let make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = if let (Some(cert), Some(key)) = (&cfg.server.tls_cert, &cfg.server.tls_key) {
        ensure_crypto_provider();
        let tls = RustlsConfig::from_pem_file(cert, key)
            .await
            .map_err(ServeError::Tls)?;
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
            .acceptor(CutAcceptor(NoDelayAcceptor::new()));
        let server = with_limits(
            axum_server::from_tcp(listener)?.acceptor(acceptor),
            &handle,
            idle,
        );
        tokio::spawn(async move { server.serve(make_service).await })
    } else {
        // Small realtime packets must not wait for Nagle's algorithm.
        let server = with_limits(
            axum_server::from_tcp(listener)?.acceptor(CutAcceptor(NoDelayAcceptor::new())),
            &handle,
            idle,
        );
        tokio::spawn(async move { server.serve(make_service).await })
    };
    readiness.set(true);

    let deadline = cfg.shutdown_timeout();
    let drain = {
        let handle = handle.clone();
        let readiness = readiness.clone();
        async move {
            shutdown.await;
            let started = Instant::now();
            readiness.set(false);
            info!(deadline_ms = deadline.as_millis() as u64, "shutting down");
            if tokio::time::timeout(deadline, io.close()).await.is_err() {
                warn!("closing Socket.IO sessions hit the deadline");
            }
            let left = deadline.saturating_sub(started.elapsed());
            handle.graceful_shutdown(Some(left.max(Duration::from_millis(1))));
            started
        }
    };

    tokio::pin!(server);
    tokio::select! {
        res = &mut server => return flatten(res),
        started = drain => {
            let left = deadline.saturating_sub(started.elapsed());
            match tokio::time::timeout(left + Duration::from_millis(100), &mut server).await {
                Ok(res) => flatten(res)?,
                Err(_) => {
                    warn!("shutdown deadline reached; closing remaining connections");
                    handle.shutdown();
                }
            }
            info!(elapsed_ms = started.elapsed().as_millis() as u64, "stopped");
        }
    }
    Ok(())
}

/// What every listener shares, plain or TLS: the shutdown `handle`, and closing HTTP connections
/// that wait longer than `idle` for a request head. `first_request_timeout` covers the time
/// before hyper has chosen HTTP/1 or HTTP/2, when nothing else does; hyper's header read timeout
/// runs while it waits for the head of each request, and so also bounds an idle keep-alive
/// connection between requests.
fn with_limits<Acc>(
    server: axum_server::Server<SocketAddr, Acc>,
    handle: &Handle<SocketAddr>,
    idle: Duration,
) -> axum_server::Server<SocketAddr, Acc> {
    let mut server = server.handle(handle.clone()).first_request_timeout(idle);
    server.http_builder().http1().header_read_timeout(idle);
    server
}

fn flatten(res: Result<io::Result<()>, tokio::task::JoinError>) -> Result<(), ServeError> {
    match res {
        Ok(r) => r.map_err(ServeError::Io),
        Err(e) => Err(ServeError::Io(io::Error::other(e))),
    }
}

/// rustls needs one process-wide crypto provider; we ship `ring`.
pub fn ensure_crypto_provider() {
    // An Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled, so call it before announcing the listening
/// line: a signal that arrives right after the line must start a graceful shutdown.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => info!("received SIGINT"),
            _ = terminate.recv() => info!("received SIGTERM"),
        }
    })
}
