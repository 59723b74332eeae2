//! The token secret when none is configured: kept in the database, so every node sharing it
//! signs and checks tokens alike (a guest who reconnects through another node stays who they
//! are), and seeded from an earlier version's `jwt-secret` file so its tokens stay valid.
//!
//! PostgreSQL: `CHAT_TEST_PG_URL` (default `postgres://127.0.0.1:5432/test`), a schema of its own.

mod common;

use common::{TempDir, pg_url, unique};
use server::{
    chat::auth::{self, Identity, Tokens},
    store::{Store, StoreOptions},
};
use sqlx::{AnyConnection, Connection};

fn options(url: &str, schema: Option<&str>) -> StoreOptions {
    StoreOptions {
        url: url.to_owned(),
        schema: schema.map(str::to_owned),
        sqlite_synchronous: "normal".into(),
        max_connections: 2,
    }
}

fn guest() -> Identity {
    Identity {
        user_id: "guest-abc".into(),
        name: "Guest".into(),
        guest: true,
    }
}

#[tokio::test]
async fn nodes_sharing_a_postgres_database_share_the_secret() {
    let url = pg_url();
    let schema = unique("secret");
    // Two nodes with data folders of their own, starting at once.
    let (dir_a, dir_b) = (TempDir::new("shared-secret"), TempDir::new("shared-secret"));
    let opts = options(&url, Some(&schema));
    let (a, b) = tokio::join!(Store::connect(&opts), Store::connect(&opts));
    let (a, b) = (a.expect("node a"), b.expect("node b"));
    let (secret_a, secret_b) = tokio::join!(
        auth::resolve_secret(None, Some(&dir_a.0), &a),
        auth::resolve_secret(None, Some(&dir_b.0), &b)
    );
    let (secret_a, secret_b) = (secret_a.expect("a"), secret_b.expect("b"));
    assert_eq!(secret_a, secret_b, "one secret for every node");
    assert!(secret_a.len() >= 32);

    // A token minted on one node is accepted on the other.
    let token = Tokens::new(&secret_a).mint(&guest(), 60).expect("mint");
    assert_eq!(
        Tokens::new(&secret_b)
            .verify(&token)
            .expect("verify")
            .user_id,
        "guest-abc"
    );

    // A restart finds the same secret.
    let again = auth::resolve_secret(None, Some(&dir_a.0), &b)
        .await
        .expect("again");
    assert_eq!(again, secret_a);

    a.close().await;
    b.close().await;
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop schema");
}

#[tokio::test]
async fn an_earlier_versions_secret_file_seeds_the_database() {
    let dir = TempDir::new("shared-secret");
    let old = "an-old-secret-from-the-data-folder";
    std::fs::write(dir.0.join("jwt-secret"), format!("{old}\n")).expect("old secret");
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("chat.db").display());
    let store = Store::connect(&options(&url, None)).await.expect("store");
    let old_token = Tokens::new(old.as_bytes())
        .mint(&guest(), 60)
        .expect("mint");

    let secret = auth::resolve_secret(None, Some(&dir.0), &store)
        .await
        .expect("secret");
    assert_eq!(secret, old.as_bytes());
    assert!(
        Tokens::new(&secret).verify(&old_token).is_ok(),
        "old tokens stay valid"
    );

    // Once in the database, the file no longer matters.
    std::fs::remove_file(dir.0.join("jwt-secret")).expect("remove");
    let later = auth::resolve_secret(None, Some(&dir.0), &store)
        .await
        .expect("later");
    assert_eq!(later, secret);
    store.close().await;
}

#[tokio::test]
async fn a_configured_secret_wins_and_an_in_memory_database_gets_a_random_one() {
    let store = Store::connect(&options("sqlite::memory:", None))
        .await
        .expect("store");
    let configured = auth::resolve_secret(Some("configured-secret-0123"), None, &store)
        .await
        .expect("configured");
    assert_eq!(configured, b"configured-secret-0123");
    let one = auth::resolve_secret(None, None, &store).await.expect("one");
    let two = auth::resolve_secret(None, None, &store).await.expect("two");
    assert_ne!(one, two, "nothing kept for an in-memory database");
}
