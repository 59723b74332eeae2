-- The bot's settings per room, set by the room's creator. A NULL column takes the server's
-- default: its system prompt and model, the model's temperature, and the reply mode of the
-- kind of room (`mention` in a group room, `every` in a private bot room).
CREATE TABLE bot_settings (
    room_id TEXT PRIMARY KEY,
    system_prompt TEXT,
    model TEXT,
    temperature DOUBLE PRECISION,
    reply_mode TEXT
);
