//! Leases in Redis: `<prefix>:lease:<name>` holds its holder and expires with the lease. Taking
//! and giving back are Lua scripts, so a holder only ever renews or deletes its own.
//!
//! While Redis cannot be reached every node serves its own clients alone: a lease is then
//! granted at once, and two nodes may write a reply in one room at the same time until Redis is
//! back.

use std::{sync::LazyLock, time::Duration};

use futures_util::future::{BoxFuture, FutureExt};
use redis::Script;

use super::redis::Redis;
use crate::ports::Leases;

/// 1 if the lease is now ARGV[1]'s for ARGV[2] ms, 0 if another holder has it.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
",
    )
});

/// Deletes the lease if ARGV[1] holds it.
static GIVE_BACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// The leases of a cluster.
#[derive(Debug, Clone)]
pub struct RedisLeases {
    redis: Redis,
    prefix: String,
}

impl RedisLeases {
    /// Leases on the cluster `prefix`.
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.prefix)
    }
}

impl Leases for RedisLeases {
    fn take<'a>(&'a self, name: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, bool> {
        async move {
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut take = TAKE.prepare_invoke();
            take.key(self.key(name)).arg(holder).arg(ms);
            // Without an answer from Redis this node serves alone: the lease is its own.
            self.redis
                .run::<u8>("a lease", &take)
                .await
                .is_none_or(|t| t == 1)
        }
        .boxed()
    }

    fn give_back<'a>(&'a self, name: &'a str, holder: &'a str) -> BoxFuture<'a, ()> {
        async move {
            let mut give = GIVE_BACK.prepare_invoke();
            give.key(self.key(name)).arg(holder);
            // Not given back: it runs out by itself.
            self.redis.run::<u8>("giving a lease back", &give).await;
        }
        .boxed()
    }
}
