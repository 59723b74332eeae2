//! The chatbot: who may ask, the queue per room, and the reply loop that streams a backend's
//! answer into the room through the room's writer.
//!
//! - [`backend`]: the small trait every model implements.
//! - [`embedded`]: the offline default.
//! - [`openai`]: any OpenAI-compatible API.
//! - [`admission`]: the queue per room and the budgets per user, behind [`Admissions`].
//! - `queue`: a place reserved for a request while its message is stored.
//! - `reply`: the reply loop (one request at a time per room, streamed, stored when it ends).
//! - `remote`: stopping a reply that another node writes.
//! - `lease`: the room's lease, so that one node at a time writes a reply there.
//! - [`settings`]: each room's settings (persona, model, temperature, reply mode).
//! - `again`: regenerating and continuing a reply.
//! - `usage`: the usage ledger.
//!
//! One reply runs at a time per room; more wait in a bounded queue. A reply is a stored message
//! from its start (so it has its `seq`); its text streams as deltas merged over a short window,
//! and is stored when it ends, whatever ended it (the model, a cancel, an error).

mod abandoned;
pub mod admission;
mod again;
pub mod backend;
pub mod embedded;
mod lease;
pub mod openai;
mod queue;
mod remote;
mod reply;
pub mod settings;
mod usage;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use self::backend::Backend;
use crate::{
    config::Config,
    ports::{InFlight, Leases, Stops, TokenBudgets},
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

pub use admission::{Admissions, Again, MemoryAdmissions};
pub use queue::Admission;
pub use settings::BotError;

use admission::{Cancelled, Limits, Queued, Request};

/// What a node's bot shares with the other nodes' bots.
#[derive(Debug, Clone)]
pub struct BotShared {
    /// Queues, running replies and budgets.
    pub admissions: Arc<dyn Admissions>,
    /// Cancels of replies that another node writes.
    pub stops: Arc<dyn Stops>,
    /// Which node writes the reply in a room.
    pub leases: Arc<dyn Leases>,
    /// Tokens each user spent over the last minute.
    pub budgets: Arc<dyn TokenBudgets>,
    /// Requests each user has waiting or running.
    pub inflight: Arc<dyn InFlight>,
}

impl BotShared {
    /// State of this process alone.
    pub fn in_memory() -> Self {
        Self {
            admissions: Arc::new(MemoryAdmissions::default()),
            stops: Arc::new(crate::ports::MemoryStops::default()),
            leases: Arc::new(crate::ports::MemoryLeases::default()),
            budgets: Arc::new(crate::ports::MemoryTokenBudgets::default()),
            inflight: Arc::new(crate::ports::MemoryInFlight::default()),
        }
    }
}

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
    admissions: Arc<dyn Admissions>,
    stops: Arc<dyn Stops>,
    leases: Arc<dyn Leases>,
    budgets: Arc<dyn TokenBudgets>,
    inflight: Arc<dyn InFlight>,
}

use crate::clock::now_ms;

