// The room's change log (`rev`) as one client sees it (tests/chat/changes.test.js,
// tests/bot/changes.test.js): a view of a room built from every event that carries a message or
// a change (`message`, `messages`, `edited`, `deleted`, `bot:end`), applied by message id and
// idempotently (a state whose `rev` is not newer than the one held is ignored), with the
// client's bookkeeping as PROTOCOL.md describes it:
//  - seq: the highest seq seen in `message` and `messages`;
//  - rev: the highest rev seen in `message`, `edited`, `deleted` and `bot:end` events, never
//    from the messages of a `messages` batch (their revs may be ahead of changes not replayed).
import assert from 'node:assert/strict';
import { waitFor } from './wait.js';
import { ok } from './chat.js';

const isRev = (r) => Number.isInteger(r) && r >= 0;

/** The fields of a Message that a view must agree with `history` on. */
export const VIEW_FIELDS = ['id', 'seq', 'userId', 'text', 'deleted', 'editedTs', 'status', 'rev', 'finishReason'];

/** A message reduced to `fields` (`deleted` false and absent are the same; `finishReason` from `meta`). */
export function project(m, fields = VIEW_FIELDS) {
  const out = {};
  for (const f of fields) {
    if (f === 'deleted') out.deleted = m.deleted === true;
    else if (f === 'finishReason') out.finishReason = m.meta?.finishReason ?? null;
    else out[f] = m[f] ?? null;
  }
  return out;
}

/**
 * Follow `room` on `socket`. Returns the view:
 *  - byId: message id -> the message in the latest state received;
 *  - log: every relevant event in arrival order: { event, id, seq, rev } (for `messages`:
 *    { event, seqs, revs, ids });
 *  - seq, rev: the bookkeeping above (rev undefined until a change event came);
 *  - stale: states ignored because a newer or equal one was held; orphanEnds: `bot:end`s for a
 *    message the view does not have.
 */
