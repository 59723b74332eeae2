//! The bot's admission and queue, in process: one reply at a time per room, a bounded queue,
//! a bound per user, cancelling a waiting or a running request, and the embedded backend's
//! reply stored whole.
//!
//! The tests drive a backend of their own whose replies the test feeds and ends, so what runs
//! when is decided by the test, not by a clock.

use std::sync::Arc;

mod common;

use common::bot::{Gate, ask, bot_replies, config, store};
use futures_util::stream::BoxStream;
use server::{
    bot::{
        Bot, BotConfig, BotShared,
        backend::{Backend, BackendError, Chunk, Completion},
        embedded::Embedded,
    },
    room::{MemoryBus, Writers},
    store::{MessageStatus, Store},
    wire::ErrorCode,
};
use tokio::sync::mpsc;

fn setup(store: &Store, backend: Arc<dyn Backend>, cfg: BotConfig) -> Bot {
    let hubs = Arc::new(Writers::new(
        store.clone(),
        std::sync::Arc::new(MemoryBus::default()),
    ));
    Bot::new(backend, store.clone(), hubs, cfg, BotShared::in_memory())
}

#[tokio::test]
async fn one_reply_at_a_time_per_room_and_a_bounded_queue() {
    let store = store().await;
    let (tx, mut started) = mpsc::unbounded_channel();
    let bot = setup(&store, Arc::new(Gate(tx)), config(1, 5));

    let a = bot.admit("r", "ada").await.expect("first request admitted");
    bot.submit(a, &ask(&store, "ada", "@bot first").await).await;
    let first = started.recv().await.expect("the first reply starts");
    assert!(first.question.ends_with("@bot first"), "{}", first.question);

    let b = bot.admit("r", "ben").await.expect("one request may wait");
    bot.submit(b, &ask(&store, "ben", "@bot second, please").await)
        .await;
    let refused = bot
        .admit("r", "cat")
        .await
        .err()
        .expect("the queue is full");
    assert_eq!(refused.code, ErrorCode::QueueFull);
    assert!(
        started.try_recv().is_err(),
        "a second reply started while the first runs"
    );

    first.feed.send(Ok(Chunk::Text("one".into()))).ok();
    drop(first.feed); // the model is done
    let second = started.recv().await.expect("the waiting request runs next");
    assert!(second.question.ends_with("@bot second, please"));
    // The first reply was stored, whole and done, before the second started: its text is in
    // the second one's conversation.
    assert!(
        second.context.iter().any(|line| line.ends_with("one")),
        "context: {:?}",
        second.context
    );
    let replies = bot_replies(&store).await;
    assert_eq!(replies[0].text, "one");
    assert_eq!(replies[0].status, MessageStatus::Done);
    assert_eq!(replies[1].status, MessageStatus::Streaming);

    // With the queue empty again, a new request is admitted.
    let c = bot
        .admit("r", "cat")
        .await
        .expect("room in the queue again");
    drop(c);
}

#[tokio::test]
async fn a_user_has_at_most_max_inflight_requests_and_an_unused_place_is_given_back() {
    let store = store().await;
    let (tx, _started) = mpsc::unbounded_channel();
    let bot = setup(&store, Arc::new(Gate(tx)), config(10, 1));

    let held = bot.admit("r", "ada").await.expect("first");
    let refused = bot.admit("r", "ada").await.err().expect("over the bound");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(
        bot.admit("r", "ben").await.is_ok(),
        "another user is not held back"
    );
    drop(held); // refused later (say, the message could not be stored): the place comes back
    assert!(bot.admit("r", "ada").await.is_ok());
}

#[tokio::test]
async fn cancelling_a_waiting_request_removes_it_and_cancelling_a_running_one_ends_it() {
    let store = store().await;
    let (tx, mut started) = mpsc::unbounded_channel();
    let bot = setup(&store, Arc::new(Gate(tx)), config(5, 5));

    let a = bot.admit("r", "ada").await.expect("a");
    let first_id = ask(&store, "ada", "@bot long answer").await;
    bot.submit(a, &first_id).await;
    let first_id = first_id.id;
    let first = started.recv().await.expect("running");
    let b = bot.admit("r", "ben").await.expect("b");
    let waiting_id = ask(&store, "ben", "@bot never mind").await;
    bot.submit(b, &waiting_id).await;
    let waiting_id = waiting_id.id;

    assert!(
        bot.cancel("r", &waiting_id).await,
        "the waiting request is found"
    );
    assert!(!bot.cancel("r", &waiting_id).await, "and is gone");

    first.feed.send(Ok(Chunk::Text("partial".into()))).ok();
    assert!(
        bot.cancel("r", &first_id).await,
        "the running request is found"
    );
    // The next request starts only once the cancelled reply is stored.
    let c = bot.admit("r", "cat").await.expect("c");
    bot.submit(c, &ask(&store, "cat", "@bot next one").await)
        .await;
    let next = started.recv().await.expect("the next request runs");
    assert!(
        next.question.ends_with("@bot next one"),
        "the cancelled waiting request never ran: {}",
        next.question
    );
    let replies = bot_replies(&store).await;
    let cancelled = &replies[0];
    assert_eq!(cancelled.status, MessageStatus::Done);
    let meta: serde_json::Value =
        serde_json::from_str(cancelled.meta.as_deref().unwrap_or("{}")).expect("meta");
    assert_eq!(meta["finishReason"], "cancelled", "meta: {meta}");
    assert!(
        "partial".starts_with(&cancelled.text),
        "the text so far is kept: {:?}",
        cancelled.text
    );
}

/// The embedded backend for the first reply, then the gate: when the second reply starts, the
/// first is stored.
struct EmbeddedThenGate {
    embedded: Embedded,
    gate: Gate,
    calls: std::sync::atomic::AtomicUsize,
}

impl Backend for EmbeddedThenGate {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn model(&self) -> &str {
        "test"
    }

    fn complete(&self, request: Completion) -> BoxStream<'static, Result<Chunk, BackendError>> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            self.embedded.complete(request)
        } else {
            self.gate.complete(request)
        }
    }
}

#[tokio::test]
async fn a_reply_answers_its_own_request_not_a_later_message_and_is_stored_whole() {
    let store = store().await;
    let embedded = Embedded::new("Bot");
    // The bot's first reply in the room introduces it.
    let expected = format!("{}{}", embedded.introduction(), embedded.answer("help"));
    let (tx, mut started) = mpsc::unbounded_channel();
    let backend = EmbeddedThenGate {
        embedded,
        gate: Gate(tx),
        calls: Default::default(),
    };
    let bot = setup(&store, Arc::new(backend), config(5, 5));

    let a = bot.admit("r", "ada").await.expect("admitted");
    bot.submit(a, &ask(&store, "ada", "help").await).await;
    let b = bot.admit("r", "ben").await.expect("admitted");
    bot.submit(b, &ask(&store, "ben", "@bot and then?").await)
        .await;
    started
        .recv()
        .await
        .expect("the second reply starts after the first is stored");

    let replies = bot_replies(&store).await;
    assert_eq!(
        replies[0].text, expected,
        "the whole answer, as the deltas built it"
    );
    assert_eq!(replies[0].status, MessageStatus::Done);
    let meta: serde_json::Value =
        serde_json::from_str(replies[0].meta.as_deref().unwrap_or("{}")).expect("meta");
    assert_eq!(meta["finishReason"], "stop");
    assert!(
        meta["usage"]["completionTokens"].as_u64().unwrap_or(0) > 0,
        "meta: {meta}"
    );
}
