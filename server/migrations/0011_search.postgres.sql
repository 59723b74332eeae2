-- Full-text search on PostgreSQL: each message's text as a `tsvector` (the `english`
-- configuration: stemming, stop words left out), kept by the database as a generated column
-- and indexed with GIN. SQLite's migration of the same number builds the equivalent FTS5 index.
ALTER TABLE messages
    ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;

CREATE INDEX messages_search ON messages USING GIN (search);
