-- Values every node sharing the database must agree on, such as the token secret when none is
-- configured: the first node to start writes it, the others read it.
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
