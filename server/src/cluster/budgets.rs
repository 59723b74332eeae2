//! The bot's token budgets in Redis: what each user's replies cost, in buckets of ten seconds
//! (`<prefix>:tokens:<user>:<bucket>`, expiring after the minute they count in), summed over
//! the last six on Redis's clock, so every node agrees. The minute is therefore between 50 and
//! 60 seconds long, and a refusal's wait is when the oldest bucket stops counting.
//!
//! While Redis cannot be reached each node counts in memory what it saw: budgets then hold per
//! node until Redis is back.

use std::{sync::LazyLock, time::Duration};

use futures_util::future::{BoxFuture, FutureExt};
use redis::Script;

use super::redis::Redis;
use crate::ports::{MemoryTokenBudgets, Spent, TokenBudgets};

/// Seconds per bucket; six make the minute.
const BUCKET_SECS: u64 = 10;

/// `{ tokens, ms until the oldest counted bucket stops counting }`. KEYS[1]: the user's key
/// start; ARGV[1]: seconds per bucket.
static SPENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size = tonumber(ARGV[1])
local current = math.floor(now / 1000 / size)
local total, oldest = 0, nil
for b = current - 5, current do
  local v = tonumber(redis.call('GET', KEYS[1] .. b) or '0')
  if v > 0 then
    total = total + v
    if not oldest then oldest = b end
  end
end
if not oldest then return {0, 0} end
return {total, (oldest + 6) * size * 1000 - now}
",
    )
});

/// Adds ARGV[2] tokens to the current bucket. KEYS[1]: the user's key start.
static SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local size = tonumber(ARGV[1])
local key = KEYS[1] .. math.floor(tonumber(t[1]) / size)
redis.call('INCRBY', key, ARGV[2])
redis.call('EXPIRE', key, size * 7)
return 0
",
    )
});

/// The token budgets of a cluster.
#[derive(Debug)]
pub struct RedisTokenBudgets {
    redis: Redis,
    prefix: String,
    /// This node's own count, while Redis is away.
    fallback: MemoryTokenBudgets,
}

impl RedisTokenBudgets {
    /// Budgets on the cluster `prefix`.
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            fallback: MemoryTokenBudgets::default(),
        }
    }

    fn key(&self, user: &str) -> String {
        format!("{}:tokens:{user}:", self.prefix)
    }
}

impl TokenBudgets for RedisTokenBudgets {
    fn spent<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Spent> {
        async move {
            let mut spent = SPENT.prepare_invoke();
            spent.key(self.key(user)).arg(BUCKET_SECS);
            match self.redis.run::<(u64, u64)>("a token budget", &spent).await {
                Some((tokens, ms)) => Spent {
                    tokens,
                    frees_in: Duration::from_millis(ms),
                },
                None => self.fallback.spent_now(user),
            }
        }
        .boxed()
    }

    fn spend<'a>(&'a self, user: &'a str, tokens: u64) -> BoxFuture<'a, ()> {
        async move {
            // Counted here too, for the time Redis is away.
            self.fallback.spend_now(user, tokens);
            if tokens > 0 {
                let mut spend = SPEND.prepare_invoke();
                spend.key(self.key(user)).arg(BUCKET_SECS).arg(tokens);
                self.redis
                    .run::<u8>("spending a token budget", &spend)
                    .await;
            }
        }
        .boxed()
    }
}
