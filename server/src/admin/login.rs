//! Who may open `/admin`: the user name and a password checked against the bcrypt hash, or a
//! session id handed out at an earlier login (the UI keeps it and reconnects with it).
//!
//! As in the package, a login answers `session` with a new id; ids live in this node's memory
//! for a day, at most [`MAX_SESSIONS`] of them (the oldest go first). bcrypt is slow on purpose:
//! checks run on the blocking pool, [`CHECKS_AT_ONCE`] at a time, so a flood of guesses queues
//! instead of taking every core.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::sync::Semaphore;

/// Sessions kept; a login beyond it forgets the oldest.
pub const MAX_SESSIONS: usize = 256;
/// How long a session id is good for.
pub const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
/// bcrypt checks running at once.
pub const CHECKS_AT_ONCE: usize = 2;

/// The refusal, worded as the package words it (the UI shows its own text for exactly this).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("invalid credentials")]
pub struct InvalidCredentials;

/// What a successful login is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A session id given earlier.
    Resumed,
    /// Good credentials: the new session id, for the `session` event.
    Fresh(String),
}

/// The credentials and the live sessions.
#[derive(Clone)]
pub struct Gate {
    user: Arc<str>,
    hash: Arc<str>,
    sessions: Arc<Mutex<HashMap<String, Instant>>>,
    checks: Arc<Semaphore>,
}

impl Gate {
    /// A gate for `user` with the bcrypt `hash` of their password.
    pub fn new(user: &str, hash: &str) -> Self {
        Self {
            user: user.into(),
            hash: hash.into(),
            sessions: Arc::default(),
            checks: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
        }
    }

    /// Checks the `auth` of a connection to `/admin`: `{ sessionId }` or `{ username, password }`.
    pub async fn check(&self, auth: &Value) -> Result<Login, InvalidCredentials> {
        let field = |k: &str| auth.get(k).and_then(Value::as_str);
        if let Some(id) = field("sessionId")
            && self.resume(id, Instant::now())
        {
            return Ok(Login::Resumed);
        }
        let (Some(user), Some(password)) = (field("username"), field("password")) else {
            return Err(InvalidCredentials);
        };
        if user != &*self.user {
            return Err(InvalidCredentials);
        }
        let _turn = self
            .checks
            .acquire()
            .await
            .map_err(|_| InvalidCredentials)?;
        let (password, hash) = (password.to_owned(), self.hash.clone());
        let good = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if !good {
            return Err(InvalidCredentials);
        }
        Ok(Login::Fresh(self.open(Instant::now())))
    }

    /// Whether `id` is a live session.
    fn resume(&self, id: &str, now: Instant) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(id)
            .is_some_and(|opened| now.duration_since(*opened) < SESSION_TTL)
    }

    /// A new session, forgetting expired ones and, when full, the oldest.
    fn open(&self, now: Instant) -> String {
        let id = crate::ids::new_id("", 24);
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, opened| now.duration_since(*opened) < SESSION_TTL);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, opened)| **opened)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(id.clone(), now);
        id
    }
}

/// A bcrypt hash of `password` at `cost`, for `server hash-password`.
pub fn hash_password(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(password, cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gate() -> Gate {
        Gate::new("admin", &bcrypt::hash("pass", 4).expect("hash"))
    }

    #[tokio::test]
    async fn good_credentials_open_a_session_that_lets_in_again() {
        let gate = gate();
        let login = gate
            .check(&json!({ "username": "admin", "password": "pass" }))
            .await
            .expect("in");
        let Login::Fresh(id) = login else {
            panic!("a fresh login hands out a session")
        };
        assert_eq!(
            gate.check(&json!({ "sessionId": id })).await.expect("in"),
            Login::Resumed
        );
    }

    #[tokio::test]
    async fn wrong_or_missing_credentials_are_refused() {
        let gate = gate();
        for auth in [
            json!({ "username": "admin", "password": "nope" }),
            json!({ "username": "root", "password": "pass" }),
            json!({ "username": "admin" }),
            json!({ "sessionId": "made-up" }),
            json!(null),
            json!("admin:pass"),
        ] {
            assert!(gate.check(&auth).await.is_err(), "{auth}");
        }
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let gate = gate();
        let t0 = Instant::now();
        let first = gate.open(t0);
        assert!(gate.resume(&first, t0 + SESSION_TTL / 2));
        assert!(!gate.resume(&first, t0 + SESSION_TTL));
        for i in 0..MAX_SESSIONS {
            gate.open(t0 + Duration::from_millis(i as u64 + 1));
        }
        assert!(!gate.resume(&first, t0), "the oldest went first");
        assert_eq!(gate.sessions.lock().expect("lock").len(), MAX_SESSIONS);
    }
}
