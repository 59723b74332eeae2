// Durability: an acked message survives `kill -9` of the server. After a restart on the same
// database, a client replaying from `since: 0` gets every acked message exactly once, in seq
// order, and resending unacknowledged messages with their clientIds never duplicates one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { clientPool } from '../support/clients.js';
import {
  backends, launch, connectUser, ok, call, cid, unique, roomFeed, assertSeqRange, removeTempDirs, tempDir,
} from '../support/chat.js';

const SECRET = `durable-${crypto.randomBytes(8).toString('hex')}`;
const FLAGS = ['--jwt-secret', SECRET, '--rate-limit-per-sec', '10000', '--rate-limit-burst', '10000'];
/** Sends in flight at once: well under the default per-socket queue (128 packets). */
const WINDOW = 25;

/** A database that outlives server processes, and a way to (re)start a server on it. */
function durableSetup(t, backend) {
  const clients = clientPool();
  const state = { db: null, servers: [] };
  t.after(async () => {
    clients.closeAll();
    for (const s of state.servers) await s.stop();
    await state.db?.drop();
    await removeTempDirs();
  });
  return {
    clients,
    async start(db) {
      state.db ??= db ?? await backend.database({ file: true });
      const server = await launch([...state.db.args, ...FLAGS]);
      state.servers.push(server);
      return server;
    },
  };
}

/**
 * Send `texts` (clientId `${prefix}-${i}`) in order with at most WINDOW unacknowledged; when
 * `killAt` acks have arrived, SIGKILL `server` on the spot and stop sending. Resolves with the
 * acks by index (null: none came).
 */
