//! Messages: appending with `seq`, history, edits, deletes and bot replies.

use std::collections::HashMap;

use sqlx::Row;

use super::{
    Store, StoreError,
    types::{Appended, MESSAGE_COLUMNS, NewMessage, StoredMessage, message_from_row},
};

impl Store {
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
                .bind(m.status.as_str())
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
                    status: m.status,
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
}
