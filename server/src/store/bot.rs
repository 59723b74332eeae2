//! The bot's tables: its settings per room (`bot_settings`) and its usage ledger (`bot_usage`).

use sqlx::Row;

use super::{Store, StoreError};

/// A room's stored bot settings; `None` takes the server's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredBotSettings {
    /// The persona.
    pub system_prompt: Option<String>,
    /// The model's name.
    pub model: Option<String>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// `mention` or `every`.
    pub reply_mode: Option<String>,
}

/// One reply's line in the usage ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    /// The reply.
    pub reply_id: String,
    /// Its room.
    pub room: String,
    /// Who asked for it.
    pub user_id: String,
    /// When it ended, in milliseconds since the Unix epoch.
    pub ts: i64,
    /// Tokens read.
    pub prompt_tokens: i64,
    /// Tokens written.
    pub completion_tokens: i64,
    /// Whether the counts are estimated (the model reported none).
    pub estimated: bool,
}

/// Token totals over some replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Tokens read.
    pub prompt_tokens: i64,
    /// Tokens written.
    pub completion_tokens: i64,
    /// Replies counted.
    pub replies: i64,
}

impl Store {
    /// The bot settings stored for `room` (all `None` when none were set).
    pub async fn bot_settings(&self, room: &str) -> Result<StoredBotSettings, StoreError> {
        let row = sqlx::query(
            "SELECT system_prompt, model, temperature, reply_mode FROM bot_settings WHERE room_id = $1",
        )
        .bind(room)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(StoredBotSettings::default());
        };
        Ok(StoredBotSettings {
            system_prompt: r.try_get("system_prompt")?,
            model: r.try_get("model")?,
            temperature: r.try_get("temperature")?,
            reply_mode: r.try_get("reply_mode")?,
        })
    }

    /// Replaces the bot settings of `room`.
    pub async fn set_bot_settings(
        &self,
        room: &str,
        s: &StoredBotSettings,
    ) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        sqlx::query(
            "INSERT INTO bot_settings (room_id, system_prompt, model, temperature, reply_mode)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (room_id) DO UPDATE SET system_prompt = excluded.system_prompt,
               model = excluded.model, temperature = excluded.temperature,
               reply_mode = excluded.reply_mode",
        )
        .bind(room)
        .bind(s.system_prompt.as_deref())
        .bind(s.model.as_deref())
        .bind(s.temperature)
        .bind(s.reply_mode.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Who created `room`.
    pub async fn room_creator(&self, room: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT created_by FROM rooms WHERE id = $1")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("created_by")).transpose()?)
    }

    /// Whether `user` wrote a message in `room` before `seq`.
    pub async fn wrote_before(&self, room: &str, user: &str, seq: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM messages WHERE room_id = $1 AND user_id = $2 AND seq < $3 LIMIT 1",
        )
        .bind(room)
        .bind(user)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Records what a reply cost (once per reply: a second line for it is ignored).
    pub async fn record_usage(&self, line: &UsageLine) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        sqlx::query(
            "INSERT INTO bot_usage (reply_id, room_id, user_id, ts, prompt_tokens, completion_tokens, estimated)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (reply_id) DO NOTHING",
        )
        .bind(&line.reply_id)
        .bind(&line.room)
        .bind(&line.user_id)
        .bind(line.ts)
        .bind(line.prompt_tokens)
        .bind(line.completion_tokens)
        .bind(i64::from(line.estimated))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What `user`'s replies cost since `since_ms`, in `room` or everywhere.
    pub async fn usage_since(
        &self,
        user: &str,
        room: Option<&str>,
        since_ms: i64,
    ) -> Result<UsageTotals, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS p,
                    CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS c,
                    COUNT(*) AS n
             FROM bot_usage WHERE user_id = $1 AND ts >= $2 AND (CAST($3 AS TEXT) IS NULL OR room_id = CAST($3 AS TEXT))",
        )
        .bind(user)
        .bind(since_ms)
        .bind(room)
        .fetch_one(&self.pool)
        .await?;
        Ok(UsageTotals {
            prompt_tokens: row.try_get("p")?,
            completion_tokens: row.try_get("c")?,
            replies: row.try_get("n")?,
        })
    }
}
