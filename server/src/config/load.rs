//! Loading: flags, `CHAT_*` variables, the `--config` file and the built-in defaults merged into
//! one [`Config`], and errors that name the option at fault.

use std::{collections::BTreeSet, ffi::OsString, path::PathBuf};

use clap::{CommandFactory, FromArgMatches, parser::ValueSource};

use super::{Config, ENV_PREFIX, Loaded};

/// Why the configuration was refused. Every message names the option at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Flags or environment variables did not parse; clap's message names the flag.
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The `--config` file could not be read.
    #[error("in config: cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML.
    #[error("in config: {path} is not valid TOML: {source}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// A key of the file or a value is wrong.
    #[error("in {key}: {message}")]
    Invalid {
        /// The option's name as written in the TOML file.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    pub(super) fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Loads the configuration from the process's arguments and environment.
    pub fn load() -> Result<Loaded, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(std::env::args_os(), &env)
    }

    /// Loads from explicit arguments; `env` is only used to report unknown `CHAT_*` variables
    /// (clap itself reads the real environment for each option's variable).
    pub fn load_from<I, T>(args: I, env: &[(String, String)]) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::load_with_defaults(args, env, &[])
    }

    /// Like [`Config::load_from`], with other built-in defaults for some keys (the conformance
    /// profile uses this). Flags, variables and the file still override them.
    pub fn load_with_defaults<I, T>(
        args: I,
        env: &[(String, String)],
        defaults: &[(&str, serde_json::Value)],
    ) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        let mut merged = serde_json::to_value(&cli)
            .map_err(|e| ConfigError::invalid("config", e.to_string()))?;
        let from_default = |key: &str| {
            matches!(
                matches.value_source(key),
                None | Some(ValueSource::DefaultValue)
            )
        };

        for (key, value) in defaults {
            if from_default(key) {
                merged[*key] = value.clone();
            }
        }

        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table =
                toml::from_str(&text).map_err(|source| ConfigError::ParseFile {
                    path: path.clone(),
                    source,
                })?;
            let known = merged
                .as_object()
                .map(|o| o.keys().cloned().collect::<BTreeSet<_>>())
                .unwrap_or_default();
            // An unknown key (most likely a typo) is named before any bad value.
            if let Some(key) = table.keys().find(|key| !known.contains(*key)) {
                return Err(ConfigError::invalid(
                    key,
                    format!("unknown key in {}", path.display()),
                ));
            }
            for (key, value) in table {
                if let toml::Value::Float(f) = &value
                    && !f.is_finite()
                {
                    // JSON has no NaN or infinity: it would become `null`, read as "not set".
                    return Err(ConfigError::invalid(&key, "must be a finite value"));
                }
                if from_default(&key) {
                    let value = serde_json::to_value(value)
                        .map_err(|e| ConfigError::invalid(&key, e.to_string()))?;
                    merged[key.as_str()] = value;
                }
            }
        }

        let mut config: Config = match serde_json::from_value(merged.clone()) {
            Ok(c) => c,
            Err(_) => return Err(name_bad_key(&cli, &merged)),
        };
        config.config = cli.config;
        config.command = cli.command;
        config.validate()?;
        if config.cluster.redis_url.is_some() && config.server.node_id == "local" {
            config.server.node_id = format!("node-{:08x}", rand::random::<u32>());
        }

        let warnings = unknown_env_vars(env)
            .into_iter()
            .map(|name| format!("unknown environment variable {name} ignored"))
            .collect();
        Ok(Loaded { config, warnings })
    }
}

/// Finds which key makes the merged document fail to deserialize, so the error can name it.
fn name_bad_key(cli: &Config, merged: &serde_json::Value) -> ConfigError {
    let Ok(base) = serde_json::to_value(cli) else {
        return ConfigError::invalid("config", "cannot be represented");
    };
    if let Some(fields) = merged.as_object() {
        for (key, value) in fields {
            let mut probe = base.clone();
            probe[key.as_str()] = value.clone();
            if let Err(e) = serde_json::from_value::<Config>(probe) {
                return ConfigError::invalid(key, e.to_string());
            }
        }
    }
    ConfigError::invalid("config", "invalid value")
}

/// `CHAT_*` variables that no option reads: most likely typos.
fn unknown_env_vars(env: &[(String, String)]) -> Vec<String> {
    let cmd = Config::command();
    let known: BTreeSet<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    env.iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(ENV_PREFIX) && !known.contains(*k))
        .cloned()
        .collect()
}