impl Bot {
    /// A bot answering with `backend`, sharing its queues, budgets and rooms' leases with
    /// other nodes through `shared`, and hearing there which of its replies other nodes'
    /// clients cancelled. Starts a task that follows those cancels while the bot lives.
    pub fn new(
        backend: Arc<dyn Backend>,
        store: Store,
        writers: Arc<Writers>,
        config: BotConfig,
        shared: BotShared,
    ) -> Self {
        let BotShared {
            admissions,
            stops,
            leases,
            budgets,
            inflight,
        } = shared;
        let bot = Self(Arc::new(BotInner {
            stopping: CancellationToken::new(),
            running: tokio::sync::watch::channel(0).0,
            backend,
            store,
            writers,
            config,
            admissions,
            stops,
            leases,
            budgets,
            inflight,
        }));
        remote::follow(&bot);
        bot
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

    /// Records that the bot joined a room.
    pub fn joined(&self, room: &str, bot_room: bool) {
        self.0.admissions.set_bot_member(room, (true, bot_room));
    }

    /// Whether a message in `room` asks the bot for a reply: where the bot is a member, a
    /// mention, or any message when the room's reply mode is `every` (a private bot room's
    /// default).
    pub async fn addressed(&self, room: &str, text: &str) -> bool {
        let known = self.0.admissions.bot_member(room);
        let (member, bot_room) = match known {
            Some(k) => k,
            None => {
                let member = self.0.store.is_member(room, BOT_ID).await.unwrap_or(false);
                let bot_room = matches!(self.0.store.room(room).await, Ok(Some(r)) if r.bot);
                self.0.admissions.set_bot_member(room, (member, bot_room));
                (member, bot_room)
            }
        };
        member && (self.mentions(text) || self.answers_every(room, bot_room).await)
    }

    fn mentions(&self, text: &str) -> bool {
        crate::mention::mentions_any(text, &["bot", &self.0.config.name])
    }

    /// Reserves a place for a request, or says why not: the server is stopping, the user spent
    /// the minute's tokens (across the cluster) or has too many requests in flight, the room's
    /// queue is full.
    pub async fn admit(&self, room: &str, user_id: &str) -> Result<Admission, ErrorBody> {
        if self.0.stopping.is_cancelled() {
            return Err(ErrorBody::new(
                ErrorCode::QueueFull,
                "the server is restarting; ask again in a moment",
            ));
        }
        let cfg = &self.0.config;
        let spent = self.0.budgets.spent(user_id).await;
        if spent.tokens >= cfg.tokens_per_minute {
            let wait = u64::try_from(spent.frees_in.as_millis()).unwrap_or(u64::MAX);
            return Err(ErrorBody {
                retry_after: Some(wait.max(1)),
                ..ErrorBody::new(
                    ErrorCode::RateLimited,
                    "bot token budget spent for this minute",
                )
            });
        }
        let node = &cfg.node;
        if !self
            .0
            .inflight
            .reserve(user_id, node, cfg.max_inflight)
            .await
        {
            return Err(ErrorBody::new(
                ErrorCode::RateLimited,
                format!("at most {} bot requests at a time", cfg.max_inflight),
            ));
        }
        let limits = Limits {
            queue_limit: cfg.queue_limit,
        };
        if let Err(e) = self.0.admissions.admit(room, &limits) {
            self.0.inflight.release(user_id, node).await;
            return Err(e);
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
        ::metrics::counter!(crate::metrics::BOT_REQUESTS_TOTAL).increment(1);
        let request = Request {
            room: admission.room.clone(),
            request_id: request.id.clone(),
            request_seq: request.seq,
            user_id: admission.user_id.clone(),
            cancel: CancellationToken::new(),
            again: None,
        };
        self.enqueue(&admission, request).await;
    }

    /// Queues an admitted request.
    async fn enqueue(&self, admission: &Admission, request: Request) {
        match self.0.admissions.enqueue(request) {
            Queued::Start(first) => {
                let bot = self.clone();
                let room = first.room.clone();
                tokio::spawn(bot.work(first).instrument(info_span!("bot", room = %room)));
            }
            Queued::Waiting(request_id, position) => {
                self.announce_queued(&admission.room, vec![(request_id, position)])
                    .await;
            }
        }
    }

    /// A request of `user` is done with: it no longer counts in flight.
    async fn settle(&self, user: &str) {
        self.0.inflight.release(user, &self.0.config.node).await;
    }

    async fn announce_queued(&self, room: &str, positions: Vec<(String, usize)>) {
        for (request_id, position) in positions {
            let note = BotQueued {
                room: room.to_owned(),
                request_id,
                position,
            };
            self.0.writers.notice(room, "bot:queued", &note, None);
        }
    }

    /// Stops the reply `id` (or removes the waiting request `id`), here or on the node that
    /// writes it. `false` if there is none.
    pub async fn cancel(&self, room: &str, id: &str) -> bool {
        self.cancel_here(room, id).await || remote::stop_elsewhere(self, room, id)
    }

    /// Stops the reply `id` or removes the waiting request `id` if this node has it.
    async fn cancel_here(&self, room: &str, id: &str) -> bool {
        match self.0.admissions.cancel(room, id) {
            Cancelled::Running => {
                cancelled("running");
                true
            }
            Cancelled::Waiting(user, positions) => {
                cancelled("waiting");
                self.settle(&user).await;
                self.announce_queued(room, positions).await;
                true
            }
            Cancelled::NotFound => false,
        }
    }
}

/// Counts a cancelled request, `running` or `waiting`.
fn cancelled(state: &'static str) {
    ::metrics::counter!(crate::metrics::BOT_CANCELLATIONS_TOTAL, "state" => state).increment(1);
}
