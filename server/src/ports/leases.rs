//! Leases: a name that one holder at a time may hold, for a while. The bot takes its room's
//! lease before it writes a reply there, so that one reply at a time is written in a room
//! whichever node was asked; the writing node renews it, and a node that dies loses it when it
//! runs out.
//!
//! The trait is asynchronous because the cluster's leases live in Redis.

use std::{collections::HashMap, fmt, sync::Mutex, time::Duration};

use futures_util::future::{BoxFuture, FutureExt};
use tokio::time::Instant;

/// Names held by one holder at a time.
pub trait Leases: Send + Sync + fmt::Debug + 'static {
    /// Takes `name` for `holder` for `ttl` (or renews it, when `holder` has it already);
    /// `false` while another holder has it.
    fn take<'a>(&'a self, name: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, bool>;

    /// Gives `name` back if `holder` has it.
    fn give_back<'a>(&'a self, name: &'a str, holder: &'a str) -> BoxFuture<'a, ()>;
}

/// Leases within one process.
#[derive(Debug, Default)]
pub struct MemoryLeases {
    held: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryLeases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Leases for MemoryLeases {
    fn take<'a>(&'a self, name: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, bool> {
        let now = Instant::now();
        let mut held = self.lock();
        held.retain(|_, (_, until)| *until > now);
        let free = held.get(name).is_none_or(|(h, _)| h == holder);
        if free {
            held.insert(name.to_owned(), (holder.to_owned(), now + ttl));
        }
        std::future::ready(free).boxed()
    }

    fn give_back<'a>(&'a self, name: &'a str, holder: &'a str) -> BoxFuture<'a, ()> {
        let mut held = self.lock();
        if held.get(name).is_some_and(|(h, _)| h == holder) {
            held.remove(name);
        }
        std::future::ready(()).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn one_holder_at_a_time_until_it_gives_back_or_its_time_runs_out() {
        let leases = MemoryLeases::default();
        assert!(leases.take("room", "a", TTL).await);
        assert!(!leases.take("room", "b", TTL).await, "a holds it");
        assert!(leases.take("other", "b", TTL).await, "names are apart");

        leases.give_back("room", "b").await;
        assert!(
            !leases.take("room", "b", TTL).await,
            "only the holder gives back"
        );
        leases.give_back("room", "a").await;
        assert!(leases.take("room", "b", TTL).await, "given back: free");

        // b renews before its time runs out, then stops renewing (its node died).
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert!(leases.take("room", "b", TTL).await);
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert!(!leases.take("room", "a", TTL).await, "renewed: still b's");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(leases.take("room", "a", TTL).await, "ran out: free");
    }
}
