//! The bot without the chat: a backend the test drives, the bot's settings, and questions
//! stored as the chat stores them before it asks the bot.

use std::time::Duration;

use futures_util::{StreamExt, stream::BoxStream};
use server::{
    bot::{
        BOT_ID, BotConfig,
        backend::{Backend, BackendError, Chunk, Completion, Role},
    },
    store::{MessageStatus, NewMessage, Store, StoredMessage},
};
use tokio::sync::mpsc;

/// A reply the backend started: the question it was asked, the conversation it was given, and
/// the feed of its chunks (dropping it ends the reply).
pub struct Started {
    pub question: String,
    pub context: Vec<String>,
    pub feed: mpsc::UnboundedSender<Result<Chunk, BackendError>>,
}

/// A backend that tells the test about every reply it starts and streams what the test sends.
pub struct Gate(pub mpsc::UnboundedSender<Started>);

impl Backend for Gate {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn model(&self) -> &str {
        "test"
    }

    fn complete(&self, request: Completion) -> BoxStream<'static, Result<Chunk, BackendError>> {
        let (feed, rx) = mpsc::unbounded_channel();
        let context: Vec<String> = request
            .turns
            .iter()
            .filter(|t| t.role != Role::System)
            .map(|t| t.content.clone())
            .collect();
        let question = context.last().cloned().unwrap_or_default();
        self.0
            .send(Started {
                question,
                context,
                feed,
            })
            .ok();
        stream_of(rx)
    }
}

fn stream_of(
    mut rx: mpsc::UnboundedReceiver<Result<Chunk, BackendError>>,
) -> BoxStream<'static, Result<Chunk, BackendError>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

/// The bot's settings in these tests: deltas at once, a large budget.
pub fn config(queue_limit: usize, max_inflight: usize) -> BotConfig {
    BotConfig {
        name: "Bot".into(),
        system_prompt: "Be brief.".into(),
        context_chars: 10_000,
        coalesce: Duration::from_millis(1),
        coalesce_bytes: 1,
        queue_limit,
        max_inflight,
        tokens_per_minute: 1_000_000,
        node: "local".into(),
    }
}

/// A store with users ada, ben and cat in room `r`.
pub async fn store() -> Store {
    super::memory_store(&["ada", "ben", "cat"], "r").await
}

/// Stores `text` from `user` in room `r` and returns it (what the chat does before it submits
/// a request).
pub async fn ask(store: &Store, user: &str, text: &str) -> StoredMessage {
    let id = format!("q-{user}-{}", text.len());
    let appended = store
        .append(
            "r",
            &[NewMessage {
                id: id.clone(),
                user_id: user.into(),
                user_name: user.into(),
                text: text.into(),
                ts: 0,
                client_id: None,
                status: MessageStatus::Done,
                node: None,
                links: Default::default(),
            }],
        )
        .await
        .expect("question stored");
    appended[0].message().clone()
}

/// The bot's messages in room `r`, oldest first.
pub async fn bot_replies(store: &Store) -> Vec<StoredMessage> {
    store
        .history("r", None, None, 100)
        .await
        .expect("history")
        .into_iter()
        .filter(|m| m.user_id == BOT_ID)
        .collect()
}
