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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotEnd {
    /// Room id.
    pub room: String,
    /// The reply's message id.
    pub id: String,
    /// The reply's room `seq`.
    pub seq: i64,
    /// The end's position in the room's change log.
    pub rev: i64,
    /// The whole text.
    pub text: String,
    /// `stop`, `length`, `cancelled` or `error` (or what else the model said).
    pub finish_reason: FinishReason,
    /// Token counts, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What went wrong, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

/// Why a reply ended, sent as a string: `stop` (the model finished), `length` (it hit its token
/// limit), `cancelled` (a member cancelled it), `error` (it failed or the server stopped), or
/// any other reason an OpenAI-compatible model gives, as it gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// The model finished.
    Stop,
    /// The model hit its token limit.
    Length,
    /// A member cancelled the reply.
    Cancelled,
    /// The reply failed, or the server stopped while writing it.
    Error,
    /// Another reason given by the model (`content_filter`, …).
    Other(String),
}

impl FinishReason {
    /// A model's `finish_reason`.
    pub fn from_model(reason: String) -> Self {
        match reason.as_str() {
            "stop" => Self::Stop,
            "length" => Self::Length,
            _ => Self::Other(reason),
        }
    }

    /// A stored or sent reason read back.
    pub fn parse(reason: String) -> Self {
        match reason.as_str() {
            "cancelled" => Self::Cancelled,
            "error" => Self::Error,
            _ => Self::from_model(reason),
        }
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
            Self::Other(reason) => reason,
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::FinishReason;

    #[test]
    fn finish_reasons_travel_as_the_strings_clients_know() {
        let json = |r: FinishReason| serde_json::to_string(&r).expect("serialize");
        assert_eq!(json(FinishReason::from_model("stop".into())), r#""stop""#);
        assert_eq!(
            json(FinishReason::from_model("length".into())),
            r#""length""#
        );
        assert_eq!(json(FinishReason::Cancelled), r#""cancelled""#);
        for r in ["stop", "length", "cancelled", "error", "content_filter"] {
            assert_eq!(FinishReason::parse(r.to_owned()).as_str(), r);
        }
        assert_eq!(json(FinishReason::Error), r#""error""#);
        // A reason we have no name for reaches members as the model gave it.
        assert_eq!(
            json(FinishReason::from_model("content_filter".into())),
            r#""content_filter""#
        );
    }
}
