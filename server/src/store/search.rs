//! Full-text search over message texts, ranked and in pages: SQLite's FTS5 index or
//! PostgreSQL's `tsvector` column (migration 0011). Both stem English words (Porter's
//! algorithm; PostgreSQL also leaves out stop words) and match every word of the query.

use super::{
    Store, StoreError,
    types::{MESSAGE_COLUMNS_OF_M, StoredMessage, message_from_row},
};

/// The most words a query is searched by; more are left out.
pub const SEARCH_WORDS_MAX: usize = 16;

/// One page of a search.
#[derive(Debug, Clone)]
pub struct SearchQuery<'a> {
    /// Who searches: without a room, their rooms and the public ones are searched.
    pub user: &'a str,
    /// One room only (the caller has checked that the user may read it).
    pub room: Option<&'a str>,
    /// The words, as [`search_words`] made them; every one must match.
    pub words: &'a [String],
    /// Messages stored after this time (ms) are left out, so that later pages of a search
    /// are not shifted by messages that arrive meanwhile.
    pub upto_ts: i64,
    /// How many of the best matches to skip.
    pub offset: i64,
    /// How many to return at most.
    pub limit: i64,
}

/// The words of a query as searched: runs of letters and digits, at most
/// [`SEARCH_WORDS_MAX`]; so no character of the query is ever read as search syntax.
pub fn search_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(SEARCH_WORDS_MAX)
        .map(str::to_owned)
        .collect()
}

impl Store {
    /// The messages that match every word, best first (then newest first), not deleted.
    pub async fn search(&self, q: &SearchQuery<'_>) -> Result<Vec<StoredMessage>, StoreError> {
        if q.words.is_empty() {
            return Ok(Vec::new());
        }
        let scope = if q.room.is_some() {
            "m.room_id = $2"
        } else {
            "(m.room_id IN (SELECT room_id FROM members WHERE user_id = $2)
              OR m.room_id IN (SELECT id FROM rooms WHERE private = 0))"
        };
        let columns = &*MESSAGE_COLUMNS_OF_M;
        let (sql, terms) = if self.is_sqlite() {
            (
                format!(
                    "SELECT {columns} FROM messages_fts
                     JOIN search_docs d ON d.doc = messages_fts.rowid
                     JOIN messages m ON m.id = d.message_id
                     WHERE messages_fts MATCH $1 AND {scope} AND m.deleted = 0 AND m.ts <= $3
                     ORDER BY messages_fts.rank, m.ts DESC, m.id LIMIT $4 OFFSET $5"
                ),
                // Each word a quoted FTS5 string: a phrase of one word, never an operator.
                q.words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        } else {
            (
                format!(
                    "SELECT {columns} FROM messages m
                     WHERE m.search @@ plainto_tsquery('english', $1) AND {scope}
                       AND m.deleted = 0 AND m.ts <= $3
                     ORDER BY ts_rank(m.search, plainto_tsquery('english', $1)) DESC, m.ts DESC, m.id
                     LIMIT $4 OFFSET $5"
                ),
                q.words.join(" "),
            )
        };
        let rows = sqlx::query(&sql)
            .bind(terms)
            .bind(q.room.unwrap_or(q.user))
            .bind(q.upto_ts)
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{SEARCH_WORDS_MAX, search_words};

    #[test]
    fn only_words_are_searched() {
        assert_eq!(
            search_words(r#"  "ledger" OR NEAR(x* -y) ^col:z  "#),
            ["ledger", "OR", "NEAR", "x", "y", "col", "z"]
        );
        assert_eq!(search_words("café—Straße 42"), ["café", "Straße", "42"]);
        assert!(search_words("*** ---").is_empty());
        assert_eq!(search_words(&"w ".repeat(100)).len(), SEARCH_WORDS_MAX);
    }
}
