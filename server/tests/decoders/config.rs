//! The configuration loader: flags from the real option list with arbitrary values, and
//! arbitrary TOML files, give a configuration or a `ConfigError` (never a panic), an error names
//! an option the input names, and values that load read back unchanged.
//!
//! clap reads the real `CHAT_*` variables, so like `tests/config.rs` these properties never set
//! any: they use flags and files only.

use std::{
    path::PathBuf,
    sync::{
        LazyLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use clap::CommandFactory;
use proptest::{collection::vec, option, prelude::*, sample::select};
use serde_json::Value;
use server::config::{Config, ConfigError, Loaded};

use crate::generate::any_string;

/// Long names of the real flags, without `--`. `config` is left out: its value is a file that
/// is read, so it only ever names a file written here.
static FLAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    Config::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|long| !matches!(*long, "config" | "help" | "version"))
        .map(str::to_owned)
        .collect()
});

/// Every option's default, by TOML key: its JSON type tells the option's type.
fn defaults() -> serde_json::Map<String, Value> {
    match serde_json::to_value(Config::default()) {
        Ok(Value::Object(map)) => map,
        other => panic!("the default configuration is an object, got {other:?}"),
    }
}

/// Values an operator might type, right and wrong.
fn flag_value() -> impl Strategy<Value = String> {
    // `|`-separated, as some values are empty or hold spaces.
    let typed = select(
        concat!(
            "0|1|-1|+5|007| 7|0x10|1.5|1e3||65535|65536|4294967295|4294967296|",
            "9223372036854775808|18446744073709551615|18446744073709551616|true|false|yes|",
            "polling|websocket|polling,websocket|,|common|msgpack|text|json|full|normal|",
            "127.0.0.1|::1|0.0.0.0|localhost|*|http://a.test|https://b.test:8443|",
            "http://a.test,nope|ftp://x|sqlite::memory:|sqlite://x.db|postgres://u@h/db|public|",
            "bad schema!|Assistant|/nonexistent/decoders.pem|/|0123456789abcdef|short",
        )
        .split('|')
        .collect::<Vec<_>>(),
    );
    prop_oneof![
        3 => typed.prop_map(str::to_owned),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any_string(),
    ]
}

/// One command-line item: a real flag, bare or `--flag=value`, or an unknown flag.
fn item() -> impl Strategy<Value = (String, Option<String>)> {
    let real = (select(FLAGS.clone()), option::weighted(0.9, flag_value()));
    let unknown = "[a-z]{1,10}(-[a-z]{1,8})?"
        .prop_filter("an unknown flag", |name| {
            !FLAGS.contains(name) && !matches!(name.as_str(), "config" | "help" | "version")
        })
        .prop_map(|name| (name, None));
    prop_oneof![9 => real, 1 => unknown]
}

fn render((long, value): &(String, Option<String>)) -> String {
    match value {
        Some(v) => format!("--{long}={v}"),
        None => format!("--{long}"),
    }
}

/// A file in the temp dir, unique to this process and case, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "chat-server-decoders-{}-{}.toml",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ));
        std::fs::write(&path, contents).expect("write a file in the temp dir");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        drop(std::fs::remove_file(&self.0));
    }
}

/// Loads with `--config` naming a file that holds `text`.
fn load_toml(text: &str) -> Result<Loaded, ConfigError> {
    let file = TempFile::new(text);
    let path = file.0.to_str().expect("temp paths are UTF-8").to_owned();
    Config::load_from(["server".to_owned(), format!("--config={path}")], &[])
}

/// The loaded configuration as JSON, by TOML key.
fn as_json(loaded: &Loaded) -> Value {
    serde_json::to_value(&loaded.config).expect("a loaded configuration serializes")
}

