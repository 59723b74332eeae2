//! A room's writer, in process on `sqlite::memory:`: messages get `seq` in the order they were
//! queued, in batches, without gaps; a `clientId` used again by the same user is stored once and
//! answered with the first message; acks come only once the message is stored.

mod common;

use server::{
    room::{MemoryBus, Writers},
    store::{Appended, MessageStatus, NewMessage, Store},
};

async fn store() -> Store {
    common::memory_store(&["ada", "ben"], "r").await
}

fn message(user: &str, n: usize, client_id: &str) -> NewMessage {
    NewMessage {
        id: format!("m-{user}-{n}"),
        user_id: user.into(),
        user_name: user.into(),
        text: format!("{user} {n}"),
        ts: 0,
        client_id: Some(client_id.into()),
        status: MessageStatus::Done,
        node: None,
        links: Default::default(),
    }
}

#[tokio::test]
async fn queued_messages_are_numbered_in_queue_order_without_gaps() {
    let store = store().await;
    let hubs = Writers::new(store.clone(), std::sync::Arc::new(MemoryBus::default()));
    let hub = hubs.get("r").await.expect("hub");
    // 600 messages queued back to back (more than one batch of 256), acks awaited afterwards.
    let mut pending = Vec::new();
    for n in 0..600 {
        let user = if n % 2 == 0 { "ada" } else { "ben" };
        pending.push(hub.enqueue(message(user, n, &format!("c{n}"))).await);
    }
    for (n, ack) in pending.into_iter().enumerate() {
        match ack.await.expect("answered").expect("stored") {
            Appended::New(m) => {
                assert_eq!(m.seq, n as i64 + 1, "message {n}");
                assert_eq!(m.text.split(' ').nth(1), Some(n.to_string().as_str()));
            }
            Appended::Duplicate(m) => panic!("message {n} taken for a duplicate of {}", m.id),
        }
    }
    // What was acked is what storage holds, in the same order.
    let stored = store.history("r", None, None, 1000).await.expect("history");
    assert_eq!(stored.len(), 600);
    assert!(
        stored
            .iter()
            .enumerate()
            .all(|(i, m)| m.seq == i as i64 + 1)
    );
}

#[tokio::test]
async fn a_client_id_used_again_by_the_same_user_is_stored_once() {
    let store = store().await;
    let hubs = Writers::new(store.clone(), std::sync::Arc::new(MemoryBus::default()));
    let hub = hubs.get("r").await.expect("hub");

    let first = hub.send(message("ada", 1, "same")).await.expect("stored");
    let Appended::New(first) = first else {
        panic!("the first is new")
    };
    // The same key again, in another batch and inside one batch: the first message comes back.
    let again = hub.send(message("ada", 2, "same")).await.expect("answered");
    assert_eq!(again, Appended::Duplicate(first.clone()));
    let (a, b) = (
        hub.enqueue(message("ada", 3, "twice")).await,
        hub.enqueue(message("ada", 4, "twice")).await,
    );
    let (a, b) = (
        a.await.expect("a").expect("a stored"),
        b.await.expect("b").expect("b answered"),
    );
    assert!(matches!(a, Appended::New(_)));
    assert_eq!(b, Appended::Duplicate(a.message().clone()));
    // Another user may use the same key.
    let ben = hub.send(message("ben", 5, "same")).await.expect("ben");
    assert!(matches!(ben, Appended::New(_)));

    let stored = store.history("r", None, None, 100).await.expect("history");
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        [1, 2, 3],
        "three messages stored, numbered without gaps"
    );
}
