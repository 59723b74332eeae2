//! Rooms: creation, lookup and listings.

use sqlx::Row;

use super::{
    Store, StoreError,
    members::insert_member,
    types::{Room, RoomView, room_from_row},
};

impl Store {
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

    /// Public rooms and the private rooms the user belongs to, with membership and read marks.
    pub async fn rooms_for(&self, user: &str) -> Result<Vec<RoomView>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.private, r.last_seq, r.last_rev, r.bot, m.user_id AS member, m.read_seq
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
