//! Versioned migrations: several processes may start at once against one database, and a
//! database made before migrations were versioned keeps its data.
//!
//! The PostgreSQL cases use `CHAT_TEST_PG_URL` (default `postgres://127.0.0.1:5432/test`, the
//! database `scripts/setup.sh` prepares), each in a schema of its own, dropped at the end.

mod common;

use common::{TempDir, pg_url, unique};
use server::store::{MessageStatus, NewMessage, Store, migration_versions};
use sqlx::{AnyConnection, Connection, Row};

/// (version, success) of every applied migration, and the number of `general` rooms.
async fn recorded(url: &str, schema: Option<&str>) -> (Vec<(i64, bool)>, i64) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    if let Some(schema) = schema {
        sqlx::query(&format!("SET search_path TO \"{schema}\""))
            .execute(&mut conn)
            .await
            .expect("search_path");
    }
    let rows = sqlx::query("SELECT version, CASE WHEN success THEN 1 ELSE 0 END AS ok FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("_sqlx_migrations");
    let versions = rows
        .iter()
        .map(|r| (r.get::<i64, _>("version"), r.get::<i64, _>("ok") == 1))
        .collect();
    let general: i64 = sqlx::query("SELECT COUNT(*) AS n FROM rooms WHERE id = 'general'")
        .fetch_one(&mut conn)
        .await
        .expect("rooms")
        .get("n");
    conn.close().await.ok();
    (versions, general)
}

fn every_version() -> Vec<(i64, bool)> {
    migration_versions()
        .into_iter()
        .map(|v| (v, true))
        .collect()
}

/// Sixteen stores connecting at once to one new database: each succeeds, each migration is
/// recorded once, the seed room exists once.
async fn sixteen_at_once(url: &str, schema: Option<&str>) {
    let opts = common::store_options(url, schema);
    let stores = futures_util::future::join_all((0..16).map(|_| Store::connect(&opts))).await;
    for (i, store) in stores.iter().enumerate() {
        assert!(store.is_ok(), "store {i}: {:?}", store.as_ref().err());
    }
    for store in stores.into_iter().flatten() {
        store.close().await;
    }
    assert_eq!(recorded(url, schema).await, (every_version(), 1));
}

#[tokio::test]
async fn sqlite_several_processes_migrate_one_new_file_at_once() {
    let dir = TempDir::new("race");
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("chat.db").display());
    sixteen_at_once(&url, None).await;
}

#[tokio::test]
async fn sqlite_a_database_from_before_versioned_migrations_keeps_its_data() {
    let dir = TempDir::new("legacy");
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("chat.db").display());
    // The schema as the build before this one made it: the same tables, no _sqlx_migrations.
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    for statement in include_str!("../migrations/0001_initial.sql")
        .split(';')
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with("--"))
        })
    {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("legacy schema");
    }
    for legacy in [
        "INSERT INTO users (id, name, guest, seen_ts) VALUES ('ada', 'Ada', 0, 1)",
        "INSERT INTO messages (id, room_id, seq, user_id, user_name, text, ts)
         VALUES ('m0', 'general', 1, 'ada', 'Ada', 'from before', 1)",
        "UPDATE rooms SET last_seq = 1 WHERE id = 'general'",
    ] {
        sqlx::query(legacy)
            .execute(&mut conn)
            .await
            .expect("legacy row");
    }
    conn.close().await.ok();

    let store = Store::connect(&common::store_options(&url, None))
        .await
        .expect("store");
    assert!(
        store.user_exists("ada").await.expect("query"),
        "the old row is kept"
    );
    let appended = store
        .append(
            "general",
            &[NewMessage {
                id: "m1".into(),
                user_id: "ada".into(),
                user_name: "Ada".into(),
                text: "still here".into(),
                ts: 2,
                client_id: None,
                status: MessageStatus::Done,
                node: None,
                links: Default::default(),
            }],
        )
        .await
        .expect("append");
    // The change log starts where the messages are: one position per message so far.
    assert_eq!(
        (appended[0].message().seq, appended[0].message().rev),
        (2, 2)
    );
    let old = store
        .history("general", Some(2), None, 10)
        .await
        .expect("history");
    assert_eq!((old[0].text.as_str(), old[0].rev), ("from before", 1));
    store.close().await;
    assert_eq!(recorded(&url, None).await, (every_version(), 1));
}

#[tokio::test]
async fn postgres_several_processes_migrate_one_new_schema_at_once() {
    let url = pg_url();
    let schema = unique("migrations");
    sixteen_at_once(&url, Some(&schema)).await;
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop schema");
    conn.close().await.ok();
}
