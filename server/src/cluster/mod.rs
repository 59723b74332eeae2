//! Cluster mode: several nodes serving one chat through Redis (and one PostgreSQL database).
//!
//! - `redis`: the node's connection: commands, followed channels, ordered publishing, and
//!   noticing when Redis is back after an outage.
//! - `bus`: the room bus over one channel; `membership`: users gaining and losing rooms;
//!   `presence`: who is online, per node; `limiter`: rate limits shared by every node;
//!   `fanout`: requests every node hears (cancels of replies another node writes, the Admin
//!   UI's census of sockets); `leases`: which node writes the bot's
//!   reply in a room; `budgets`: the bot's tokens spent per user; `inflight`: its requests in
//!   flight per user; `emitter`: plain events in `@socket.io/redis-emitter`'s format.
//! - `nodes`: beats, and taking a dead node out (its presence, its streaming replies).
//! - `adapter`: socketioxide-redis on the same connection.
//!
//! Without `--redis-url` none of this runs: the node keeps everything in memory.

mod adapter;
mod budgets;
mod bus;
mod emitter;
mod fanout;
mod inflight;
mod leases;
mod limiter;
mod membership;
mod nodes;
mod presence;
mod redis;

use std::sync::Arc;

use anyhow::Context;

pub use self::adapter::{AdapterDriver, ClusterAdapter};
pub use self::nodes::{BEAT, TTL};
pub use self::redis::{Link, Redis};
use self::{
    budgets::RedisTokenBudgets, bus::RedisBus, emitter::RedisBroadcasts, fanout::RedisFanout,
    inflight::RedisInFlight, leases::RedisLeases, limiter::RedisLimiters,
    membership::RedisMembership, presence::RedisPresences,
};
use crate::{
    bot::{BotShared, MemoryAdmissions},
    chat::Shared,
    ports::{CensusRequest, StopRequest},
};

/// A node's place in the cluster; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The connection.
    pub redis: Redis,
    /// Keeps this cluster's keys and channels apart from others on the same Redis.
    pub prefix: String,
    /// This node's name.
    pub node: String,
    /// What the chat shares with the other nodes.
    pub shared: Shared,
    presences: RedisPresences,
    inflight: Arc<RedisInFlight>,
}

impl Cluster {
    /// Connects to Redis at `url` as `node` of the cluster `prefix`.
    pub async fn connect(url: &str, prefix: &str, node: &str) -> anyhow::Result<Self> {
        let redis = Redis::connect(url, prefix)
            .await
            .context("in redis_url: cannot reach Redis")?;
        let presences = RedisPresences::new(redis.clone(), prefix);
        let inflight = RedisInFlight::start(redis.clone(), prefix, node).await?;
        let shared = Shared {
            bus: Arc::new(RedisBus::start(redis.clone(), prefix, node).await?),
            presence: Arc::new(presences.clone()),
            membership: Arc::new(RedisMembership::start(redis.clone(), prefix, node).await?),
            bot: BotShared {
                admissions: Arc::new(MemoryAdmissions::default()),
                stops: Arc::new(
                    RedisFanout::<StopRequest>::start(redis.clone(), prefix, "stops", node).await?,
                ),
                leases: Arc::new(RedisLeases::new(redis.clone(), prefix)),
                budgets: Arc::new(RedisTokenBudgets::new(redis.clone(), prefix)),
                inflight: inflight.clone(),
            },
            limiters: Arc::new(RedisLimiters::new(redis.clone(), prefix)),
            broadcasts: Arc::new(RedisBroadcasts::start(redis.clone(), prefix, node).await?),
            census: Arc::new(
                RedisFanout::<CensusRequest>::start(redis.clone(), prefix, "census", node).await?,
            ),
        };
        Ok(Self {
            redis,
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            shared,
            presences,
            inflight,
        })
    }

    /// The Socket.IO adapter's state: socketioxide-redis on this connection, its channels
    /// under the same prefix.
    pub fn adapter(&self) -> socketioxide_redis::RedisAdapterCtr<AdapterDriver> {
        socketioxide_redis::RedisAdapterCtr::new_with_driver(
            AdapterDriver(self.redis.clone()),
            socketioxide_redis::RedisAdapterConfig::new().with_prefix(self.prefix.clone()),
        )
    }
}
