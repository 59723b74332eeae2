//! One node's connection to Redis: commands, the channels it follows, and what it publishes in
//! order.
//!
//! A [`ConnectionManager`] (RESP3) carries everything: it reconnects by itself and subscribes
//! again to every channel after a reconnect. Messages of subscribed channels arrive as pushes,
//! in the order Redis sent them, and are handed to the channel's handler by one task. The
//! connection is watched (a `PING` every second): while it is down the node serves its own
//! clients alone, `/readyz` says so, and when it is back every handler hears [`Link::Back`] so
//! that what may have been lost meanwhile is recovered (feeds replay from storage).
//!
//! What the node publishes goes through one queue and one task, pipelined, so messages reach
//! the other nodes in the order they were published. The queue is bounded; a message that does
//! not fit or cannot be sent is counted and dropped, and the next successful send is followed
//! by a message on `<prefix>:back`, after which every node's handlers hear [`Link::Back`].

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use redis::{
    AsyncCommands, PushInfo, PushKind, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// How long a command may take before Redis counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How often the connection is checked.
const WATCH: Duration = Duration::from_secs(1);
/// Messages that may wait to be published.
const OUTBOX: usize = 65_536;
/// Messages published in one round trip at most.
const BATCH: usize = 512;

/// What a channel's handler is told.
#[derive(Debug)]
pub enum Link {
    /// A message of the channel.
    Message(Vec<u8>),
    /// The connection was lost and is back (or messages of this node could not be sent):
    /// some may be missing.
    Back,
}

type Handler = Arc<dyn Fn(Link) + Send + Sync>;

/// A node's Redis connection; cheap to clone.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    handlers: Arc<RwLock<HashMap<String, Handler>>>,
    outbox: mpsc::Sender<(String, Vec<u8>)>,
    up: watch::Receiver<bool>,
    errors: Arc<AtomicU64>,
    /// The channel on which a node says others may have missed its messages.
    back_channel: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("up", &*self.up.borrow())
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects to `url` (RESP3 is asked for whatever the URL says) and starts the tasks that
    /// route pushes, publish in order and watch the connection. `prefix` names this cluster's
    /// channels.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let info = client.get_connection_info().clone().set_redis_settings(
            client
                .get_connection_info()
                .redis_settings()
                .clone()
                .set_protocol(redis::ProtocolVersion::RESP3),
        );
        let client = redis::Client::open(info)?;
        // There from the start, so a rate over it sees the first failure.
        ::metrics::counter!(crate::metrics::CLUSTER_REDIS_ERRORS_TOTAL).absolute(0);
        let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(push_tx)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        let (up_tx, up) = watch::channel(true);
        let (outbox, out_rx) = mpsc::channel(OUTBOX);
        let redis = Self {
            conn,
            handlers: Arc::default(),
            outbox,
            up,
            errors: Arc::default(),
            back_channel: format!("{prefix}:back"),
        };
        let handlers = redis.handlers.clone();
        redis.conn.clone().subscribe(&redis.back_channel).await?;
        redis
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                redis.back_channel.clone(),
                Arc::new(move |link| {
                    if let Link::Message(_) = link {
                        Redis::back(&handlers);
                    }
                }),
            );
        let lost = Arc::new(AtomicBool::new(false));
        tokio::spawn(route(push_rx, redis.handlers.clone(), lost.clone()));
        tokio::spawn(publish(out_rx, redis.clone()));
        tokio::spawn(watch_link(redis.clone(), up_tx, lost));
        Ok(redis)
    }

    /// A connection for commands (it reconnects by itself).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Whether Redis answered the last check.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Commands and publications that failed since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Runs a Lua script: its answer, or `None` while Redis is down or when it fails (counted
    /// and logged as `what`), for the caller's fallback.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        what: &str,
        script: &redis::ScriptInvocation<'_>,
    ) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        match script.invoke_async::<T>(&mut self.conn()).await {
            Ok(answer) => Some(answer),
            Err(e) => {
                self.failed(what, &e);
                None
            }
        }
    }

    /// Counts a failed command.
    pub fn failed(&self, what: &str, e: &redis::RedisError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        ::metrics::counter!(crate::metrics::CLUSTER_REDIS_ERRORS_TOTAL).increment(1);
        warn!(cause = %e, "redis: {what} failed");
    }

    /// Follows `channel`: `handler` gets its messages, in order, and [`Link::Back`] after an
    /// outage.
    pub async fn subscribe(
        &self,
        channel: &str,
        handler: impl Fn(Link) + Send + Sync + 'static,
    ) -> redis::RedisResult<()> {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.to_owned(), Arc::new(handler));
        self.conn.clone().subscribe(channel).await
    }

    /// Follows every channel matching `pattern` (Redis glob syntax): `handler` gets their
    /// messages, in order, and [`Link::Back`] after an outage.
    pub async fn psubscribe(
        &self,
        pattern: &str,
        handler: impl Fn(Link) + Send + Sync + 'static,
    ) -> redis::RedisResult<()> {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pattern.to_owned(), Arc::new(handler));
        self.conn.clone().psubscribe(pattern).await
    }

    /// Stops following `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> redis::RedisResult<()> {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(channel);
        self.conn.clone().unsubscribe(channel).await
    }

    /// Publishes `payload` on `channel` after everything published before it; never waits.
    pub fn publish(&self, channel: &str, payload: Vec<u8>) {
        if self.outbox.try_send((channel.to_owned(), payload)).is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Publishes `payload` now, waiting for Redis (the adapter's requests, which have their
    /// own order and timeouts).
    pub async fn publish_now(&self, channel: String, payload: Vec<u8>) -> redis::RedisResult<()> {
        self.conn
            .clone()
            .publish::<_, _, Value>(channel, payload)
            .await?;
        Ok(())
    }

    /// Tells every handler that messages may be missing (the `back` channel's own handler
    /// ignores it).
    fn back(handlers: &RwLock<HashMap<String, Handler>>) {
        let handlers: Vec<Handler> = handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for handler in handlers {
            handler(Link::Back);
        }
    }
}

/// Hands each pushed message to its channel's (or pattern's) handler; notes a lost connection.
async fn route(
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    handlers: Arc<RwLock<HashMap<String, Handler>>>,
    lost: Arc<AtomicBool>,
) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                let mut data = push.data.into_iter();
                let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                else {
                    continue;
                };
                hand_over(&handlers, &channel, payload);
            }
            PushKind::PMessage => {
                // A pattern's message: the pattern, the channel, the payload.
                let mut data = push.data.into_iter();
                let (Some(Value::BulkString(pattern)), _, Some(Value::BulkString(payload))) =
                    (data.next(), data.next(), data.next())
                else {
                    continue;
                };
                hand_over(&handlers, &pattern, payload);
            }
            PushKind::Disconnection => {
                lost.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Gives `payload` to the handler of the channel or pattern `name`, if there is one.
fn hand_over(handlers: &RwLock<HashMap<String, Handler>>, name: &[u8], payload: Vec<u8>) {
    let handler = std::str::from_utf8(name).ok().and_then(|name| {
        handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    });
    if let Some(handler) = handler {
        handler(Link::Message(payload));
    }
}

/// Publishes the outbox in order, many messages per round trip.
async fn publish(mut outbox: mpsc::Receiver<(String, Vec<u8>)>, redis: Redis) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut failed = false;
    while outbox.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.publish(channel, payload).ignore();
        }
        let mut conn = redis.conn();
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) if failed => {
                failed = false;
                // Others missed what could not be sent: they and we recover from storage.
                redis.publish(&redis.back_channel, Vec::new());
            }
            Ok(()) => {}
            Err(e) => {
                if !failed {
                    redis.failed("publishing", &e);
                }
                failed = true;
            }
        }
    }
}

/// Checks the connection every second; when it comes back after an outage, every handler is
/// told.
async fn watch_link(redis: Redis, up: watch::Sender<bool>, lost: Arc<AtomicBool>) {
    let mut every = tokio::time::interval(WATCH);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let mut conn = redis.conn();
        let ping = redis::cmd("PING").query_async::<String>(&mut conn).await;
        let gauge = ::metrics::gauge!(crate::metrics::CLUSTER_REDIS_UP);
        gauge.set(if ping.is_ok() { 1.0 } else { 0.0 });
        match ping {
            Ok(_) => {
                if !*up.borrow() || lost.swap(false, Ordering::Relaxed) {
                    info!("redis: connected again; recovering what may have been missed");
                    up.send_replace(true);
                    Redis::back(&redis.handlers);
                }
            }
            Err(e) => {
                lost.store(true, Ordering::Relaxed);
                if up.send_replace(false) {
                    redis.failed("the connection", &e);
                }
            }
        }
    }
}
