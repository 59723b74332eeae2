//! The chatbot: who may ask, the queue per room, and the reply loop that streams a backend's
//! answer into the room through its hub.
//!
//! - [`backend`]: the small trait every model implements.
//! - [`embedded`]: the offline default.
//! - [`openai`]: any OpenAI-compatible API.
//!
//! One reply runs at a time per room; more wait in a bounded queue. A reply is a stored message
//! from its start (so it has its `seq`); its text streams as deltas merged over a short window,
//! and is stored when it ends, whatever ended it (the model, a cancel, an error).

pub mod backend;
pub mod embedded;
pub mod openai;

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use socketioxide::SocketIo;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use self::backend::{Backend, Chunk, Completion, Role, Turn};
use crate::{
    chat::hub::{Hubs, room_key, to_wire},
    config::Config,
    store::{NewMessage, Store},
    wire::{BotEnd, BotQueued, BotStart, ErrorBody, ErrorCode, ReplyError, Usage},
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
}

impl BotConfig {
    /// From the server's configuration.
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            name: cfg.bot_name.trim().to_owned(),
            system_prompt: cfg.bot_system_prompt.clone(),
            context_chars: cfg.bot_context_chars,
            coalesce: Duration::from_millis(cfg.bot_coalesce_ms),
            coalesce_bytes: cfg.bot_coalesce_bytes,
            queue_limit: cfg.bot_queue_limit,
            max_inflight: cfg.bot_max_inflight,
            tokens_per_minute: cfg.bot_tokens_per_minute,
        }
    }
}

/// A request for a reply.
#[derive(Debug)]
struct Request {
    room: String,
    request_id: String,
    user_id: String,
    cancel: CancellationToken,
}

#[derive(Debug, Default)]
struct RoomQueue {
    /// The reply being written: (reply message id once started, request id, cancel).
    running: Option<(Option<String>, String, CancellationToken)>,
    waiting: VecDeque<Request>,
    /// Admitted requests whose message is being stored.
    reserved: usize,
}

impl RoomQueue {
    /// Each waiting request's place in line (1 = next).
    fn positions(&self) -> Vec<(String, usize)> {
        self.waiting
            .iter()
            .enumerate()
            .map(|(i, r)| (r.request_id.clone(), i + 1))
            .collect()
    }
}

#[derive(Debug, Default)]
struct UserBudget {
    inflight: usize,
    /// (when, tokens) over the last minute.
    spent: VecDeque<(Instant, u64)>,
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, RoomQueue>,
    users: HashMap<String, UserBudget>,
    /// Per room, once looked up: (the bot is a member, it is a private bot room).
    member_of: HashMap<String, (bool, bool)>,
}

