-- What a bot reply answers and how it relates to earlier replies: `reply_to` is the message
-- that asked for it, `replaces` the reply it regenerates, `continues` the reply it carries on.
-- NULL for every other message, and for replies written before this migration.
ALTER TABLE messages ADD COLUMN reply_to TEXT;

ALTER TABLE messages ADD COLUMN replaces TEXT;

ALTER TABLE messages ADD COLUMN continues TEXT;
