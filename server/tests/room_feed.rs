//! A room's feed in process, against recording sinks in place of sockets, on `sqlite::memory:`:
//! live delivery in log order, a slow reader replayed without loss or duplicate, recovery of
//! changes by position, a lost bus message repaired from storage, and two nodes (two writers
//! and two feeds) sharing one store and one bus.

mod common;

use std::sync::{Arc, atomic::Ordering};

use common::room::*;
use server::{
    room::{RoomBus, Since},
    store::{MessageStatus, NewMessage},
};

#[tokio::test]
async fn live_changes_reach_a_socket_in_log_order_each_once() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    for n in 1..=3 {
        send(&node, n).await;
    }
    edit(&node, 1, Some("edited")).await;
    edit(&node, 2, None).await;
    sink.until("five entries", |got| got.len() == 5).await;
    assert_eq!(
        revs(&sink.events()),
        [
            ("message", 1),
            ("message", 2),
            ("message", 3),
            ("edited", 4),
            ("deleted", 5)
        ]
        .map(|(e, r)| (e.to_owned(), r))
    );
    assert_eq!(sink.view(), history(&store).await);
}

#[tokio::test]
async fn a_slow_reader_is_replayed_what_it_missed_then_goes_live_again() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    send(&node, 1).await;
    sink.until("first message", |got| got.len() == 1).await;
    sink.full.store(true, Ordering::SeqCst);
    for n in 2..=150 {
        send(&node, n).await;
    }
    edit(&node, 1, Some("changed while full")).await;
    edit(&node, 149, None).await;
    sink.full.store(false, Ordering::SeqCst);
    sink.until("level again", |got| got.len() == 5).await;
    send(&node, 151).await;
    sink.until("live again", |got| got.len() == 6).await;
    let events = sink.events();
    // 149 missed messages in two batches (of at most 100) in their latest state, then the
    // changes after its position to messages it now has, in log order, then live again.
    assert_eq!(
        revs(&events)[3..],
        [("edited", 151), ("deleted", 152), ("message", 153)].map(|(e, r)| (e.to_owned(), r))
    );
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(kinds[..3], ["message", "messages", "messages"]);
    assert_eq!(
        sink_seqs(&events),
        (1..=151).collect::<Vec<_>>(),
        "each message once, in order"
    );
    assert_eq!(sink.view(), history(&store).await);
}

#[tokio::test]
async fn recovery_with_a_rev_replays_the_changes_a_client_missed() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    for n in 1..=4 {
        send(&node, n).await;
    }
    // The client saw messages 1–4 (rev 4); then, while it was away:
    edit(&node, 1, Some("edited once")).await;
    edit(&node, 2, None).await;
    send(&node, 5).await;
    edit(&node, 5, Some("new and edited")).await;
    edit(&node, 1, Some("edited twice")).await;

    let recovering = Recorder::new();
    let since = Since {
        seq: 4,
        rev: Some(4),
    };
    node.feeds
        .subscribe("r", recovering.clone(), Some(since))
        .await
        .expect("subscribed");
    recovering.until("replayed", |got| got.len() == 4).await;
    let events = recovering.events();
    // The new message in its latest state, then the changes after rev 4 to messages 1–5 in
    // log order, each message at its latest change (m5's edit repeats what its batch had).
    assert_eq!(events[0].0, "messages");
    assert_eq!(events[0].1["messages"][0]["text"], "new and edited");
    assert_eq!(
        revs(&events[1..]),
        [("deleted", 6), ("edited", 8), ("edited", 9)].map(|(e, r)| (e.to_owned(), r))
    );
    // What it holds of each message it was given is what history holds.
    let expected = history(&store).await;
    for entry in recovering.view() {
        assert_eq!(Some(&entry), expected.iter().find(|e| e.0 == entry.0));
    }

    // An old client (no rev) gets the new message only, as before.
    let old = Recorder::new();
    let since = Since { seq: 4, rev: None };
    node.feeds
        .subscribe("r", old.clone(), Some(since))
        .await
        .expect("subscribed");
    old.until("replayed", |got| !got.is_empty()).await;
    send(&node, 6).await;
    old.until("live", |got| got.len() == 2).await;
    let kinds: Vec<String> = old.events().into_iter().map(|(e, _)| e).collect();
    assert_eq!(kinds, ["messages", "message"]);
}

