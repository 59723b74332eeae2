//! Options of the HTTP API for backends (`/api/v1/`): its keys, its rate and its body limit.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The HTTP API for a product's other services, enabled by at least one key.
#[derive(Clone, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "HTTP API")]
pub struct ApiOptions {
    /// Key a backend sends as `Authorization: Bearer KEY` to use `/api/v1/`; repeat the flag
    /// (or comma-separate the variable) for several. Without any key `/api/v1/` answers 404
    #[arg(
        long = "api-key",
        env = "CHAT_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(default)]
    pub api_key: Vec<String>,

    /// File of API keys, one per line (blank lines and lines starting with `#` ignored), in
    /// addition to --api-key
    #[arg(long, env = "CHAT_API_KEY_FILE", value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Requests one API key may make per second, sustained, across the cluster
    #[arg(long, env = "CHAT_API_RATE_PER_SEC", default_value_t = 50)]
    pub api_rate_per_sec: u32,

    /// Requests one API key may make at once before the sustained rate applies
    #[arg(long, env = "CHAT_API_RATE_BURST", default_value_t = 200)]
    pub api_rate_burst: u32,

    /// Largest request body the API accepts, in bytes (larger: 413)
    #[arg(long, env = "CHAT_API_MAX_BODY_BYTES", default_value_t = 65_536)]
    pub api_max_body_bytes: usize,
}

// Keys are secrets: never printed, whatever prints the configuration.
impl std::fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiOptions")
            .field(
                "api_key",
                &format_args!("[{} redacted]", self.api_key.len()),
            )
            .field("api_key_file", &self.api_key_file)
            .field("api_rate_per_sec", &self.api_rate_per_sec)
            .field("api_rate_burst", &self.api_rate_burst)
            .field("api_max_body_bytes", &self.api_max_body_bytes)
            .finish()
    }
}

impl ApiOptions {
    /// Every key in force: the flag's, then the file's, without blanks or repeats. `Err` names
    /// the file that cannot be read.
    pub fn keys(&self) -> Result<Vec<String>, String> {
        let mut keys: Vec<String> = Vec::new();
        let from_file = match &self.api_key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                parse_key_file(&text)
            }
            None => Vec::new(),
        };
        let given = self.api_key.iter().map(|k| k.trim().to_owned());
        for key in given.chain(from_file) {
            if !key.is_empty() && !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}

impl ApiOptions {
    /// Refuses a rate or a body limit of 0 and a key file that cannot be read.
    pub(super) fn validate(&self) -> Result<(), super::ConfigError> {
        use super::ConfigError;
        if self.api_rate_per_sec == 0 || self.api_rate_burst == 0 {
            return Err(ConfigError::invalid(
                "api_rate_per_sec",
                "the API's rate and burst must be at least 1",
            ));
        }
        if self.api_max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                "api_max_body_bytes",
                "must be at least 1024",
            ));
        }
        self.keys()
            .map(|_| ())
            .map_err(|e| ConfigError::invalid("api_key_file", e))
    }
}

/// The keys of a key file: one per line, trimmed; blank lines and `#` comments skipped.
pub fn parse_key_file(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_skips_blanks_and_comments() {
        let text = "# backend keys\n\nk-one\n  k-two  \r\n# old: k-zero\n\t\nk-three";
        assert_eq!(parse_key_file(text), ["k-one", "k-two", "k-three"]);
    }

    #[test]
    fn flag_and_file_keys_merge_without_repeats() {
        let dir = std::env::temp_dir().join(format!("api-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test value");
        let file = dir.join("keys");
        std::fs::write(&file, "k-two\nk-three\n").expect("test value");
        let opts = ApiOptions {
            api_key: vec!["k-one".into(), " ".into(), "k-two".into()],
            api_key_file: Some(file),
            api_rate_per_sec: 1,
            api_rate_burst: 1,
            api_max_body_bytes: 1,
        };
        assert_eq!(
            opts.keys().expect("test value"),
            ["k-one", "k-two", "k-three"]
        );
        assert!(!format!("{opts:?}").contains("k-one"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let opts = ApiOptions {
            api_key: vec![],
            api_key_file: Some("/nonexistent/keys".into()),
            api_rate_per_sec: 1,
            api_rate_burst: 1,
            api_max_body_bytes: 1,
        };
        assert!(
            opts.keys()
                .expect_err("fails")
                .contains("/nonexistent/keys")
        );
    }
}
