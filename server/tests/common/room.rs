//! The room layer without the chat: a recording sink in place of a socket, and nodes (a
//! writer registry and a feed registry) on one store and one bus.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use serde_json::Value;
use server::{
    flow::{Delivery, Frame},
    room::{Feeds, MemoryBus, RoomBus, Sink, Writers},
    store::Store,
};
use socketioxide::socket::Sid;

/// A socket stand-in: records what it is given; refuses while `full`.
#[derive(Clone)]
pub struct Recorder {
    pub sid: Sid,
    pub got: Arc<Mutex<Vec<(String, Value)>>>,
    pub full: Arc<AtomicBool>,
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            sid: Sid::new(),
            got: Arc::default(),
            full: Arc::default(),
        }
    }

    pub fn events(&self) -> Vec<(String, Value)> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits (up to 5 s) until what it got satisfies `done`.
    pub async fn until(&self, what: &str, done: impl Fn(&[(String, Value)]) -> bool) {
        for _ in 0..500 {
            if done(&self.events()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: not within 5 s; got {:?}", self.events());
    }

    /// What this socket's client would show: every message by seq, changes applied.
    pub fn view(&self) -> Vec<(i64, String, bool)> {
        let mut view = std::collections::BTreeMap::new();
        for (event, v) in self.events() {
            let mut apply = |m: &Value| {
                let seq = m["seq"].as_i64().expect("seq");
                let text = m["text"].as_str().unwrap_or_default().to_owned();
                let deleted = m["deleted"].as_bool().unwrap_or(false);
                view.insert(seq, (seq, text, deleted));
            };
            match event.as_str() {
                "message" | "edited" | "deleted" | "bot:end" => apply(&v),
                "messages" => v["messages"]
                    .as_array()
                    .expect("batch")
                    .iter()
                    .for_each(apply),
                _ => {}
            }
        }
        view.into_values().collect()
    }
}

impl Sink for Recorder {
    fn id(&self) -> Sid {
        self.sid
    }

    fn user(&self) -> &str {
        "ada"
    }

    fn connected(&self) -> bool {
        true
    }

    fn deliver<T: Serialize + ?Sized>(&self, event: &str, frame: &Frame<'_, T>) -> Delivery {
        if self.full.load(Ordering::SeqCst) {
            return Delivery::Full;
        }
        let value = serde_json::to_value(frame).expect("json");
        self.got
            .lock()
            .expect("lock")
            .push((event.to_owned(), value));
        Delivery::Sent
    }
}

/// One node: its writers and its feeds, on a shared store and bus.
pub struct Node {
    pub writers: Writers,
    pub feeds: Feeds<Recorder>,
}

pub fn node(store: &Store, bus: &Arc<dyn RoomBus>) -> Node {
    Node {
        writers: Writers::new(store.clone(), bus.clone()),
        feeds: Feeds::new(store.clone(), bus.clone(), true),
    }
}

/// A recorder subscribed to room `r` on `node` from now on.
pub async fn watch(node: &Node) -> Recorder {
    let sink = Recorder::new();
    node.feeds
        .subscribe("r", sink.clone(), None)
        .await
        .expect("subscribed");
    sink
}

pub async fn setup() -> (Store, Arc<dyn RoomBus>) {
    let (store, bus) = setup_memory().await;
    (store, bus)
}

/// The store, and the in-memory bus as itself.
pub async fn setup_memory() -> (Store, Arc<MemoryBus>) {
    let store = super::memory_store(&["ada"], "r").await;
    (store, Arc::new(MemoryBus::default()))
}

pub async fn send(node: &Node, n: usize) {
    node.writers
        .get("r")
        .await
        .expect("writer")
        .send(super::message(n))
        .await
        .expect("stored");
}

pub async fn edit(node: &Node, n: usize, text: Option<&str>) {
    node.writers
        .get("r")
        .await
        .expect("writer")
        .change(&format!("m{n}"), "ada", text.map(str::to_owned), 1)
        .await
        .expect("changed");
}

/// The room as `history` returns it.
pub async fn history(store: &Store) -> Vec<(i64, String, bool)> {
    store
        .history("r", None, None, 1000)
        .await
        .expect("history")
        .into_iter()
        .map(|m| (m.seq, m.text, m.deleted))
        .collect()
}

pub fn revs(events: &[(String, Value)]) -> Vec<(String, i64)> {
    events
        .iter()
        .map(|(e, v)| (e.clone(), v["rev"].as_i64().unwrap_or(-1)))
        .collect()
}

pub fn sink_seqs(got: &[(String, Value)]) -> Vec<i64> {
    let mut seqs = Vec::new();
    for (event, v) in got {
        match event.as_str() {
            "message" => seqs.push(v["seq"].as_i64().unwrap_or(-1)),
            "messages" => seqs.extend(
                v["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m["seq"].as_i64().unwrap_or(-1)),
            ),
            _ => {}
        }
    }
    seqs
}
