//! Rate limits per key: a token bucket per user, shared by all of the user's sockets.
//!
//! The trait is asynchronous because a shared implementation (over Redis) must ask the network;
//! the in-memory one answers at once.

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use futures_util::future::{BoxFuture, FutureExt};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

/// A bucket of `burst` units refilled at one unit every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time to refill one unit.
    pub period: Duration,
    /// Units that may be spent at once.
    pub burst: u32,
}

impl Rate {
    /// `n` a second, with bursts of `burst`.
    pub fn per_second(n: u32, burst: u32) -> Self {
        Self {
            period: Duration::from_secs(1) / n.max(1),
            burst: burst.max(1),
        }
    }

    /// `n` a minute, all of them at once if need be.
    pub fn per_minute(n: u32) -> Self {
        Self {
            period: Duration::from_secs(60) / n.max(1),
            burst: n.max(1),
        }
    }
}

/// Rate limits per key.
pub trait Limiter: Send + Sync + 'static {
    /// Spends one unit of `key`'s bucket; `Err(wait)` when it is empty, with the time until the
    /// next unit.
    fn check<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Duration>>;

    /// Forgets keys whose bucket is full again (they cost memory and mean nothing).
    fn prune(&self);
}

/// Where a node gets its limiters. Each is named, so that nodes sharing the limiters' state
/// (a Redis one) share each bucket.
pub trait Limiters: Send + Sync + fmt::Debug + 'static {
    /// The limiter called `name`, with `rate` for every key.
    fn limiter(&self, name: &'static str, rate: Rate) -> Arc<dyn Limiter>;
}

/// Limiters of this process alone.
#[derive(Debug, Default)]
pub struct MemoryLimiters;

impl Limiters for MemoryLimiters {
    fn limiter(&self, _name: &'static str, rate: Rate) -> Arc<dyn Limiter> {
        Arc::new(MemoryLimiter::new(rate))
    }
}

/// The in-process limiter (governor's keyed GCRA).
#[derive(Debug)]
pub struct MemoryLimiter(DefaultKeyedRateLimiter<String>);

impl MemoryLimiter {
    /// A limiter with `rate` for every key.
    pub fn new(rate: Rate) -> Self {
        let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(rate.period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self(RateLimiter::keyed(quota))
    }
}

impl Limiter for MemoryLimiter {
    fn check<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Duration>> {
        let key = key.to_owned();
        let result = self.0.check_key(&key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        });
        std::future::ready(result).boxed()
    }

    fn prune(&self) {
        self.0.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_then_refusals_with_the_wait_and_other_keys_unaffected() {
        let limiter = MemoryLimiter::new(Rate::per_second(10, 3));
        for _ in 0..3 {
            assert_eq!(limiter.check("ada").await, Ok(()));
        }
        let wait = limiter.check("ada").await.expect_err("the burst is spent");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert_eq!(limiter.check("ben").await, Ok(()), "keys are separate");
    }

    #[test]
    fn rates_refill_one_unit_per_period() {
        assert_eq!(Rate::per_second(20, 100).period, Duration::from_millis(50));
        assert_eq!(Rate::per_minute(10).period, Duration::from_secs(6));
        assert_eq!(Rate::per_minute(10).burst, 10);
        assert_eq!(Rate::per_second(0, 0).burst, 1, "never a zero bucket");
    }
}
