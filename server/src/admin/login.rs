//! Who may open `/admin`: the user name and a password checked against the bcrypt hash, or a
//! session id handed out at an earlier login (the UI keeps it and reconnects with it).
//!
//! As in the package, a login answers `session` with a new id, good for a day. The id is
//! signed, not remembered: the moment it was issued (hexadecimal milliseconds) and an
//! HMAC-SHA-256 of it under a key made from the server's token secret, the user name and the
//! password hash. Every node of a cluster shares these, so a UI that reloads onto another node
//! stays logged in; no node holds memory per session; a new password or token secret ends every
//! session. bcrypt is slow on purpose: checks run on the blocking pool, [`CHECKS_AT_ONCE`] at a
//! time, so a flood of guesses queues instead of taking every core.

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::clock::now_ms;

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

/// The credentials and the key sessions are signed with.
#[derive(Clone)]
pub struct Gate {
    user: Arc<str>,
    hash: Arc<str>,
    key: Arc<[u8; 32]>,
    checks: Arc<Semaphore>,
}

impl Gate {
    /// A gate for `user` with the bcrypt `hash` of their password; `secret` is the server's
    /// token secret (the same on every node).
    pub fn new(user: &str, hash: &str, secret: &[u8]) -> Self {
        let mut key = Sha256::new();
        for part in [
            b"admin-ui session".as_slice(),
            secret,
            user.as_bytes(),
            hash.as_bytes(),
        ] {
            key.update((part.len() as u64).to_be_bytes());
            key.update(part);
        }
        Self {
            user: user.into(),
            hash: hash.into(),
            key: Arc::new(key.finalize().into()),
            checks: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
        }
    }

    /// Checks the `auth` of a connection to `/admin`: `{ sessionId }` or `{ username, password }`.
    pub async fn check(&self, auth: &Value) -> Result<Login, InvalidCredentials> {
        let field = |k: &str| auth.get(k).and_then(Value::as_str);
        if let Some(id) = field("sessionId")
            && self.resume(id, now_ms())
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
        Ok(Login::Fresh(self.open(now_ms())))
    }

    fn mac(&self, issued: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(issued.as_bytes());
        mac
    }

    /// Whether `id` is a session this server (or another node of its cluster) issued less than
    /// [`SESSION_TTL`] before `now` (milliseconds since the epoch).
    fn resume(&self, id: &str, now: i64) -> bool {
        let Some((issued, tag)) = id.split_once('x') else {
            return false;
        };
        let (Ok(at), Some(tag)) = (i64::from_str_radix(issued, 16), unhex(tag)) else {
            return false;
        };
        let age = now.saturating_sub(at);
        (0..SESSION_TTL.as_millis() as i64).contains(&age)
            && self.mac(issued).verify_slice(&tag).is_ok()
    }

    /// A new session id issued at `now`: `<issued, hex>x<HMAC, hex>` (letters and digits only,
    /// as the package's ids).
    fn open(&self, now: i64) -> String {
        let issued = format!("{now:x}");
        let tag = self.mac(&issued).finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("{issued}x{hex}")
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
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
        Gate::new(
            "admin",
            &bcrypt::hash("pass", 4).expect("hash"),
            b"token secret",
        )
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
    fn sessions_expire_and_hold_on_every_node_with_the_same_secrets_only() {
        let hash = bcrypt::hash("pass", 4).expect("hash");
        let (a, b) = (
            Gate::new("admin", &hash, b"token secret"),
            Gate::new("admin", &hash, b"token secret"),
        );
        let t0 = 1_800_000_000_000;
        let id = a.open(t0);
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert!(
            b.resume(&id, t0 + 1),
            "another node with the same secrets lets it in"
        );
        assert!(a.resume(&id, t0 + SESSION_TTL.as_millis() as i64 - 1));
        assert!(
            !a.resume(&id, t0 + SESSION_TTL.as_millis() as i64),
            "a day later"
        );
        assert!(!a.resume(&id, t0 - 1), "issued in the future");
        for other in [
            Gate::new("admin", &hash, b"another secret"),
            Gate::new("root", &hash, b"token secret"),
            Gate::new(
                "admin",
                &bcrypt::hash("pass", 4).expect("hash"),
                b"token secret",
            ),
        ] {
            assert!(
                !other.resume(&id, t0 + 1),
                "a new secret, user or password ends it"
            );
        }
        let (issued, tag) = id.split_once('x').expect("shape");
        let later = format!("{:x}x{tag}", t0 + 1000);
        assert!(!a.resume(&later, t0 + 2000), "the time cannot be moved");
        for bad in [
            "",
            "x",
            "zzx00",
            &format!("{issued}x{}", &tag[2..]),
            &format!("{issued}x{tag}0"),
        ] {
            assert!(!a.resume(bad, t0 + 1), "{bad:?}");
        }
    }
}
