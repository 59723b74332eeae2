// Helpers for the chatbot end-to-end tests (tests/bot/): a chat server per test (with or without
// the fake OpenAI upstream), connected users whose `bot:*` events are watched from the very
// first packet, and a checker of each reply's stream as one socket saw it.
//
//   const env = await botEnv(t, { args: ['--bot-coalesce-ms', '0'] });   // fake upstream
//   const ada = await env.user('Ada');
//   const room = (await ok(ada, 'bot:open', {})).id;
//   env.fake.enqueue({ tokens: ['Hi', '!'] });
//   const ack = await send(ada, room, 'hello');
//   const reply = await ada.bot.ended(ack.id);        // by requestId
//   assert.equal(reply.text, 'Hi!'); assert.deepEqual(reply.problems, []);
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './server.js';
import { clientPool } from './clients.js';
import { waitFor } from './wait.js';
import { startFakeOpenAI } from './fake-openai.js';

export const BOT_ID = 'bot';
const DEFAULT_TIMEOUT = 10000;

/**
 * Start a chat server for one test (stopped, with its clients and fake, in `t.after`).
 *  - fake: true (default) starts the fake upstream and passes `--llm-base-url`;
 *    false runs the embedded bot; a string is used as the base URL as is.
 *  - args: more server flags.
 *  - file: the server's default SQLite file in a temporary --data-dir instead of an in-memory
 *    database (for restarts).
 * Resolves with { server, url, fake, clients, user(name), connect(auth), restart(signal) }.
 */
