//! Reactions: a user's emoji on a message, added or removed, each change taking the room's
//! next position in its change log; the message keeps the summary it is served with.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::{
    Store, StoreError,
    changes::open_change,
    types::{Change, StoredMessage},
};

/// How many of the users who reacted with one emoji a message names (the oldest first); the
/// count is of all of them.
pub const REACTION_USERS: usize = 20;

/// What [`Store::react`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reacted {
    /// The reaction changed: a new position in the room's log.
    Changed(Change),
    /// It already was as asked (a retry): the message as it is, no new position.
    Unchanged(StoredMessage),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    emoji: String,
    count: i64,
    users: Vec<SummaryUser>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryUser {
    user_id: String,
    name: String,
}

impl Store {
    /// Adds (`on`) or removes the user's `emoji` on a message that is not deleted.
    pub async fn react(
        &self,
        room: &str,
        id: &str,
        user: &str,
        emoji: &str,
        on: bool,
        ts: i64,
    ) -> Result<Reacted, StoreError> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        // As for an edit; an unchanged reaction rolls the position back.
        let (pos, mut message) = open_change(&mut tx, room, id).await?;
        let done = if on {
            sqlx::query(
                "INSERT INTO reactions (room_id, message_id, emoji, user_id, ts)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(room)
            .bind(id)
            .bind(emoji)
            .bind(user)
            .bind(ts)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "DELETE FROM reactions
                 WHERE room_id = $1 AND message_id = $2 AND emoji = $3 AND user_id = $4",
            )
            .bind(room)
            .bind(id)
            .bind(emoji)
            .bind(user)
            .execute(&mut *tx)
            .await?
        };
        if done.rows_affected() == 0 {
            return Ok(Reacted::Unchanged(message));
        }
        let summary = summary(&mut tx, id).await?;
        message.reactions = Some(summary);
        message.rev = pos.rev;
        sqlx::query("UPDATE messages SET reactions = $1, rev = $2 WHERE id = $3")
            .bind(message.reactions.as_deref())
            .bind(pos.rev)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Reacted::Changed(Change { message, pos }))
    }
}

/// The message's reactions as served: each emoji in the order it was first given, its users
/// oldest first (at most [`REACTION_USERS`]), as JSON.
async fn summary(tx: &mut Transaction<'static, Any>, id: &str) -> Result<String, StoreError> {
    let rows = sqlx::query(
        "SELECT r.emoji, r.user_id, COALESCE(u.name, r.user_id) AS name
         FROM reactions r LEFT JOIN users u ON u.id = r.user_id
         WHERE r.message_id = $1 ORDER BY r.ts, r.user_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut summary: Vec<Summary> = Vec::new();
    for row in &rows {
        let emoji: String = row.try_get("emoji")?;
        let user = SummaryUser {
            user_id: row.try_get("user_id")?,
            name: row.try_get("name")?,
        };
        let at = match summary.iter().position(|s| s.emoji == emoji) {
            Some(at) => at,
            None => {
                summary.push(Summary {
                    emoji,
                    count: 0,
                    users: Vec::new(),
                });
                summary.len() - 1
            }
        };
        let entry = &mut summary[at];
        entry.count += 1;
        if entry.users.len() < REACTION_USERS {
            entry.users.push(user);
        }
    }
    serde_json::to_string(&summary).map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))
}
