-- The node writing a streaming bot reply, so that a node starting up ends only the replies it
-- left streaming itself, not those other nodes are writing. NULL for rows written before.
ALTER TABLE messages ADD COLUMN node TEXT;
