//! `search`: full-text search over the history the caller can read, ranked, in pages.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, State, TryData};
use tracing::Instrument;

use super::{answer, bad_payload, now_ms, refuse, visible_room};
use crate::{
    chat::{Chat, Conn},
    flow::{Ack, Turn},
    room::to_wire,
    store::{SearchQuery, search_words},
    wire::{
        ErrorBody, ErrorCode, SEARCH_DEPTH_MAX, SEARCH_PAGE, SEARCH_QUERY_MAX, SearchIn, SearchPage,
    },
};

/// Where a page starts: how many matches come before it, and the time the search was first
/// made (later messages stay out of its later pages). Sent as `offset.ts`; clients pass it
/// back unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    offset: i64,
    upto_ts: i64,
}

impl Cursor {
    fn parse(s: &str) -> Option<Self> {
        let (offset, upto_ts) = s.split_once('.')?;
        let cursor = Self {
            offset: offset.parse().ok()?,
            upto_ts: upto_ts.parse().ok()?,
        };
        (0..=SEARCH_DEPTH_MAX)
            .contains(&cursor.offset)
            .then_some(cursor)
    }

    fn encode(self) -> String {
        format!("{}.{}", self.offset, self.upto_ts)
    }

    /// How many matches this page holds at most: a page, or what is left of the depth.
    fn limit(self) -> i64 {
        SEARCH_PAGE.min(SEARCH_DEPTH_MAX - self.offset)
    }

    /// The page after this one, given how many matches the query found for it (asked for
    /// one more than [`limit`](Self::limit)): none when no match was left over, or when this
    /// page reaches [`SEARCH_DEPTH_MAX`].
    fn next(self, found: usize) -> Option<Self> {
        let offset = self.offset + self.limit();
        (found as i64 > self.limit() && offset < SEARCH_DEPTH_MAX)
            .then_some(Self { offset, ..self })
    }
}

pub(super) async fn search<A: Adapter>(
    turn: Turn,
    State(chat): State<Chat<A>>,
    Extension(conn): Extension<Arc<Conn>>,
    TryData(payload): TryData<SearchIn>,
    ack: Ack<A>,
) {
    let result = async {
        let q = payload.map_err(bad_payload)?;
        if q.query.chars().count() > SEARCH_QUERY_MAX {
            return refuse(
                ErrorCode::BadRequest,
                format!("query must be at most {SEARCH_QUERY_MAX} characters"),
            );
        }
        let words = search_words(&q.query);
        if words.is_empty() {
            return refuse(
                ErrorCode::BadRequest,
                "query must hold a word to search for",
            );
        }
        let cursor = match q.before.as_deref() {
            Some(before) => Cursor::parse(before).ok_or_else(|| {
                ErrorBody::new(
                    ErrorCode::BadRequest,
                    "before must be the next of an earlier search page",
                )
            })?,
            None => Cursor {
                offset: 0,
                upto_ts: now_ms(),
            },
        };
        turn.wait().await?;
        // A search reads far more than a message writes: it spends the same allowance.
        chat.check_rate(&conn.identity.user_id).await?;
        if let Some(room) = &q.room {
            // Public rooms can be searched before joining; private ones need membership.
            visible_room(&chat, &conn.identity.user_id, room).await?;
        }
        let limit = cursor.limit();
        // One more than the page, to know whether another page follows.
        let mut found = chat
            .store
            .search(&SearchQuery {
                user: &conn.identity.user_id,
                room: q.room.as_deref(),
                words: &words,
                upto_ts: cursor.upto_ts,
                offset: cursor.offset,
                limit: limit + 1,
            })
            .await?;
        let next = cursor.next(found.len());
        found.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(SearchPage {
            next: next.map(Cursor::encode),
            messages: found.iter().map(to_wire).collect(),
        })
    }
    .instrument(conn.span.clone())
    .await;
    answer(ack, result).await;
}

#[cfg(test)]
mod tests {
    use super::{Cursor, SEARCH_DEPTH_MAX, SEARCH_PAGE};

    #[test]
    fn pages_end_at_the_depth() {
        let at = |offset| Cursor { offset, upto_ts: 7 };
        let full = usize::try_from(SEARCH_PAGE).expect("page") + 1;
        assert_eq!(at(0).next(full), Some(at(SEARCH_PAGE)));
        assert_eq!(at(0).next(full - 1), None, "nothing left over");
        // The page that reaches the depth is the last, however many more match.
        let last = SEARCH_DEPTH_MAX - SEARCH_PAGE;
        assert_eq!(at(last).next(full), None);
        assert_eq!(at(SEARCH_DEPTH_MAX).limit(), 0);
        assert_eq!(at(SEARCH_DEPTH_MAX).next(1), None);
    }

    #[test]
    fn a_cursor_reads_back_and_nothing_else_passes_for_one() {
        let c = Cursor {
            offset: 40,
            upto_ts: 1_700_000_000_000,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in [
            "",
            "40",
            "x.1",
            "40.",
            "-1.5",
            "40.1.2",
            &format!("{}.1", SEARCH_DEPTH_MAX + 1),
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }
}