#[tokio::test]
async fn a_message_lost_on_the_bus_is_replayed_from_storage() {
    let (store, bus) = setup().await;
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    send(&node, 1).await;
    // Stored by someone whose bus message never arrives (another node, a dropped packet).
    store
        .append("r", &[common::message(2), common::message(3)])
        .await
        .expect("stored");
    send(&node, 4).await;
    sink.until("all four", |got| sink_seqs(got) == [1, 2, 3, 4])
        .await;
    assert_eq!(sink.view(), history(&store).await);
}

#[tokio::test]
async fn two_nodes_sharing_a_store_and_a_bus_deliver_each_others_messages_in_order() {
    let (store, bus) = setup().await;
    let (a, b) = (node(&store, &bus), node(&store, &bus));
    let (on_a, on_b) = (watch(&a).await, watch(&b).await);
    // Both nodes write, interleaved, each through its own writer.
    for n in 1..=20 {
        send(if n % 2 == 0 { &a } else { &b }, n).await;
    }
    edit(&a, 3, Some("edited on a")).await;
    edit(&b, 4, None).await;
    for sink in [&on_a, &on_b] {
        sink.until("everything", |got| got.len() >= 22).await;
        assert_eq!(sink_seqs(&sink.events()), (1..=20).collect::<Vec<_>>());
        assert_eq!(sink.view(), history(&store).await);
    }
}

#[tokio::test]
async fn a_reply_streamed_on_one_node_reaches_a_late_viewer_on_another_as_a_snapshot() {
    let (store, bus) = setup().await;
    let (a, b) = (node(&store, &bus), node(&store, &bus));
    let writer = a.writers.get("r").await.expect("writer");
    let reply = writer
        .send(NewMessage {
            status: MessageStatus::Streaming,
            text: String::new(),
            ..common::message(1)
        })
        .await
        .expect("stored");
    let reply = reply.message().clone();
    writer.stream_start(server::wire::BotStart {
        room: "r".into(),
        id: reply.id.clone(),
        seq: reply.seq,
        request_id: "q".into(),
        user_id: "bot".into(),
        name: "Bot".into(),
        ts: 0,
    });
    for (n, text) in [(1, "Hel"), (2, "lo, "), (3, "wor")] {
        writer.stream_delta(&reply.id, n, text.into());
    }
    // A viewer on the other node arrives mid-reply: the text so far, then the rest live.
    let late = watch(&b).await;
    late.until("snapshot", |got| !got.is_empty()).await;
    writer.stream_delta(&reply.id, 4, "ld".into());
    let end = server::wire::BotEnd {
        room: "r".into(),
        id: reply.id.clone(),
        seq: reply.seq,
        rev: 0,
        text: "Hello, world".into(),
        finish_reason: server::wire::FinishReason::Stop,
        usage: None,
        error: None,
    };
    writer
        .finish(end, r#"{"finishReason":"stop"}"#.into())
        .await
        .expect("finished");
    late.until("end", |got| got.len() == 3).await;
    let events = late.events();
    assert_eq!(events[0].0, "bot:snapshot");
    assert_eq!(
        (events[0].1["text"].as_str(), events[0].1["n"].as_u64()),
        (Some("Hello, wor"), Some(3))
    );
    assert_eq!(
        (events[1].0.as_str(), events[1].1["n"].as_u64()),
        ("bot:delta", Some(4))
    );
    assert_eq!(revs(&events[2..]), [("bot:end".to_owned(), 2)]);
    assert_eq!(events[2].1["text"], "Hello, world");
    assert!(
        bus.streaming("r").is_none(),
        "the bus forgets an ended reply"
    );
}

#[tokio::test]
async fn a_feed_nobody_follows_stops_and_a_new_subscriber_starts_it_again() {
    let (store, memory) = setup_memory().await;
    let bus: Arc<dyn RoomBus> = memory.clone();
    let node = node(&store, &bus);
    let sink = watch(&node).await;
    node.feeds.unsubscribe("r", sink.sid).await;
    assert_eq!(node.feeds.running(), 1);

    tokio::time::pause();
    tokio::time::advance(server::room::IDLE / 2).await;
    tokio::task::yield_now().await;
    assert_eq!(node.feeds.running(), 1, "not idle long enough");
    for _ in 0..3 {
        tokio::time::advance(server::room::IDLE).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(node.feeds.running(), 0, "the idle feed stopped");
    assert_eq!(memory.rooms(), 0, "and the bus holds nothing for the room");
    tokio::time::resume();

    let again = watch(&node).await;
    send(&node, 1).await;
    again
        .until("delivered by a new feed", |got| sink_seqs(got) == [1])
        .await;
    assert!(
        sink.events().is_empty(),
        "the unsubscribed socket got nothing"
    );
}
