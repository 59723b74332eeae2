//! The bot's token budget per user: what each user's replies cost over the last minute, as
//! every node counts it, so that `--bot-tokens-per-minute` holds across the cluster.
//!
//! The trait is asynchronous because the cluster's counts live in Redis.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::Mutex,
    time::Duration,
};

use futures_util::future::{BoxFuture, FutureExt};
use tokio::time::Instant;

/// The span the budget covers.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What a user spent over the last [`WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    /// Tokens.
    pub tokens: u64,
    /// How long until the oldest of them stop counting (zero when none count).
    pub frees_in: Duration,
}

/// Tokens spent per user, over the last minute.
pub trait TokenBudgets: Send + Sync + fmt::Debug + 'static {
    /// What `user` spent over the last minute.
    fn spent<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Spent>;

    /// `user` spent `tokens` now.
    fn spend<'a>(&'a self, user: &'a str, tokens: u64) -> BoxFuture<'a, ()>;
}

/// Budgets of this process alone.
#[derive(Debug, Default)]
pub struct MemoryTokenBudgets {
    users: Mutex<HashMap<String, VecDeque<(Instant, u64)>>>,
}

impl MemoryTokenBudgets {
    /// What `user` spent over the last minute, now (forgetting what no longer counts).
    pub fn spent_now(&self, user: &str) -> Spent {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = users.get_mut(user) else {
            return Spent::default();
        };
        while log
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= WINDOW)
        {
            log.pop_front();
        }
        let Some(&(oldest, _)) = log.front() else {
            users.remove(user);
            return Spent::default();
        };
        Spent {
            tokens: log.iter().map(|(_, t)| t).sum(),
            frees_in: WINDOW.saturating_sub(now.duration_since(oldest)),
        }
    }

    /// Records that `user` spent `tokens` now.
    pub fn spend_now(&self, user: &str, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .entry(user.to_owned())
            .or_default()
            .push_back((Instant::now(), tokens));
    }
}

impl TokenBudgets for MemoryTokenBudgets {
    fn spent<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Spent> {
        std::future::ready(self.spent_now(user)).boxed()
    }

    fn spend<'a>(&'a self, user: &'a str, tokens: u64) -> BoxFuture<'a, ()> {
        self.spend_now(user, tokens);
        std::future::ready(()).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_minute_of_spending_counts_then_frees_oldest_first() {
        let b = MemoryTokenBudgets::default();
        assert_eq!(b.spent("ada").await, Spent::default());
        b.spend("ada", 100).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        b.spend("ada", 50).await;
        b.spend("ben", 7).await;
        let spent = b.spent("ada").await;
        assert_eq!(spent.tokens, 150);
        assert_eq!(
            spent.frees_in,
            Duration::from_secs(40),
            "the first 100 stop counting first"
        );
        assert_eq!(b.spent("ben").await.tokens, 7, "users apart");

        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(b.spent("ada").await.tokens, 50);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(b.spent("ada").await, Spent::default());
        assert_eq!(b.spent("ben").await, Spent::default());
        assert!(
            b.users.lock().expect("lock").is_empty(),
            "nothing kept for users who spent nothing"
        );
    }
}