export function changeView(socket, room) {
  const v = {
    room,
    byId: new Map(),
    log: [],
    seq: 0,
    rev: undefined,
    stale: [],
    orphanEnds: [],
    waiters: [],
    /** The messages in seq order. */
    messages() {
      return [...v.byId.values()].sort((a, b) => a.seq - b.seq);
    },
    /** Log entries of the given events (default: the changes). */
    entries(events = ['edited', 'deleted', 'bot:end']) {
      return v.log.filter((e) => events.includes(e.event));
    },
    /** Entries from index `from` of the log on. */
    since(from, events) {
      return v.log.slice(from).filter((e) => !events || events.includes(e.event));
    },
    positions() {
      return { seq: v.seq, rev: v.rev };
    },
    until(pred, what, { timeout = 10000 } = {}) {
      if (pred()) return Promise.resolve(v);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve,
          timer: setTimeout(() => {
            v.waiters.splice(v.waiters.indexOf(w), 1);
            reject(new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what() : what} in room ${room}; `
              + `seq ${v.seq}, rev ${v.rev}, last events ${JSON.stringify(v.log.slice(-12))}`));
          }, timeout),
        };
        v.waiters.push(w);
      });
    },
    /**
     * Resolve once the view equals `expected` (history's messages) on `fields`; on timeout the
     * error shows both.
     */
    untilEquals(expected, { fields = VIEW_FIELDS, timeout = 10000 } = {}) {
      const want = JSON.stringify(expected.map((m) => project(m, fields)));
      const have = () => JSON.stringify(v.messages().map((m) => project(m, fields)));
      return v.until(() => have() === want, () => `the view to equal history:\n  history: ${want}\n  view:    ${have()}\n`, { timeout });
    },
    stop() {
      for (const [event, fn] of handlers) socket.off(event, fn);
    },
  };
  const moveRev = (rev) => {
    if (isRev(rev) && (v.rev === undefined || rev > v.rev)) v.rev = rev;
  };
  const put = (m, how) => {
    const cur = v.byId.get(m.id);
    if (cur && isRev(cur.rev) && isRev(m.rev) && m.rev <= cur.rev) {
      v.stale.push({ how, id: m.id, rev: m.rev, held: cur.rev });
      return;
    }
    v.byId.set(m.id, { ...m });
  };
  const wake = () => {
    for (const w of [...v.waiters]) {
      if (w.pred()) {
        v.waiters.splice(v.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(v);
      }
    }
  };
  const handlers = [
    ['message', (m) => {
      if (m?.room !== room) return;
      v.log.push({ event: 'message', id: m.id, seq: m.seq, rev: m.rev });
      if (m.seq > v.seq) v.seq = m.seq;
      moveRev(m.rev);
      put(m, 'message');
    }],
    ['messages', (b) => {
      if (b?.room !== room) return;
      assert.ok(Array.isArray(b.messages), `"messages" without a messages array: ${JSON.stringify(b).slice(0, 300)}`);
      v.log.push({ event: 'messages', seqs: b.messages.map((m) => m.seq), revs: b.messages.map((m) => m.rev), ids: b.messages.map((m) => m.id) });
      for (const m of b.messages) {
        if (m.seq > v.seq) v.seq = m.seq;
        put(m, 'messages');
      }
    }],
    ...['edited', 'deleted'].map((event) => [event, (m) => {
      if (m?.room !== room) return;
      v.log.push({ event, id: m.id, seq: m.seq, rev: m.rev });
      moveRev(m.rev);
      put(m, event);
    }]),
    ['bot:end', (p) => {
      if (p?.room !== room) return;
      v.log.push({ event: 'bot:end', id: p.id, seq: p.seq, rev: p.rev });
      moveRev(p.rev);
      const cur = v.byId.get(p.id);
      if (!cur) {
        v.orphanEnds.push(p);
      } else if (isRev(cur.rev) && isRev(p.rev) && p.rev <= cur.rev) {
        v.stale.push({ how: 'bot:end', id: p.id, rev: p.rev, held: cur.rev });
      } else {
        const meta = { finishReason: p.finishReason };
        if (p.usage !== undefined) meta.usage = p.usage;
        if (p.error !== undefined) meta.error = p.error;
        const next = { ...cur, text: p.text, rev: p.rev, meta };
        delete next.status;
        v.byId.set(p.id, next);
      }
    }],
  ].map(([event, fn]) => [event, (...args) => {
    fn(...args);
    wake();
  }]);
  for (const [event, fn] of handlers) socket.on(event, fn);
  return v;
}

/** A room's whole history (up to 100 messages), as `socket` reads it. */
export async function historyOf(socket, room) {
  const { messages } = await ok(socket, 'history', { room, after: 0, limit: 100 });
  assert.ok(messages.length < 100, 'history over 100 messages: these tests read one page');
  return messages;
}

/**
 * A client that keeps its positions current in an auth function, as a recovering client does:
 * `since` (the highest seq seen) per room of `rooms` where it saw a message, and unless `withRev`
 * is false, `rev` per room whose rev is known. `socket.views[room]` is the room's `changeView`, `socket.auths` every
 * auth payload sent, `socket.sessions` every `session`. `watch(socket)` runs before the first
 * packet (to add more listeners). Resolves once the first session arrived.
 */
export async function positionsClient(pool, url, { token, rooms, withRev = true, watch, ...opts }, { timeout = 10000 } = {}) {
  const views = {};
  const auths = [];
  const socket = pool.create(url, {
    transports: ['websocket'],
    ...opts,
    auth: (cb) => {
      const auth = { token, since: {} };
      if (withRev) auth.rev = {};
      for (const r of rooms) {
        // A room of which nothing was seen has no position yet: the socket is subscribed to it
        // live (with since 0 the first messages could race into a catch-up batch).
        if (views[r].seq === 0) continue;
        auth.since[r] = views[r].seq;
        if (withRev && views[r].rev !== undefined) auth.rev[r] = views[r].rev;
      }
      auths.push(auth);
      cb(auth);
    },
  });
  for (const r of rooms) views[r] = changeView(socket, r);
  socket.views = views;
  socket.auths = auths;
  socket.sessions = [];
  socket.on('session', (s) => socket.sessions.push(s));
  watch?.(socket);
  socket.session = await waitFor(socket, 'session', { timeout, failOn: ['connect_error'] });
  return socket;
}

/** Connect `socket` again (its auth function sends the current positions) and wait for `session`. */
export async function reconnect(socket, { timeout = 10000 } = {}) {
  const session = waitFor(socket, 'session', { timeout, failOn: ['connect_error'] });
  socket.connect();
  return session;
}

/** Assert that the revs of `entries` are strictly increasing. */
export function assertRevOrder(entries, what) {
  for (let i = 1; i < entries.length; i++) {
    assert.ok(entries[i].rev > entries[i - 1].rev, `${what}: rev ${entries[i].rev} after ${entries[i - 1].rev}: ${JSON.stringify(entries)}`);
  }
}
