// Change positions through the library, against the real server: the client sends `auth.rev`
// next to `auth.since`, so that after a disconnection (or a reload) the edits, deletions and
// ends of bot replies it missed arrive as `edited`, `deleted` and `reply` events, once, and an
// application that applies them by message id has the room as `history` returns it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, supports, CALM } from './helpers/server.js';
import { startFakeLlm } from './helpers/fake-llm.js';
import { makeClient, guest, closeAll, unique } from './helpers/clients.js';
import { next } from './helpers/wait.js';
import { memoryStorage } from '../src/client.js';

const hasBot = supports('--llm-base-url');
let server;
let llm;
before(async () => {
  llm = hasBot ? await startFakeLlm() : null;
  server = await startServer({ args: [...CALM, ...(llm ? ['--llm-base-url', llm.url, '--bot-name', 'Assistant'] : [])] });
});
after(async () => {
  closeAll();
  await cleanup();
  await llm?.close();
});

/**
 * A room as an application keeps it from the client's events: `message` (live or replayed),
 * `edited`, `deleted`, and finished `reply`s, by message id. `until(pred)` waits for any of them.
 */
function appView(client, room) {
  const byId = new Map();
  const events = [];
  const waiters = new Set();
  const changed = () => {
    for (const w of [...waiters]) if (w.pred()) w.done();
  };
  client.on('message', (m) => {
    if (m.room !== room) return;
    events.push(['message', m.seq, m.rev]);
    byId.set(m.id, { ...m });
    changed();
  });
  for (const kind of ['edited', 'deleted']) {
    client.on(kind, (m) => {
      if (m.room !== room) return;
      events.push([kind, m.seq, m.rev]);
      byId.set(m.id, { ...byId.get(m.id), ...m });
      changed();
    });
  }
  client.on('reply', (r) => {
    if (r.room !== room || !r.done) return;
    events.push(['reply', r.seq, r.rev]);
    const m = byId.get(r.id);
    if (m) {
      byId.set(r.id, { ...m, text: r.text, status: undefined, rev: r.rev ?? m.rev });
    }
    changed();
  });
  const view = {
    byId,
    events,
    rows: () => [...byId.values()].sort((a, b) => a.seq - b.seq).map(row),
    until(pred, what, timeout = 10000) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          done: () => {
            clearTimeout(w.timer);
            waiters.delete(w);
            resolve();
          },
          timer: setTimeout(() => {
            waiters.delete(w);
            reject(new Error(`${typeof what === 'function' ? what() : what} not met within ${timeout} ms`));
          }, timeout),
        };
        waiters.add(w);
      });
    },
    /** Wait until the view equals `messages` (history). */
    untilEquals(messages) {
      const want = JSON.stringify(messages.map(row));
      return view.until(() => JSON.stringify(view.rows()) === want,
        () => `the view to equal history\n  history: ${want}\n  view:    ${JSON.stringify(view.rows())}\n`);
    },
  };
  return view;
}
const row = (m) => [m.seq, m.text, m.deleted === true, m.status ?? null, m.rev ?? null];

test('away while messages are edited, deleted and sent: back with since + rev, the view equals history', async () => {
  const ada = await guest(server.url, 'Ada');
  const ben = await guest(server.url, 'Ben');
  const room = (await ada.createRoom(unique('Changes'))).id;
  await ben.join(room);
  const view = appView(ben, room);
  const sent = [];
  for (let i = 1; i <= 3; i++) sent.push(await ada.send(room, `message ${i}`));
  await view.until(() => view.byId.size === 3, 'three live messages');
  assert.deepEqual(view.rows().map((r) => r[4]), [1, 2, 3], 'each message carries its rev');
  assert.equal(ben.lastRev(room), 3);

  ben.disconnect();
  assert.deepEqual(ben.authPayload().since, { [room]: 3 });
  assert.deepEqual(ben.authPayload().rev, { [room]: 3 }, 'the position travels in auth.rev');
  await ada.edit(room, sent[0].id, 'message 1, edited');
  await ada.remove(room, sent[1].id);
  const fourth = await ada.send(room, 'message 4');
  await ada.edit(room, fourth.id, 'message 4, edited');
  await ada.edit(room, sent[0].id, 'message 1, edited twice');

  const from = view.events.length;
  await ben.connect();
  const { messages } = await ada.history(room);
  await view.untilEquals(messages);
  await ben.listRooms(); // a round trip: the whole replay has arrived
  const replay = view.events.slice(from);
  // Message 4 once (latest state); message 1's edit and message 2's deletion once each.
  assert.deepEqual(replay.filter(([kind]) => kind === 'message'), [['message', 4, 7]]);
  assert.deepEqual(replay.filter(([kind, seq]) => kind !== 'message' && seq <= 3), [['deleted', 2, 5], ['edited', 1, 8]]);
  assert.ok(!replay.some(([kind, seq]) => kind === 'edited' && seq === 4), 'the edit of message 4 was repeated after its latest state');
  assert.equal(ben.lastRev(room), 8);
  assert.equal(ben.lastSeq(room), 4);

  // A reload (a new client on the same storage) resumes from the stored rev: nothing again.
  const storage = ben.store.storage;
  assert.deepEqual(JSON.parse(storage.getItem('chat:rev')), { [room]: 8 });
  ben.disconnect();
  const again = makeClient(server.url, { storage });
  const againView = appView(again, room);
  await again.connect();
  await again.listRooms();
  assert.deepEqual(againView.events, [], 'a reload with current positions got a replay');
  const edit = next(again, 'edited');
  await ada.edit(room, fourth.id, 'message 4, edited live');
  assert.equal((await edit).rev, 9);
});

test('a reload while a bot reply streams: after it ended, the reply event brings the final text', { skip: hasBot ? false : 'no bot in this build' }, async () => {
  const ada = await guest(server.url, 'Ada');
  const storage = memoryStorage();
  const ben = makeClient(server.url, { name: 'Ben', storage });
  await ben.connect();
  const room = (await ada.createRoom(unique('Bot changes'))).id;
  await ada.addMember(room, 'bot');
  await ben.join(room);
  const view = appView(ben, room);
  await ada.send(room, '@bot a long answer please');
  const growing = await next(ben, 'reply', { filter: (r) => r.room === room && r.text.length > 10 });
  assert.equal(view.byId.get(growing.id)?.status, 'streaming');
  ben.disconnect();

  // Ada stops the reply while Ben is away (its partial text is stored).
  const ended = next(ada, 'reply', { filter: (r) => r.id === growing.id && r.done });
  await ada.cancelReply(room, growing.id);
  const end = await ended;
  assert.equal(end.finishReason, 'cancelled');

  // A reload: the new client never saw the reply stream; the app shows what it had.
  const again = makeClient(server.url, { storage });
  const againView = appView(again, room);
  for (const m of view.byId.values()) againView.byId.set(m.id, { ...m });
  const done = next(again, 'reply', { filter: (r) => r.id === growing.id && r.done });
  await again.connect();
  const r = await done;
  assert.equal(r.text, end.text);
  assert.equal(r.finishReason, 'cancelled');
  assert.equal(r.rev, end.rev);
  const { messages } = await ada.history(room);
  await againView.untilEquals(messages);
  assert.deepEqual(again.streaming(room), []);
});
