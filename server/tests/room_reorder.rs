//! Entries of a room that reach a feed out of `rev` order (two nodes' writers commit in one
//! order and their messages cross the bus in another) are held and delivered in order, live,
//! with no replay from storage; only a hole that stays open is a gap replayed from storage.

mod common;

use std::sync::Arc;

use common::room::*;
use server::{
    room::{
        bus::{Entry, Event, Kind},
        to_wire,
    },
    store::{NewMessage, Pos, Store},
};

/// Stores messages 1..=n without publishing them; their entries as the bus carries them.
async fn stored(store: &Store, n: usize) -> Vec<Arc<Entry>> {
    let messages: Vec<NewMessage> = (1..=n).map(common::message).collect();
    let appended = store.append("r", &messages).await.expect("stored");
    appended
        .iter()
        .map(|a| {
            let m = a.message();
            Arc::new(Entry {
                pos: Pos {
                    seq: m.seq,
                    rev: m.rev,
                },
                kind: Kind::New,
                message: Arc::new(to_wire(m)),
            })
        })
        .collect()
}

/// (event, seq) of everything a sink got.
fn received(sink: &Recorder) -> Vec<(String, i64)> {
    sink.events()
        .into_iter()
        .map(|(event, v)| (event, v["seq"].as_i64().unwrap_or(-1)))
        .collect()
}

#[tokio::test]
async fn entries_published_out_of_order_reach_a_socket_in_order_live() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    let entries = stored(&store, 4).await;
    for i in [1, 3, 2, 0] {
        bus.publish("r", Event::Logged(entries[i].clone()));
    }
    sink.until("four", |got| sink_seqs(got).len() == 4).await;
    let live = |seq| ("message".to_owned(), seq);
    assert_eq!(received(&sink), [live(1), live(2), live(3), live(4)]);
}

#[tokio::test]
async fn a_hole_that_stays_open_is_replayed_from_storage() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    let entries = stored(&store, 3).await;
    // The first entry never crosses the bus.
    bus.publish("r", Event::Logged(entries[2].clone()));
    bus.publish("r", Event::Logged(entries[1].clone()));
    sink.until("three", |got| sink_seqs(got) == [1, 2, 3]).await;
    assert_eq!(
        received(&sink),
        [("messages".to_owned(), -1)],
        "one replay batch"
    );
    assert_eq!(sink.view(), history(&store).await);
}
