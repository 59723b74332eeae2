//! Mentions and full-text search in the store, on SQLite and PostgreSQL: `@name` resolved to
//! members and counted after each read mark; search ranked, scoped to what a user can read,
//! kept in step with edits and deletes.

mod common;

use server::store::{MessageStatus, NewMessage, SearchQuery, Store, search_words};

fn said(id: &str, user: &str, text: &str, ts: i64) -> NewMessage {
    NewMessage {
        id: id.into(),
        user_id: user.into(),
        user_name: user.into(),
        text: text.into(),
        ts,
        client_id: None,
        status: MessageStatus::Done,
        node: None,
        links: Default::default(),
    }
}

async fn people(store: &Store, room: &str, private: bool) {
    for (id, name) in [
        ("ada", "Ada"),
        ("adal", "Ada Lovelace"),
        ("ben", "Ben"),
        ("cy", "Cy"),
    ] {
        store.upsert_user(id, name, false, 0).await.expect("user");
    }
    store
        .create_room(room, room, private, false, "ada", 0)
        .await
        .expect("room");
    for user in ["ada", "adal", "ben"] {
        store.add_member(room, user, 0).await.expect("member");
    }
}

async fn mentions(store: &Store) {
    people(store, "m", false).await;
    let sent = store
        .append(
            "m",
            &[
                said(
                    "m1",
                    "ada",
                    "@Ada Lovelace and @ben, look (and @Ada, me)",
                    1,
                ),
                said("m2", "ben", "@cy is not here; mail ben@ben.example", 2),
                said("m3", "ada", "@BEN again", 3),
            ],
        )
        .await
        .expect("append");
    let named: Vec<Vec<String>> = sent.iter().map(|a| a.message().mentions.clone()).collect();
    // The author is never named; a non-member is not; an address is not a mention.
    assert_eq!(
        named,
        vec![
            vec!["adal".to_owned(), "ben".to_owned()],
            vec![],
            vec!["ben".to_owned()]
        ]
    );
    assert_eq!(store.unread_mentions("m", "ben").await.expect("count"), 2);
    assert_eq!(store.unread_mentions("m", "adal").await.expect("count"), 1);
    assert_eq!(store.unread_mentions("m", "cy").await.expect("count"), 0);

    // Read marks: only mentions after the mark count.
    store.mark_read("m", "ben", 1).await.expect("read");
    assert_eq!(store.unread_mentions("m", "ben").await.expect("count"), 1);
    let listed = store.rooms_for("ben").await.expect("rooms");
    let view = listed.iter().find(|v| v.room.id == "m").expect("listed");
    assert_eq!(view.mentions, 1);

    // An edit names anew; a delete names nobody.
    let edited = store
        .edit("m", "m3", "ada", "never mind, @Ada Lovelace", 4)
        .await
        .expect("edit");
    assert_eq!(edited.message.mentions, vec!["adal".to_owned()]);
    assert_eq!(store.unread_mentions("m", "ben").await.expect("count"), 0);
    assert_eq!(store.unread_mentions("m", "adal").await.expect("count"), 2);
    let read_back = store
        .message("m", "m3")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(read_back.mentions, vec!["adal".to_owned()]);
    store.delete("m", "m3", "ada", 5).await.expect("delete");
    assert_eq!(store.unread_mentions("m", "adal").await.expect("count"), 1);
    assert!(
        store
            .message("m", "m3")
            .await
            .expect("read")
            .expect("there")
            .mentions
            .is_empty()
    );
}

async fn search(store: &Store) {
    people(store, "open", false).await;
    store
        .create_room("secret", "secret", true, false, "ben", 0)
        .await
        .expect("private");
    store.add_member("secret", "ben", 0).await.expect("member");
    store
        .append(
            "open",
            &[
                said("o1", "ada", "We chose PostgreSQL for the ledger", 10),
                said("o2", "ben", "ledgers, ledgers and more ledgers", 11),
                said("o3", "ada", "lunch?", 12),
                said("o4", "ben", "the ledger is late", 50),
            ],
        )
        .await
        .expect("append");
    store
        .append("secret", &[said("s1", "ben", "the secret ledger", 13)])
        .await
        .expect("append");
    let find = |user: &'static str, room: Option<&'static str>, text: &str, upto: i64| {
        let words = search_words(text);
        async move {
            store
                .search(&SearchQuery {
                    user,
                    room,
                    words: &words,
                    upto_ts: upto,
                    offset: 0,
                    limit: 10,
                })
                .await
                .expect("search")
                .into_iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        }
    };
    // Stemmed ("ledgers" is "ledger"), ranked: the message most about it first.
    let ada = find("ada", None, "Ledger", 100).await;
    assert_eq!(ada.first().map(String::as_str), Some("o2"), "{ada:?}");
    assert_eq!(ada.len(), 3, "{ada:?}: not the private room's");
    let ben = find("ben", None, "ledger", 100).await;
    assert!(ben.contains(&"s1".to_owned()), "{ben:?}: a member reads it");
    assert_eq!(find("ben", Some("secret"), "ledger", 100).await, ["s1"]);
    // Every word must match; later messages stay out of a search made earlier.
    assert_eq!(find("ada", None, "ledger postgresql", 100).await, ["o1"]);
    assert!(
        !find("ada", None, "ledger", 20)
            .await
            .contains(&"o4".to_owned())
    );
    // Syntax in the query is only words: NEAR is a word no message holds.
    assert_eq!(
        find("ada", None, "\"lunch\" NEAR", 100).await,
        Vec::<String>::new()
    );
    assert_eq!(find("ada", None, "lunch*", 100).await, ["o3"]);

    // Edits and deletes reach the index.
    store
        .edit("open", "o3", "ada", "dinner?", 60)
        .await
        .expect("edit");
    assert!(find("ada", None, "lunch", 100).await.is_empty());
    assert_eq!(find("ada", None, "dinner", 100).await, ["o3"]);
    store.delete("open", "o1", "ada", 61).await.expect("delete");
    assert!(find("ada", None, "postgresql", 100).await.is_empty());
}

on_both_backends!(
    sqlite_mentions_are_members_counted_after_the_read_mark,
    postgres_mentions_are_members_counted_after_the_read_mark,
    mentions,
    "mentions"
);

on_both_backends!(
    sqlite_search_is_ranked_scoped_and_current,
    postgres_search_is_ranked_scoped_and_current,
    search,
    "search"
);
