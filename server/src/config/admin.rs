//! Options of the socket.io Admin UI: the `/admin` namespace and the page served at `/admin-ui/`.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// How much the `/admin` namespace tells, as `mode` of `@socket.io/admin-ui`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminMode {
    /// `config`, `server_stats`, every socket and the socket and room events.
    Development,
    /// `config` and `server_stats` only.
    Production,
}

impl std::fmt::Display for AdminMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Production => "production",
        })
    }
}

/// Who may open the Admin UI, and what it may see and do.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Admin UI")]
pub struct AdminOptions {
    /// User name of the socket.io Admin UI; with --admin-password-hash it enables the `/admin`
    /// namespace (`@socket.io/admin-ui` 0.5) and the page at `/admin-ui/`. Without both there is
    /// no `/admin`
    #[arg(long, env = "CHAT_ADMIN_USER")]
    pub admin_user: Option<String>,

    /// bcrypt hash of the Admin UI's password (`server hash-password` prints one)
    #[arg(long, env = "CHAT_ADMIN_PASSWORD_HASH", hide_env_values = true)]
    pub admin_password_hash: Option<String>,

    /// What the Admin UI is told: `development` every socket and room event, `production`
    /// only the configuration and the server's stats
    #[arg(long, env = "CHAT_ADMIN_MODE", default_value_t = AdminMode::Development)]
    pub admin_mode: AdminMode,

    /// The Admin UI may look but not act: its commands (emit, join, leave, disconnect) are
    /// neither offered nor obeyed
    #[arg(long, env = "CHAT_ADMIN_READONLY", default_value_t = false)]
    pub admin_readonly: bool,

    /// Folder of the Admin UI's built page, served at `/admin-ui/` when `/admin` is on
    /// (installed by `npm ci` in web-client/)
    #[arg(
        long,
        env = "CHAT_ADMIN_UI_DIR",
        default_value = "web-client/node_modules/@socket.io/admin-ui/ui/dist"
    )]
    pub admin_ui_dir: PathBuf,
}

impl AdminOptions {
    /// The user name and the password's hash, when both are given.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        Some((
            self.admin_user.as_deref()?,
            self.admin_password_hash.as_deref()?,
        ))
    }

    /// Both credentials or neither, and a hash that looks like bcrypt's.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match (&self.admin_user, &self.admin_password_hash) {
            (None, None) => Ok(()),
            // The error names the option given, as every configuration error does.
            (Some(_), None) => Err(ConfigError::invalid(
                "admin_user",
                "is set but admin_password_hash (--admin-password-hash) is not: give both or neither",
            )),
            (None, Some(_)) => Err(ConfigError::invalid(
                "admin_password_hash",
                "is set but admin_user (--admin-user) is not: give both or neither",
            )),
            (Some(user), Some(hash)) => {
                if user.trim().is_empty() {
                    return Err(ConfigError::invalid("admin_user", "must not be empty"));
                }
                if !looks_like_bcrypt(hash) {
                    return Err(ConfigError::invalid(
                        "admin_password_hash",
                        "must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// `$2b$10$` and 53 characters of bcrypt's base64: the modular crypt format of bcrypt.
fn looks_like_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    hash.len() == 60
        && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_told_apart_from_other_text() {
        let hash = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert!(looks_like_bcrypt(hash));
        assert!(looks_like_bcrypt(&hash.replacen("$2b$", "$2y$", 1)));
        assert!(!looks_like_bcrypt("secret"));
        assert!(!looks_like_bcrypt(&hash.replacen("$2b$", "$1$x", 1)));
        assert!(!looks_like_bcrypt(&hash[..59]));
    }
}
