//! The chatbot: who may ask, the queue per room, and the reply loop that streams a backend's
//! answer into the room through the room's writer.
//!
//! - [`backend`]: the small trait every model implements.
//! - [`embedded`]: the offline default.
//! - [`openai`]: any OpenAI-compatible API.
//! - `queue`: the queue per room and the budgets per user that admission counts.
//! - `reply`: the reply loop (one request at a time per room, streamed, stored when it ends).
//! - `mentions`: whether a message addresses the bot.
//!
//! One reply runs at a time per room; more wait in a bounded queue. A reply is a stored message
//! from its start (so it has its `seq`); its text streams as deltas merged over a short window,
//! and is stored when it ends, whatever ended it (the model, a cancel, an error).

pub mod backend;
pub mod embedded;
mod mentions;
pub mod openai;
mod queue;
mod reply;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use self::backend::Backend;
use crate::{
    config::Config,
    room::Writers,
    store::{Store, StoredMessage},
    wire::{BotQueued, ErrorBody, ErrorCode, FinishReason},
};

/// The bot's user id.
pub const BOT_ID: &str = "bot";

/// Settings of the reply loop.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Display name.
    pub name: String,
    /// System prompt.
    pub system_prompt: String,
    /// Context budget in characters.
    pub context_chars: usize,
    /// Longest wait before a merged delta goes out.
    pub coalesce: Duration,
    /// Size at which a merged delta goes out.
    pub coalesce_bytes: usize,
    /// Waiting requests per room.
    pub queue_limit: usize,
    /// Requests per user, waiting or running.
    pub max_inflight: usize,
    /// Tokens per user per minute.
    pub tokens_per_minute: u64,
    /// The node this bot runs on, recorded with the replies it writes.
    pub node: String,
}

impl BotConfig {
    /// From the server's configuration.
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            name: cfg.bot.bot_name.trim().to_owned(),
            system_prompt: cfg.bot.bot_system_prompt.clone(),
            context_chars: cfg.bot.bot_context_chars,
            coalesce: Duration::from_millis(cfg.bot.bot_coalesce_ms),
            coalesce_bytes: cfg.bot.bot_coalesce_bytes,
            queue_limit: cfg.bot.bot_queue_limit,
            max_inflight: cfg.bot.bot_max_inflight,
            tokens_per_minute: cfg.bot.bot_tokens_per_minute,
            node: cfg.server.node_id.clone(),
        }
    }
}

pub use mentions::mentions;
pub use queue::{Admission, BotTable};

use queue::{Request, State};

/// The bot service; cheap to clone.
#[derive(Clone)]
pub struct Bot(Arc<BotInner>);

struct BotInner {
    /// Cancelled when the server stops: running replies end and are stored.
    stopping: CancellationToken,
    /// Replies being written.
    running: tokio::sync::watch::Sender<usize>,
    backend: Arc<dyn Backend>,
    store: Store,
    writers: Arc<Writers>,
    config: BotConfig,
    state: Arc<BotTable>,
}

use crate::clock::now_ms;

impl Bot {
    /// A bot answering with `backend`, keeping its queues and budgets in `table`.
    pub fn new(
        backend: Arc<dyn Backend>,
        store: Store,
        writers: Arc<Writers>,
        config: BotConfig,
        table: Arc<BotTable>,
    ) -> Self {
        Self(Arc::new(BotInner {
            stopping: CancellationToken::new(),
            running: tokio::sync::watch::channel(0).0,
            backend,
            store,
            writers,
            config,
            state: table,
        }))
    }

    /// The bot's display name.
    pub fn name(&self) -> &str {
        &self.0.config.name
    }

    /// What a reply cut short by a stopping server says, in its stored metadata.
    pub fn interrupted_meta() -> String {
        serde_json::json!({
            "finishReason": FinishReason::Error,
            "error": { "code": "interrupted", "message": "the server stopped while writing this reply" },
        })
        .to_string()
    }

