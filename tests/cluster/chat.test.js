// Three nodes as one chat (Redis, one PostgreSQL schema, nginx in front): messages, presence,
// typing, receipts and a user's tabs behave across nodes exactly as on one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ok, send, call, cid, unique, roomFeed, assertSeqRange, expectEvent, absent, assertNoSocketIds,
} from '../support/chat.js';
import { startCluster } from '../support/cluster.js';

const QUIET_MS = 600;
const TRANSPORTS = [['polling'], ['websocket'], ['polling', 'websocket']];

test('clients spread over three nodes on both transports chat in one room: every message reaches everyone once, in order, with one seq each', async (t) => {
  const cl = await startCluster(t);
  const users = [];
  // One straight to each node, and more through nginx from addresses its hash spreads.
  for (let i = 0; i < 3; i++) users.push(await cl.user(`Direct${i}`, { node: i }, { transports: TRANSPORTS[i] }));
  for (let n = 2; n < 8; n++) users.push(await cl.user(`Via${n}`, { via: n }, { transports: TRANSPORTS[n % 3] }));
  const room = (await ok(users[0], 'create', { name: unique('hall') })).id;
  for (const u of users.slice(1)) await ok(u, 'join', { room });
  const feeds = users.map((u) => roomFeed(u, room));

  const PER_USER = 12;
  const acks = await Promise.all(users.map(async (u, i) => {
    const mine = [];
    for (let k = 0; k < PER_USER; k++) mine.push(await send(u, room, `from ${i}: ${k}`));
    return mine;
  }));
  const total = users.length * PER_USER;
  const seqs = acks.flat().map((a) => a.seq).sort((a, b) => a - b);
  assertSeqRange(seqs, 1, total, 'acked seqs (no two senders on different nodes share one)');
  for (const [i, feed] of feeds.entries()) {
    await feed.untilSeq(total);
    assertSeqRange(feed.seqs(), 1, total, `${users[i].session.name}'s feed`);
  }
  // Each sender's own messages arrive in the order sent, on every node.
  for (const feed of feeds) {
    for (let i = 0; i < users.length; i++) {
      const texts = feed.messages.filter((m) => m.text.startsWith(`from ${i}:`)).map((m) => m.text);
      assert.deepEqual(texts, Array.from({ length: PER_USER }, (_, k) => `from ${i}: ${k}`));
    }
  }
  assertNoSocketIds();
});

test('presence is cluster-wide: online with a first socket on any node, offline only when the last one anywhere goes', async (t) => {
  const cl = await startCluster(t);
  const ben = await cl.user('Ben', { node: 2 });
  const ada1 = await cl.user('Ada', { node: 0 });
  const { userId: adaId, token } = ada1.session;
  const room = (await ok(ben, 'create', { name: unique('presence') })).id;
  const isAda = (online) => (p) => p?.room === room && p?.user?.userId === adaId && p?.online === online;

  const on = expectEvent(ben, 'presence', { filter: isAda(true) });
  await ok(ada1, 'join', { room });
  await on;

  // Her second tab, on another node: not news.
  const quiet = absent(ben, 'presence', { within: QUIET_MS, filter: (p) => p?.user?.userId === adaId, what: 'presence for a tab on another node' });
  const ada2 = await cl.connect({ token }, { node: 1 });
  await quiet;
  const online = await ok(ben, 'presence', { room });
  assert.deepEqual(online.online.map((u) => u.userId).sort(), [adaId, ben.session.userId].sort());

  // The tab on node 0 closes: she is still online through node 1.
  const quiet2 = absent(ben, 'presence', { within: QUIET_MS, filter: (p) => p?.user?.userId === adaId, what: 'offline while a tab on another node is open' });
  ada1.disconnect();
  await quiet2;

  const off = expectEvent(ben, 'presence', { filter: isAda(false) });
  ada2.disconnect();
  await off;
  assert.deepEqual((await ok(ben, 'presence', { room })).online.map((u) => u.userId), [ben.session.userId]);
});

test('typing and read receipts cross nodes', async (t) => {
  const cl = await startCluster(t);
  const ada = await cl.user('Ada', { node: 0 });
  const ben = await cl.user('Ben', { node: 1 });
  const room = (await ok(ada, 'create', { name: unique('receipts') })).id;
  await ok(ben, 'join', { room });

  const typing = expectEvent(ada, 'typing', { filter: (e) => e?.room === room && e?.user?.userId === ben.session.userId });
  await ok(ben, 'typing', { room, typing: true });
  assert.equal((await typing).typing, true);

  const ack = await send(ada, room, 'did you read this?');
  const read = expectEvent(ada, 'read', { filter: (r) => r?.room === room && r?.seq === ack.seq });
  await ok(ben, 'read', { room, seq: ack.seq });
  assert.equal((await read).userId, ben.session.userId);
});

test('a user\'s tabs on different nodes join and leave a room together', async (t) => {
  const cl = await startCluster(t);
  const tab0 = await cl.user('Ada', { node: 0 });
  const tab2 = await cl.connect({ token: tab0.session.token }, { node: 2 });
  const ben = await cl.user('Ben', { node: 1 });
  const room = (await ok(ben, 'create', { name: unique('tabs') })).id;

  const joined = expectEvent(tab2, 'joined', { filter: (r) => r?.id === room });
  await ok(tab0, 'join', { room });
  await joined;
  const feed2 = roomFeed(tab2, room);
  const ack = await send(ben, room, 'both tabs?');
  await feed2.untilSeq(ack.seq);

  const left = expectEvent(tab2, 'left', { filter: (r) => r?.room === room || r?.id === room });
  await ok(tab0, 'leave', { room });
  await left;
  const quiet = absent(tab2, 'message', { within: QUIET_MS, filter: (m) => m?.room === room, what: 'a message after leaving' });
  await send(ben, room, 'gone?');
  await quiet;
});

test('rate limits hold per user across the nodes: her tab on another node shares her bucket, Ben has his own', async (t) => {
  const cl = await startCluster(t, { nodes: 2, nginx: false, args: ['--rate-limit-per-sec', '1', '--rate-limit-burst', '3'] });
  const ada = await cl.user('Ada', { node: 0 });
  const tab = await cl.connect({ token: ada.session.token }, { node: 1 });
  const ben = await cl.user('Ben', { node: 1 });
  const room = (await ok(ada, 'create', { name: unique('limits') })).id;
  await ok(ben, 'join', { room });
  // Her burst of three, spent from both nodes.
  await send(ada, room, 'one');
  await send(tab, room, 'two');
  await send(ada, room, 'three');
  const res = await call(tab, 'send', { room, text: 'four', clientId: cid() });
  assert.equal(res.ok, false, `a fourth send within the second was accepted: ${JSON.stringify(res)}`);
  assert.equal(res.error.code, 'rate_limited');
  assert.ok(res.error.retryAfter > 0, JSON.stringify(res.error));
  await send(ben, room, 'mine');
});
