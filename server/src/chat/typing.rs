//! Typing notices: forwarded to the room's other members, lapsing unless repeated.
//!
//! One sweeper per server ends the notices that lapsed ([`Typing::lapsed`]); a notice costs an
//! entry in a map, never a task of its own.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use tokio::time::Instant;

use crate::wire::User;

/// Who is typing where, and until when.
#[derive(Debug)]
pub struct Typing {
    timeout: Duration,
    current: Mutex<HashMap<(String, String), (Instant, User)>>,
}

impl Typing {
    /// Notices last `timeout` unless repeated.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            current: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `user` typed in `room` (again).
    pub fn start(&self, room: &str, user: &User) {
        let until = Instant::now() + self.timeout;
        self.lock().insert(
            (room.to_owned(), user.user_id.clone()),
            (until, user.clone()),
        );
    }

    /// Records that `user` stopped; `true` if they were typing.
    pub fn stop(&self, room: &str, user_id: &str) -> bool {
        self.lock()
            .remove(&(room.to_owned(), user_id.to_owned()))
            .is_some()
    }

    /// Removes and returns the notices that lapsed by now: (room, user).
    pub fn lapsed(&self) -> Vec<(String, User)> {
        let now = Instant::now();
        let mut current = self.lock();
        let mut ended = Vec::new();
        current.retain(|(room, _), (until, user)| {
            if *until <= now {
                ended.push((room.clone(), user.clone()));
                false
            } else {
                true
            }
        });
        ended
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Instant, User)>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> User {
        User {
            user_id: "u".into(),
            name: "Ada".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_notice_pushes_the_lapse_back() {
        let t = Typing::new(Duration::from_secs(5));
        t.start("r", &ada());
        tokio::time::advance(Duration::from_secs(4)).await;
        t.start("r", &ada());
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(t.lapsed().is_empty(), "the second notice still runs");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(t.lapsed(), vec![("r".to_owned(), ada())]);
        assert!(t.lapsed().is_empty(), "reported once");
        assert!(!t.stop("r", "u"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_notice_without_a_lapse() {
        let t = Typing::new(Duration::from_secs(5));
        t.start("r", &ada());
        assert!(t.stop("r", "u"));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(t.lapsed().is_empty());
    }
}
