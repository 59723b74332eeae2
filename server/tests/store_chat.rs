//! What chat adds to stored messages and rooms, on SQLite and PostgreSQL: room names unique
//! regardless of case; reactions, each change a position in the room's log, idempotent.

mod common;

use server::store::{MessageStatus, NewMessage, Pos, Reacted, Store, StoreError};

async fn room_names(store: &Store) {
    store
        .upsert_user("ada", "Ada", false, 0)
        .await
        .expect("ada");
    store
        .create_room("r1", "Ärger Club", false, false, "ada", 0)
        .await
        .expect("first");
    for (id, name, private) in [("r2", "ärger club", false), ("r3", "ÄRGER CLUB", true)] {
        assert!(
            matches!(
                store.create_room(id, name, private, false, "ada", 0).await,
                Err(StoreError::NameTaken)
            ),
            "{name}"
        );
        assert!(store.room(id).await.expect("read").is_none(), "{name}");
    }
    // Bot rooms are all named after the bot and take no part.
    for id in ["b1", "b2"] {
        store
            .create_room(id, "ärger club", true, true, "ada", 0)
            .await
            .expect("bot room");
    }
    store
        .create_room("r4", "Ärger Club 2", false, false, "ada", 0)
        .await
        .expect("another name");
}

fn message(id: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        user_id: "ada".into(),
        user_name: "Ada".into(),
        text: format!("text of {id}"),
        ts: 0,
        client_id: None,
        status: MessageStatus::Done,
        node: None,
        links: Default::default(),
    }
}

fn summary(reacted: &Reacted) -> serde_json::Value {
    let m = match reacted {
        Reacted::Changed(c) => &c.message,
        Reacted::Unchanged(m) => m,
    };
    serde_json::from_str(m.reactions.as_deref().unwrap_or("null")).expect("json")
}

async fn reactions(store: &Store) {
    for (id, name) in [("ada", "Ada"), ("ben", "Ben")] {
        store.upsert_user(id, name, false, 0).await.expect("user");
    }
    store
        .create_room("r", "R", false, false, "ada", 0)
        .await
        .expect("room");
    store
        .append("r", &[message("m1"), message("m2")])
        .await
        .expect("append");
    let ben_likes = store
        .react("r", "m1", "ben", "👍", true, 10)
        .await
        .expect("react");
    let Reacted::Changed(change) = &ben_likes else {
        panic!("a first reaction is a change: {ben_likes:?}");
    };
    assert_eq!(change.pos, Pos { seq: 2, rev: 3 });
    assert_eq!(change.message.rev, 3);
    store
        .react("r", "m1", "ada", "🎉", true, 11)
        .await
        .expect("react");
    let both = store
        .react("r", "m1", "ada", "👍", true, 12)
        .await
        .expect("react");
    assert_eq!(
        summary(&both),
        serde_json::json!([
            { "emoji": "👍", "count": 2, "users": [
                { "userId": "ben", "name": "Ben" }, { "userId": "ada", "name": "Ada" }] },
            { "emoji": "🎉", "count": 1, "users": [{ "userId": "ada", "name": "Ada" }] },
        ])
    );
    // A retry changes nothing and takes no position.
    let again = store
        .react("r", "m1", "ada", "👍", true, 13)
        .await
        .expect("react");
    assert!(matches!(again, Reacted::Unchanged(_)), "{again:?}");
    let never = store
        .react("r", "m2", "ada", "👍", false, 13)
        .await
        .expect("react");
    assert!(matches!(never, Reacted::Unchanged(_)), "{never:?}");
    let room = store.room("r").await.expect("read").expect("room");
    assert_eq!(room.last_rev, 5);
    // Taking all back leaves an empty summary; the change is in the log for replays.
    for (user, emoji) in [("ben", "👍"), ("ada", "👍"), ("ada", "🎉")] {
        store
            .react("r", "m1", user, emoji, false, 14)
            .await
            .expect("unreact");
    }
    let changes = store.changes_after("r", 5, 8, 2, 10).await.expect("log");
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].rev, changes[0].reactions.as_deref()),
        (8, Some("[]"))
    );
    // A deleted message, or one of another room, cannot be reacted to.
    store.delete("r", "m2", "ada", 15).await.expect("delete");
    for (room, id) in [("r", "m2"), ("r", "nope")] {
        assert!(matches!(
            store.react(room, id, "ben", "👍", true, 16).await,
            Err(StoreError::NotFound)
        ));
    }
}

on_both_backends!(
    sqlite_room_names_are_unique_regardless_of_case,
    postgres_room_names_are_unique_regardless_of_case,
    room_names,
    "names"
);

on_both_backends!(sqlite_reactions, postgres_reactions, reactions, "reactions");
