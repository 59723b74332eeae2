// Helpers for the chat end-to-end tests (tests/chat/): storage backends, a chat server
// fixture, connected users, acked calls, message feeds, JWTs and the socket-id leak check.
//
// Every chat file runs its cases on both storage backends:
//
//   for (const backend of backends()) {
//     describe(backend.name, () => {
//       const chat = chatServer(backend, ['--rate-limit-burst', '1000']);
//       test('...', async () => { const ada = await chat.guest('Ada'); ... });
//     });
//   }
//
// PostgreSQL is required: when it cannot be reached the postgres cases fail with a message
// saying so (they are never skipped).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startServer, binaryPath } from './server.js';
import { clientPool } from './clients.js';
import { waitFor } from './wait.js';

const PG_HOST = process.env.CHAT_TEST_PG_HOST || '127.0.0.1';
const PG_PORT = process.env.CHAT_TEST_PG_PORT || '5432';
const PG_DB = process.env.CHAT_TEST_PG_DB || 'test';
/** What the server is given; the user is the environment's (PGUSER or the OS user). */
export const PG_URL = process.env.CHAT_TEST_PG_URL || `postgres://${PG_HOST}:${PG_PORT}/${PG_DB}`;

function run(cmd, args, { timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 10 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        err.message = `${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`;
        reject(err);
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** Run one SQL statement with psql against the test database; resolves with its stdout. */
export async function psql(sql) {
  const { stdout } = await run('psql', ['-h', PG_HOST, '-p', PG_PORT, '-d', PG_DB, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]);
  return stdout;
}

let pgCheck;
/** Resolves when PostgreSQL answers; rejects loudly otherwise (it is required). */
export function requirePostgres() {
  pgCheck ??= psql('select 1').then(
    (out) => {
      if (out.trim() !== '1') throw new Error(`unexpected answer to "select 1": ${out}`);
    },
    (err) => {
      throw new Error(
        `PostgreSQL is required by the chat tests and is not reachable at ${PG_HOST}:${PG_PORT} (database ${PG_DB}). `
        + 'Run `bash scripts/setup.sh` (scripts/test.sh runs it first): as root on Debian it installs PostgreSQL, '
        + 'starts it and lets this user into the database; otherwise it says what to do. Or point '
        + 'CHAT_TEST_PG_HOST, CHAT_TEST_PG_PORT, CHAT_TEST_PG_DB (and PGUSER) at a server of your own. '
        + `psql said: ${err.message}`,
      );
    },
  );
  return pgCheck;
}

const tempDirs = new Set();
/** A fresh temporary directory, removed by `removeTempDirs` (chatServer does it in `after`). */
export async function tempDir(prefix = 'chat-test-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}
export async function removeTempDirs() {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * The storage backends every chat file runs against. `database({ file })` makes a fresh
 * database and resolves with `{ args, drop() }`: the server flags that use it, and its removal.
 *  - sqlite: in memory, or with `file: true` the server's default file (chat.db in a temporary
 *    --data-dir), for restarts;
 *  - postgres: a schema of its own (`t_chat_<random>`), dropped by `drop()`.
 */
export function backends() {
  return [
    {
      name: 'sqlite',
      async database({ file = false } = {}) {
        const dir = await tempDir('chat-sqlite-');
        if (!file) return { args: ['--database-url', 'sqlite::memory:', '--data-dir', dir], drop: async () => {} };
        // The server's default database: a SQLite file (chat.db) in the data folder.
        return {
          args: ['--data-dir', dir],
          path: path.join(dir, 'chat.db'),
          drop: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
    {
      name: 'postgres',
      async database() {
        await requirePostgres();
        const schema = `t_chat_${crypto.randomBytes(6).toString('hex')}`;
        const dir = await tempDir('chat-pg-');
        return {
          args: ['--database-url', PG_URL, '--database-schema', schema, '--data-dir', dir],
          schema,
          drop: () => psql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
        };
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Recording: every payload a chat client receives (events and acks) and every socket id seen,
// so a file can check that no payload ever carried a socket id.

const seenIds = new Set();
const received = [];

function rememberIds(socket) {
  if (socket.id) seenIds.add(socket.id);
  const engineId = socket.io?.engine?.id;
  if (engineId) seenIds.add(engineId);
}

function record(socket) {
  socket.log = [];
  socket.onAny((event, ...args) => {
    socket.log.push({ event, args });
    received.push({ event, args });
  });
  socket.on('connect', () => rememberIds(socket));
  return socket;
}

/** Assert that no event or ack received so far by any chat client contains a socket id. */
export function assertNoSocketIds() {
  assert.ok(seenIds.size > 0, 'no socket id was recorded: the check would be empty');
  assert.ok(received.length > 0, 'no payload was recorded: the check would be empty');
  const ids = [...seenIds].filter((id) => id.length >= 8);
  for (const { event, args } of received) {
    const json = JSON.stringify(args);
    for (const id of ids) {
      assert.ok(!json.includes(id), `"${event}" payload contains the socket id ${id}: ${json.slice(0, 500)}`);
    }
  }
  return { ids: ids.length, payloads: received.length };
}

// ---------------------------------------------------------------------------------------------
// Calls

/** Marker for `call(socket, event, NO_PAYLOAD)`: emit the event with only the ack callback. */
export const NO_PAYLOAD = Symbol('no payload');

/** Emit `event` with an ack and resolve with the envelope `{ ok, data | error }`. */
export async function call(socket, event, payload = {}, { timeout = 10000 } = {}) {
  const s = socket.timeout(timeout);
  let res;
  try {
    res = payload === NO_PAYLOAD ? await s.emitWithAck(event) : await s.emitWithAck(event, payload);
  } catch (err) {
    const shown = payload === NO_PAYLOAD ? '(no payload)' : JSON.stringify(payload, (k, v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v));
    throw new Error(`no ack for "${event}" ${shown} within ${timeout} ms (${err.message})`);
  }
  received.push({ event: `ack:${event}`, args: [res] });
  return res;
}

/** `call` that must succeed; resolves with `data`. */
export async function ok(socket, event, payload = {}, opts) {
  const res = await call(socket, event, payload, opts);
  assert.ok(res && typeof res === 'object' && res.ok === true,
    `"${event}" ${payload === NO_PAYLOAD ? '' : JSON.stringify(payload).slice(0, 200)} should succeed, got ${JSON.stringify(res)}`);
  return res.data;
}

/** `call` that must fail with `code`; resolves with the `error` object. */
export async function fails(socket, event, payload, code, opts) {
  const res = await call(socket, event, payload, opts);
  const shown = payload === NO_PAYLOAD ? '(no payload)' : JSON.stringify(payload).slice(0, 200);
  assert.ok(res && typeof res === 'object' && res.ok === false && res.error && typeof res.error === 'object',
    `"${event}" ${shown} should fail with ${code}, got ${JSON.stringify(res)}`);
  assert.equal(res.error.code, code, `"${event}" ${shown}: error ${JSON.stringify(res.error)}`);
  assert.equal(typeof res.error.message, 'string', `error without a message: ${JSON.stringify(res.error)}`);
  return res.error;
}

/** A fresh clientId. */
export const cid = () => crypto.randomUUID();

/** Send `text` to `room`; resolves with the ack data `{ id, seq, ts }`. */
export function send(socket, room, text, clientId = cid()) {
  return ok(socket, 'send', { room, text, clientId });
}

/** A unique room or user name for this run. */
export const unique = (prefix) => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// Feeds: a room's messages as one client sees them, from live `message` events and `messages`
// replay batches, in arrival order.

export function roomFeed(socket, room) {
  const feed = {
    room,
    messages: [],
    /** How each message came, parallel to `messages`: 'live' or 'batch'. */
    via: [],
    live: 0,
    batches: 0,
    maxSeq: 0,
    waiters: [],
    seqs() {
      return feed.messages.map((m) => m.seq);
    },
    /** Resolve once a message with seq >= `seq` arrived. */
    untilSeq(seq, { timeout = 10000 } = {}) {
      return feed.until(() => feed.maxSeq >= seq, `seq ${seq}`, timeout);
    },
    /** Resolve once at least `n` messages arrived. */
    untilCount(n, { timeout = 10000 } = {}) {
      return feed.until(() => feed.messages.length >= n, `${n} messages`, timeout);
    },
    until(pred, what, timeout) {
      if (pred()) return Promise.resolve(feed.messages);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve,
          timer: setTimeout(() => {
            feed.waiters.splice(feed.waiters.indexOf(w), 1);
            reject(new Error(`timed out after ${timeout} ms waiting for ${what} in room ${room}: `
              + `got ${feed.messages.length} messages (${feed.live} live, ${feed.batches} batches), seqs ${summarize(feed.seqs())}`));
          }, timeout),
        };
        feed.waiters.push(w);
      });
    },
    stop() {
      socket.off('message', onMessage);
      socket.off('messages', onBatch);
    },
  };
  const push = (list, how) => {
    for (const m of list) {
      feed.messages.push(m);
      feed.via.push(how);
      if (m.seq > feed.maxSeq) feed.maxSeq = m.seq;
    }
    for (const w of [...feed.waiters]) {
      if (w.pred()) {
        feed.waiters.splice(feed.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(feed.messages);
      }
    }
  };
  const onMessage = (m) => {
    if (m?.room !== room) return;
    feed.live++;
    push([m], 'live');
  };
  const onBatch = (b) => {
    if (b?.room !== room) return;
    assert.ok(Array.isArray(b.messages), `"messages" without a messages array: ${JSON.stringify(b).slice(0, 300)}`);
    feed.batches++;
    push(b.messages, 'batch');
  };
  socket.on('message', onMessage);
  socket.on('messages', onBatch);
  return feed;
}

/** "1..5, 7, 9..12": a readable summary of a list of seqs. */
export function summarize(seqs, max = 30) {
  const parts = [];
  let i = 0;
  while (i < seqs.length) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j] + 1) j++;
    parts.push(i === j ? `${seqs[i]}` : `${seqs[i]}..${seqs[j]}`);
    i = j + 1;
  }
  return parts.length > max ? `${parts.slice(0, max).join(', ')}, … (${parts.length} runs)` : parts.join(', ');
}

/** Assert that `seqs` is exactly from..to, each once, in order. */
export function assertSeqRange(seqs, from, to, what = 'seqs') {
  const expected = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
  if (seqs.length === expected.length && seqs.every((s, i) => s === expected[i])) return;
  assert.fail(`${what}: expected exactly ${from}..${to} in order, got ${seqs.length} seqs: ${summarize(seqs)}`);
}

// ---------------------------------------------------------------------------------------------
// Servers and users

const launched = new Set();
process.on('exit', () => {
  // A safety net: a test process that dies early must not leave servers behind.
  for (const server of launched) if (server.alive()) server.proc.kill('SIGKILL');
});

/** startServer('server', args) and make sure it dies with this process at the latest. */
export async function launch(args, opts) {
  const server = await startServer('server', args, opts);
  launched.add(server);
  server.exited.then(() => launched.delete(server));
  return server;
}

/**
 * waitFor (support/wait.js) for a promise made before the action that causes the event: if the
 * test fails before awaiting it, its later timeout is not an unhandled rejection.
 */
export function expectEvent(emitter, event, opts) {
  const promise = waitFor(emitter, event, opts);
  promise.catch(() => {});
  return promise;
}

/**
 * A chat server on a fresh database of `backend`, started in `before` and stopped (database
 * dropped, clients closed) in `after` of the enclosing suite. Returns an object whose fields are
 * filled in once `before` ran: { server, url, db, clients } plus helpers guest/connect.
 */
export function chatServer(backend, args = [], { file = false } = {}) {
  const fx = {
    server: null,
    db: null,
    clients: clientPool(),
    get url() {
      return fx.server.url;
    },
    guest(name, opts) {
      return connectUser(fx.clients, fx.url, { name }, opts);
    },
    connect(auth, opts) {
      return connectUser(fx.clients, fx.url, auth, opts);
    },
  };
  before(async () => {
    fx.db = await backend.database({ file });
    fx.server = await launch([...fx.db.args, ...args]);
  });
  after(async () => {
    fx.clients.closeAll();
    await fx.server?.stop();
    await fx.db?.drop();
    await removeTempDirs();
  });
  return fx;
}

/**
 * Connect a chat client (websocket, recorded) with `auth` (an object or a function) and wait for
 * its `session`. The socket gets `.session`. Rejects with the `connect_error` if refused.
 */
export async function connectUser(pool, url, auth, opts = {}, { timeout = 10000 } = {}) {
  const socket = record(pool.create(url, { transports: ['websocket'], auth, ...opts }));
  const session = await waitFor(socket, 'session', { timeout, failOn: ['connect_error'] });
  rememberIds(socket);
  socket.session = session;
  return socket;
}

/** Connect with `auth` expecting a refusal; resolves with the `connect_error` Error. */
export async function refused(pool, url, auth, opts = {}, { timeout = 10000 } = {}) {
  const socket = record(pool.create(url, { transports: ['websocket'], auth, ...opts }));
  const err = await waitFor(socket, 'connect_error', { timeout, failOn: ['session', 'connect'] });
  socket.disconnect();
  return err;
}

// ---------------------------------------------------------------------------------------------
// Tokens

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT for `claims` signed with `secret` (or `alg: 'none'` unsigned). */
export function makeJwt(claims, secret, { alg = 'HS256' } = {}) {
  const head = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}`;
  if (alg === 'none') return `${head}.`;
  const sig = crypto.createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

/** Decode a JWT's claims (no verification). */
export function jwtClaims(token) {
  const parts = String(token).split('.');
  assert.equal(parts.length, 3, `not a JWT: ${token}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** `server token ...`: the JWT the binary prints. */
export async function mintToken({ user, name, secret, ttlSecs }) {
  const args = ['token', '--user', user, '--name', name, '--jwt-secret', secret];
  if (ttlSecs !== undefined) args.push('--ttl-secs', String(ttlSecs));
  const { stdout } = await run(binaryPath('server'), args);
  return stdout.trim();
}

/** The ws package's TCP socket under a connected socket.io-client websocket transport. */
export function tcpSocketOf(socket) {
  const transport = socket.io?.engine?.transport;
  assert.equal(transport?.name, 'websocket', `expected a websocket transport, got ${transport?.name}`);
  const tcp = transport.ws?._socket;
  assert.ok(tcp && typeof tcp.pause === 'function', 'cannot reach the TCP socket under the websocket transport');
  return tcp;
}

/**
 * Resolve if no `event` matching `filter` reaches `emitter` within `within` ms; reject as soon as
 * one does. Only for proving that something does NOT happen by a deadline.
 */
export function absent(emitter, event, { within, filter = () => true, what = event } = {}) {
  const promise = new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      reject(new Error(`unexpected ${what}: ${JSON.stringify(args).slice(0, 300)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      resolve();
    }, within);
    emitter.on(event, onEvent);
  });
  promise.catch(() => {}); // made before the action it watches; see expectEvent
  return promise;
}

/** Events named `event` (first argument) in a recorded socket's log, optionally filtered. */
export function logged(socket, event, filter = () => true) {
  return socket.log.filter((e) => e.event === event && filter(e.args[0])).map((e) => e.args[0]);
}

/**
 * A client that keeps `auth.since` current, as PROTOCOL.md tells clients to: the auth function
 * passes, for each room of `rooms`, the highest seq this socket has seen. `socket.feeds[room]` is
 * the room's feed; `socket.sessions` every `session` received (one per (re)connection).
 * Resolves once the first session arrived.
 */
export async function resumingClient(pool, url, { token, rooms, ...opts }, { timeout = 10000 } = {}) {
  const feeds = {};
  const socket = record(pool.create(url, {
    transports: ['websocket'],
    ...opts,
    auth: (cb) => cb({ token, since: Object.fromEntries(rooms.map((r) => [r, feeds[r].maxSeq])) }),
  }));
  for (const r of rooms) feeds[r] = roomFeed(socket, r);
  socket.feeds = feeds;
  socket.sessions = [];
  socket.on('session', (s) => socket.sessions.push(s));
  socket.session = await waitFor(socket, 'session', { timeout, failOn: ['connect_error'] });
  rememberIds(socket);
  return socket;
}
