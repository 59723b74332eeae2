//! The chat application on the default namespace: identity, rooms, messages, presence,
//! typing, read receipts and recovery. The protocol is in `docs/PROTOCOL.md`.
//!
//! - [`auth`]: tokens and guests.
//! - rooms' writers and feeds (storing a room's changes in order, delivering them to each
//!   socket at its position) are the [`room`](crate::room) layer below.
//! - [`handlers`]: one function per client event, each shaped alike: validate, authorize, act,
//!   reply with the ack envelope.

pub mod auth;
pub mod broadcast;
mod conn;
pub mod handlers;
pub mod history;
pub mod post;
mod presence;
pub mod shared;
pub mod typing;
pub mod watch;

pub use self::conn::Conn;
pub use self::shared::Shared;
pub use crate::room::store_error;

use std::{sync::Arc, time::Duration};

use socketioxide::{
    SocketIo,
    adapter::{Adapter, LocalAdapter},
    extract::SocketRef,
};

use crate::{
    config::Config,
    cut::Cuts,
    flow::{FlowLimits, OutputLimits},
    store::Store,
    wire::{ErrorBody, ErrorCode, PresenceOut, TypingOut, User},
};

use self::typing::Typing;
use crate::{
    ports::{Limiter, Presence, Rate},
    room::{Feeds, Since, SocketSink, Writers, chat_room},
};

/// Settings the handlers need, taken from [`Config`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest text in bytes.
    pub max_message_bytes: usize,
    /// Largest plain event from a backend, serialized, in bytes (the transport's payload limit).
    pub max_event_bytes: u64,
    /// Guests allowed.
    pub allow_guests: bool,
    /// Guest token lifetime.
    pub guest_token_ttl_secs: u64,
    /// How long a typing notice lasts.
    pub typing_timeout: Duration,
    /// Client addresses come from a trusted proxy's `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// One node of several: the connections' log lines name it.
    pub name_node: bool,
}

/// Shared state of the chat; cheap to clone.
pub struct Chat<A: Adapter = LocalAdapter>(Arc<Inner<A>>);

impl<A: Adapter> Clone for Chat<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// What [`Chat`] holds.
pub struct Inner<A: Adapter> {
    /// Storage.
    pub store: Store,
    /// Rooms' writers on this node.
    pub writers: Arc<Writers>,
    /// Rooms' feeds on this node.
    pub feeds: Feeds<SocketSink<A>>,
    /// The chatbot.
    pub bot: crate::bot::Bot,
    /// This node's name.
    pub node: String,
    /// Online users.
    pub presence: Arc<dyn Presence>,
    /// Users gaining and losing rooms, told to every node.
    pub membership: Arc<dyn crate::ports::Membership>,
    /// Plain events from backends for rooms' and users' sockets, on every node.
    pub broadcasts: Arc<dyn crate::ports::Broadcasts>,
    /// Typing notices.
    pub typing: Typing,
    /// Token signing.
    pub tokens: auth::Tokens,
    /// Per-user message rate.
    pub limiter: Arc<dyn Limiter>,
    /// Per-user room creation rate.
    pub room_limiter: Arc<dyn Limiter>,
    /// Per-user typing notice rate.
    pub typing_limiter: Arc<dyn Limiter>,
    /// New guests per client address, when limited.
    pub guest_limiter: Option<Arc<dyn Limiter>>,
    /// Limits.
    pub limits: Limits,
    /// What each socket's flow is made with.
    pub flow_limits: FlowLimits,
    /// Sessions the server may cut (slow clients).
    pub cuts: Arc<Cuts>,
    /// The sockets' connects, rooms and disconnects, for an observer (the Admin UI).
    pub watch: watch::Watch<A>,
    /// The Admin UI's requests for every node's sockets.
    pub census: Arc<dyn crate::ports::Census>,
    /// Presence changes and their notices happen one at a time, so a room never hears a user
    /// leave before it heard them arrive.
    presence_order: tokio::sync::Mutex<()>,
}

impl<A: Adapter> std::ops::Deref for Chat<A> {
    type Target = Inner<A>;
    fn deref(&self) -> &Inner<A> {
        &self.0
    }
}

