//! Loading a configuration from flags alone, and checking that an error names its option.

use std::path::Path;

use server::config::{Config, ConfigError, Loaded};

pub fn args<'a>(flags: &[&'a str]) -> Vec<&'a str> {
    std::iter::once("server")
        .chain(flags.iter().copied())
        .collect()
}

pub fn load(flags: &[&str]) -> Result<Loaded, ConfigError> {
    Config::load_from(args(flags), &[])
}

pub fn load_ok(flags: &[&str]) -> Config {
    match load(flags) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("flags {flags:?} should load, got: {e}"),
    }
}

pub fn load_err(flags: &[&str]) -> ConfigError {
    match load(flags) {
        Ok(loaded) => panic!(
            "flags {flags:?} should be refused, got: {:?}",
            loaded.config
        ),
        Err(e) => e,
    }
}

/// Loads with `--config <file>` plus extra flags.
pub fn load_file(file: &Path, flags: &[&str]) -> Result<Loaded, ConfigError> {
    let file = file.to_str().expect("temp paths are UTF-8");
    let mut all = vec!["--config", file];
    all.extend_from_slice(flags);
    load(&all)
}

/// Asserts the error is [`ConfigError::Invalid`] for `key` and its message names the key.
pub fn assert_names_key(err: &ConfigError, key: &str) {
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("in {key}: ")),
        "message should start with `in {key}: `, got: {message}"
    );
    match err {
        ConfigError::Invalid { key: k, .. } => assert_eq!(k, key, "wrong key in {message}"),
        other => panic!("expected ConfigError::Invalid for {key}, got {other:?}"),
    }
}
