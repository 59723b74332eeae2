//! Rooms: creation, lookup and listings.

use sqlx::Row;

use super::{
    Store, StoreError,
    members::insert_member,
    types::{Room, RoomView, room_from_row},
};

impl Store {
    /// Creates a room; its creator becomes a member. A group room (not `bot`) whose name another
    /// group room has, regardless of case, is refused with [`StoreError::NameTaken`].
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
        let key = (!bot).then(|| name_key(name));
        if let Some(key) = &key {
            // Checked first so the usual case is a clear answer; the unique index still decides
            // between two nodes creating the same name at once.
            let taken = sqlx::query("SELECT 1 AS one FROM rooms WHERE name_key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::NameTaken);
            }
        }
        sqlx::query(
            "INSERT INTO rooms (id, name, name_key, private, bot, created_by, created_ts, last_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(id)
        .bind(name)
        .bind(key.as_deref())
        .bind(i64::from(private))
        .bind(i64::from(bot))
        .bind(creator)
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() && key.is_some() => {
                StoreError::NameTaken
            }
            _ => StoreError::Db(e),
        })?;
        insert_member(&mut tx, id, creator, ts).await?;
        tx.commit().await?;
        Ok(Room {
            id: id.to_owned(),
            name: name.to_owned(),
            private,
            last_seq: 0,
            last_rev: 0,
            bot,
        })
    }

    /// A room by id.
    pub async fn room(&self, id: &str) -> Result<Option<Room>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, private, last_seq, last_rev, bot FROM rooms WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| room_from_row(&r)).transpose()
    }

    /// Public rooms and the private rooms the user belongs to, with membership, read marks and
    /// the mentions of the user after them.
    pub async fn rooms_for(&self, user: &str) -> Result<Vec<RoomView>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.private, r.last_seq, r.last_rev, r.bot, m.user_id AS member, m.read_seq,
               (SELECT COUNT(*) FROM mentions x
                WHERE x.room_id = r.id AND x.user_id = $1 AND x.seq > m.read_seq) AS mentions
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
                    mentions: r.try_get("mentions")?,
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

    /// Every room, public or private, by id: up to `limit` with an id after `after`.
    pub async fn rooms_page(&self, after: &str, limit: i64) -> Result<Vec<Room>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, private, last_seq, last_rev, bot FROM rooms
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(room_from_row).collect()
    }
}

/// What room names are compared by: the name in lower case (Unicode's folding, so `Ärger` and
/// `ärger` collide too).
pub(super) fn name_key(name: &str) -> String {
    name.to_lowercase()
}
