//! The chat application on the default namespace: identity, rooms, messages, presence,
//! typing, read receipts and recovery. The protocol is in `docs/PROTOCOL.md`.
//!
//! - [`auth`]: tokens and guests.
//! - [`hub`]: one task per room that stores and delivers messages in `seq` order.
//! - [`presence`]: who is online where.
//! - [`handlers`]: one function per client event, each shaped alike: validate, authorize, act,
//!   reply with the ack envelope.

pub mod auth;
pub mod handlers;
pub mod hub;
pub mod presence;
pub mod typing;

use std::{
    collections::HashSet,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use socketioxide::{SocketIo, extract::SocketRef};
use tracing::warn;

use crate::{
    config::Config,
    store::{Store, StoreError},
    wire::{ErrorBody, ErrorCode, PresenceOut, User},
};

use self::{auth::Identity, hub::Hubs, presence::Presence, typing::Typing};

/// Settings the handlers need, taken from [`Config`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest text in bytes.
    pub max_message_bytes: usize,
    /// Guests allowed.
    pub allow_guests: bool,
    /// Guest token lifetime.
    pub guest_token_ttl_secs: u64,
    /// How long a typing notice lasts.
    pub typing_timeout: Duration,
}

/// Shared state of the chat; cheap to clone.
#[derive(Clone)]
pub struct Chat(Arc<Inner>);

/// What [`Chat`] holds.
pub struct Inner {
    /// Storage.
    pub store: Store,
    /// Room tasks.
    pub hubs: Arc<Hubs>,
    /// The chatbot.
    pub bot: crate::bot::Bot,
    /// Online users.
    pub presence: Presence,
    /// Typing notices.
    pub typing: Typing,
    /// Token signing.
    pub tokens: auth::Tokens,
    /// Per-user message rate.
    pub limiter: DefaultKeyedRateLimiter<String>,
    /// Limits.
    pub limits: Limits,
}

impl std::ops::Deref for Chat {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Per-socket state, kept in the socket's extensions.
#[derive(Debug)]
pub struct Conn {
    /// The connection's tracing span: every handler of this socket runs in it.
    pub span: tracing::Span,
    /// Who the socket is.
    pub identity: Identity,
    /// Replay positions the client asked for at connect.
    pub since: std::collections::HashMap<String, i64>,
    /// Rooms this socket receives.
    pub rooms: Mutex<HashSet<String>>,
    /// The token handed back in `session`.
    pub token: String,
}

impl Conn {
    /// Whether this socket receives `room` (which implies membership).
    pub fn in_room(&self, room: &str) -> bool {
        self.rooms.lock().map(|r| r.contains(room)).unwrap_or(false)
    }

    /// The user as others see it.
    pub fn user(&self) -> User {
        User {
            user_id: self.identity.user_id.clone(),
            name: self.identity.name.clone(),
        }
    }
}

/// The room every socket of a user joins.
pub fn user_room(user_id: &str) -> String {
    format!("u:{user_id}")
}

/// Logs a storage failure and turns it into what the client may know.
pub fn store_error(e: StoreError) -> ErrorBody {
    match e {
        StoreError::NotFound => ErrorBody::new(ErrorCode::NotFound, "not found"),
        StoreError::NotAuthor => {
            ErrorBody::new(ErrorCode::Forbidden, "only the author may change a message")
        }
        StoreError::Db(e) => {
            warn!(cause = %e, "storage failed");
            ErrorBody::new(ErrorCode::Internal, "storage failed")
        }
    }
}

impl Chat {
    /// Builds the chat on an open store.
    pub fn new(
        cfg: &Config,
        store: Store,
        tokens: auth::Tokens,
        backend: Arc<dyn crate::bot::backend::Backend>,
    ) -> Self {
        let per_sec = NonZeroU32::new(cfg.rate_limit_per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(cfg.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::keyed(Quota::per_second(per_sec).allow_burst(burst));
        let hubs = Arc::new(Hubs::new(
            store.clone(),
            cfg.parser == crate::config::ParserKind::Common,
        ));
        let bot = crate::bot::Bot::new(
            backend,
            store.clone(),
            hubs.clone(),
            crate::bot::BotConfig::from_config(cfg),
        );
        Self(Arc::new(Inner {
            hubs,
            bot,
            store,
            presence: Presence::default(),
            typing: Typing::default(),
            tokens,
            limiter,
            limits: Limits {
                max_message_bytes: cfg.max_message_bytes,
                allow_guests: cfg.allow_guests,
                guest_token_ttl_secs: cfg.guest_token_ttl_secs,
                typing_timeout: Duration::from_millis(cfg.typing_timeout_ms),
            },
        }))
    }

    /// Registers the chat on the default namespace and starts its housekeeping.
    pub fn register(&self, io: &SocketIo) {
        use socketioxide::handler::ConnectHandler;
        self.bot.attach(io.clone());
        let chat = self.clone();
        let middleware_chat = self.clone();
        io.ns(
            "/",
            (move |s: SocketRef| handlers::on_connect(s, chat.clone())).with(
                move |s: SocketRef, auth: socketioxide::extract::TryData<crate::wire::Auth>| {
                    handlers::authenticate(s, auth, middleware_chat.clone())
                },
            ),
        );
        let chat = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                chat.limiter.retain_recent();
            }
        });
    }

    /// Checks the user's message rate; the error carries `retryAfter`.
    pub fn check_rate(&self, user_id: &str) -> Result<(), ErrorBody> {
        let key = user_id.to_owned();
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ErrorBody {
                retry_after: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
                ..ErrorBody::new(ErrorCode::RateLimited, "too many messages")
            }
        })
    }

    /// Starts delivering `room` to one socket (replaying after `since`) and announces the user
    /// if this is their first socket there.
    pub async fn subscribe(
        &self,
        socket: &SocketRef,
        conn: &Conn,
        room: &str,
        since: Option<i64>,
    ) -> Result<i64, ErrorBody> {
        let hub = self.hubs.get(room).await?;
        let last = hub.subscribe(socket.clone(), since).await?;
        let new = conn
            .rooms
            .lock()
            .map(|mut r| r.insert(room.to_owned()))
            .unwrap_or(false);
        if new && self.presence.arrive(room, &conn.user()) {
            let note = PresenceOut {
                room: room.to_owned(),
                user: conn.user(),
                online: true,
            };
            socket
                .within(hub::room_key(room))
                .emit("presence", &note)
                .await
                .ok();
        }
        Ok(last)
    }

    /// Stops delivering `room` to one socket and announces the user's departure if it was
    /// their last socket there.
    pub async fn unsubscribe(&self, socket: &SocketRef, conn: &Conn, room: &str) {
        let was = conn
            .rooms
            .lock()
            .map(|mut r| r.remove(room))
            .unwrap_or(false);
        if !was {
            return;
        }
        if let Ok(hub) = self.hubs.get(room).await {
            hub.unsubscribe(socket.id);
        }
        socket.leave(hub::room_key(room));
        if self.presence.depart(room, &conn.identity.user_id) {
            let note = PresenceOut {
                room: room.to_owned(),
                user: conn.user(),
                online: false,
            };
            socket
                .to(hub::room_key(room))
                .emit("presence", &note)
                .await
                .ok();
        }
    }
}
