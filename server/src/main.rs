//! The `server` binary: loads the configuration, opens storage, serves the chat until SIGINT or
//! SIGTERM, and exits 0 after a graceful drain. `server token --user ID` prints a token.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use server::{
    Config, app,
    bot::{
        backend::Backend,
        embedded::Embedded,
        openai::{OpenAi, OpenAiConfig},
    },
    chat::{Chat, auth},
    cluster::{Cluster, ClusterAdapter},
    config::Command,
    serve,
    store::{Store, StoreOptions},
    telemetry,
};
use socketioxide::{SocketIo, adapter::Adapter, layer::SocketIoLayer};

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
    telemetry::init(cfg.server.log_format, &cfg.server.log_filter);
    if cfg.metrics.metrics_listen.is_some() {
        // Before anything counts: handles taken earlier would stay no-ops.
        server::metrics::export::install();
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let result = match &cfg.command {
        Some(Command::Token {
            user,
            name,
            ttl_secs,
        }) => print_token(&cfg, user, name.as_deref(), *ttl_secs).await,
        Some(Command::HashPassword { cost }) => print_hash(*cost),
        None => run(cfg).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(cause = %format!("{e:#}"), "server stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The token secret (see [`auth::resolve_secret`]).
async fn secret(cfg: &Config, store: &Store) -> anyhow::Result<Vec<u8>> {
    let dir = (!cfg.in_memory_database()).then_some(cfg.storage.data_dir.as_path());
    auth::resolve_secret(cfg.auth.jwt_secret.as_deref(), dir, store)
        .await
        .context("in database_url: cannot keep the token secret")
}

/// Opens the configured database (creating the data folder for the embedded one).
async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    if cfg.storage.database_url.is_none() {
        std::fs::create_dir_all(&cfg.storage.data_dir).with_context(|| {
            format!(
                "in data_dir: cannot create {}",
                cfg.storage.data_dir.display()
            )
        })?;
    }
    Store::connect(&StoreOptions {
        url: cfg.database_url(),
        schema: cfg.storage.database_schema.clone(),
        sqlite_synchronous: cfg.storage.sqlite_synchronous.to_string(),
        max_connections: 8,
    })
    .await
    .context("in database_url: cannot open the database")
}

async fn print_token(
    cfg: &Config,
    user: &str,
    name: Option<&str>,
    ttl_secs: u64,
) -> anyhow::Result<()> {
    let secret = match &cfg.auth.jwt_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            let store = open_store(cfg).await?;
            let secret = secret(cfg, &store).await;
            store.close().await;
            secret?
        }
    };
    let tokens = auth::Tokens::new(&secret);
    let identity = auth::Identity {
        user_id: user.to_owned(),
        name: name.unwrap_or(user).to_owned(),
        guest: false,
    };
    println!("{}", tokens.mint(&identity, ttl_secs)?);
    Ok(())
}

/// Reads a password from stdin (its first line) and prints its bcrypt hash.
fn print_hash(cost: u32) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "no password on stdin");
    println!("{}", server::admin::login::hash_password(password, cost)?);
    Ok(())
}

