//! Messages: appending with `seq`, and reading them back (history, lookups).

use std::collections::HashMap;

use sqlx::Row;

use super::{
    Store, StoreError, mentions,
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
                "UPDATE rooms SET last_seq = last_seq + $1, last_rev = last_rev + $1
                 WHERE id = $2 RETURNING last_seq, last_rev",
            )
            .bind(fresh.len() as i64)
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let n = fresh.len() as i64;
            let first_seq = row.try_get::<i64, _>("last_seq")? - n + 1;
            let first_rev = row.try_get::<i64, _>("last_rev")? - n + 1;
            let mut roster = mentions::Roster::default();
            for ((seq, rev), m) in (first_seq..).zip(first_rev..).zip(&fresh) {
                let named = roster.named(&mut tx, room, &m.user_id, &m.text).await?;
                sqlx::query(
                    "INSERT INTO messages (id, room_id, seq, rev, user_id, user_name, client_id, text, ts, status, node, reply_to, replaces, continues, mentions)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&m.id)
                .bind(room)
                .bind(seq)
                .bind(rev)
                .bind(&m.user_id)
                .bind(&m.user_name)
                .bind(m.client_id.as_deref())
                .bind(&m.text)
                .bind(m.ts)
                .bind(m.status.as_str())
                .bind(m.node.as_deref())
                .bind(m.links.reply_to.as_deref())
                .bind(m.links.replaces.as_deref())
                .bind(m.links.continues.as_deref())
                .bind(mentions::column(&named))
                .execute(&mut *tx)
                .await?;
                mentions::insert_rows(&mut tx, room, seq, &named).await?;
                stored.push(StoredMessage {
                    id: m.id.clone(),
                    room: room.to_owned(),
                    seq,
                    rev,
                    user_id: m.user_id.clone(),
                    user_name: m.user_name.clone(),
                    text: m.text.clone(),
                    ts: m.ts,
                    edited_ts: None,
                    deleted: false,
                    client_id: m.client_id.clone(),
                    status: m.status,
                    meta: None,
                    reactions: None,
                    links: m.links.clone(),
                    mentions: named,
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
}
