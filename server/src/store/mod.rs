//! Durable chat state through sqlx: embedded SQLite by default, PostgreSQL when the URL says so.
//!
//! One code path serves both (sqlx's `Any` driver with portable SQL). A room's `seq` is assigned
//! here, inside the transaction that stores the messages (`rooms.last_seq` is bumped with
//! `UPDATE … RETURNING`), so several server processes sharing one PostgreSQL can never hand
//! out the same `seq` twice.
//!
//! One file per table family: `users`, `rooms`, `members` (membership and read marks),
//! `messages`, `mentions` (who a message names), `search` (full text), `changes` (edits, deletes, reply ends: the room's change log), `reactions`,
//! `settings`, `bot` (the bot's settings per room and its usage ledger); the row types in `types`, the schema in `schema`.

mod bot;
mod changes;
mod members;
mod mentions;
mod messages;
mod reactions;
mod rooms;
mod schema;
mod search;
mod settings;
mod types;
mod users;

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    AnyConnection, AnyPool, Connection,
    any::{AnyConnectOptions, AnyPoolOptions},
};

pub use bot::{StoredBotSettings, UsageLine, UsageTotals};
pub use changes::Streaming as StreamingReply;
pub use members::Membership;
pub use reactions::{REACTION_USERS, Reacted};
pub use types::{
    Appended, Change, Links, MessageStatus, NewMessage, Pos, Room, RoomView, StoredMessage,
};

pub use schema::{latest_version, versions as migration_versions};
pub use search::{SEARCH_WORDS_MAX, SearchQuery, search_words};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such room or message.
    #[error("not found")]
    NotFound,
    /// The user may not change that message.
    #[error("not the author")]
    NotAuthor,
    /// Another room already has this name (compared regardless of case).
    #[error("a room with that name exists")]
    NameTaken,
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub url: String,
    /// PostgreSQL schema to use (created if missing); lets test runs share a database.
    pub schema: Option<String>,
    /// SQLite `synchronous` pragma: `full` survives power loss, `normal` survives a crash.
    pub sqlite_synchronous: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
}

/// The database handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite has one writer at a time, and a transaction that reads before it writes fails at
    /// once (SQLITE_BUSY, no waiting) if another connection wrote in between. Writes from this
    /// process therefore take turns here; PostgreSQL needs no such lock.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Store {
    /// Connects, creates the schema if asked, and applies the migrations.
    pub async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = opts.url.starts_with("sqlite:");
        let in_memory = is_sqlite && opts.url.contains(":memory:");
        // A SQLite file is created on first use, as users of an embedded database expect.
        let url = if is_sqlite && !in_memory && !opts.url.contains("mode=") {
            let sep = if opts.url.contains('?') { '&' } else { '?' };
            format!("{}{sep}mode=rwc", opts.url)
        } else {
            opts.url.clone()
        };
        let connect = AnyConnectOptions::from_str(&url)?;
        if let (false, Some(schema)) = (is_sqlite, &opts.schema) {
            let mut conn = AnyConnection::connect_with(&connect).await?;
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            // Two processes creating it at once: one of them may get a unique violation
            // (PostgreSQL checks before it inserts); the schema then exists.
            if sqlx::query(&create).execute(&mut conn).await.is_err() {
                sqlx::query(&create).execute(&mut conn).await?;
            }
            conn.close().await?;
        }
        let schema = opts.schema.clone();
        let synchronous = opts.sqlite_synchronous.clone();
        let pool = AnyPoolOptions::new()
            // An in-memory SQLite database lives and dies with its one connection.
            .max_connections(if in_memory { 1 } else { opts.max_connections })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(3600))
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                let synchronous = synchronous.clone();
                Box::pin(async move {
                    if is_sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(&format!("PRAGMA synchronous = {synchronous}"))
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                    } else if let Some(schema) = schema {
                        sqlx::query(&format!("SET search_path TO \"{schema}\""))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        let store = Self {
            pool,
            sqlite_writer: is_sqlite.then(|| Arc::new(tokio::sync::Mutex::new(()))),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Holds the SQLite write turn (nothing for PostgreSQL) until dropped.
    async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        schema::migrate(&self.pool, self.is_sqlite()).await
    }

    /// Whether this is SQLite (PostgreSQL otherwise).
    fn is_sqlite(&self) -> bool {
        self.sqlite_writer.is_some()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