/// The model behind the bot: an OpenAI-compatible API when configured, else the embedded bot.
fn backend(cfg: &Config) -> anyhow::Result<Arc<dyn Backend>> {
    let Some(base_url) = &cfg.llm.llm_base_url else {
        return Ok(Arc::new(Embedded::new(cfg.bot.bot_name.trim())));
    };
    let api_key = match (&cfg.llm.llm_api_key, &cfg.llm.llm_api_key_file) {
        (Some(key), _) => Some(key.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("in llm_api_key_file: cannot read {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    serve::ensure_crypto_provider();
    let config = OpenAiConfig {
        base_url: base_url.clone(),
        model: cfg.llm.llm_model.clone(),
        api_key,
        first_token_timeout: Duration::from_millis(cfg.llm.llm_first_token_timeout_ms),
        idle_timeout: Duration::from_millis(cfg.llm.llm_idle_timeout_ms),
    };
    tracing::info!(base_url = %base_url, model = %cfg.llm.llm_model, "bot answers with an OpenAI-compatible model");
    Ok(Arc::new(OpenAi::new(
        config,
        Duration::from_millis(cfg.llm.llm_connect_timeout_ms),
    )?))
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let store = open_store(&cfg).await?;
    store
        .upsert_user(server::bot::BOT_ID, cfg.bot.bot_name.trim(), false, 0)
        .await
        .context("in database_url: cannot record the bot user")?;
    let token_secret = secret(&cfg, &store).await?;
    let tokens = auth::Tokens::new(&token_secret);
    let cuts = Arc::new(server::cut::Cuts::default());
    let node = cfg.server.node_id.clone();
    let db = store.clone();
    let readiness = app::Readiness::default().with_check(
        "database",
        Arc::new(move || {
            let db = db.clone();
            Box::pin(async move { db.ping().await.map_err(|_| "unreachable".to_owned()) })
        }),
    );
    let chat_on = |shared: &server::chat::Shared| -> anyhow::Result<_> {
        Ok((
            store.clone(),
            tokens.clone(),
            backend(&cfg)?,
            cuts.clone(),
            shared.clone(),
        ))
    };
    let Some(url) = &cfg.cluster.redis_url else {
        let shared = server::chat::Shared::default();
        let chat: Chat = new_chat(&cfg, chat_on(&shared)?, &node);
        let (layer, io) = app::socket_io_builder(&cfg)
            .with_state(chat.clone())
            .build_layer();
        chat.register(&io);
        if let Some(admin) =
            server::admin::Admin::new(&cfg, &node, &token_secret, chat.census.clone())
        {
            admin.register(&io, &chat);
        }
        let limiters = shared.limiters;
        return serve_node(cfg, store, chat, (layer, io), readiness, cuts, limiters).await;
    };
    let cluster = Cluster::connect(url, &cfg.cluster.redis_prefix, &node).await?;
    let chat: Chat<ClusterAdapter<_>> = new_chat(&cfg, chat_on(&cluster.shared)?, &node);
    let (layer, io) = app::socket_io_builder(&cfg)
        .with_adapter::<ClusterAdapter<_>>(cluster.adapter())
        .with_state(chat.clone())
        .build_layer();
    chat.register(&io)
        .await
        .map_err(|e| anyhow::anyhow!("in redis_url: cannot set up the Socket.IO adapter: {e}"))?;
    if let Some(admin) = server::admin::Admin::new(&cfg, &node, &token_secret, chat.census.clone())
    {
        admin.register(&io, &chat).await.map_err(|e| {
            anyhow::anyhow!("in redis_url: cannot set up /admin on the adapter: {e}")
        })?;
    }
    cluster
        .join(chat.clone(), io.clone())
        .await
        .context("in redis_url: cannot join the cluster")?;
    let redis = cluster.redis.clone();
    let readiness = readiness.with_check(
        "redis",
        Arc::new(move || {
            let up = redis.is_up();
            Box::pin(async move {
                if up {
                    Ok(())
                } else {
                    Err("unreachable".to_owned())
                }
            })
        }),
    );
    tracing::info!(node = %node, prefix = %cfg.cluster.redis_prefix, "cluster mode: this node shares its rooms through Redis");
    let limiters = cluster.shared.limiters.clone();
    let served = serve_node(cfg, store, chat, (layer, io), readiness, cuts, limiters).await;
    cluster.leave().await;
    served
}

/// What a chat is made of besides the configuration.
type Parts = (
    Store,
    auth::Tokens,
    Arc<dyn Backend>,
    Arc<server::cut::Cuts>,
    server::chat::Shared,
);

/// The chat of this node, on any adapter.
fn new_chat<A: Adapter>(cfg: &Config, parts: Parts, node: &str) -> Chat<A> {
    let (store, tokens, backend, cuts, shared) = parts;
    Chat::new(cfg, store, tokens, backend, cuts, (&shared, node))
}

/// Serves one node's chat until a signal, then drains.
async fn serve_node<A: Adapter>(
    cfg: Config,
    store: Store,
    chat: Chat<A>,
    (layer, io): (SocketIoLayer<A>, SocketIo<A>),
    readiness: app::Readiness,
    cuts: Arc<server::cut::Cuts>,
    limiters: Arc<dyn server::ports::Limiters>,
) -> anyhow::Result<()> {
    let node = server::api::node::ChatNode {
        chat: chat.clone(),
        io: io.clone(),
    };
    let api = server::api::router(&cfg, Arc::new(node), &*limiters)
        .map_err(|e| anyhow::anyhow!("in api_key_file: {e}"))?;
    let mut pages = app::static_files(&cfg.server.static_dir);
    if cfg.admin.credentials().is_some() {
        pages = server::admin::ui::routes(&cfg.admin.admin_ui_dir).merge(pages);
    }
    let router = app::router(&cfg, layer, readiness.clone(), cuts, api.merge(pages));
    let ended = store
        .end_interrupted(&cfg.server.node_id, &server::bot::Bot::interrupted_meta())
        .await
        .context("in database_url: cannot end interrupted replies")?;
    if ended > 0 {
        tracing::warn!(
            replies = ended,
            "ended bot replies interrupted by the last stop"
        );
    }
    let listener = serve::bind(&cfg)?;
    let signal = serve::shutdown_signal()?;
    let bot = chat.bot.clone();
    let bot_deadline = cfg.shutdown_timeout() / 3;
    // Running replies end (and are stored) before the sockets are closed.
    let shutdown = async move {
        signal.await;
        bot.stop(bot_deadline).await;
    };
    let metrics = start_metrics(&cfg, &chat, &io).await?;
    for line in server::startup::lines(&cfg, listener.local_addr()?) {
        println!("{line}");
    }
    if let Some(metrics) = &metrics {
        println!("{}", metrics.line());
    }
    serve::serve(&cfg, listener, router, io, readiness, shutdown).await?;
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    store.close().await;
    Ok(())
}

/// The `--metrics-listen` listener, if asked for: its scrapes read this node's sockets and rooms.
async fn start_metrics<A: Adapter>(
    cfg: &Config,
    chat: &Chat<A>,
    io: &SocketIo<A>,
) -> anyhow::Result<Option<server::metrics::export::Listener>> {
    let Some(addr) = cfg.metrics.metrics_listen else {
        return Ok(None);
    };
    let (chat, io) = (chat.clone(), io.clone());
    // The Admin UI's sockets are connections too, under their own namespace.
    let namespaces: &'static [&'static str] = if cfg.admin.credentials().is_some() {
        &["/", server::admin::NSP]
    } else {
        &["/"]
    };
    let scrape = Arc::new(move || {
        server::metrics::export::connections(&io, namespaces);
        server::metrics::rooms_live(chat.feeds.running());
    });
    let listener = server::metrics::export::Listener::start(addr, scrape)
        .await
        .with_context(|| format!("in metrics_listen: cannot listen on {addr}"))?;
    Ok(Some(listener))
}
