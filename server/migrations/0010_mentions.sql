-- Mentions: the members a message names with `@name`. The message keeps their ids (a JSON
-- array, NULL when it names nobody) for clients to highlight; each mentioned member but the
-- author also gets a row, so the mentions after a member's read mark are one indexed count.
-- An edit rewrites both; a delete removes them.
ALTER TABLE messages ADD COLUMN mentions TEXT;

CREATE TABLE mentions (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id, seq)
);
