//! The `server` binary: loads the configuration, serves until SIGINT or SIGTERM, exits 0.

use std::process::ExitCode;

use server::{Config, app, serve, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let loaded = match Config::load() {
        Ok(l) => l,
        Err(server::config::ConfigError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = loaded.config;
    telemetry::init(cfg.log_format, &cfg.log_filter);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    match run(cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(cause = %e, "server stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let (layer, io) = app::socket_io_builder(&cfg).build_layer();
    io.ns("/", async |_: socketioxide::extract::SocketRef| {});
    let readiness = app::Readiness::default();
    let router = app::router(&cfg, layer, readiness.clone(), axum::Router::new());
    let listener = serve::bind(&cfg)?;
    let shutdown = serve::shutdown_signal()?;
    println!("{}", serve::listening_line(&cfg, listener.local_addr()?));
    serve::serve(&cfg, listener, router, io, readiness, shutdown).await?;
    Ok(())
}
