//! The bots of two nodes in one process: one store and one bus, queues and budgets of their
//! own, and between them what a cluster shares (stop requests, the rooms' leases). A reply runs
//! on the node that was asked; a cancel from the other node stops it there, and a question
//! asked on the other node meanwhile waits until it ends: one reply at a time per room. What a
//! user's replies cost, and how many of their requests are in flight, count on every node.

use std::{sync::Arc, time::Duration};

mod common;

use common::bot::{Gate, Started, ask, config, store};
use server::{
    bot::{
        Bot, BotConfig, BotShared, MemoryAdmissions,
        backend::{Backend, Chunk},
    },
    ports::{
        InFlight, Leases, MemoryInFlight, MemoryLeases, MemoryStops, MemoryTokenBudgets, Stops,
        TokenBudgets,
    },
    room::{
        MemoryBus, RoomBus, Writers,
        bus::{Event, Kind},
    },
    store::Store,
    wire::{BotEnd, BotStart, ErrorCode, FinishReason, Usage},
};
use tokio::sync::{broadcast, mpsc};

/// How long the test waits for an event before it fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// Two nodes' bots sharing what a cluster shares, each answering with a gate of its own.
struct TwoNodes {
    bots: [Bot; 2],
    started: [mpsc::UnboundedReceiver<Started>; 2],
    events: broadcast::Receiver<Event>,
    store: Store,
}

async fn two_nodes() -> TwoNodes {
    let store = store().await;
    let bus: Arc<dyn RoomBus> = Arc::new(MemoryBus::default());
    let stops: Arc<dyn Stops> = Arc::new(MemoryStops::default());
    let leases: Arc<dyn Leases> = Arc::new(MemoryLeases::default());
    let budgets: Arc<dyn TokenBudgets> = Arc::new(MemoryTokenBudgets::default());
    let inflight: Arc<dyn InFlight> = Arc::new(MemoryInFlight::default());
    let events = bus.subscribe("r").events;
    let node = |name: &str| {
        let (tx, started) = mpsc::unbounded_channel();
        let shared = BotShared {
            admissions: Arc::new(MemoryAdmissions::default()),
            stops: stops.clone(),
            leases: leases.clone(),
            budgets: budgets.clone(),
            inflight: inflight.clone(),
        };
        let cfg = BotConfig {
            node: name.into(),
            tokens_per_minute: 100,
            ..config(5, 1)
        };
        let writers = Arc::new(Writers::new(store.clone(), bus.clone()));
        let backend: Arc<dyn Backend> = Arc::new(Gate(tx));
        (
            Bot::new(backend, store.clone(), writers, cfg, shared),
            started,
        )
    };
    let (a, started_a) = node("n1");
    let (b, started_b) = node("n2");
    TwoNodes {
        bots: [a, b],
        started: [started_a, started_b],
        events,
        store,
    }
}

impl TwoNodes {
    /// `user` asks on node `i`.
    async fn ask(&self, i: usize, user: &str, text: &str) -> String {
        let bot = &self.bots[i];
        let admission = bot.admit("r", user).await.expect("admitted");
        let question = ask(&self.store, user, text).await;
        bot.submit(admission, &question).await;
        question.id
    }

