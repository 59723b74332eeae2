//! The chatbot's events: queued, start, delta, snapshot, end.

use serde::{Deserialize, Serialize};

/// `bot:queued`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotQueued {
    /// Room id.
    pub room: String,
    /// The id of the message that asked.
    pub request_id: String,
    /// 1 = next.
    pub position: usize,
}

/// `bot:start`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotStart {
    /// Room id.
    pub room: String,
    /// The reply's message id.
    pub id: String,
    /// The reply's room `seq`.
    pub seq: i64,
    /// The id of the message that asked.
    pub request_id: String,
    /// The bot's user id.
    pub user_id: String,
    /// The bot's name.
    pub name: String,
    /// Started at.
    pub ts: i64,
}

/// `bot:delta`.
#[derive(Debug, Clone, Serialize)]
pub struct BotDelta<'a> {
    /// Room id.
    pub room: &'a str,
    /// The reply's message id.
    pub id: &'a str,
    /// 1, 2, 3, … within this reply.
    pub n: u64,
    /// New text.
    pub text: &'a str,
}

/// `bot:snapshot`: the reply so far.
#[derive(Debug, Clone, Serialize)]
pub struct BotSnapshot<'a> {
    /// What `bot:start` said.
    #[serde(flatten)]
    pub start: &'a BotStart,
    /// Text through delta `n`.
    pub text: &'a str,
    /// The last delta included.
    pub n: u64,
}

/// Token counts of a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens read.
    pub prompt_tokens: u64,
    /// Tokens written.
    pub completion_tokens: u64,
}

/// Why a reply failed, as members read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    /// Machine-readable (`upstream_http`, `upstream_timeout`, …).
    pub code: String,
    /// Human-readable.
    pub message: String,
}

/// `bot:end`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotEnd {
    /// Room id.
    pub room: String,
    /// The reply's message id.
    pub id: String,
    /// The reply's room `seq`.
    pub seq: i64,
    /// The whole text.
    pub text: String,
    /// `stop`, `length`, `cancelled` or `error`.
    pub finish_reason: String,
    /// Token counts, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What went wrong, for `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}
