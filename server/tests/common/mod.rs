//! Helpers shared by the in-process test files (each includes this module with `mod common;`).
#![allow(dead_code)] // each test file uses a part

pub mod bot;
pub mod config;
pub mod room;

use std::path::PathBuf;

use server::store::{MessageStatus, NewMessage, Store, StoreOptions};

/// A name no other run or test uses: `tag`, the process id, the time in nanoseconds and a
/// counter.
pub fn unique(tag: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{tag}_{}_{nanos}_{n}", std::process::id())
}

/// A fresh folder under the system's temporary one, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty folder named after `tag`.
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The PostgreSQL the tests use: `CHAT_TEST_PG_URL`, else the database `scripts/setup.sh`
/// prepares.
pub fn pg_url() -> String {
    std::env::var("CHAT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/test".to_owned())
}

/// How the tests open a store at `url` (a PostgreSQL one in `schema`).
pub fn store_options(url: &str, schema: Option<&str>) -> StoreOptions {
    StoreOptions {
        url: url.to_owned(),
        schema: schema.map(str::to_owned),
        sqlite_synchronous: "normal".into(),
        max_connections: 4,
    }
}

/// A store in a SQLite file `chat.db` in `dir`.
pub async fn file_store(dir: &TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("chat.db").display());
    Store::connect(&store_options(&url, None))
        .await
        .expect("store")
}

/// A store on `sqlite::memory:` with `users` (named by their ids) and a public room `room`
/// created by the first of them.
pub async fn memory_store(users: &[&str], room: &str) -> Store {
    let store = Store::connect(&StoreOptions {
        url: "sqlite::memory:".into(),
        schema: None,
        sqlite_synchronous: "normal".into(),
        max_connections: 1,
    })
    .await
    .expect("in-memory store");
    for user in users {
        store.upsert_user(user, user, false, 0).await.expect("user");
    }
    store
        .create_room(room, "Room", false, false, users[0], 0)
        .await
        .expect("room");
    store
}

/// Message `n` from `ada`: id `m<n>`, text `hello <n>`, client id `c<n>`.
pub fn message(n: usize) -> NewMessage {
    NewMessage {
        id: format!("m{n}"),
        user_id: "ada".into(),
        user_name: "Ada".into(),
        text: format!("hello {n}"),
        ts: 0,
        client_id: Some(format!("c{n}")),
        status: MessageStatus::Done,
        node: None,
        links: Default::default(),
    }
}

/// Runs `test` on a store in a fresh PostgreSQL schema named after `tag`, then drops the schema.
pub async fn on_postgres<F, Fut>(tag: &str, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Store>,
{
    let schema = unique(tag);
    let store = Store::connect(&store_options(&pg_url(), Some(&schema)))
        .await
        .expect("store");
    test(store).await.close().await;
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&pg_url())
        .await
        .expect("connect");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop schema");
}

/// Two tests of one store check, `async fn check(&Store)`: `sqlite_<name>` on a SQLite file and
/// `postgres_<name>` in a PostgreSQL schema of its own (named after `tag`, dropped at the end).
#[macro_export]
macro_rules! on_both_backends {
    ($sqlite:ident, $postgres:ident, $check:ident, $tag:literal) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = common::TempDir::new($tag);
            let store = common::file_store(&dir).await;
            $check(&store).await;
            store.close().await;
        }

        #[tokio::test]
        async fn $postgres() {
            common::on_postgres($tag, |store| async move {
                $check(&store).await;
                store
            })
            .await;
        }
    };
}