async function sendThenKill(socket, server, room, texts, prefix, killAt) {
  const acks = new Array(texts.length).fill(null);
  let next = 0;
  let got = 0;
  let killed = false;
  const worker = async () => {
    while (!killed && next < texts.length) {
      const i = next++;
      const res = await call(socket, 'send', { room, text: texts[i], clientId: `${prefix}-${i}` }, { timeout: 20000 })
        .catch((err) => (killed ? null : Promise.reject(err)));
      if (res === null) continue;
      assert.equal(res.ok, true, `send ${i}: ${JSON.stringify(res)}`);
      acks[i] = res.data;
      if (++got === killAt && !killed) {
        killed = true;
        server.proc.kill('SIGKILL'); // right after the ack, nothing awaited in between
      }
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  assert.ok(killed, 'the server was not killed');
  return acks;
}

for (const backend of backends()) {
  describe(backend.name, () => {
    test('every acked message survives kill -9 and is replayed exactly once, in seq order', { timeout: 40000 }, async (t) => {
      const setup = durableSetup(t, backend);
      const N = 300;
      const first = await setup.start();
      const ada = await connectUser(setup.clients, first.url, { name: 'Ada' });
      const token = ada.session.token;
      const room = (await ok(ada, 'create', { name: unique('durable') })).id;

      const texts = Array.from({ length: N }, (_, i) => `durable #${i} ${crypto.randomBytes(6).toString('hex')}`);
      const acks = await sendThenKill(ada, first, room, texts, 'd', N);
      const { signal } = await first.exited;
      assert.equal(signal, 'SIGKILL');
      assertSeqRange(acks.map((a) => a.seq), 1, N, 'acked seqs');

      const second = await setup.start();
      const back = setup.clients.create(second.url, { transports: ['websocket'], auth: { token, since: { [room]: 0 } } });
      const feed = roomFeed(back, room);
      const session = await new Promise((resolve, reject) => {
        back.once('session', resolve);
        back.once('connect_error', reject);
      });
      assert.equal(session.userId, ada.session.userId, 'the guest token still names the same user after a restart');
      await feed.untilSeq(N, { timeout: 15000 });

      // One more, live, closes the replay: nothing may come twice or out of order.
      const live = await ok(back, 'send', { room, text: 'after restart', clientId: cid() });
      assert.equal(live.seq, N + 1);
      await feed.untilSeq(N + 1);
      assertSeqRange(feed.seqs(), 1, N + 1, 'replayed then live');
      for (let i = 0; i < N; i++) {
        const m = feed.messages[i];
        assert.equal(m.id, acks[i].id, `seq ${m.seq}: id`);
        assert.equal(m.text, texts[i], `seq ${m.seq}: text`);
        assert.equal(m.ts, acks[i].ts, `seq ${m.seq}: ts`);
      }
      assert.ok(feed.batches > 0, 'the replay should come as `messages` batches');
      t.diagnostic(`${feed.batches} batch(es), ${feed.live} live message(s)`);

      // Resending an acked message (a client that never saw its ack) returns the stored ack.
      assert.deepEqual(await ok(back, 'send', { room, text: texts[7], clientId: 'd-7' }), acks[7]);
    });

    test('killed mid-stream: acked messages are kept, and resending everything by clientId fills the rest once', { timeout: 40000 }, async (t) => {
      const setup = durableSetup(t, backend);
      const N = 200;
      const KILL_AT = 100;
      const first = await setup.start();
      const ada = await connectUser(setup.clients, first.url, { name: 'Ada' });
      const token = ada.session.token;
      const room = (await ok(ada, 'create', { name: unique('midstream') })).id;

      const texts = Array.from({ length: N }, (_, i) => `stream #${i}`);
      const acks = await sendThenKill(ada, first, room, texts, 's', KILL_AT);
      await first.exited;
      const acked = acks.map((a, i) => (a ? i : -1)).filter((i) => i >= 0);
      assert.ok(acked.length >= KILL_AT);

      const second = await setup.start();
      const again = await connectUser(setup.clients, second.url, { token });
      // The client resends everything, in order, by clientId (it cannot know what was stored).
      const resent = [];
      for (let i = 0; i < N; i++) resent.push(await ok(again, 'send', { room, text: texts[i], clientId: `s-${i}` }));
      for (const i of acked) assert.deepEqual(resent[i], acks[i], `message ${i} was acked before the kill and must keep its ack`);
      assertSeqRange(resent.map((a) => a.seq).sort((a, b) => a - b), 1, N, 'seqs after resending');
      // Storage holds each message once.
      const stored = [];
      for (let after = 0; stored.length < N;) {
        const page = (await ok(again, 'history', { room, after, limit: 100 })).messages;
        if (page.length === 0) break;
        stored.push(...page);
        after = page.at(-1).seq;
      }
      assertSeqRange(stored.map((m) => m.seq), 1, N, 'stored seqs');
      assert.deepEqual(stored.map((m) => m.clientId).sort(), texts.map((_, i) => `s-${i}`).sort());
      assert.deepEqual((await ok(again, 'history', { room, after: N })).messages, []);
      t.diagnostic(`${acked.length} acked before the kill`);
    });

    if (backend.name === 'sqlite') {
      test('--database-url sqlite://FILE: a new file is created and keeps its messages across a restart', { timeout: 20000 }, async (t) => {
        const dir = await tempDir('chat-sqlite-url-');
        const file = path.join(dir, 'explicit.db');
        const db = { args: ['--database-url', `sqlite://${file}`, '--data-dir', dir], drop: async () => {} };
        const setup = durableSetup(t, backend);
        const first = await setup.start(db);
        assert.ok(existsSync(file), `${file} was not created`);
        const ada = await connectUser(setup.clients, first.url, { name: 'Ada' });
        const room = (await ok(ada, 'create', { name: unique('file') })).id;
        const ack = await ok(ada, 'send', { room, text: 'kept', clientId: cid() });
        first.proc.kill('SIGKILL');
        await first.exited;
        const second = await setup.start(db);
        const back = await connectUser(setup.clients, second.url, { token: ada.session.token });
        const history = (await ok(back, 'history', { room })).messages;
        assert.deepEqual(history.map((m) => [m.id, m.seq, m.text]), [[ack.id, ack.seq, 'kept']]);
      });
    }
  });
}