impl<A: Adapter> Chat<A> {
    /// Builds the chat on an open store, as the node `node` of those sharing `shared`.
    pub fn new(
        cfg: &Config,
        store: Store,
        tokens: auth::Tokens,
        backend: Arc<dyn crate::bot::backend::Backend>,
        cuts: Arc<Cuts>,
        (shared, node): (&Shared, &str),
    ) -> Self {
        let limits = &cfg.limits;
        let limiter = shared.limiters.limiter(
            "messages",
            Rate::per_second(limits.rate_limit_per_sec, limits.rate_limit_burst),
        );
        let room_limiter = shared
            .limiters
            .limiter("rooms", Rate::per_minute(limits.rooms_per_minute));
        let typing_limiter = shared.limiters.limiter(
            "typing",
            Rate::per_second(
                limits.typing_per_sec,
                limits.typing_per_sec.saturating_mul(2),
            ),
        );
        let guest_limiter = (cfg.auth.guests_per_minute > 0).then(|| {
            shared
                .limiters
                .limiter("guests", Rate::per_minute(cfg.auth.guests_per_minute))
        });
        let json = cfg.transport.parser == crate::config::ParserKind::Common;
        let writers = Arc::new(Writers::new(store.clone(), shared.bus.clone()));
        let feeds = Feeds::new(store.clone(), shared.bus.clone(), json);
        let bot = crate::bot::Bot::new(
            backend,
            store.clone(),
            writers.clone(),
            crate::bot::BotConfig {
                node: node.to_owned(),
                ..crate::bot::BotConfig::from_config(cfg)
            },
            shared.bot.clone(),
        );
        Self(Arc::new(Inner {
            writers,
            feeds,
            bot,
            store,
            node: node.to_owned(),
            presence: shared.presence.node(node),
            membership: shared.membership.clone(),
            broadcasts: shared.broadcasts.clone(),
            typing: Typing::new(Duration::from_millis(cfg.limits.typing_timeout_ms)),
            tokens,
            limiter,
            room_limiter,
            guest_limiter,
            typing_limiter,
            flow_limits: FlowLimits {
                max_pending: cfg.limits.max_pending_events,
                output: OutputLimits {
                    limit: cfg.limits.client_output_limit_bytes,
                    slow_timeout: Duration::from_millis(cfg.limits.slow_client_timeout_ms),
                },
                json: cfg.transport.parser == crate::config::ParserKind::Common,
            },
            cuts,
            watch: watch::Watch::default(),
            census: shared.census.clone(),
            presence_order: tokio::sync::Mutex::new(()),
            limits: Limits {
                max_message_bytes: cfg.limits.max_message_bytes,
                max_event_bytes: cfg.transport.max_payload_bytes,
                allow_guests: cfg.auth.allow_guests,
                guest_token_ttl_secs: cfg.auth.guest_token_ttl_secs,
                typing_timeout: Duration::from_millis(cfg.limits.typing_timeout_ms),
                trust_proxy: cfg.cluster.trust_proxy,
                name_node: cfg.cluster.redis_url.is_some(),
            },
        }))
    }

    /// Registers the chat on the default namespace of `io`, whatever its adapter, and starts
    /// its housekeeping. Returns what the adapter's namespace set-up returns (nothing for the
    /// in-memory adapter; a future to await for adapters that reach other nodes).
    pub fn register(&self, io: &SocketIo<A>) -> A::InitRes
    where
        A: socketioxide_core::adapter::DefinedAdapter,
    {
        use socketioxide::handler::ConnectHandler;
        handlers::follow_membership(self.clone(), io.clone());
        broadcast::follow(self.clone(), io.clone());
        self.housekeeping();
        let chat = self.clone();
        let middleware_chat = self.clone();
        io.ns(
            "/",
            (move |s: SocketRef<A>| handlers::on_connect(s, chat.clone())).with(
                move |s: SocketRef<A>, auth: socketioxide::extract::TryData<crate::wire::Auth>| {
                    handlers::authenticate(s, auth, middleware_chat.clone())
                },
            ),
        )
    }

