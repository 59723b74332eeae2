-- The change log of each room: every change (a new message, an edit, a delete, the end of a
-- bot reply) takes the room's next position, `rooms.last_rev`, and the message it touched keeps
-- it in `messages.rev`. Replaying the changes after a position is then a range scan by
-- `(room_id, rev)`. Existing rooms start with one position per message, as if never edited.
ALTER TABLE rooms ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;

UPDATE rooms SET last_rev = last_seq;

UPDATE messages SET rev = seq;

CREATE INDEX messages_by_rev ON messages (room_id, rev);