/// TOML literals of every type, right and wrong for any option.
fn toml_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..70_000).prop_map(|n| n.to_string()),
        select(vec![
            "0",
            "-0",
            "+1",
            "1_000",
            "0x1F",
            "0o17",
            "0b101",
            "99999999999999999999",
            "nan",
            "+inf",
            "-inf",
            "1.5",
            "1e400",
            "true",
            "false",
            "1979-05-27T07:32:00Z",
            "1979-05-27",
            "07:32:00",
            "\"\"",
            "''",
            "\"\\u0000\"",
            "[]",
            "{}",
        ])
        .prop_map(str::to_owned),
        any_string().prop_map(|s| toml::Value::String(s).to_string()),
    ];
    scalar.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
            vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

/// A TOML document: lines of real, unknown or `config` keys with values of any type, table
/// headers, or plain junk.
fn toml_text() -> impl Strategy<Value = String> {
    let keys: Vec<String> = defaults().keys().cloned().collect();
    let key = prop_oneof![
        8 => select(keys),
        1 => Just("config".to_owned()),
        1 => "[a-z_]{1,12}",
        1 => any_string().prop_map(|s| format!("{s:?}")),
    ];
    let line = prop_oneof![
        8 => (key, toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "\\[[a-z_.]{0,10}\\]",
        1 => any_string(),
    ];
    prop_oneof![
        4 => vec(line, 0..6).prop_map(|lines| lines.join("\n")),
        1 => any_string(),
    ]
}

/// The keys a document names, when it is TOML.
fn toml_keys(text: &str) -> Option<Vec<String>> {
    toml::from_str::<toml::Table>(text)
        .ok()
        .map(|t| t.keys().cloned().collect())
}

/// Whether `message` names `key`, as the TOML key or the flag.
fn names(message: &str, key: &str) -> bool {
    message.contains(key) || message.contains(&format!("--{}", key.replace('_', "-")))
}

proptest! {
    #![proptest_config(crate::cases(512))]

    /// Flags with arbitrary values: a configuration, or an error naming a flag given; a number
    /// that loads reads back as the number written.
    #[test]
    fn flags_load_or_name_a_flag_given(
        items in vec(item(), 0..6),
        token in option::weighted(0.1, vec((select(vec!["user", "name", "ttl-secs"]), flag_value()), 0..3)),
    ) {
        let mut argv: Vec<String> = std::iter::once("server".to_owned())
            .chain(items.iter().map(render))
            .collect();
        let mut named: Vec<String> = items.iter().map(|(long, _)| format!("--{long}")).collect();
        if let Some(token) = &token {
            argv.push("token".to_owned());
            argv.extend(token.iter().map(|(k, v)| format!("--{k}={v}")));
            named.extend(["--user", "--name", "--ttl-secs"].map(str::to_owned));
        }
        match Config::load_from(&argv, &[]) {
            Ok(loaded) => {
                let cfg = as_json(&loaded);
                for (long, value) in &items {
                    let key = long.replace('-', "_");
                    let once = items.iter().filter(|(l, _)| l == long).count() == 1;
                    if let (true, Some(v), Some(Value::Number(n))) = (once, value, cfg.get(&key)) {
                        prop_assert_eq!(v.parse::<u64>().ok(), n.as_u64(), "{} read back", long);
                    }
                }
            }
            Err(ConfigError::Cli(e)) => {
                let message = e.to_string();
                prop_assert!(named.iter().any(|n| message.contains(n.as_str())), "{argv:?}: {message}");
            }
            Err(ConfigError::Invalid { key, message }) => {
                let flag = format!("--{}", key.replace('_', "-"));
                prop_assert!(named.contains(&flag), "{argv:?}: in {key}: {message}");
            }
            Err(other) => prop_assert!(false, "{argv:?}: no file was named, got {other:?}"),
        }
    }

    /// Any file text: a configuration only when every key is an option; refused as TOML exactly
    /// when it is not TOML; any other refusal names a key of the file.
    #[test]
    fn toml_files_load_or_name_a_key_of_theirs(text in toml_text()) {
        let keys = toml_keys(&text);
        let options = defaults();
        match load_toml(&text) {
            Ok(_) => {
                prop_assert!(keys.is_some(), "{text:?} is not TOML, yet loaded");
                let keys = keys.unwrap_or_default();
                prop_assert!(keys.iter().all(|k| options.contains_key(k)), "{text:?} loaded");
            }
            Err(ConfigError::ParseFile { .. }) => prop_assert!(keys.is_none(), "{text:?} is TOML"),
            Err(ConfigError::Invalid { key, message }) => {
                let keys = keys.unwrap_or_default();
                let unknown: Vec<&String> = keys.iter().filter(|k| !options.contains_key(*k)).collect();
                if unknown.is_empty() {
                    let full = format!("in {key}: {message}");
                    prop_assert!(keys.iter().any(|k| *k == key || names(&full, k)), "{text:?}: {full}");
                } else {
                    prop_assert!(unknown.contains(&&key), "{text:?}: unknown {unknown:?}, got {key}");
                }
            }
            Err(other) => prop_assert!(false, "{text:?}: {other}"),
        }
    }

    /// A value of the wrong type for an option is refused, naming that option.
    #[test]
    fn wrong_types_are_refused_by_name(
        (key, default) in select(defaults().into_iter().collect::<Vec<_>>()),
        value in select(vec![
            "nan", "+inf", "-inf", "1.5", "-0.0", "-1", "7", "true", "\"7\"", "[]", "[1]",
            "{}", "{ a = 1 }", "1979-05-27T07:32:00Z", "07:32:00",
        ]),
    ) {
        // The one value of each type that is right for it.
        let right = matches!(
            (&default, value),
            (Value::Number(_), "7")
                | (Value::Bool(_), "true")
                | (Value::String(_) | Value::Null, "\"7\"")
                | (Value::Array(_), "[]")
        );
        prop_assume!(!right);
        match load_toml(&format!("{key} = {value}")) {
            Ok(loaded) => prop_assert!(false, "{key} = {value} loaded as {}", as_json(&loaded)[&key]),
            Err(ConfigError::Invalid { key: k, message }) => prop_assert_eq!(&k, &key, "{}", message),
            Err(other) => prop_assert!(false, "{key} = {value}: {other}"),
        }
    }

    /// An integer for a numeric option reads back unchanged or is refused naming the option;
    /// 1 to 65535 suits every numeric option.
    #[test]
    fn integers_read_back_or_are_refused_by_name(
        key in select(numeric_keys()),
        n in prop_oneof![any::<i64>(), 0i64..70_000, Just(i64::from(u32::MAX) + 1)],
    ) {
        match load_toml(&format!("{key} = {n}")) {
            Ok(loaded) => prop_assert_eq!(as_json(&loaded)[&key].as_i64(), Some(n)),
            Err(ConfigError::Invalid { key: k, message }) => {
                prop_assert_eq!(&k, &key, "{}", message);
                prop_assert!(!(1..=65_535).contains(&n), "{key} = {n}: {message}");
            }
            Err(other) => prop_assert!(false, "{key} = {n}: {other}"),
        }
    }

    /// A string for a string option reads back unchanged or is refused naming the option.
    #[test]
    fn strings_read_back_or_are_refused_by_name(key in select(string_keys()), s in any_string()) {
        let line = format!("{key} = {}", toml::Value::String(s.clone()));
        match load_toml(&line) {
            // An address is written back in its canonical form.
            Ok(loaded) if key != "host" => {
                let cfg = as_json(&loaded);
                prop_assert_eq!(cfg[&key].as_str(), Some(s.as_str()));
            }
            Ok(_) => {}
            // A path alone may be refused for the one it goes with (`--tls-cert and --tls-key`).
            Err(ConfigError::Invalid { key: k, message }) => {
                prop_assert!(k == key || names(&message, &key), "{line:?}: in {k}: {message}");
            }
            Err(other) => prop_assert!(false, "{line:?}: {other}"),
        }
    }
}

fn numeric_keys() -> Vec<String> {
    defaults()
        .into_iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| k)
        .collect()
}

/// Options holding a string, or nothing by default (paths, URLs, secrets).
fn string_keys() -> Vec<String> {
    defaults()
        .into_iter()
        .filter(|(_, v)| v.is_string() || v.is_null())
        .map(|(k, _)| k)
        .collect()
}
