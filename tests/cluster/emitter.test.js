// The Node emitter (@socket.io/redis-emitter 5, from npm) publishing into a cluster of two
// nodes: its `key` is the nodes' --redis-prefix, a room is a chat room's id as clients know it,
// `user:<id>` is every socket of that user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';
import { ok, send, unique, expectEvent, absent, assertNoSocketIds } from '../support/chat.js';
import { startCluster } from '../support/cluster.js';

const QUIET_MS = 600;

/** An emitter on the shared Redis with `key`, closed after the test. */
async function emitterFor(t, key) {
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  await redis.connect();
  t.after(() => redis.quit());
  return new Emitter(redis, { key });
}

/** Two nodes; Ann on node 0 and Ben on node 1 in one room, Cid (on node 1) elsewhere. */
async function twoNodes(t) {
  const cl = await startCluster(t, { nodes: 2, nginx: false });
  const ann = await cl.user('Ann', { node: 0 });
  const ben = await cl.user('Ben', { node: 1 }, { transports: ['polling'] });
  const cid = await cl.user('Cid', { node: 1 });
  const room = (await ok(ann, 'create', { name: unique('news') })).id;
  await ok(ben, 'join', { room });
  return { cl, ann, ben, cid, room, emitter: await emitterFor(t, cl.prefix) };
}

test('io.to(room).emit reaches the room\'s sockets on every node with every argument, and no one else', async (t) => {
  const { ann, ben, cid, room, emitter } = await twoNodes(t);
  const args = (...a) => a;
  const got = [ann, ben].map((u) => expectEvent(u, 'announce', { all: true }));
  const notCid = absent(cid, 'announce', { within: QUIET_MS, what: 'an announcement for a room Cid is not in' });
  emitter.to(room).emit('announce', { text: 'deploy at noon' }, 42, 'x');
  for (const g of got) assert.deepEqual(await g, args({ text: 'deploy at noon' }, 42, 'x'));
  await notCid;
  assertNoSocketIds();
});

test('a binary argument arrives as binary', async (t) => {
  const { ben, room, emitter } = await twoNodes(t);
  const got = expectEvent(ben, 'blob', { all: true });
  emitter.to(room).emit('blob', Buffer.from([1, 2, 3, 250]), 'tag');
  const [blob, tag] = await got;
  assert.ok(Buffer.isBuffer(blob) || blob instanceof ArrayBuffer, `binary, not ${JSON.stringify(blob)}`);
  assert.deepEqual([...new Uint8Array(blob)], [1, 2, 3, 250]);
  assert.equal(tag, 'tag');
});

test('io.to("user:<id>") reaches every socket of that user on every node; io.except leaves them out', async (t) => {
  const { cl, ann, ben, cid, emitter } = await twoNodes(t);
  const annTab = await cl.connect({ token: ann.session.token }, { node: 1 });
  const mine = [ann, annTab].map((s) => expectEvent(s, 'for-you'));
  const notBen = absent(ben, 'for-you', { within: QUIET_MS, what: 'an event for Ann reaching Ben' });
  emitter.to(`user:${ann.session.userId}`).emit('for-you', 1);
  for (const m of mine) assert.equal(await m, 1);
  await notBen;

  // Everyone but Ann: Ben and Cid on node 1, not either of Ann's sockets.
  const others = [ben, cid].map((s) => expectEvent(s, 'not-ann'));
  const notAnn = [ann, annTab].map((s) => absent(s, 'not-ann', { within: QUIET_MS, what: 'an event excepting Ann reaching her' }));
  emitter.except(`user:${ann.session.userId}`).emit('not-ann', 2);
  for (const o of others) assert.equal(await o, 2);
  await Promise.all(notAnn);
});

test('io.emit reaches every chat socket on every node', async (t) => {
  const { ann, ben, cid, emitter } = await twoNodes(t);
  const all = [ann, ben, cid].map((s) => expectEvent(s, 'maintenance'));
  emitter.emit('maintenance', { in: '5m' });
  for (const a of all) assert.deepEqual(await a, { in: '5m' });
});

test('an emitter cannot forge chat events, and one with another key or namespace reaches nobody', async (t) => {
  const { cl, ann, ben, room, emitter } = await twoNodes(t);
  const forged = absent(ben, 'message', { within: QUIET_MS, filter: (m) => m?.text === 'forged', what: 'a forged chat message' });
  const forgedBot = absent(ben, 'bot:delta', { within: QUIET_MS, what: 'a forged bot delta' });
  emitter.to(room).emit('message', { room, text: 'forged', seq: 999 });
  emitter.to(room).emit('bot:delta', { room, text: 'forged' });
  const stranger = await emitterFor(t, `${cl.prefix}-other`);
  const wrongKey = absent(ben, 'hello', { within: QUIET_MS, what: 'an event from an emitter of another cluster' });
  stranger.to(room).emit('hello', 'wrong key');
  const wrongNsp = absent(ben, 'hello', { within: QUIET_MS, filter: (v) => v === 'admin', what: 'an event for another namespace' });
  emitter.of('/admin').emit('hello', 'admin');
  // Requests the nodes' adapter does not take (docs/EMITTER.md): ignored, nobody disconnected.
  emitter.disconnectSockets(true);
  emitter.in(room).socketsJoin('elsewhere');
  await Promise.all([forged, forgedBot, wrongKey, wrongNsp]);
  // The nodes are still listening: a proper event goes through after all that, and chat
  // between the nodes still works.
  const fine = expectEvent(ben, 'hello');
  emitter.to(room).emit('hello', 'right key');
  assert.equal(await fine, 'right key');
  const chat = expectEvent(ben, 'message', { filter: (m) => m?.text === 'still here' });
  await send(ann, room, 'still here');
  await chat;
  assert.ok(ann.connected && ben.connected, 'nobody was disconnected');
});