export async function botEnv(t, { fake = true, args = [], file = false } = {}) {
  const clients = clientPool();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bot-test-'));
  let upstream = null;
  let server = null;
  t.after(async () => {
    clients.closeAll();
    await server?.stop();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const llm = [];
  if (fake === true) {
    upstream = await startFakeOpenAI();
    llm.push('--llm-base-url', upstream.baseUrl);
  } else if (typeof fake === 'string') {
    llm.push('--llm-base-url', fake);
  }
  // With `file`, the server's default database: a SQLite file (chat.db) in the data folder.
  const serverArgs = [
    ...(file ? [] : ['--database-url', 'sqlite::memory:']), '--data-dir', dir,
    '--rate-limit-per-sec', '1000', '--rate-limit-burst', '1000',
    ...llm, ...args,
  ];
  server = await startServer('server', serverArgs);
  const env = {
    server,
    url: server.url,
    fake: upstream,
    clients,
    /** Stop the server with `signal` (SIGKILL: a crash) and start it again on the same data. */
    async restart(signal = 'SIGKILL') {
      if (server.alive()) server.proc.kill(signal);
      await server.exited;
      server = await startServer('server', serverArgs);
      env.server = server;
      env.url = server.url;
      return server;
    },
    /** A guest named `name`, connected, its `bot:*` events watched (`socket.bot`). */
    user(name, opts) {
      return connectWatched(clients, env.url, { name }, opts);
    },
    /** A client with this `auth` (an object or a function), watched. */
    connect(auth, opts) {
      return connectWatched(clients, env.url, auth, opts);
    },
  };
  return env;
}

/**
 * Connect (websocket) with `auth`, watching `bot:*` events from before the handshake, and wait for
 * `session`. The socket gets `.session` and `.bot` (a `botWatch`).
 */
export async function connectWatched(pool, url, auth, opts = {}, { timeout = DEFAULT_TIMEOUT } = {}) {
  const socket = pool.create(url, { transports: ['websocket'], auth, ...opts });
  socket.bot = botWatch(socket);
  socket.session = await waitFor(socket, 'session', { timeout, failOn: ['connect_error'] });
  return socket;
}

/**
 * Everything `bot:*` one socket receives, in arrival order, and per reply (by message id) the
 * text assembled from `bot:snapshot` and `bot:delta` as a client would, with every breach of the
 * contract listed in `problems` (a gap or duplicate in `n`, a delta before start/snapshot, a
 * delta after the end, an end whose text is not what the deltas built, a snapshot that disagrees
 * with what came before).
 */
export function botWatch(socket) {
  let order = 0;
  const w = {
    /** [{ event, payload, order, at }] */
    log: [],
    /** message id -> reply record */
    replies: new Map(),
    /** [{ room, requestId, position }] */
    queued: [],
    waiters: [],
    /** The reply record of message `id` (created on first sight). */
    reply(id) {
      let r = w.replies.get(id);
      if (!r) {
        r = {
          id,
          room: undefined,
          requestId: undefined,
          start: null,
          snapshots: [],
          deltas: [],
          end: null,
          incomplete: null,
          events: [],
          text: '',
          lastN: 0,
          problems: [],
        };
        w.replies.set(id, r);
      }
      return r;
    },
    /** Reply records for request `requestId` (normally one). */
    forRequest(requestId) {
      return [...w.replies.values()].filter((r) => r.requestId === requestId);
    },
    /** Events of this socket named `event` (payloads), optionally filtered. */
    events(event, filter = () => true) {
      return w.log.filter((e) => e.event === event && filter(e.payload)).map((e) => e.payload);
    },
    until(pred, what, { timeout = DEFAULT_TIMEOUT } = {}) {
      const value = pred();
      if (value) return Promise.resolve(value);
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve,
          timer: setTimeout(() => {
            w.waiters.splice(w.waiters.indexOf(waiter), 1);
            reject(new Error(`timed out after ${timeout} ms waiting for ${what}; bot events so far: ${w.describe()}`));
          }, timeout),
        };
        w.waiters.push(waiter);
      });
    },
    /** The reply to request `requestId`, once it started (bot:start or bot:snapshot seen). */
    started(requestId, opts) {
      return w.until(() => w.forRequest(requestId)[0], `the reply to request ${requestId} to start`, opts);
    },
    /** The reply to request `requestId`, once its bot:end arrived. */
    ended(requestId, opts) {
      return w.until(() => w.forRequest(requestId).find((r) => r.end), `the reply to request ${requestId} to end`, opts);
    },
    /** The reply with message id `id`, once its bot:end arrived. */
    endedId(id, opts) {
      return w.until(() => (w.replies.get(id)?.end ? w.replies.get(id) : null), `bot:end of reply ${id}`, opts);
    },
    /** The first reply in `room` that started, once it started. */
    firstIn(room, opts) {
      return w.until(() => [...w.replies.values()].find((r) => r.room === room && (r.start || r.snapshots.length)), `a reply in room ${room}`, opts);
    },
    /** The reply with message id `id`, once its assembled text equals `text`. */
    hasText(id, text, opts) {
      return w.until(() => (w.replies.get(id)?.text === text ? w.replies.get(id) : null),
        `reply ${id} to read ${JSON.stringify(text)} (has ${JSON.stringify(w.replies.get(id)?.text)})`, opts);
    },
    /** The `bot:queued` event for request `requestId`, once it arrived. */
    queuedFor(requestId, opts) {
      return w.until(() => w.queued.find((q) => q.requestId === requestId), `bot:queued for request ${requestId}`, opts);
    },
    describe() {
      return JSON.stringify(w.log.slice(-12).map((e) => [e.event, e.payload])).slice(0, 1500);
    },
    stop() {
      socket.offAny(onAny);
    },
  };

  const onAny = (event, payload) => {
    if (typeof event !== 'string' || !event.startsWith('bot:')) return;
    w.log.push({ event, payload, order: order++, at: performance.now() });
    if (event === 'bot:queued') {
      w.queued.push(payload);
    } else if (payload && typeof payload === 'object' && typeof payload.id === 'string') {
      const r = w.reply(payload.id);
      r.room ??= payload.room;
      if (payload.requestId !== undefined) r.requestId ??= payload.requestId;
      r.events.push(event.slice(4));
      if (r.end && event !== 'bot:end') r.problems.push(`${event} after bot:end: ${JSON.stringify(payload).slice(0, 200)}`);
      if (event === 'bot:start') {
        if (r.start) r.problems.push('a second bot:start');
        r.start = payload;
      } else if (event === 'bot:snapshot') {
        r.snapshots.push(payload);
        if (typeof payload.n !== 'number' || typeof payload.text !== 'string') {
          r.problems.push(`malformed snapshot ${JSON.stringify(payload).slice(0, 200)}`);
        } else {
          if (payload.n < r.lastN) r.problems.push(`snapshot through n=${payload.n} after delta ${r.lastN} was already seen`);
          if (!payload.text.startsWith(r.text)) {
            r.problems.push(`snapshot text ${JSON.stringify(payload.text)} does not continue what was seen: ${JSON.stringify(r.text)}`);
          }
          r.text = payload.text;
          r.lastN = payload.n;
        }
      } else if (event === 'bot:delta') {
        if (!r.start && r.snapshots.length === 0) r.problems.push(`bot:delta n=${payload.n} before any bot:start or bot:snapshot`);
        if (payload.n !== r.lastN + 1) r.problems.push(`bot:delta n=${payload.n} after n=${r.lastN} (gap or duplicate)`);
        if (typeof payload.text !== 'string') r.problems.push(`bot:delta without text: ${JSON.stringify(payload)}`);
        r.deltas.push({ ...payload, at: performance.now() });
        r.text += payload.text ?? '';
        r.lastN = payload.n;
      } else if (event === 'bot:end') {
        if (r.end) r.problems.push('a second bot:end');
        r.end = payload;
        if (typeof payload.text !== 'string') {
          r.problems.push(`bot:end without text: ${JSON.stringify(payload).slice(0, 200)}`);
        } else if (payload.text !== r.text) {
          // Missing only the tail (a socket too slow for the last deltas) is told apart from a
          // text that disagrees with what was shown.
          if (payload.text.startsWith(r.text)) r.incomplete = `the deltas built ${r.text.length} of ${payload.text.length} characters of the final text`;
          else r.problems.push(`bot:end text ${JSON.stringify(payload.text).slice(0, 300)} is not what start/snapshot/deltas built: ${JSON.stringify(r.text).slice(0, 300)}`);
        }
      }
    }
    for (const waiter of [...w.waiters]) {
      const value = waiter.pred();
      if (value) {
        w.waiters.splice(w.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.resolve(value);
      }
    }
  };
  socket.onAny(onAny);
  return w;
}

