-- Reactions: one row per (message, emoji, user). The message keeps their summary as served
-- (`[{ emoji, count, users }]`, JSON) in `messages.reactions`, written in the transaction that
-- changes a reaction, which takes the room's next `rev` like an edit. NULL until the first
-- reaction, so a replay knows a message's latest change may be a reaction.
CREATE TABLE reactions (
    room_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    user_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

ALTER TABLE messages ADD COLUMN reactions TEXT;
