//! Users: recorded on connect (and by the HTTP API for the authors it posts as).

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
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

    /// The display name a user was last recorded with, if the user is known.
    pub async fn user_name(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT name FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("name")).transpose()?)
    }
}
