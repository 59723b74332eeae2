//! Durable chat state through sqlx: embedded SQLite by default, PostgreSQL when the URL says so.
//!
//! One code path serves both (sqlx's `Any` driver with portable SQL). A room's `seq` is assigned
//! here, inside the transaction that stores the messages (`rooms.last_seq` is bumped with
//! `UPDATE … RETURNING`), so several server processes sharing one PostgreSQL can never hand
//! out the same `seq` twice.

use std::{collections::HashMap, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    AnyConnection, AnyPool, Connection, Row,
    any::{AnyConnectOptions, AnyPoolOptions, AnyRow},
};

/// A stored message, as delivered to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Server-made id, unique across rooms.
    pub id: String,
    /// The room.
    pub room: String,
    /// Position in the room: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Author's user id.
    pub user_id: String,
    /// Author's display name at the time of writing.
    pub user_name: String,
    /// The text (empty once deleted).
    pub text: String,
    /// When it was stored, in milliseconds since the Unix epoch.
    pub ts: i64,
    /// When it was last edited.
    pub edited_ts: Option<i64>,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The client's idempotency key.
    pub client_id: Option<String>,
    /// `done`, or `streaming` while a bot reply is being written.
    pub status: String,
    /// Free-form JSON for bot replies (finish reason, usage, error).
    pub meta: Option<String>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Server-made id.
    pub id: String,
    /// Author's user id.
    pub user_id: String,
    /// Author's display name.
    pub user_name: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    /// The idempotency key: the same key from the same user in the same room stores once.
    pub client_id: Option<String>,
    /// `done` or `streaming`.
    pub status: &'static str,
}

/// What [`Store::append`] did with one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// Stored now, with a fresh `seq`.
    New(StoredMessage),
    /// Its `client_id` was seen before: this is the message stored the first time.
    Duplicate(StoredMessage),
}

impl Appended {
    /// The stored message, new or not.
    pub fn message(&self) -> &StoredMessage {
        match self {
            Self::New(m) | Self::Duplicate(m) => m,
        }
    }
}

/// A room.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Private rooms are visible and open to their members only.
    pub private: bool,
    /// The `seq` of the latest message.
    pub last_seq: i64,
    /// Whether this is a private room between a user and the bot.
    pub bot: bool,
}

/// A room as one user sees it in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    /// The room.
    pub room: Room,
    /// Whether the user is a member.
    pub member: bool,
    /// The user's read mark.
    pub read_seq: i64,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such room or message.
    #[error("not found")]
    NotFound,
    /// The user may not change that message.
    #[error("not the author")]
    NotAuthor,
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
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

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        private BIGINT NOT NULL,
        bot BIGINT NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        created_ts BIGINT NOT NULL,
        last_seq BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE TABLE IF NOT EXISTS members (
        room_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        read_seq BIGINT NOT NULL DEFAULT 0,
        joined_ts BIGINT NOT NULL,
        PRIMARY KEY (room_id, user_id)
    )",
    "CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id)",
    "CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        user_id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        client_id TEXT,
        text TEXT NOT NULL,
        ts BIGINT NOT NULL,
        edited_ts BIGINT,
        deleted BIGINT NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'done',
        meta TEXT
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_by_seq ON messages (room_id, seq)",
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (room_id, user_id, client_id)",
    "CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        guest BIGINT NOT NULL,
        seen_ts BIGINT NOT NULL
    )",
    "INSERT INTO rooms (id, name, private, bot, created_by, created_ts, last_seq)
        SELECT 'general', 'General', 0, 0, 'system', 0, 0
        WHERE NOT EXISTS (SELECT 1 FROM rooms WHERE id = 'general')",
];

