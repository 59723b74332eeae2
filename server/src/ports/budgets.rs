//! The bot's budgets per user, as every node counts them: what each user's replies cost over
//! the last minute ([`TokenBudgets`], for `--bot-tokens-per-minute`) and how many requests each
//! has waiting or running ([`InFlight`], for `--bot-max-inflight`), so that both hold across the
//! cluster.
//!
//! The traits are asynchronous because the cluster's counts live in Redis.

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

/// Bot requests each user has waiting or running, counted per node.
pub trait InFlight: Send + Sync + fmt::Debug + 'static {
    /// Counts one more request of `user` on `node`, unless they have `max` in flight across
    /// the nodes already (`false` then).
    fn reserve<'a>(&'a self, user: &'a str, node: &'a str, max: usize) -> BoxFuture<'a, bool>;

    /// One request of `user` on `node` is done with (answered, refused, cancelled).
    fn release<'a>(&'a self, user: &'a str, node: &'a str) -> BoxFuture<'a, ()>;
}

/// Requests in flight within one process.
#[derive(Debug, Default)]
pub struct MemoryInFlight {
    /// user -> node -> count (no entry for a count of zero).
    users: Mutex<HashMap<String, HashMap<String, usize>>>,
}

impl MemoryInFlight {
    /// [`InFlight::reserve`], at once.
    pub fn reserve_now(&self, user: &str, node: &str, max: usize) -> bool {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let nodes = users.entry(user.to_owned()).or_default();
        if nodes.values().sum::<usize>() >= max {
            return false;
        }
        *nodes.entry(node.to_owned()).or_default() += 1;
        true
    }

    /// [`InFlight::release`], at once.
    pub fn release_now(&self, user: &str, node: &str) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(nodes) = users.get_mut(user) else {
            return;
        };
        if let Some(n) = nodes.get_mut(node) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                nodes.remove(node);
            }
        }
        if nodes.is_empty() {
            users.remove(user);
        }
    }

    /// `user`'s requests in flight on `node`.
    pub fn on(&self, user: &str, node: &str) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(user)
            .and_then(|n| n.get(node))
            .copied()
            .unwrap_or(0)
    }

    /// Every user with requests in flight on `node`, with their count there.
    pub fn all_on(&self, node: &str) -> Vec<(String, usize)> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .iter()
            .filter_map(|(u, nodes)| nodes.get(node).map(|n| (u.clone(), *n)))
            .collect()
    }
}

impl InFlight for MemoryInFlight {
    fn reserve<'a>(&'a self, user: &'a str, node: &'a str, max: usize) -> BoxFuture<'a, bool> {
        std::future::ready(self.reserve_now(user, node, max)).boxed()
    }

    fn release<'a>(&'a self, user: &'a str, node: &'a str) -> BoxFuture<'a, ()> {
        self.release_now(user, node);
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

    #[tokio::test]
    async fn requests_in_flight_count_on_every_node_and_come_back_when_released() {
        let f = MemoryInFlight::default();
        assert!(f.reserve("ada", "n1", 2).await);
        assert!(f.reserve("ada", "n2", 2).await);
        assert!(
            !f.reserve("ada", "n1", 2).await,
            "two in flight across the nodes"
        );
        assert!(f.reserve("ben", "n1", 2).await, "users apart");
        f.release("ada", "n2").await;
        assert_eq!((f.on("ada", "n1"), f.on("ada", "n2")), (1, 0));
        assert!(f.reserve("ada", "n2", 2).await);
        for node in ["n1", "n2"] {
            f.release("ada", node).await;
        }
        f.release("ben", "n1").await;
        f.release("ben", "n1").await; // once too often: nothing below zero
        assert!(
            f.users.lock().expect("lock").is_empty(),
            "nothing kept at zero"
        );
    }
}