    /// The room's next event that `pick` takes, skipping the others; fails after [`DEADLINE`].
    async fn next<T>(&mut self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let wait = async {
            loop {
                let event = self.events.recv().await.expect("the room's events");
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
        };
        tokio::time::timeout(DEADLINE, wait)
            .await
            .expect("the awaited event never came")
    }

    async fn start(&mut self) -> Arc<BotStart> {
        self.next(|e| match e {
            Event::Start(start) => Some(start.clone()),
            _ => None,
        })
        .await
    }

    async fn end(&mut self) -> Arc<BotEnd> {
        self.next(|e| match e {
            Event::Logged(entry) => match &entry.kind {
                Kind::Ended(end) => Some(end.clone()),
                _ => None,
            },
            _ => None,
        })
        .await
    }
}

#[tokio::test]
async fn a_cancel_on_another_node_stops_the_reply_where_it_runs() {
    let mut nodes = two_nodes().await;
    nodes.ask(0, "ada", "@bot long answer").await;
    let reply = nodes.started[0].recv().await.expect("running on n1");
    reply.feed.send(Ok(Chunk::Text("partial".into()))).ok();
    let start = nodes.start().await;

    let other = &nodes.bots[1];
    assert!(!other.cancel("r", "m-none").await, "no such reply anywhere");
    assert!(
        other.cancel("r", &start.id).await,
        "n2 finds the reply n1 writes"
    );
    reply.feed.closed().await; // n1 dropped the backend's stream: the upstream request is gone
    let end = nodes.end().await;
    assert_eq!(end.id, start.id);
    assert_eq!(end.finish_reason, FinishReason::Cancelled);
    assert!(
        "partial".starts_with(&end.text),
        "text so far: {:?}",
        end.text
    );
}

#[tokio::test]
async fn a_question_on_another_node_waits_until_the_room_s_reply_ends() {
    let mut nodes = two_nodes().await;
    nodes.ask(0, "ada", "@bot first").await;
    let first = nodes.started[0].recv().await.expect("running on n1");
    let first_start = nodes.start().await;

    // Ben asks on the other node meanwhile: he is told he is next, and nothing starts there.
    let second = nodes.ask(1, "ben", "@bot second").await;
    let queued = nodes
        .next(|e| match e {
            Event::Notice(n) if n.event == "bot:queued" => Some(n.data.clone()),
            _ => None,
        })
        .await;
    assert_eq!(queued["requestId"], second.as_str(), "{queued}");
    assert_eq!(queued["position"], 1, "{queued}");
    assert!(
        nodes.started[1].try_recv().is_err(),
        "n2 started a reply while n1 writes one"
    );

    // The first reply ends; only then does the second start, on n2.
    first.feed.send(Ok(Chunk::Text("done".into()))).ok();
    drop(first);
    let (ended, started) = nodes
        .next(|e| match e {
            Event::Logged(entry) => match &entry.kind {
                Kind::Ended(end) => Some((Some(end.id.clone()), None)),
                _ => None,
            },
            Event::Start(start) => Some((None, Some(start.request_id.clone()))),
            _ => None,
        })
        .await;
    assert_eq!(
        ended.as_deref(),
        Some(first_start.id.as_str()),
        "the first reply ends first, then {started:?} starts"
    );
    let next = nodes.start().await;
    assert_eq!(next.request_id, second);
    let run = nodes.started[1].recv().await.expect("running on n2");
    assert!(run.question.ends_with("@bot second"), "{}", run.question);
}

#[tokio::test]
async fn the_tokens_a_user_spent_on_one_node_count_on_the_other() {
    let mut nodes = two_nodes().await;
    nodes.ask(0, "ada", "@bot expensive").await;
    let reply = nodes.started[0].recv().await.expect("running on n1");
    let usage = Usage {
        prompt_tokens: 70,
        completion_tokens: 40,
    };
    reply.feed.send(Ok(Chunk::Usage(usage))).ok();
    drop(reply);
    nodes.end().await;

    // 110 of her 100 tokens a minute are spent: the other node refuses her, not Ben.
    let refused = nodes.bots[1]
        .admit("r", "ada")
        .await
        .err()
        .expect("over budget");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(
        refused.retry_after.is_some_and(|ms| ms > 0 && ms <= 60_000),
        "{refused:?}"
    );
    assert!(nodes.bots[1].admit("r", "ben").await.is_ok());
}

#[tokio::test]
async fn a_user_s_requests_in_flight_count_on_every_node() {
    let mut nodes = two_nodes().await;
    nodes.ask(0, "ada", "@bot first").await;
    let reply = nodes.started[0].recv().await.expect("running on n1");

    // One request in flight per user: hers on n1 keeps her out on n2, not Ben.
    let refused = nodes.bots[1]
        .admit("r", "ada")
        .await
        .err()
        .expect("one in flight");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(nodes.bots[1].admit("r", "ben").await.is_ok());

    drop(reply); // the reply ends
    nodes.end().await;
    assert!(
        nodes.bots[1].admit("r", "ada").await.is_ok(),
        "answered: it counts no more"
    );
}
