//! The change log in storage, on SQLite and PostgreSQL: every change takes the room's next
//! `rev` in its transaction, the changes after a position come back in log order (each message
//! once, at its latest change), a refused change takes no position, and a starting node ends
//! only the replies it left streaming.

mod common;

use server::store::{MessageStatus, NewMessage, Pos, Store, StoreError};

fn message(id: &str, status: MessageStatus, node: Option<&str>) -> NewMessage {
    NewMessage {
        id: id.into(),
        user_id: "ada".into(),
        user_name: "Ada".into(),
        text: format!("text of {id}"),
        ts: 0,
        client_id: None,
        status,
        node: node.map(str::to_owned),
        links: Default::default(),
    }
}

async fn position(store: &Store) -> Pos {
    let room = store.room("r").await.expect("room").expect("exists");
    Pos {
        seq: room.last_seq,
        rev: room.last_rev,
    }
}

async fn the_log(store: &Store) {
    store
        .upsert_user("ada", "Ada", false, 0)
        .await
        .expect("ada");
    store
        .upsert_user("ben", "Ben", false, 0)
        .await
        .expect("ben");
    store
        .create_room("r", "R", false, false, "ada", 0)
        .await
        .expect("room");
    let done = MessageStatus::Done;
    let batch = [
        message("m1", done, None),
        message("m2", done, None),
        message("m3", done, None),
    ];
    let stored = store.append("r", &batch).await.expect("append");
    let revs: Vec<(i64, i64)> = stored
        .iter()
        .map(|a| (a.message().seq, a.message().rev))
        .collect();
    assert_eq!(revs, [(1, 1), (2, 2), (3, 3)]);

    let edit = store
        .edit("r", "m1", "ada", "m1 edited", 5)
        .await
        .expect("edit");
    assert_eq!((edit.pos, edit.message.rev), (Pos { seq: 3, rev: 4 }, 4));
    let delete = store.delete("r", "m2", "ada", 6).await.expect("delete");
    assert_eq!(delete.pos, Pos { seq: 3, rev: 5 });
    // Refused changes take no position.
    assert!(matches!(
        store.edit("r", "m3", "ben", "not mine", 7).await,
        Err(StoreError::NotAuthor)
    ));
    assert!(matches!(
        store.edit("r", "m2", "ada", "deleted", 7).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(position(store).await, Pos { seq: 3, rev: 5 });
    store
        .edit("r", "m1", "ada", "m1 edited twice", 8)
        .await
        .expect("edit");

    // After rev 3, up to rev 6, messages up to seq 3: m2's delete, then m1 at its latest edit.
    let changes = store
        .changes_after("r", 3, 6, 3, 100)
        .await
        .expect("changes");
    let seen: Vec<(&str, i64, &str)> = changes
        .iter()
        .map(|m| (m.id.as_str(), m.rev, m.text.as_str()))
        .collect();
    assert_eq!(seen, [("m2", 5, ""), ("m1", 6, "m1 edited twice")]);
    // Bounded by position and by seq.
    assert_eq!(
        store
            .changes_after("r", 3, 5, 3, 100)
            .await
            .expect("changes")
            .len(),
        1
    );
    assert_eq!(
        store
            .changes_after("r", 3, 6, 1, 100)
            .await
            .expect("changes")
            .len(),
        1
    );

    // Two replies left streaming, by this node and another: a restart of this node ends its own.
    let streaming = MessageStatus::Streaming;
    let replies = [
        message("r-mine", streaming, Some("n1")),
        message("r-theirs", streaming, Some("n2")),
    ];
    store.append("r", &replies).await.expect("replies");
    assert_eq!(
        store
            .end_interrupted("n1", r#"{"finishReason":"error"}"#)
            .await
            .expect("sweep"),
        1
    );
    let mine = store
        .message("r", "r-mine")
        .await
        .expect("read")
        .expect("exists");
    let theirs = store
        .message("r", "r-theirs")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (mine.status, theirs.status),
        (MessageStatus::Done, MessageStatus::Streaming)
    );
    assert_eq!(mine.rev, 9, "its end is a change in the log");
    let end = store
        .finish("r", "r-theirs", "all done", r#"{"finishReason":"stop"}"#)
        .await
        .expect("finish");
    assert_eq!(
        (end.pos, end.message.text.as_str()),
        (Pos { seq: 5, rev: 10 }, "all done")
    );
}

on_both_backends!(
    sqlite_the_change_log,
    postgres_the_change_log,
    the_log,
    "changes"
);