/// A place reserved for a request, taken before its message is stored so a refusal stores
/// nothing. Dropping it unused gives the place back.
#[must_use]
pub struct Admission {
    bot: Bot,
    room: String,
    user_id: String,
    used: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.used {
            let mut state = self.bot.lock();
            if let Some(q) = state.rooms.get_mut(&self.room) {
                q.reserved = q.reserved.saturating_sub(1);
            }
            if let Some(u) = state.users.get_mut(&self.user_id) {
                u.inflight = u.inflight.saturating_sub(1);
            }
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
    hubs: Arc<Hubs>,
    io: OnceLock<SocketIo>,
    config: BotConfig,
    state: Mutex<State>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Bot {
    /// A bot answering with `backend`.
    pub fn new(
        backend: Arc<dyn Backend>,
        store: Store,
        hubs: Arc<Hubs>,
        config: BotConfig,
    ) -> Self {
        Self(Arc::new(BotInner {
            stopping: CancellationToken::new(),
            running: tokio::sync::watch::channel(0).0,
            backend,
            store,
            hubs,
            io: OnceLock::new(),
            config,
            state: Mutex::new(State::default()),
        }))
    }

    /// The bot's display name.
    pub fn name(&self) -> &str {
        &self.0.config.name
    }

    /// What a reply cut short by a stopping server says, in its stored metadata.
    pub fn interrupted_meta() -> String {
        serde_json::json!({
            "finishReason": "error",
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

    /// Gives the bot the Socket.IO handle it announces queue positions with.
    pub fn attach(&self, io: SocketIo) {
        self.0.io.set(io).ok();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Queues the request whose message `request_id` was stored.
    pub async fn submit(&self, mut admission: Admission, request_id: String) {
        admission.used = true;
        let request = Request {
            room: admission.room.clone(),
            request_id,
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
        let Some(io) = self.0.io.get() else { return };
        for (request_id, position) in positions {
            let note = BotQueued {
                room: room.to_owned(),
                request_id,
                position,
            };
            io.to(room_key(room)).emit("bot:queued", &note).await.ok();
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

    /// Answers requests of one room, one after the other, until none waits.
    async fn work(self, next: Request) {
        self.0.running.send_modify(|n| *n += 1);
        self.work_queue(next).await;
        self.0.running.send_modify(|n| *n = n.saturating_sub(1));
    }

    async fn work_queue(&self, mut next: Request) {
        loop {
            if self.0.stopping.is_cancelled() {
                // Requests still waiting are dropped: their questions stay in the history.
                if let Some(queue) = self.lock().rooms.get_mut(&next.room) {
                    queue.running = None;
                    queue.waiting.clear();
                }
                return;
            }
            let room = next.room.clone();
            let user = next.user_id.clone();
            let spent = self.reply(&next).await;
            let (following, positions) = {
                let mut state = self.lock();
                if let Some(budget) = state.users.get_mut(&user) {
                    budget.inflight = budget.inflight.saturating_sub(1);
                    budget.spent.push_back((Instant::now(), spent));
                }
                let Some(queue) = state.rooms.get_mut(&room) else {
                    return;
                };
                let following = queue.waiting.pop_front();
                queue.running = following
                    .as_ref()
                    .map(|r| (None, r.request_id.clone(), r.cancel.clone()));
                let positions = queue.positions();
                (following, positions)
            };
            match following {
                Some(request) => {
                    self.announce_queued(&room, positions).await;
                    next = request;
                }
                None => return,
            }
        }
    }

    /// Writes one reply; returns the tokens it cost.
    async fn reply(&self, request: &Request) -> u64 {
        let cfg = &self.0.config;
        let Ok(hub) = self.0.hubs.get(&request.room).await else {
            return 0;
        };
        let stored = hub
            .send(NewMessage {
                id: crate::chat::auth::new_id("m_", 16),
                user_id: BOT_ID.to_owned(),
                user_name: cfg.name.clone(),
                text: String::new(),
                ts: now_ms(),
                client_id: None,
                status: "streaming",
            })
            .await;
        let reply = match stored {
            Ok(appended) => appended.message().clone(),
            Err(e) => {
                warn!(cause = %e, "cannot start a reply");
                return 0;
            }
        };
        if let Some((reply_id, _, _)) = self
            .lock()
            .rooms
            .get_mut(&request.room)
            .and_then(|q| q.running.as_mut())
        {
            *reply_id = Some(reply.id.clone());
        }
        hub.stream_start(BotStart {
            room: request.room.clone(),
            id: reply.id.clone(),
            seq: reply.seq,
            request_id: request.request_id.clone(),
            user_id: BOT_ID.to_owned(),
            name: cfg.name.clone(),
            ts: reply.ts,
        });

        let turns = self.context(&request.room, &reply.id).await;
        let prompt_chars: usize = turns.iter().map(|t| t.content.len()).sum();
        let mut stream = self.0.backend.complete(Completion { turns });
        let mut text = String::new();
        let mut pending = String::new();
        // Merging: text that arrives at least `coalesce` after the last delta goes out at once;
        // text that follows sooner waits until `coalesce` has passed since that delta. No text
        // waits longer than `coalesce`, and a reply sends at most one delta per `coalesce`.
        let mut last_delta: Option<tokio::time::Instant> = None;
        let mut flush_at: Option<tokio::time::Instant> = None;
        let mut usage: Option<Usage> = None;
        let mut finish = "stop".to_owned();
        let mut error: Option<ReplyError> = None;
        loop {
            tokio::select! {
                biased;
                () = request.cancel.cancelled() => {
                    finish = "cancelled".to_owned();
                    break;
                }
                () = self.0.stopping.cancelled() => {
                    finish = "error".to_owned();
                    error = Some(ReplyError {
                        code: "interrupted".to_owned(),
                        message: "the server stopped while writing this reply".to_owned(),
                    });
                    break;
                }
                () = sleep_until(flush_at) => {
                    hub.stream_delta(&reply.id, std::mem::take(&mut pending));
                    last_delta = flush_at.take();
                }
                chunk = stream.next() => match chunk {
                    None => break,
                    Some(Ok(Chunk::Text(t))) => {
                        text.push_str(&t);
                        pending.push_str(&t);
                        let now = tokio::time::Instant::now();
                        let due = last_delta.map_or(now, |at| at + cfg.coalesce);
                        if now >= due || pending.len() >= cfg.coalesce_bytes {
                            hub.stream_delta(&reply.id, std::mem::take(&mut pending));
                            last_delta = Some(now);
                            flush_at = None;
                        } else {
                            flush_at = Some(due);
                        }
                    }
                    Some(Ok(Chunk::Usage(u))) => usage = Some(u),
                    Some(Ok(Chunk::Finish(reason))) => finish = reason,
                    Some(Err(e)) => {
                        warn!(code = e.code, message = %e.message, "reply failed");
                        finish = "error".to_owned();
                        error = Some(ReplyError { code: e.code.to_owned(), message: e.message });
                        break;
                    }
                }
            }
        }
        // Dropping the stream closes the upstream request now (a cancel, an error).
        drop(stream);
        if !pending.is_empty() {
            hub.stream_delta(&reply.id, pending);
        }
        let meta = serde_json::json!({ "finishReason": finish, "usage": usage, "error": error });
        if let Err(e) = self
            .0
            .store
            .finish(&reply.id, &text, &meta.to_string())
            .await
        {
            warn!(cause = %e, "cannot store the reply");
        }
        let mut final_message = reply.clone();
        final_message.text = text.clone();
        final_message.status = "done".to_owned();
        final_message.meta = Some(meta.to_string());
        hub.stream_end(
            BotEnd {
                room: request.room.clone(),
                id: reply.id.clone(),
                seq: reply.seq,
                text: text.clone(),
                finish_reason: finish,
                usage,
                error,
            },
            to_wire(&final_message),
        );
        match usage {
            Some(u) => u.prompt_tokens + u.completion_tokens,
            None => ((prompt_chars + text.len()) / 4) as u64,
        }
    }

    /// The system prompt and the room's newest messages that fit the budget, oldest first.
    async fn context(&self, room: &str, reply_id: &str) -> Vec<Turn> {
        let cfg = &self.0.config;
        let recent = self
            .0
            .store
            .history(room, None, None, 100)
            .await
            .unwrap_or_default();
        let mut budget = cfg.context_chars;
        let mut turns = Vec::new();
        for m in recent.iter().rev() {
            if m.id == reply_id || m.deleted || m.text.is_empty() {
                continue;
            }
            let (role, content) = if m.user_id == BOT_ID {
                (Role::Assistant, m.text.clone())
            } else {
                (Role::User, format!("{}: {}", m.user_name, m.text))
            };
            if content.len() > budget {
                break;
            }
            budget -= content.len();
            turns.push(Turn { role, content });
        }
        turns.push(Turn {
            role: Role::System,
            content: cfg.system_prompt.clone(),
        });
        turns.reverse();
        turns
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Whether `text` mentions one of `handles` as a whole word, case-insensitively: an `@` at the
/// start or after a character that cannot be part of a word (so not `x@bot.example`), then the
/// handle, then the end or a character that cannot be part of a word (so not `@bottles`).
pub fn mentions(text: &str, handles: &[&str]) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '@';
    let text = text.to_lowercase();
    let handles: Vec<String> = handles.iter().map(|h| h.trim().to_lowercase()).collect();
    text.match_indices('@').any(|(at, _)| {
        if text[..at].chars().next_back().is_some_and(word) {
            return false;
        }
        let rest = &text[at + 1..];
        handles.iter().any(|handle| {
            !handle.is_empty()
                && rest
                    .strip_prefix(handle.as_str())
                    .is_some_and(|after| !after.chars().next().is_some_and(word))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn only_whole_mentions_address_the_bot() {
        let handles = ["bot", "Assistant"];
        for text in [
            "@bot, hi",
            "hi @Assistant!",
            "@BOT?",
            "(@bot)",
            "@bot",
            "ask @assistant: why",
        ] {
            assert!(mentions(text, &handles), "{text:?} mentions the bot");
        }
        for text in [
            "my water is in @bottles",
            "email me at x@botmail.com",
            "user@bot",
            "@Assistants",
            "@bot-builder",
            "@@bot",
            "no mention",
        ] {
            assert!(
                !mentions(text, &handles),
                "{text:?} does not mention the bot"
            );
        }
    }

    #[test]
    fn a_bot_name_with_a_space_is_matched_whole() {
        assert!(mentions("hey @Deep Thought, hi", &["bot", "Deep Thought"]));
        assert!(!mentions("hey @Deep Thoughts", &["bot", "Deep Thought"]));
    }
}
