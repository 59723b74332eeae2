-- Room names are unique regardless of case among group rooms (a private bot room is named after
-- the bot, one per user, and takes no part). `name_key` is the name folded to lower case by the
-- server (Unicode-aware); NULL for bot rooms, and NULLs never collide in a unique index.
-- Rooms that already shared a name keep the oldest one as it is; the later ones get their id
-- appended, which is unique, so the index can be built.
ALTER TABLE rooms ADD COLUMN name_key TEXT;

UPDATE rooms SET name = name || ' (' || id || ')'
    WHERE bot = 0 AND EXISTS (
        SELECT 1 FROM rooms o
        WHERE o.bot = 0 AND lower(o.name) = lower(rooms.name)
          AND (o.created_ts < rooms.created_ts OR (o.created_ts = rooms.created_ts AND o.id < rooms.id))
    );

UPDATE rooms SET name_key = lower(name) WHERE bot = 0;

CREATE UNIQUE INDEX rooms_by_name_key ON rooms (name_key);
