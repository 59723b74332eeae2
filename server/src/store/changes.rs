//! Changes to stored messages (edits, deletes, the end of a bot reply), each taking the room's
//! next position in its change log, and reading the changes back after a position.

use sqlx::{Any, Row, Transaction};

use super::{
    Store, StoreError, mentions,
    types::{Change, MESSAGE_COLUMNS, MessageStatus, Pos, StoredMessage, message_from_row},
};

/// Takes the room's next `rev` inside `tx`; returns where the log then stands.
pub(super) async fn next_rev(
    tx: &mut Transaction<'static, Any>,
    room: &str,
) -> Result<Pos, StoreError> {
    let row = sqlx::query(
        "UPDATE rooms SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_seq, last_rev",
    )
    .bind(room)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(Pos {
        seq: row.try_get("last_seq")?,
        rev: row.try_get("last_rev")?,
    })
}

impl Store {
    /// Replaces the text of the user's own message.
    pub async fn edit(
        &self,
        room: &str,
        id: &str,
        user: &str,
        text: &str,
        ts: i64,
    ) -> Result<Change, StoreError> {
        self.change(room, id, user, Some(text), ts).await
    }

    /// Deletes the user's own message (its `seq` stays, its text goes).
    pub async fn delete(
        &self,
        room: &str,
        id: &str,
        user: &str,
        ts: i64,
    ) -> Result<Change, StoreError> {
        self.change(room, id, user, None, ts).await
    }

    async fn change(
        &self,
        room: &str,
        id: &str,
        user: &str,
        text: Option<&str>,
        ts: i64,
    ) -> Result<Change, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        let (pos, mut message) = open_change(&mut tx, room, id).await?;
        if message.user_id != user {
            return Err(StoreError::NotAuthor);
        }
        let had_mentions = !message.mentions.is_empty();
        match text {
            Some(text) => {
                message.text = text.to_owned();
                message.mentions = mentions::Roster::default()
                    .named(&mut tx, room, user, text)
                    .await?;
            }
            None => {
                message.text.clear();
                message.deleted = true;
                message.mentions.clear();
            }
        }
        if had_mentions || !message.mentions.is_empty() {
            mentions::replace(&mut tx, room, message.seq, id, &message.mentions).await?;
        }
        message.edited_ts = Some(ts);
        message.rev = pos.rev;
        sqlx::query(
            "UPDATE messages SET text = $1, deleted = $2, edited_ts = $3, rev = $4 WHERE id = $5",
        )
        .bind(&message.text)
        .bind(i64::from(message.deleted))
        .bind(ts)
        .bind(pos.rev)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Change { message, pos })
    }

    /// Writes the final text of a streamed message (a bot reply) with its metadata.
    pub async fn finish(
        &self,
        room: &str,
        id: &str,
        text: &str,
        meta: &str,
    ) -> Result<Change, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        let pos = next_rev(&mut tx, room).await?;
        let mut message = locked_message(&mut tx, room, id).await?;
        sqlx::query(
            "UPDATE messages SET text = $1, status = 'done', meta = $2, rev = $3 WHERE id = $4",
        )
        .bind(text)
        .bind(meta)
        .bind(pos.rev)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        message.text = text.to_owned();
        message.status = MessageStatus::Done;
        message.meta = Some(meta.to_owned());
        message.rev = pos.rev;
        Ok(Change { message, pos })
    }

    /// Ends every reply `node` left streaming when it stopped without finishing it (and those
    /// of no recorded node, from before nodes were recorded); their text so far is kept, and
    /// each end is a change in its room's log. Replies other nodes are writing are left alone.
    /// Returns how many.
    pub async fn end_interrupted(&self, node: &str, meta: &str) -> Result<u64, StoreError> {
        let mut ended = 0;
        for reply in self.streaming_of(node, true).await? {
            self.finish(&reply.room, &reply.id, &reply.text, meta)
                .await?;
            ended += 1;
        }
        Ok(ended)
    }

    /// The replies `node` is writing, as stored (their text is what was stored at the start);
    /// with `unrecorded`, also those of no recorded node.
    pub async fn streaming_of(
        &self,
        node: &str,
        unrecorded: bool,
    ) -> Result<Vec<Streaming>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, id, seq, text FROM messages
             WHERE status = 'streaming' AND (node = $1 OR ($2 = 1 AND node IS NULL))",
        )
        .bind(node)
        .bind(i64::from(unrecorded))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Streaming {
                    room: row.try_get("room_id")?,
                    id: row.try_get("id")?,
                    seq: row.try_get("seq")?,
                    text: row.try_get("text")?,
                })
            })
            .collect()
    }

    /// The nodes that have replies streaming.
    pub async fn streaming_nodes(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT node FROM messages WHERE status = 'streaming' AND node IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| row.try_get("node").map_err(StoreError::from))
            .collect()
    }

    /// The changes after position `after` up to `upto` to messages up to `max_seq`, in log
    /// order, at most `limit`; each message in its latest state (its `rev` is the change's
    /// position). A message changed twice appears once, at its latest position.
    pub async fn changes_after(
        &self,
        room: &str,
        after: i64,
        upto: i64,
        max_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room_id = $1 AND rev > $2 AND rev <= $3 AND seq <= $4
             ORDER BY rev ASC LIMIT $5"
        ))
        .bind(room)
        .bind(after)
        .bind(upto)
        .bind(max_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }
}

/// A bot reply being written, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streaming {
    /// Its room.
    pub room: String,
    /// Its message id.
    pub id: String,
    /// Its `seq`.
    pub seq: i64,
    /// Its stored text.
    pub text: String,
}

/// A message of the room, read inside `tx` after it took the room's row.
/// The start of a change to message `id` (an edit, a delete, a reaction), in `tx`: the room's
/// next position, then the message, which must not be deleted. The room's row comes first: on
/// PostgreSQL it is locked until commit, so changes to one room are serialized and each reads
/// the message as the one before left it. A refusal (or a change that turns out to change
/// nothing) rolls the position back with the transaction.
pub(super) async fn open_change(
    tx: &mut Transaction<'static, Any>,
    room: &str,
    id: &str,
) -> Result<(Pos, StoredMessage), StoreError> {
    let pos = next_rev(tx, room).await?;
    let message = locked_message(tx, room, id).await?;
    if message.deleted {
        return Err(StoreError::NotFound);
    }
    Ok((pos, message))
}

pub(super) async fn locked_message(
    tx: &mut Transaction<'static, Any>,
    room: &str,
    id: &str,
) -> Result<StoredMessage, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND id = $2"
    ))
    .bind(room)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    message_from_row(&row)
}
