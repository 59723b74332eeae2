//! Rate limits shared by the nodes of a cluster: the same token bucket (GCRA, as governor's in
//! process) kept in Redis, one key per limiter and user, `<prefix>:rl:<limiter>:<user>`, holding
//! the bucket's theoretical arrival time and expiring when the bucket is full again.
//!
//! One check is one Lua script on Redis's clock, so every node agrees. While Redis cannot be
//! reached, each node falls back to its own in-memory bucket: limits then hold per node (a user
//! spread over `n` nodes gets up to `n` times the rate) until Redis is back.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use futures_util::future::{BoxFuture, FutureExt};
use redis::Script;

use super::redis::Redis;
use crate::ports::{Limiter, Limiters, MemoryLimiter, Rate};

/// Spends one unit; returns 0, or the milliseconds until the next unit.
/// ARGV: period in µs, burst.
static CHECK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next = tat + period
if next - now > burst * period then
  return math.ceil((next - now - burst * period) / 1000)
end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
return 0
",
    )
});

/// The limiters of a cluster.
#[derive(Debug, Clone)]
pub struct RedisLimiters {
    redis: Redis,
    prefix: String,
}

impl RedisLimiters {
    /// Limiters on the cluster `prefix`.
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }
}

impl Limiters for RedisLimiters {
    fn limiter(&self, name: &'static str, rate: Rate) -> Arc<dyn Limiter> {
        Arc::new(RedisLimiter {
            redis: self.redis.clone(),
            key: format!("{}:rl:{name}:", self.prefix),
            rate,
            fallback: MemoryLimiter::new(rate),
        })
    }
}

/// One limiter in Redis.
struct RedisLimiter {
    redis: Redis,
    /// The keys' start.
    key: String,
    rate: Rate,
    /// This node's own bucket, while Redis is away.
    fallback: MemoryLimiter,
}

impl Limiter for RedisLimiter {
    fn check<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Duration>> {
        async move {
            let period = u64::try_from(self.rate.period.as_micros())
                .unwrap_or(u64::MAX)
                .max(1);
            let mut check = CHECK.prepare_invoke();
            check
                .key(format!("{}{key}", self.key))
                .arg(period)
                .arg(self.rate.burst);
            match self.redis.run::<u64>("a rate limit", &check).await {
                Some(0) => Ok(()),
                Some(wait_ms) => Err(Duration::from_millis(wait_ms)),
                None => self.fallback.check(key).await,
            }
        }
        .boxed()
    }

    fn prune(&self) {
        // Redis expires full buckets by itself.
        self.fallback.prune();
    }
}
