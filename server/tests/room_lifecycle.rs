//! Room tasks stop when idle and start again on demand, without losing the room's numbering.

mod common;

use std::time::Duration;

use server::{
    room::{IDLE, MemoryBus, Writers},
    store::{Appended, Store},
};

async fn store_with_room(room: &str) -> Store {
    common::memory_store(&["ada"], room).await
}

fn seq(appended: Appended) -> i64 {
    match appended {
        Appended::New(m) | Appended::Duplicate(m) => m.seq,
    }
}

/// Lets the paused clock run `d` forward and every woken task take its turn.
async fn pass(d: Duration) {
    tokio::time::advance(d).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn an_idle_room_stops_its_task_and_a_later_message_starts_a_new_one() {
    let store = store_with_room("r").await;
    let hubs = Writers::new(store, std::sync::Arc::new(MemoryBus::default()));
    let hub = hubs.get("r").await.expect("hub");
    assert_eq!(seq(hub.send(common::message(1)).await.expect("stored")), 1);
    drop(hub);
    assert_eq!(hubs.running(), 1);

    tokio::time::pause();
    pass(IDLE / 2).await;
    assert_eq!(hubs.running(), 1, "not idle long enough");
    pass(IDLE).await;
    assert_eq!(hubs.running(), 0, "the idle room's task stopped");
    tokio::time::resume();

    let hub = hubs.get("r").await.expect("a new hub");
    assert_eq!(
        seq(hub.send(common::message(2)).await.expect("stored")),
        2,
        "numbering goes on from storage"
    );
}

#[tokio::test]
async fn a_room_whose_handle_is_held_keeps_its_task() {
    let store = store_with_room("r").await;
    let hubs = Writers::new(store, std::sync::Arc::new(MemoryBus::default()));
    let held = hubs.get("r").await.expect("hub");

    tokio::time::pause();
    pass(IDLE * 2).await;
    assert_eq!(
        hubs.running(),
        1,
        "someone may still send through the handle"
    );
    drop(held);
    pass(IDLE * 2).await;
    assert_eq!(hubs.running(), 0);
}

#[tokio::test]
async fn many_rooms_used_once_leave_no_task_behind() {
    let store = store_with_room("r0").await;
    for i in 1..50 {
        store
            .create_room(
                &format!("r{i}"),
                &format!("Room {i}"),
                false,
                false,
                "ada",
                0,
            )
            .await
            .expect("room");
    }
    let hubs = Writers::new(store, std::sync::Arc::new(MemoryBus::default()));
    for i in 0..50 {
        let hub = hubs.get(&format!("r{i}")).await.expect("hub");
        hub.send(common::message(i)).await.expect("stored");
    }
    assert_eq!(hubs.running(), 50);
    tokio::time::pause();
    pass(IDLE + Duration::from_secs(1)).await;
    assert_eq!(hubs.running(), 0);
}