const MESSAGE_COLUMNS: &str =
    "id, room_id, seq, user_id, user_name, text, ts, edited_ts, deleted, client_id, status, meta";

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
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut conn)
                .await?;
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
        let mut tx = self.pool.begin().await?;
        for statement in MIGRATIONS {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
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

    /// Records a user (or refreshes their name and last visit).
    pub async fn upsert_user(
        &self,
        id: &str,
        name: &str,
        guest: bool,
        ts: i64,
    ) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        sqlx::query(
            "INSERT INTO users (id, name, guest, seen_ts) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, seen_ts = excluded.seen_ts",
        )
        .bind(id)
        .bind(name)
        .bind(i64::from(guest))
        .bind(ts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the user has ever connected.
    pub async fn user_exists(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Creates a room; its creator becomes a member.
    pub async fn create_room(
        &self,
        id: &str,
        name: &str,
        private: bool,
        bot: bool,
        creator: &str,
        ts: i64,
    ) -> Result<Room, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (id, name, private, bot, created_by, created_ts, last_seq)
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(id)
        .bind(name)
        .bind(i64::from(private))
        .bind(i64::from(bot))
        .bind(creator)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        insert_member(&mut tx, id, creator, ts).await?;
        tx.commit().await?;
        Ok(Room {
            id: id.to_owned(),
            name: name.to_owned(),
            private,
            last_seq: 0,
            bot,
        })
    }

    /// A room by id.
    pub async fn room(&self, id: &str) -> Result<Option<Room>, StoreError> {
        let row = sqlx::query("SELECT id, name, private, last_seq, bot FROM rooms WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| room_from_row(&r)).transpose()
    }

    /// Public rooms and the private rooms the user belongs to, with membership and read marks.
    pub async fn rooms_for(&self, user: &str) -> Result<Vec<RoomView>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.private, r.last_seq, r.bot, m.user_id AS member, m.read_seq
             FROM rooms r LEFT JOIN members m ON m.room_id = r.id AND m.user_id = $1
             WHERE r.private = 0 OR m.user_id IS NOT NULL
             ORDER BY r.name, r.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoomView {
                    room: room_from_row(r)?,
                    member: r.try_get::<Option<String>, _>("member")?.is_some(),
                    read_seq: r.try_get::<Option<i64>, _>("read_seq")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// The ids of the rooms the user belongs to.
    pub async fn member_rooms(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT room_id FROM members WHERE user_id = $1 ORDER BY room_id")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("room_id"))
            .collect::<Result<_, _>>()?)
    }

    /// Whether the user belongs to the room.
    pub async fn is_member(&self, room: &str, user: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM members WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Adds a member; `false` when already one.
    pub async fn add_member(&self, room: &str, user: &str, ts: i64) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let mut conn = self.pool.acquire().await?;
        let added = insert_member(&mut conn, room, user, ts).await?;
        Ok(added)
    }

    /// Removes a member; `false` when not one.
    pub async fn remove_member(&self, room: &str, user: &str) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let done = sqlx::query("DELETE FROM members WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores messages in one transaction, in order, each with the next `seq` of the room.
    /// A message whose `client_id` the same user already used in this room is not stored again:
    /// the first one is returned as [`Appended::Duplicate`].
    pub async fn append(
        &self,
        room: &str,
        batch: &[NewMessage],
    ) -> Result<Vec<Appended>, StoreError> {
        let _writer = self.writer().await;
        enum Slot {
            Existing(Box<StoredMessage>),
            Fresh(usize),
            SameAs(usize),
        }
        let mut tx = self.pool.begin().await?;
        let mut slots = Vec::with_capacity(batch.len());
        let mut fresh: Vec<&NewMessage> = Vec::with_capacity(batch.len());
        // A client id repeated within this batch points at its first entry.
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, m) in batch.iter().enumerate() {
            if let Some(cid) = m.client_id.as_deref() {
                if let Some(&first) = seen.get(&(m.user_id.as_str(), cid)) {
                    slots.push(Slot::SameAs(first));
                    continue;
                }
                seen.insert((m.user_id.as_str(), cid), i);
                let existing = sqlx::query(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = $1 AND user_id = $2 AND client_id = $3"
                ))
                .bind(room)
                .bind(&m.user_id)
                .bind(cid)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = existing {
                    slots.push(Slot::Existing(Box::new(message_from_row(&row)?)));
                    continue;
                }
            }
            slots.push(Slot::Fresh(fresh.len()));
            fresh.push(m);
        }

        let mut stored = Vec::with_capacity(fresh.len());
        if !fresh.is_empty() {
            let row = sqlx::query(
                "UPDATE rooms SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq",
            )
            .bind(fresh.len() as i64)
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let last: i64 = row.try_get("last_seq")?;
            let first_seq = last - fresh.len() as i64 + 1;
            for (seq, m) in (first_seq..).zip(&fresh) {
                sqlx::query(
                    "INSERT INTO messages (id, room_id, seq, user_id, user_name, client_id, text, ts, status)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&m.id)
                .bind(room)
                .bind(seq)
                .bind(&m.user_id)
                .bind(&m.user_name)
                .bind(m.client_id.as_deref())
                .bind(&m.text)
                .bind(m.ts)
                .bind(m.status)
                .execute(&mut *tx)
                .await?;
                stored.push(StoredMessage {
                    id: m.id.clone(),
                    room: room.to_owned(),
                    seq,
                    user_id: m.user_id.clone(),
                    user_name: m.user_name.clone(),
                    text: m.text.clone(),
                    ts: m.ts,
                    edited_ts: None,
                    deleted: false,
                    client_id: m.client_id.clone(),
                    status: m.status.to_owned(),
                    meta: None,
                });
            }
        }
        tx.commit().await?;

        let mut result: Vec<Appended> = Vec::with_capacity(batch.len());
        for slot in slots {
            let appended = match slot {
                Slot::Existing(m) => Appended::Duplicate(*m),
                Slot::Fresh(k) => Appended::New(stored[k].clone()),
                Slot::SameAs(j) => Appended::Duplicate(result[j].message().clone()),
            };
            result.push(appended);
        }
        Ok(result)
    }

    /// Messages of a room in `seq` order: after `after`, before `before`, at most `limit`.
    /// With only `before` (or neither), the latest ones before it.
    pub async fn history(
        &self,
        room: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let before = before.unwrap_or(i64::MAX);
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq ASC LIMIT $4"
                ))
                .bind(room)
                .bind(after)
                .bind(before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                let mut rows = sqlx::query(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(room)
                .bind(before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.reverse();
                rows
            }
        };
        rows.iter().map(message_from_row).collect()
    }

    /// A message by id within a room.
    pub async fn message(&self, room: &str, id: &str) -> Result<Option<StoredMessage>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND id = $2"
        ))
        .bind(room)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| message_from_row(&r)).transpose()
    }

    /// Replaces the text of the user's own message.
    pub async fn edit(
        &self,
        room: &str,
        id: &str,
        user: &str,
        text: &str,
        ts: i64,
    ) -> Result<StoredMessage, StoreError> {
        self.change(room, id, user, Some(text), ts).await
    }

    /// Deletes the user's own message (its `seq` stays, its text goes).
    pub async fn delete(
        &self,
        room: &str,
        id: &str,
        user: &str,
        ts: i64,
    ) -> Result<StoredMessage, StoreError> {
        self.change(room, id, user, None, ts).await
    }

    async fn change(
        &self,
        room: &str,
        id: &str,
        user: &str,
        text: Option<&str>,
        ts: i64,
    ) -> Result<StoredMessage, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND id = $2"
        ))
        .bind(room)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut message = message_from_row(&row)?;
        if message.deleted {
            return Err(StoreError::NotFound);
        }
        if message.user_id != user {
            return Err(StoreError::NotAuthor);
        }
        match text {
            Some(text) => {
                sqlx::query("UPDATE messages SET text = $1, edited_ts = $2 WHERE id = $3")
                    .bind(text)
                    .bind(ts)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                message.text = text.to_owned();
            }
            None => {
                sqlx::query(
                    "UPDATE messages SET text = '', deleted = 1, edited_ts = $1 WHERE id = $2",
                )
                .bind(ts)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                message.text.clear();
                message.deleted = true;
            }
        }
        message.edited_ts = Some(ts);
        tx.commit().await?;
        Ok(message)
    }

    /// The message a user sent with `client_id` in a room, if any.
    pub async fn by_client_id(
        &self,
        room: &str,
        user: &str,
        client_id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND user_id = $2 AND client_id = $3"
        ))
        .bind(room)
        .bind(user)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| message_from_row(&r)).transpose()
    }

    /// Ends every reply left streaming by a server that stopped without finishing it; their
    /// text so far is kept. Returns how many there were.
    pub async fn end_interrupted(&self, meta: &str) -> Result<u64, StoreError> {
        let _writer = self.writer().await;
        let done = sqlx::query(
            "UPDATE messages SET status = 'done', meta = $1 WHERE status = 'streaming'",
        )
        .bind(meta)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Writes the final text of a streamed message (a bot reply) with its metadata.
    pub async fn finish(&self, id: &str, text: &str, meta: &str) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        sqlx::query("UPDATE messages SET text = $1, status = 'done', meta = $2 WHERE id = $3")
            .bind(text)
            .bind(meta)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves the user's read mark forward to `seq` (never back, never past the last message).
    /// Returns the mark now in force.
    pub async fn mark_read(&self, room: &str, user: &str, seq: i64) -> Result<i64, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        let last: i64 = sqlx::query("SELECT last_seq FROM rooms WHERE id = $1")
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("last_seq")?;
        let target = seq.min(last);
        sqlx::query("UPDATE members SET read_seq = $1 WHERE room_id = $2 AND user_id = $3 AND read_seq < $4")
            .bind(target)
            .bind(room)
            .bind(user)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT read_seq FROM members WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(row.try_get("read_seq")?)
    }

    /// One member's read mark (0 when not a member).
    pub async fn read_seq(&self, room: &str, user: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT read_seq FROM members WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("read_seq")).transpose()?.unwrap_or(0))
    }

    /// The read marks of the `limit` members furthest ahead in a room (highest mark first;
    /// members who have read nothing are left out).
    pub async fn read_marks(
        &self,
        room: &str,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, read_seq FROM members WHERE room_id = $1 AND read_seq > 0
             ORDER BY read_seq DESC, user_id LIMIT $2",
        )
        .bind(room)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("read_seq")?)))
            .collect()
    }
}

async fn insert_member(
    conn: &mut AnyConnection,
    room: &str,
    user: &str,
    ts: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO members (room_id, user_id, read_seq, joined_ts) VALUES ($1, $2, 0, $3)
         ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(room)
    .bind(user)
    .bind(ts)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

fn room_from_row(r: &AnyRow) -> Result<Room, StoreError> {
    Ok(Room {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        private: r.try_get::<i64, _>("private")? != 0,
        last_seq: r.try_get("last_seq")?,
        bot: r.try_get::<i64, _>("bot")? != 0,
    })
}

fn message_from_row(r: &AnyRow) -> Result<StoredMessage, StoreError> {
    Ok(StoredMessage {
        id: r.try_get("id")?,
        room: r.try_get("room_id")?,
        seq: r.try_get("seq")?,
        user_id: r.try_get("user_id")?,
        user_name: r.try_get("user_name")?,
        text: r.try_get("text")?,
        ts: r.try_get("ts")?,
        edited_ts: r.try_get("edited_ts")?,
        deleted: r.try_get::<i64, _>("deleted")? != 0,
        client_id: r.try_get("client_id")?,
        status: r.try_get("status")?,
        meta: r.try_get("meta")?,
    })
}
