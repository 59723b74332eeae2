// Reference (a) of the benchmarks: Node's socket.io 4.8 doing the same work as the Rust servers.
//
//   node server.js --port 0            echo, idle, polling and fan-out handlers
//   node server.js --port 0 --chat --data-dir DIR
//                                      the chat subset on better-sqlite3 (WAL, prepared statements)
//
// Prints `listening on http://127.0.0.1:PORT` once it listens, like the Rust servers.
"use strict";

const http = require("node:http");
const path = require("node:path");
const crypto = require("node:crypto");
const { Server } = require("socket.io");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg("--port", "0"));
const chat = process.argv.includes("--chat");

const httpServer = http.createServer({ noDelay: true });
// socket.io's defaults (ping 25 s / 20 s, 1 MB payloads, polling + websocket), as for the others.
const io = new Server(httpServer);

if (chat) {
  setUpChat(io, arg("--data-dir", "."));
} else {
  setUpEcho(io);
}

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});

// `/`: `message-with-ack` acks its arguments; `/harness`: `join` and `to`, as the conformance
// profile of the Rust server does.
function setUpEcho(io) {
  io.on("connection", (socket) => {
    socket.on("message-with-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("message", (...args) => socket.emit("message-back", ...args));
  });
  io.of("/harness").on("connection", (socket) => {
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack({ ok: true });
    });
    socket.on("to", (m, ack) => {
      socket.to(m.room).emit(m.event, m.data);
      if (typeof ack === "function") ack({ ok: true });
    });
  });
}

// The part of the chat protocol (docs/PROTOCOL.md) the chat scenario uses: guests, `create`,
// `join`, `send` (per-room `seq` assigned in the transaction that stores the message, retries
// deduplicated by `clientId`), `message` to every member, acks in the `{ok, data}` envelope.
function setUpChat(io, dataDir) {
  const Database = require("better-sqlite3");
  const db = new Database(path.join(dataDir, "chat-node.db"));
  db.pragma("journal_mode = WAL");
  // The Rust server's default durability: every commit reaches the disk before the ack.
  db.pragma("synchronous = FULL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS rooms (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,
      created_by TEXT NOT NULL, created_ts INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS members (
      room TEXT NOT NULL, user_id TEXT NOT NULL, joined_ts INTEGER NOT NULL,
      PRIMARY KEY (room, user_id));
    CREATE TABLE IF NOT EXISTS messages (
      room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, user_id TEXT NOT NULL,
      name TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL, client_id TEXT,
      PRIMARY KEY (room, seq));
    CREATE UNIQUE INDEX IF NOT EXISTS messages_client ON messages (room, user_id, client_id);
  `);
  const q = {
    insertRoom: db.prepare(
      "INSERT INTO rooms (id, name, private, created_by, created_ts) VALUES (?, ?, ?, ?, ?)",
    ),
    room: db.prepare("SELECT id, name, private, last_seq FROM rooms WHERE id = ?"),
    addMember: db.prepare(
      "INSERT OR IGNORE INTO members (room, user_id, joined_ts) VALUES (?, ?, ?)",
    ),
    isMember: db.prepare("SELECT 1 FROM members WHERE room = ? AND user_id = ?"),
    byClientId: db.prepare(
      "SELECT id, seq, ts FROM messages WHERE room = ? AND user_id = ? AND client_id = ?",
    ),
    bump: db.prepare("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq"),
    insertMessage: db.prepare(
      "INSERT INTO messages (room, seq, id, user_id, name, text, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
  };
  const append = db.transaction((room, user, text, clientId, ts) => {
    const existing = q.byClientId.get(room, user.userId, clientId);
    if (existing) return { message: null, ack: existing };
    const { last_seq: seq } = q.bump.get(room);
    const id = `m_${crypto.randomBytes(8).toString("hex")}`;
    q.insertMessage.run(room, seq, id, user.userId, user.name, text, ts, clientId);
    return {
      message: { room, id, seq, userId: user.userId, name: user.name, text, ts, clientId },
      ack: { id, seq, ts },
    };
  });

  const fail = (ack, code, message) => {
    if (typeof ack === "function") ack({ ok: false, error: { code, message } });
  };
  const roomInfo = (r, member) => ({
    id: r.id,
    name: r.name,
    private: r.private === 1,
    lastSeq: r.last_seq,
    readSeq: 0,
    unread: 0,
    member,
  });

  io.use((socket, next) => {
    const name = socket.handshake.auth && socket.handshake.auth.name;
    if (typeof name !== "string" || name.length < 1 || name.length > 64) {
      return next(new Error("bad_request: a guest needs a name"));
    }
    socket.data.user = { userId: `guest-${crypto.randomBytes(6).toString("hex")}`, name };
    next();
  });

  io.on("connection", (socket) => {
    const user = socket.data.user;
    socket.join(`u:${user.userId}`);
    socket.emit("session", { userId: user.userId, name: user.name, guest: true, token: "" });

    socket.on("create", (payload, ack) => {
      if (!payload || typeof payload.name !== "string" || !payload.name) {
        return fail(ack, "bad_request", "name required");
      }
      const slug = payload.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 32);
      const id = `${slug}-${crypto.randomBytes(3).toString("hex")}`;
      const now = Date.now();
      q.insertRoom.run(id, payload.name, payload.private ? 1 : 0, user.userId, now);
      q.addMember.run(id, user.userId, now);
      socket.join(id);
      if (typeof ack === "function") ack({ ok: true, data: roomInfo(q.room.get(id), true) });
    });

    socket.on("join", (payload, ack) => {
      const r = payload && typeof payload.room === "string" ? q.room.get(payload.room) : null;
      if (!r) return fail(ack, "not_found", "no such room");
      if (r.private === 1 && !q.isMember.get(r.id, user.userId)) {
        return fail(ack, "forbidden", "private room: ask a member to add you");
      }
      q.addMember.run(r.id, user.userId, Date.now());
      socket.join(r.id);
      if (typeof ack === "function") {
        ack({ ok: true, data: { room: roomInfo(r, true), online: [], reads: [] } });
      }
    });

    socket.on("send", (payload, ack) => {
      if (
        !payload ||
        typeof payload.room !== "string" ||
        typeof payload.text !== "string" ||
        typeof payload.clientId !== "string" ||
        payload.text.length === 0 ||
        payload.clientId.length === 0 ||
        payload.clientId.length > 64
      ) {
        return fail(ack, "bad_request", "room, text and clientId required");
      }
      if (Buffer.byteLength(payload.text) > 4096) return fail(ack, "too_large", "text too long");
      if (!q.isMember.get(payload.room, user.userId)) {
        return fail(ack, "forbidden", "join the room first");
      }
      let result;
      try {
        result = append(payload.room, user, payload.text, payload.clientId, Date.now());
      } catch (e) {
        console.error("storage failed", e);
        return fail(ack, "internal", "storage failed");
      }
      if (typeof ack === "function") ack({ ok: true, data: result.ack });
      if (result.message) io.to(payload.room).emit("message", result.message);
    });
  });
}
