//! Cluster mode's options: what a node of a cluster needs, refused with the option at fault,
//! and the node id every node must have apart.

mod common;

use common::config::{assert_names_key, load_err, load_ok};

const REDIS: &str = "redis://127.0.0.1:6379";
const PG: &str = "postgres://127.0.0.1:5432/test";
const SECRET: &str = "a-secret-of-sixteen-bytes";

#[test]
fn cluster_needs_postgres_not_sqlite() {
    let err = load_err(&["--redis-url", REDIS, "--jwt-secret", SECRET]);
    assert_names_key(&err, "database_url");
    let err = load_err(&[
        "--redis-url",
        REDIS,
        "--jwt-secret",
        SECRET,
        "--database-url",
        "sqlite://chat.db",
    ]);
    assert_names_key(&err, "database_url");
}

#[test]
fn cluster_needs_one_jwt_secret() {
    let err = load_err(&["--redis-url", REDIS, "--database-url", PG]);
    assert_names_key(&err, "jwt_secret");
}

#[test]
fn redis_url_and_prefix_are_checked() {
    let base = ["--database-url", PG, "--jwt-secret", SECRET];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    let err = load_err(&with(&["--redis-url", "http://127.0.0.1:6379"]));
    assert_names_key(&err, "redis_url");
    let err = load_err(&with(&["--redis-url", REDIS, "--redis-prefix", "a b"]));
    assert_names_key(&err, "redis_prefix");
}

#[test]
fn a_cluster_node_gets_its_own_id_unless_given() {
    let flags = [
        "--redis-url",
        REDIS,
        "--database-url",
        PG,
        "--jwt-secret",
        SECRET,
    ];
    let first = load_ok(&flags).server.node_id;
    let second = load_ok(&flags).server.node_id;
    assert!(first.starts_with("node-"), "generated id: {first}");
    assert_ne!(
        first, second,
        "two nodes started alike must not share an id"
    );

    let mut named: Vec<&str> = flags.to_vec();
    named.extend(["--node-id", "eu-1"]);
    assert_eq!(load_ok(&named).server.node_id, "eu-1");

    assert_eq!(
        load_ok(&[]).server.node_id,
        "local",
        "one node keeps `local`"
    );
}
