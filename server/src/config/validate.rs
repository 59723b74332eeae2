//! Values that parse but make no sense, refused with the option's name.

use super::{Config, load::ConfigError};

impl Config {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("ping_interval_ms", self.transport.ping_interval_ms),
            ("ping_timeout_ms", self.transport.ping_timeout_ms),
            ("connect_timeout_ms", self.transport.connect_timeout_ms),
            ("ack_timeout_ms", self.transport.ack_timeout_ms),
            ("max_payload_bytes", self.transport.max_payload_bytes),
            ("shutdown_timeout_ms", self.server.shutdown_timeout_ms),
            ("http_idle_timeout_ms", self.server.http_idle_timeout_ms),
            ("max_buffer_size", self.transport.max_buffer_size as u64),
            (
                "ws_read_buffer_bytes",
                self.transport.ws_read_buffer_bytes as u64,
            ),
            ("max_pending_events", self.limits.max_pending_events as u64),
            (
                "client_output_limit_bytes",
                self.limits.client_output_limit_bytes as u64,
            ),
            ("slow_client_timeout_ms", self.limits.slow_client_timeout_ms),
            ("rooms_per_minute", u64::from(self.limits.rooms_per_minute)),
            ("typing_per_sec", u64::from(self.limits.typing_per_sec)),
            ("backlog", u64::from(self.server.backlog)),
            ("max_message_bytes", self.limits.max_message_bytes as u64),
            (
                "rate_limit_per_sec",
                u64::from(self.limits.rate_limit_per_sec),
            ),
            ("rate_limit_burst", u64::from(self.limits.rate_limit_burst)),
            ("typing_timeout_ms", self.limits.typing_timeout_ms),
            ("guest_token_ttl_secs", self.auth.guest_token_ttl_secs),
            ("llm_connect_timeout_ms", self.llm.llm_connect_timeout_ms),
            (
                "llm_first_token_timeout_ms",
                self.llm.llm_first_token_timeout_ms,
            ),
            ("llm_idle_timeout_ms", self.llm.llm_idle_timeout_ms),
            ("bot_context_chars", self.bot.bot_context_chars as u64),
            ("bot_coalesce_bytes", self.bot.bot_coalesce_bytes as u64),
            ("bot_max_inflight", self.bot.bot_max_inflight as u64),
            ("bot_tokens_per_minute", self.bot.bot_tokens_per_minute),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be greater than 0"));
            }
        }
        plain_name("node_id", &self.server.node_id)?;
        if self.transport.transports.is_empty() {
            return Err(ConfigError::invalid(
                "transports",
                "at least one transport is needed",
            ));
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(ConfigError::invalid(
                "tls_cert",
                "--tls-cert and --tls-key go together",
            ));
        }
        for (key, path) in [
            ("tls_cert", &self.server.tls_cert),
            ("tls_key", &self.server.tls_key),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("no such file: {}", path.display()),
                ));
            }
        }
        for origin in &self.server.cors_origin {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !ok {
                return Err(ConfigError::invalid(
                    "cors_origin",
                    format!("{origin:?} is not `*` nor an http(s) origin"),
                ));
            }
        }
        if let Some(url) = &self.storage.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        if let Some(schema) = &self.storage.database_schema
            && (schema.is_empty()
                || schema.len() > 63
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(ConfigError::invalid(
                "database_schema",
                "use 1-63 letters, digits or _",
            ));
        }
        if let Some(url) = &self.llm.llm_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "llm_base_url",
                "must be an http(s) URL",
            ));
        }
        if self.llm.llm_api_key.is_some() && self.llm.llm_api_key_file.is_some() {
            return Err(ConfigError::invalid(
                "llm_api_key",
                "give --llm-api-key or --llm-api-key-file, not both",
            ));
        }
        if let Some(path) = &self.llm.llm_api_key_file
            && !path.is_file()
        {
            return Err(ConfigError::invalid(
                "llm_api_key_file",
                format!("no such file: {}", path.display()),
            ));
        }
        auth_name_ok(&self.bot.bot_name).map_err(|m| ConfigError::invalid("bot_name", m))?;
        if self.auth.jwt_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::invalid(
                "jwt_secret",
                "must be at least 16 bytes",
            ));
        }
        self.api.validate()?;
        self.admin.validate()?;
        self.validate_cluster()
    }

    /// Cluster mode needs what every node can share.
    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.cluster.redis_url else {
            return Ok(());
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(ConfigError::invalid(
                "redis_url",
                "must start with redis:// or rediss://",
            ));
        }
        plain_name("redis_prefix", &self.cluster.redis_prefix)?;
        if !self
            .storage
            .database_url
            .as_ref()
            .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "database_url",
                "with redis_url every node must share one PostgreSQL database: \
                 give --database-url postgres://… (SQLite is one process's file)",
            ));
        }
        if self.auth.jwt_secret.is_none() {
            return Err(ConfigError::invalid(
                "jwt_secret",
                "with redis_url every node must sign and check tokens with one secret: \
                 give the same --jwt-secret (16 bytes or more) to every node",
            ));
        }
        Ok(())
    }
}

fn auth_name_ok(name: &str) -> Result<(), &'static str> {
    let n = name.trim().chars().count();
    if n == 0 || n > 64 || name.chars().any(char::is_control) {
        return Err("must be 1 to 64 characters without control characters");
    }
    Ok(())
}

/// A name that fits in keys and logs as it is: 1 to 64 ASCII letters, digits, `-`, `_`, `.`.
fn plain_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ConfigError::invalid(
            key,
            "1 to 64 ASCII letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(())
}
