//! What a model backend is: a request in, a stream of text chunks out. Dropping the stream
//! aborts the request upstream.

use futures_util::stream::BoxStream;

use crate::wire::Usage;

/// Who said a line of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// A person.
    User,
    /// The bot.
    Assistant,
}

impl Role {
    /// The role as OpenAI's API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who.
    pub role: Role,
    /// What.
    pub content: String,
}

/// A request for a reply.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// System prompt first, then the room's recent messages, oldest first. A continuation
    /// ends with the bot's partial reply (an assistant turn).
    pub turns: Vec<Turn>,
    /// The model the room asks for, instead of the server's.
    pub model: Option<String>,
    /// The room's sampling temperature (`None`: the model's default).
    pub temperature: Option<f64>,
    /// Whether this is the bot's first reply in the room.
    pub first_in_room: bool,
}

/// A piece of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// More text.
    Text(String),
    /// Token counts.
    Usage(Usage),
    /// Why the model stopped (`stop`, `length`, …).
    Finish(String),
}

/// A failed reply, in terms members can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BackendError {
    /// `upstream_http`, `upstream_timeout`, `upstream_unreachable`, `upstream_broken`, `upstream_malformed`.
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

impl BackendError {
    /// An error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A source of replies. Adding one (a native Ollama API, say) means one new file implementing this.
pub trait Backend: Send + Sync + 'static {
    /// Starts a reply. The stream ends after the last chunk; dropping it early cancels upstream.
    fn complete(&self, request: Completion) -> BoxStream<'static, Result<Chunk, BackendError>>;
    /// `embedded` or `openai`, as the `session` event tells clients.
    fn kind(&self) -> &'static str;
    /// The model answering when a room names none.
    fn model(&self) -> &str;
}
