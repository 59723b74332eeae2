//! Mentions: which members a message names with `@name`, kept on the message and as rows that
//! count each member's mentions after their read mark.

use sqlx::{Any, Row, Transaction};

use super::StoreError;
use crate::mention::mentioned;

/// The members of one room by display name, read once when a text first needs them: a batch
/// of messages to one room reads them at most once.
#[derive(Debug, Default)]
pub(super) struct Roster(Option<Vec<(String, String)>>);

impl Roster {
    /// The members of `room` that `text` names, by user id, never `author`; sorted. A member is
    /// named by the display name they were last seen with; two members of one name are both
    /// named. Costs nothing for a text without `@`.
    pub(super) async fn named(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        room: &str,
        author: &str,
        text: &str,
    ) -> Result<Vec<String>, StoreError> {
        if !text.contains('@') {
            return Ok(Vec::new());
        }
        let members = match &mut self.0 {
            Some(members) => members,
            empty => {
                let rows = sqlx::query(
                    "SELECT m.user_id, u.name FROM members m JOIN users u ON u.id = m.user_id
                     WHERE m.room_id = $1",
                )
                .bind(room)
                .fetch_all(&mut **tx)
                .await?;
                let members = rows
                    .iter()
                    .map(|r| Ok((r.try_get("user_id")?, r.try_get("name")?)))
                    .collect::<Result<_, sqlx::Error>>()?;
                empty.insert(members)
            }
        };
        let names: Vec<&str> = members.iter().map(|(_, name)| name.as_str()).collect();
        let mut ids: Vec<String> = mentioned(text, &names)
            .into_iter()
            .map(|i| members[i].0.clone())
            .filter(|id| id != author)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// The stored form of a message's mentions: a JSON array, NULL for none.
pub(super) fn column(users: &[String]) -> Option<String> {
    (!users.is_empty()).then(|| serde_json::Value::from(users.to_vec()).to_string())
}

/// Adds one row per member named by the new message at `seq`.
pub(super) async fn insert_rows(
    tx: &mut Transaction<'static, Any>,
    room: &str,
    seq: i64,
    users: &[String],
) -> Result<(), StoreError> {
    for user in users {
        sqlx::query("INSERT INTO mentions (room_id, user_id, seq) VALUES ($1, $2, $3)")
            .bind(room)
            .bind(user)
            .bind(seq)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Replaces the mentions of the message at `seq` (an edit: `users` named by its new text; a
/// delete: none): its column and its rows.
pub(super) async fn replace(
    tx: &mut Transaction<'static, Any>,
    room: &str,
    seq: i64,
    id: &str,
    users: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mentions WHERE room_id = $1 AND seq = $2")
        .bind(room)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    insert_rows(tx, room, seq, users).await?;
    sqlx::query("UPDATE messages SET mentions = $1 WHERE id = $2")
        .bind(column(users))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
