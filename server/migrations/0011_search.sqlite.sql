-- Full-text search on SQLite: an FTS5 index of message texts (Porter stemming over Unicode
-- words, accents folded). The index is contentless (the texts stay in `messages` only) and
-- keyed by `search_docs.doc`, a stable integer per message: a table's implicit rowid may be
-- renumbered by VACUUM, an INTEGER PRIMARY KEY never is. Triggers keep it in step with every
-- insert, edit, delete and the end of a bot reply.
CREATE TABLE search_docs (
    doc INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO search_docs (message_id) SELECT id FROM messages ORDER BY room_id, seq;

INSERT INTO messages_fts (rowid, text)
    SELECT d.doc, m.text FROM search_docs d JOIN messages m ON m.id = d.message_id;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO search_docs (message_id) VALUES (new.id);
    INSERT INTO messages_fts (rowid, text) VALUES (last_insert_rowid(), new.text);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text BEGIN
    DELETE FROM messages_fts WHERE rowid = (SELECT doc FROM search_docs WHERE message_id = old.id);
    INSERT INTO messages_fts (rowid, text)
        SELECT doc, new.text FROM search_docs WHERE message_id = new.id;
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = (SELECT doc FROM search_docs WHERE message_id = old.id);
    DELETE FROM search_docs WHERE message_id = old.id;
END;
