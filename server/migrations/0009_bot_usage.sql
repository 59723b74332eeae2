-- The usage ledger: one row per bot reply with the tokens it cost (as the model reported them,
-- else estimated at four characters a token), who asked and where, and when it ended.
CREATE TABLE bot_usage (
    reply_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    estimated BIGINT NOT NULL
);

CREATE INDEX bot_usage_by_user ON bot_usage (user_id, ts);
