//! The chatbot's per-room settings, its regenerate and continue requests, its usage and how the
//! `session` event names it.

use serde::{Deserialize, Deserializer, Serialize};

/// When the bot answers in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyMode {
    /// Messages that mention it (`@bot` or `@` its name).
    Mention,
    /// Every message.
    Every,
}

impl ReplyMode {
    /// The stored (and wire) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Every => "every",
        }
    }

    /// The stored form read back.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mention" => Some(Self::Mention),
            "every" => Some(Self::Every),
            _ => None,
        }
    }
}

/// `bot:settings` from a client: with only `room` it reads; each field given changes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotSettingsArgs {
    /// Room id.
    pub room: String,
    /// The persona; `""` goes back to the server's.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// The model; `""` goes back to the server's.
    #[serde(default)]
    pub model: Option<String>,
    /// `null` goes back to the model's default; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    pub temperature: Option<Option<f64>>,
    /// When the bot answers.
    #[serde(default)]
    pub reply_mode: Option<ReplyMode>,
}

impl BotSettingsArgs {
    /// Whether the request changes anything (else it only reads).
    pub fn changes(&self) -> bool {
        self.system_prompt.is_some()
            || self.model.is_some()
            || self.temperature.is_some()
            || self.reply_mode.is_some()
    }
}

/// A field that is present (even as `null`) becomes `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// A room's bot settings as they apply (the server's defaults filled in); the ack of
/// `bot:settings` and the event members receive when they change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotSettings {
    /// Room id.
    pub room: String,
    /// The persona.
    pub system_prompt: String,
    /// The model.
    pub model: String,
    /// `null`: the model's default.
    pub temperature: Option<f64>,
    /// When the bot answers.
    pub reply_mode: ReplyMode,
}

/// `bot:regenerate` and `bot:continue`.
#[derive(Debug, Deserialize)]
pub struct ReplyRef {
    /// Room id.
    pub room: String,
    /// The bot reply.
    pub id: String,
}

/// The ack of `bot:regenerate` and `bot:continue`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requested {
    /// The request the new reply answers (its `bot:start` carries it).
    pub request_id: String,
}

/// `bot:usage`.
#[derive(Debug, Default, Deserialize)]
pub struct UsageQuery {
    /// One room, or every room when absent.
    #[serde(default)]
    pub room: Option<String>,
}

/// Token totals of the caller's replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotal {
    /// Tokens read.
    pub prompt_tokens: i64,
    /// Tokens written.
    pub completion_tokens: i64,
    /// Replies.
    pub replies: i64,
}

/// The ack of `bot:usage`: this UTC day and this UTC month.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct UsageReport {
    /// Since 00:00 UTC today.
    pub today: UsageTotal,
    /// Since the first of this month, 00:00 UTC.
    pub month: UsageTotal,
}

/// Which bot answers, in the `session` event.
#[derive(Debug, Clone, Serialize)]
pub struct SessionBot {
    /// Its display name.
    pub name: String,
    /// `embedded` or `openai`.
    pub kind: String,
    /// The model answering when a room names none.
    pub model: String,
}
