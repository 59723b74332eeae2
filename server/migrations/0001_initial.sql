-- The schema of the first release: rooms, members, messages, users, and the room everyone
-- starts in. Every statement is idempotent, so a database made before migrations were
-- versioned takes this one as already applied.

CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    private BIGINT NOT NULL,
    bot BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS members (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    read_seq BIGINT NOT NULL DEFAULT 0,
    joined_ts BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id);

CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    client_id TEXT,
    text TEXT NOT NULL,
    ts BIGINT NOT NULL,
    edited_ts BIGINT,
    deleted BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'done',
    meta TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS messages_by_seq ON messages (room_id, seq);

CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (room_id, user_id, client_id);

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    guest BIGINT NOT NULL,
    seen_ts BIGINT NOT NULL
);

INSERT INTO rooms (id, name, private, bot, created_by, created_ts, last_seq)
    SELECT 'general', 'General', 0, 0, 'system', 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM rooms WHERE id = 'general');