/**
 * Assert a reply record has no contract breach and ended with `finishReason`; unless `complete`
 * is false, the deltas (after the start or snapshot) must also have built the whole final text.
 */
export function assertCleanEnd(reply, finishReason, { complete = true } = {}) {
  assert.deepEqual(reply.problems, [], `stream of reply ${reply.id}: ${reply.problems.join('; ')}`);
  assert.ok(reply.end, `reply ${reply.id} has no bot:end`);
  if (complete) assert.equal(reply.incomplete, null, `reply ${reply.id}: ${reply.incomplete}`);
  assert.equal(reply.end.finishReason, finishReason, `finishReason of ${JSON.stringify(reply.end).slice(0, 400)}`);
}

/** The message at `seq` in `room`'s history as `socket` sees it. */
export async function historyAt(socket, room, seq) {
  const res = await socket.timeout(DEFAULT_TIMEOUT).emitWithAck('history', { room, after: seq - 1, limit: 1 });
  assert.equal(res?.ok, true, `history of ${room} after ${seq - 1}: ${JSON.stringify(res)}`);
  assert.equal(res.data.messages.length, 1, `history of ${room} has no message at seq ${seq}: ${JSON.stringify(res.data)}`);
  const m = res.data.messages[0];
  assert.equal(m.seq, seq, `history of ${room} after ${seq - 1}: ${JSON.stringify(m)}`);
  return m;
}

/** A public room created by `owner`, with the bot added and `others` joined; resolves with its id. */
export async function roomWithBot(owner, ...others) {
  const name = `bot-room-${Math.random().toString(36).slice(2, 10)}`;
  const created = await owner.timeout(DEFAULT_TIMEOUT).emitWithAck('create', { name });
  assert.equal(created?.ok, true, `create ${name}: ${JSON.stringify(created)}`);
  const room = created.data.id;
  const added = await owner.timeout(DEFAULT_TIMEOUT).emitWithAck('add', { room, user: BOT_ID });
  assert.equal(added?.ok, true, `add the bot to ${room}: ${JSON.stringify(added)}`);
  for (const other of others) {
    const joined = await other.timeout(DEFAULT_TIMEOUT).emitWithAck('join', { room });
    assert.equal(joined?.ok, true, `join ${room}: ${JSON.stringify(joined)}`);
  }
  return room;
}

/** The text of every message of an OpenAI request body, with its role: [[role, content], ...]. */
export function promptOf(body) {
  assert.ok(body && Array.isArray(body.messages), `request body without messages: ${JSON.stringify(body).slice(0, 500)}`);
  return body.messages.map((m) => [m.role, typeof m.content === 'string' ? m.content : JSON.stringify(m.content)]);
}
