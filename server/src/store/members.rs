//! Membership and read marks.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

impl Store {
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

    /// One user's membership of a room: their read mark and how many messages after it name
    /// them; `None` when not a member. One query.
    pub async fn membership(
        &self,
        room: &str,
        user: &str,
    ) -> Result<Option<Membership>, StoreError> {
        let row = sqlx::query(
            "SELECT m.read_seq,
               (SELECT COUNT(*) FROM mentions x
                WHERE x.room_id = m.room_id AND x.user_id = m.user_id AND x.seq > m.read_seq) AS mentions
             FROM members m WHERE m.room_id = $1 AND m.user_id = $2",
        )
        .bind(room)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| {
                Ok::<_, sqlx::Error>(Membership {
                    read_seq: r.try_get("read_seq")?,
                    mentions: r.try_get("mentions")?,
                })
            })
            .transpose()?)
    }

    /// How many messages of `room` after the user's read mark name the user (0 when not a
    /// member).
    pub async fn unread_mentions(&self, room: &str, user: &str) -> Result<i64, StoreError> {
        Ok(self.membership(room, user).await?.map_or(0, |m| m.mentions))
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

/// A user's standing in a room they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// The read mark.
    pub read_seq: i64,
    /// How many messages after the read mark name the user.
    pub mentions: i64,
}

pub(super) async fn insert_member(
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