    /// Ends every running reply (its text so far is stored, members get `bot:end`) and waits
    /// for them, up to `deadline`. New requests are refused from now on.
    pub async fn stop(&self, deadline: Duration) {
        self.0.stopping.cancel();
        let mut running = self.0.running.subscribe();
        let all_ended = running.wait_for(|n| *n == 0);
        if tokio::time::timeout(deadline, all_ended).await.is_err() {
            warn!("bot replies still running at the shutdown deadline");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that the bot joined a room.
    pub fn joined(&self, room: &str, bot_room: bool) {
        self.lock()
            .member_of
            .insert(room.to_owned(), (true, bot_room));
    }

    /// Whether a message in `room` asks the bot for a reply: any message in a private bot
    /// room, a mention where the bot is a member.
    pub async fn addressed(&self, room: &str, text: &str) -> bool {
        let known = self.lock().member_of.get(room).copied();
        let (member, bot_room) = match known {
            Some(k) => k,
            None => {
                let member = self.0.store.is_member(room, BOT_ID).await.unwrap_or(false);
                let bot_room = matches!(self.0.store.room(room).await, Ok(Some(r)) if r.bot);
                self.lock()
                    .member_of
                    .insert(room.to_owned(), (member, bot_room));
                (member, bot_room)
            }
        };
        member && (bot_room || self.mentions(text))
    }

    fn mentions(&self, text: &str) -> bool {
        mentions(text, &["bot", &self.0.config.name])
    }

    /// Reserves a place for a request, or says why not.
    pub fn admit(&self, room: &str, user_id: &str) -> Result<Admission, ErrorBody> {
        let cfg = &self.0.config;
        if self.0.stopping.is_cancelled() {
            return Err(ErrorBody::new(
                ErrorCode::QueueFull,
                "the server is restarting; ask again in a moment",
            ));
        }
        let mut state = self.lock();
        let now = Instant::now();
        let budget = state.users.entry(user_id.to_owned()).or_default();
        while budget
            .spent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= Duration::from_secs(60))
        {
            budget.spent.pop_front();
        }
        if budget.inflight >= cfg.max_inflight {
            return Err(ErrorBody::new(
                ErrorCode::RateLimited,
                format!("at most {} bot requests at a time", cfg.max_inflight),
            ));
        }
        let spent: u64 = budget.spent.iter().map(|(_, t)| t).sum();
        if spent >= cfg.tokens_per_minute {
            let oldest = budget.spent.front().map_or(now, |(at, _)| *at);
            let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
            return Err(ErrorBody {
                retry_after: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
                ..ErrorBody::new(
                    ErrorCode::RateLimited,
                    "bot token budget spent for this minute",
                )
            });
        }
        let queue = state.rooms.entry(room.to_owned()).or_default();
        let ahead = queue.waiting.len() + queue.reserved;
        if queue.running.is_some() && ahead >= cfg.queue_limit {
            return Err(ErrorBody::new(
                ErrorCode::QueueFull,
                format!("{} requests already wait for the bot here", ahead),
            ));
        }
        queue.reserved += 1;
        if let Some(u) = state.users.get_mut(user_id) {
            u.inflight += 1;
        }
        Ok(Admission {
            bot: self.clone(),
            room: room.to_owned(),
            user_id: user_id.to_owned(),
            used: false,
        })
    }

    /// Queues the request made by the stored message `request`.
    pub async fn submit(&self, mut admission: Admission, request: &StoredMessage) {
        admission.used = true;
        let request = Request {
            room: admission.room.clone(),
            request_id: request.id.clone(),
            request_seq: request.seq,
            user_id: admission.user_id.clone(),
            cancel: CancellationToken::new(),
        };
        let (start_worker, position) = {
            let mut state = self.lock();
            let queue = state.rooms.entry(request.room.clone()).or_default();
            queue.reserved = queue.reserved.saturating_sub(1);
            let start = queue.running.is_none() && queue.waiting.is_empty();
            queue.waiting.push_back(request);
            let position = queue.waiting.len();
            if start {
                let first = queue.waiting.pop_front();
                if let Some(first) = &first {
                    queue.running = Some((None, first.request_id.clone(), first.cancel.clone()));
                }
                (first, 0)
            } else {
                (None, position)
            }
        };
        match start_worker {
            Some(first) => {
                let bot = self.clone();
                let room = first.room.clone();
                tokio::spawn(bot.work(first).instrument(info_span!("bot", room = %room)));
            }
            None => {
                let room = admission.room.clone();
                let waiting = self
                    .lock()
                    .rooms
                    .get(&room)
                    .and_then(|q| q.waiting.back().map(|r| r.request_id.clone()));
                if let Some(request_id) = waiting {
                    self.announce_queued(&room, vec![(request_id, position)])
                        .await;
                }
            }
        }
    }

    async fn announce_queued(&self, room: &str, positions: Vec<(String, usize)>) {
        for (request_id, position) in positions {
            self.0.writers.announce(BotQueued {
                room: room.to_owned(),
                request_id,
                position,
            });
        }
    }

    /// Stops the reply `id` (or removes the waiting request `id`). `false` if there is none.
    pub async fn cancel(&self, room: &str, id: &str) -> bool {
        let (found, positions) = {
            let mut state = self.lock();
            let Some(queue) = state.rooms.get_mut(room) else {
                return false;
            };
            if let Some((reply_id, request_id, cancel)) = &queue.running
                && (reply_id.as_deref() == Some(id) || request_id == id)
            {
                cancel.cancel();
                return true;
            }
            let before = queue.waiting.len();
            let removed: Vec<String> = queue
                .waiting
                .iter()
                .filter(|r| r.request_id == id)
                .map(|r| r.user_id.clone())
                .collect();
            queue.waiting.retain(|r| r.request_id != id);
            let positions = queue.positions();
            let found = queue.waiting.len() != before;
            for user in removed {
                if let Some(u) = state.users.get_mut(&user) {
                    u.inflight = u.inflight.saturating_sub(1);
                }
            }
            (found, positions)
        };
        if found {
            self.announce_queued(room, positions).await;
        }
        found
    }
}