    /// Pruning the rate limiters and ending lapsed typing notices, for as long as the chat runs.
    fn housekeeping(&self) {
        let chat = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                chat.limiter.prune();
                chat.room_limiter.prune();
                chat.typing_limiter.prune();
            }
        });
        let chat = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TYPING_SWEEP);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                for (room, user) in chat.typing.lapsed() {
                    chat.typing_notice(&room, user, false);
                }
            }
        });
    }

    /// Checks the user's message rate; the error carries `retryAfter`.
    pub async fn check_rate(&self, user_id: &str) -> Result<(), ErrorBody> {
        check(&*self.limiter, user_id, "too many messages").await
    }

    /// Checks the user's room creation rate; the error carries `retryAfter`.
    pub async fn check_room_rate(&self, user_id: &str) -> Result<(), ErrorBody> {
        check(&*self.room_limiter, user_id, "too many rooms created").await
    }

    /// Checks the user's typing notice rate; the error carries `retryAfter`.
    pub async fn check_typing_rate(&self, user_id: &str) -> Result<(), ErrorBody> {
        check(&*self.typing_limiter, user_id, "too many typing notices").await
    }

    /// Checks the rate of new guests from one client address (none when unlimited or the
    /// address is unknown); the error carries `retryAfter`.
    pub async fn check_guest_rate(&self, addr: Option<std::net::IpAddr>) -> Result<(), ErrorBody> {
        match (&self.guest_limiter, addr) {
            (Some(limiter), Some(addr)) => {
                check(
                    &**limiter,
                    &addr.to_string(),
                    "too many new guests from this address",
                )
                .await
            }
            _ => Ok(()),
        }
    }

    /// Starts delivering `room` to one socket (replaying after `since`) and announces the user
    /// if this is their first socket there. The caller has checked membership.
    pub async fn subscribe(
        &self,
        socket: &SocketRef<A>,
        conn: &Conn,
        room: &str,
        since: Option<Since>,
    ) -> Result<i64, ErrorBody> {
        {
            let _order = self.presence_order.lock().await;
            let new = {
                let mut rooms = conn.rooms();
                if rooms.closed {
                    return Err(ErrorBody::new(ErrorCode::Internal, "the socket is gone"));
                }
                rooms.set.insert(room.to_owned())
            };
            if new && self.presence.arrive(room, &conn.user()).await {
                let note = PresenceOut {
                    room: room.to_owned(),
                    user: conn.user(),
                    online: true,
                };
                self.writers.notice(room, "presence", &note, None);
            }
        }
        socket.join(chat_room(room));
        self.watch
            .tell(watch::SocketEvent::Joined(socket.id, chat_room(room)));
        let sink = SocketSink::new(socket.clone(), conn.flow.clone(), &conn.identity.user_id);
        Ok(self.feeds.subscribe(room, sink, since).await?.seq)
    }

    /// Stops delivering `room` to one socket and announces the user's departure if it was
    /// their last socket there.
    pub async fn unsubscribe(&self, socket: &SocketRef<A>, conn: &Conn, room: &str) {
        {
            let _order = self.presence_order.lock().await;
            if !conn.rooms().set.remove(room) {
                return;
            }
            self.depart(conn, room).await;
        }
        socket.leave(chat_room(room));
        self.watch
            .tell(watch::SocketEvent::Left(socket.id, chat_room(room)));
        self.feeds.unsubscribe(room, socket.id).await;
    }

    /// A socket is gone: it leaves every room it received, and no room can be added to it
    /// after this (a subscription still on its way is refused).
    pub async fn disconnect(&self, socket: &SocketRef<A>, conn: &Conn) {
        let rooms: Vec<String> = {
            let _order = self.presence_order.lock().await;
            let rooms = {
                let mut rooms = conn.rooms();
                rooms.closed = true;
                std::mem::take(&mut rooms.set)
            };
            for room in &rooms {
                self.depart(conn, room).await;
            }
            rooms.into_iter().collect()
        };
        for room in rooms {
            self.feeds.unsubscribe(&room, socket.id).await;
        }
        self.cuts.forget(&socket.id.to_string());
    }

    async fn depart(&self, conn: &Conn, room: &str) {
        let user = &conn.identity.user_id;
        if self.presence.depart(room, user).await {
            let note = PresenceOut {
                room: room.to_owned(),
                user: conn.user(),
                online: false,
            };
            // This was the user's last socket in the room: nobody of theirs is to be told.
            self.writers.notice(room, "presence", &note, Some(user));
        }
    }

    /// Tells the room's other users that `user` started or stopped typing.
    pub fn typing_notice(&self, room: &str, user: User, typing: bool) {
        let except = user.user_id.clone();
        let note = TypingOut {
            room: room.to_owned(),
            user,
            typing,
        };
        self.writers.notice(room, "typing", &note, Some(&except));
    }
}

/// How often lapsed typing notices are ended.
const TYPING_SWEEP: Duration = Duration::from_millis(250);

async fn check(limiter: &dyn Limiter, user_id: &str, what: &str) -> Result<(), ErrorBody> {
    limiter.check(user_id).await.map_err(|wait| ErrorBody {
        retry_after: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
        ..ErrorBody::new(ErrorCode::RateLimited, what)
    })
}
