//! Loading the configuration: defaults, flags, the TOML file, their precedence and the errors,
//! each of which must name the option at fault.
//!
//! clap reads the real `CHAT_*` variables for every option, and tests run in parallel threads, so
//! these tests never set process environment variables: they use flags and files, and the `env`
//! slice only for the unknown-variable warning.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

mod common;

use common::config::{args, assert_names_key, load, load_err, load_file, load_ok};
use server::config::{Config, ConfigError, LogFormat, ParserKind, Transport};

/// A directory under the system temp dir, unique to this test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "chat-server-config-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ));
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        Self(dir)
    }

    /// Writes `contents` to `name` in the directory and returns its path.
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a file in the temp dir");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory under the temp dir is harmless.
        drop(std::fs::remove_dir_all(&self.0));
    }
}

#[test]
fn defaults() {
    let loaded = load(&[]).expect("no flags is a valid configuration");
    let cfg = loaded.config;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    assert_eq!(cfg.transport.ping_interval_ms, 25_000);
    assert_eq!(cfg.transport.ping_timeout_ms, 20_000);
    assert_eq!(cfg.transport.connect_timeout_ms, 45_000);
    assert_eq!(cfg.transport.ack_timeout_ms, 5_000);
    assert_eq!(cfg.transport.max_payload_bytes, 1_000_000);
    assert_eq!(cfg.server.port, 3000);
    assert_eq!(cfg.server.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(cfg.server.backlog, 4096);
    assert_eq!(cfg.transport.max_buffer_size, 1024);
    assert_eq!(cfg.transport.ws_read_buffer_bytes, 1024);
    assert_eq!(cfg.server.compression_min_bytes, 1024);
    assert_eq!(cfg.server.shutdown_timeout_ms, 10_000);
    assert_eq!(cfg.server.http_idle_timeout_ms, 30_000);
    assert!(cfg.server.cors_origin.is_empty());
    assert!(!cfg.transport.allow_eio3);
    assert_eq!(
        cfg.transport.transports,
        [Transport::Polling, Transport::Websocket]
    );
    assert_eq!(cfg.transport.parser, ParserKind::Common);
    assert_eq!(cfg.server.log_format, LogFormat::Text);
    assert!(cfg.config.is_none());
    assert!(cfg.server.tls_cert.is_none() && cfg.server.tls_key.is_none());
    assert!(!cfg.tls());

    assert_eq!(cfg.ping_interval().as_millis(), 25_000);
    assert_eq!(cfg.ping_timeout().as_millis(), 20_000);
    assert_eq!(cfg.connect_timeout().as_millis(), 45_000);
    assert_eq!(cfg.ack_timeout().as_millis(), 5_000);
    assert_eq!(cfg.shutdown_timeout().as_millis(), 10_000);
}

#[test]
fn default_impl_matches_no_flags() {
    let from_default = Config::default();
    let from_flags = load_ok(&[]);
    assert_eq!(
        serde_json::to_value(&from_default).expect("serialize"),
        serde_json::to_value(&from_flags).expect("serialize"),
    );
}

#[test]
fn flags_override_defaults() {
    let cfg = load_ok(&[
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--backlog",
        "64",
        "--ping-interval-ms",
        "1000",
        "--ping-timeout-ms",
        "2000",
        "--connect-timeout-ms",
        "3000",
        "--ack-timeout-ms",
        "4000",
        "--max-payload-bytes",
        "5000",
        "--max-buffer-size",
        "7",
        "--compression-min-bytes",
        "10",
        "--shutdown-timeout-ms",
        "600",
        "--allow-eio3",
        "--transports",
        "websocket",
        "--parser",
        "msgpack",
        "--log-format",
        "json",
        "--log-filter",
        "debug",
    ]);
    assert_eq!(cfg.server.host, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(cfg.server.port, 8080);
    assert_eq!(cfg.server.backlog, 64);
    assert_eq!(cfg.transport.ping_interval_ms, 1000);
    assert_eq!(cfg.transport.ping_timeout_ms, 2000);
    assert_eq!(cfg.transport.connect_timeout_ms, 3000);
    assert_eq!(cfg.transport.ack_timeout_ms, 4000);
    assert_eq!(cfg.transport.max_payload_bytes, 5000);
    assert_eq!(cfg.transport.max_buffer_size, 7);
    assert_eq!(cfg.server.compression_min_bytes, 10);
    assert_eq!(cfg.server.shutdown_timeout_ms, 600);
    assert!(cfg.transport.allow_eio3);
    assert_eq!(cfg.transport.transports, [Transport::Websocket]);
    assert_eq!(cfg.transport.parser, ParserKind::Msgpack);
    assert_eq!(cfg.server.log_format, LogFormat::Json);
    assert_eq!(cfg.server.log_filter, "debug");
}

#[test]
fn transports_take_a_comma_separated_list() {
    let cfg = load_ok(&["--transports", "websocket,polling"]);
    assert_eq!(
        cfg.transport.transports,
        [Transport::Websocket, Transport::Polling]
    );
}

#[test]
fn file_supplies_values() {
    let dir = TempDir::new("file");
    let file = dir.write(
        "server.toml",
        r#"
host = "0.0.0.0"
port = 4000
ping_interval_ms = 1234
ack_timeout_ms = 777
cors_origin = ["http://x.test", "https://y.test"]
allow_eio3 = true
transports = ["polling"]
parser = "msgpack"
log_format = "json"
"#,
    );
    let loaded = load_file(&file, &[]).expect("the file is valid");
    let cfg = loaded.config;
    assert_eq!(cfg.config.as_deref(), Some(file.as_path()));
    assert_eq!(cfg.server.host, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(cfg.server.port, 4000);
    assert_eq!(cfg.transport.ping_interval_ms, 1234);
    assert_eq!(cfg.transport.ack_timeout_ms, 777);
    assert_eq!(cfg.server.cors_origin, ["http://x.test", "https://y.test"]);
    assert!(cfg.transport.allow_eio3);
    assert_eq!(cfg.transport.transports, [Transport::Polling]);
    assert_eq!(cfg.transport.parser, ParserKind::Msgpack);
    assert_eq!(cfg.server.log_format, LogFormat::Json);
    // Keys the file leaves out keep their defaults.
    assert_eq!(cfg.transport.ping_timeout_ms, 20_000);
    assert_eq!(cfg.transport.max_payload_bytes, 1_000_000);
}

#[test]
fn empty_file_keeps_defaults() {
    let dir = TempDir::new("empty");
    let file = dir.write("empty.toml", "");
    let cfg = load_file(&file, &[])
        .expect("an empty file is valid")
        .config;
    assert_eq!(cfg.server.port, 3000);
    assert_eq!(cfg.transport.ping_interval_ms, 25_000);
}

#[test]
fn flag_beats_file() {
    let dir = TempDir::new("precedence");
    let file = dir.write(
        "server.toml",
        "port = 4000\nping_interval_ms = 1234\ncors_origin = [\"http://file.test\"]\n",
    );
    let cfg = load_file(
        &file,
        &["--port", "5000", "--cors-origin", "http://flag.test"],
    )
    .expect("valid")
    .config;
    assert_eq!(cfg.server.port, 5000, "the flag wins over the file");
    assert_eq!(
        cfg.server.cors_origin,
        ["http://flag.test"],
        "the flag wins"
    );
    assert_eq!(
        cfg.transport.ping_interval_ms, 1234,
        "the file still supplies the rest"
    );
}

#[test]
fn flag_equal_to_default_still_beats_file() {
    // A flag given explicitly wins even when its value is the built-in default.
    let dir = TempDir::new("explicit-default");
    let file = dir.write("server.toml", "port = 4000\n");
    let cfg = load_file(&file, &["--port", "3000"]).expect("valid").config;
    assert_eq!(cfg.server.port, 3000);
}

#[test]
fn unknown_key_in_file_is_named() {
    let dir = TempDir::new("unknown-key");
    let file = dir.write("server.toml", "port = 4000\nbogus_option = 1\n");
    let err = load_file(&file, &[]).expect_err("unknown keys are refused");
    assert_names_key(&err, "bogus_option");
    assert!(err.to_string().contains("unknown key"), "{err}");
}

#[test]
fn an_unknown_key_is_named_before_a_bad_value_of_a_known_one() {
    // Found by the property test: keys were checked in the file's (sorted) order, so a bad
    // value under a key that sorts first hid the typo.
    let dir = TempDir::new("unknown-before-bad");
    let file = dir.write("server.toml", "\"c\" = 0\nack_timeout_ms = nan\n");
    let err = load_file(&file, &[]).expect_err("refused");
    assert_names_key(&err, "c");
    assert!(err.to_string().contains("unknown key"), "{err}");
}

#[test]
fn config_key_itself_is_not_a_file_option() {
    let dir = TempDir::new("config-key");
    let file = dir.write("server.toml", "config = \"other.toml\"\n");
    let err = load_file(&file, &[]).expect_err("`config` cannot be set from the file");
    assert_names_key(&err, "config");
}

#[test]
fn wrong_type_in_file_is_named() {
    let dir = TempDir::new("wrong-type");
    let file = dir.write("server.toml", "ping_interval_ms = 1000\nport = \"abc\"\n");
    let err = load_file(&file, &[]).expect_err("a string port is refused");
    assert_names_key(&err, "port");
}

#[test]
fn wrong_enum_value_in_file_is_named() {
    let dir = TempDir::new("wrong-enum");
    let file = dir.write("server.toml", "parser = \"xml\"\n");
    let err = load_file(&file, &[]).expect_err("an unknown parser is refused");
    assert_names_key(&err, "parser");
}

#[test]
fn out_of_range_value_in_file_is_named() {
    let dir = TempDir::new("range");
    let file = dir.write("server.toml", "port = 70000\n");
    let err = load_file(&file, &[]).expect_err("a port above 65535 is refused");
    assert_names_key(&err, "port");
}

#[test]
fn invalid_toml_is_reported() {
    let dir = TempDir::new("invalid-toml");
    let file = dir.write("server.toml", "port = = 3\n");
    let err = load_file(&file, &[]).expect_err("broken TOML is refused");
    assert!(
        matches!(err, ConfigError::ParseFile { .. }),
        "expected ParseFile, got {err:?}"
    );
    assert!(err.to_string().starts_with("in config: "), "{err}");
}

#[test]
fn missing_config_file_is_reported() {
    let dir = TempDir::new("missing");
    let file = dir.0.join("does-not-exist.toml");
    let err = load_file(&file, &[]).expect_err("a missing file is refused");
    assert!(
        matches!(err, ConfigError::ReadFile { .. }),
        "expected ReadFile, got {err:?}"
    );
    let message = err.to_string();
    assert!(message.starts_with("in config: "), "{message}");
    assert!(message.contains("does-not-exist.toml"), "{message}");
}

#[test]
fn node_ids_that_could_not_name_a_node_are_refused() {
    for bad in ["", "has space", "ünï", &"n".repeat(65)] {
        let err = load_err(&["--node-id", bad]);
        assert_names_key(&err, "node_id");
    }
    let ok = load_ok(&["--node-id", "chat-2.eu_west"]);
    assert_eq!(ok.server.node_id, "chat-2.eu_west");
    assert_eq!(load_ok(&[]).server.node_id, "local");
}

#[test]
fn zero_timeouts_are_refused_by_name() {
    for (flag, key) in [
        ("--ping-interval-ms", "ping_interval_ms"),
        ("--ping-timeout-ms", "ping_timeout_ms"),
        ("--connect-timeout-ms", "connect_timeout_ms"),
        ("--ack-timeout-ms", "ack_timeout_ms"),
        ("--shutdown-timeout-ms", "shutdown_timeout_ms"),
        ("--http-idle-timeout-ms", "http_idle_timeout_ms"),
        ("--max-payload-bytes", "max_payload_bytes"),
        ("--max-buffer-size", "max_buffer_size"),
        ("--ws-read-buffer-bytes", "ws_read_buffer_bytes"),
        ("--backlog", "backlog"),
    ] {
        let err = load_err(&[flag, "0"]);
        assert_names_key(&err, key);
        assert_eq!(err.to_string(), format!("in {key}: must be greater than 0"));
    }
}

#[test]
fn zero_timeout_in_file_is_refused_by_name() {
    let dir = TempDir::new("zero");
    let file = dir.write("server.toml", "ack_timeout_ms = 0\n");
    let err = load_file(&file, &[]).expect_err("zero is refused");
    assert_names_key(&err, "ack_timeout_ms");
}

#[test]
fn tls_cert_without_key_is_refused() {
    let dir = TempDir::new("tls-half");
    let cert = dir.write("cert.pem", "not really a certificate");
    let cert = cert.to_str().expect("UTF-8 path");
    let err = load_err(&["--tls-cert", cert]);
    assert!(
        matches!(err, ConfigError::Cli(_)),
        "expected a clap error, got {err:?}"
    );
    assert!(err.to_string().contains("--tls-key"), "{err}");

    let err = load_err(&["--tls-key", cert]);
    assert!(err.to_string().contains("--tls-cert"), "{err}");
}

#[test]
fn tls_cert_and_key_from_file_must_go_together() {
    let dir = TempDir::new("tls-file-half");
    let cert = dir.write("cert.pem", "x");
    let file = dir.write(
        "server.toml",
        &format!("tls_cert = {:?}\n", cert.to_str().expect("UTF-8 path")),
    );
    let err = load_file(&file, &[]).expect_err("a cert alone is refused");
    assert_names_key(&err, "tls_cert");
}

#[test]
fn nonexistent_tls_files_are_named() {
    let dir = TempDir::new("tls-missing");
    let missing_cert = dir.0.join("missing-cert.pem");
    let missing_cert = missing_cert.to_str().expect("UTF-8 path");
    let key = dir.write("key.pem", "x");
    let key = key.to_str().expect("UTF-8 path");
    let err = load_err(&["--tls-cert", missing_cert, "--tls-key", key]);
    assert_names_key(&err, "tls_cert");
    assert!(err.to_string().contains("missing-cert.pem"), "{err}");

    let cert = dir.write("cert.pem", "x");
    let cert = cert.to_str().expect("UTF-8 path");
    let missing_key = dir.0.join("missing-key.pem");
    let missing_key = missing_key.to_str().expect("UTF-8 path");
    let err = load_err(&["--tls-cert", cert, "--tls-key", missing_key]);
    assert_names_key(&err, "tls_key");
}

#[test]
fn existing_tls_files_enable_tls() {
    let dir = TempDir::new("tls-ok");
    let cert = dir.write("cert.pem", "x");
    let key = dir.write("key.pem", "x");
    let cfg = load_ok(&[
        "--tls-cert",
        cert.to_str().expect("UTF-8 path"),
        "--tls-key",
        key.to_str().expect("UTF-8 path"),
    ]);
    assert!(cfg.tls());
    assert_eq!(cfg.server.tls_cert.as_deref(), Some(cert.as_path()));
    assert_eq!(cfg.server.tls_key.as_deref(), Some(key.as_path()));
}

#[test]
fn bad_cors_origin_is_named() {
    for bad in [
        "a.test",
        "ftp://a.test",
        "not an origin",
        "http://a.test\u{7f}",
    ] {
        let err = load_err(&["--cors-origin", bad]);
        assert_names_key(&err, "cors_origin");
    }
}

#[test]
fn bad_cors_origin_in_file_is_named() {
    let dir = TempDir::new("cors");
    let file = dir.write(
        "server.toml",
        "cors_origin = [\"http://ok.test\", \"nope\"]\n",
    );
    let err = load_file(&file, &[]).expect_err("a bad origin is refused");
    assert_names_key(&err, "cors_origin");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn cors_origin_is_repeatable() {
    let cfg = load_ok(&[
        "--cors-origin",
        "http://a.test",
        "--cors-origin",
        "https://b.test",
    ]);
    assert_eq!(cfg.server.cors_origin, ["http://a.test", "https://b.test"]);

    let cfg = load_ok(&["--cors-origin", "http://a.test,https://b.test:8443"]);
    assert_eq!(
        cfg.server.cors_origin,
        ["http://a.test", "https://b.test:8443"]
    );

    let cfg = load_ok(&["--cors-origin", "*"]);
    assert_eq!(cfg.server.cors_origin, ["*"]);
}

#[test]
fn bad_flag_values_are_refused_by_clap() {
    for flags in [
        &["--port", "abc"][..],
        &["--port", "70000"],
        &["--host", "localhost:3000"],
        &["--parser", "xml"],
        &["--transports", "carrier-pigeon"],
        &["--no-such-flag"],
    ] {
        let err = load_err(flags);
        assert!(
            matches!(err, ConfigError::Cli(_)),
            "{flags:?}: expected a clap error, got {err:?}"
        );
        // clap's message names the flag at fault.
        assert!(err.to_string().contains(flags[0]), "{flags:?}: {err}");
    }
}

#[test]
fn unknown_chat_variable_is_a_warning() {
    let env = [
        ("CHAT_FOO".to_owned(), "1".to_owned()),
        ("CHAT_PORT".to_owned(), "4000".to_owned()),
        ("RUST_LOG".to_owned(), "debug".to_owned()),
        ("HOME".to_owned(), "/root".to_owned()),
        ("chat_lowercase".to_owned(), "1".to_owned()),
    ];
    let loaded = Config::load_from(["server"], &env).expect("warnings are not errors");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("CHAT_FOO"),
        "{:?}",
        loaded.warnings
    );
    // The `env` slice is only used for warnings; options come from flags and the real environment.
    assert_eq!(loaded.config.server.port, 3000);
}

#[test]
fn known_chat_variables_give_no_warning() {
    let env: Vec<(String, String)> = [
        "CHAT_CONFIG",
        "CHAT_HOST",
        "CHAT_PORT",
        "CHAT_CORS_ORIGIN",
        "CHAT_TLS_CERT",
        "CHAT_TLS_KEY",
        "CHAT_ALLOW_EIO3",
        "CHAT_PING_INTERVAL_MS",
        "CHAT_MAX_PAYLOAD_BYTES",
        "CHAT_SHUTDOWN_TIMEOUT_MS",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), String::new()))
    .collect();
    let loaded = Config::load_from(["server"], &env).expect("valid");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn load_with_defaults_overrides_builtins_but_not_flags_or_file() {
    let defaults = [
        ("ping_interval_ms", serde_json::json!(300)),
        ("ack_timeout_ms", serde_json::json!(100)),
        ("port", serde_json::json!(0)),
    ];
    let cfg = Config::load_with_defaults(args(&[]), &[], &defaults)
        .expect("valid")
        .config;
    assert_eq!(cfg.transport.ping_interval_ms, 300);
    assert_eq!(cfg.transport.ack_timeout_ms, 100);
    assert_eq!(cfg.server.port, 0);
    assert_eq!(
        cfg.transport.ping_timeout_ms, 20_000,
        "other keys keep the built-ins"
    );

    let dir = TempDir::new("with-defaults");
    let file = dir.write("server.toml", "ack_timeout_ms = 200\n");
    let file = file.to_str().expect("UTF-8 path");
    let cfg = Config::load_with_defaults(
        args(&["--config", file, "--ping-interval-ms", "400"]),
        &[],
        &defaults,
    )
    .expect("valid")
    .config;
    assert_eq!(
        cfg.transport.ping_interval_ms, 400,
        "a flag beats the profile default"
    );
    assert_eq!(
        cfg.transport.ack_timeout_ms, 200,
        "the file beats the profile default"
    );
    assert_eq!(cfg.server.port, 0);
}
