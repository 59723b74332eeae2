// Losing a part of the cluster under traffic: a node killed with kill -9 (its clients move
// through nginx to another node and recover by position), Redis restarted (every node serves its
// own clients meanwhile, /readyz says so, and feeds replay what the bus lost), and a dead node's
// users leaving presence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  call, ok, unique, assertSeqRange, expectEvent, resumingClient, connectUser,
} from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import { startCluster, fromAddress, readyz, untilLogs } from '../support/cluster.js';

/** How long a dead node may stay in presence: it is out 8 s after its last beat (TTL 6 s + a 2 s look), with room to spare. */
const PRESENCE_BOUND_MS = 12000;

/**
 * Sends `count` messages from `socket` one after another, each with its own clientId, and retries
 * one whose ack does not come (its node died, the client is reconnecting) with the same clientId
 * until it is acked. Resolves with the acks in order.
 */
async function sendAll(socket, room, name, count, { after = () => {} } = {}) {
  const acks = [];
  for (let k = 0; k < count; k++) {
    const clientId = `${name}-${k}`;
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 40, `${clientId}: never acked`);
      const res = await call(socket, 'send', { room, text: `${name} #${k}`, clientId }, { timeout: 2000 }).catch(() => null);
      if (res?.ok) {
        acks.push(res.data);
        break;
      }
      assert.ok(res === null || res.error?.code !== 'bad_request', `${clientId}: ${JSON.stringify(res)}`);
      if (!socket.connected) await waitFor(socket, 'session', { timeout: 20000 });
    }
    after(k);
  }
  return acks;
}

/**
 * The node whose log names the most of `addrs` as a connection's address (`addr=…`), once
 * every one of them is in some node's log (stderr is read as it comes).
 */
function busiestNode(cl, addrs) {
  const names = (log, a) => new RegExp(`addr=${a.replaceAll('.', '\\.')}\\b`).test(log);
  return untilLogs(cl.nodes, (logs) => {
    if (!addrs.every((a) => logs.some((log) => names(log, a)))) return null;
    const counts = logs.map((log) => addrs.filter((a) => names(log, a)).length);
    const i = counts.indexOf(Math.max(...counts));
    return { i, count: counts[i] };
  }, 'not every client address is in the nodes\' logs');
}

test('kill -9 of a node under traffic: its clients reconnect through nginx to another node and recover by position; every acked message reaches everyone once', { timeout: 90000 }, async (t) => {
  const cl = await startCluster(t, { args: ['--log-filter', 'warn,server::chat=info'] });
  const host = await cl.user('Host', { node: 0 });
  const room = (await ok(host, 'create', { name: unique('survive') })).id;
  const addrs = [2, 3, 4, 5, 6, 7];
  const users = [];
  for (const n of addrs) {
    const guest = await cl.user(`Via${n}`, { via: n });
    await ok(guest, 'join', { room });
    const { token } = guest.session;
    guest.disconnect();
    // A client as PROTOCOL.md describes: it reconnects by itself, resuming after what it saw.
    users.push(await resumingClient(cl.clients, cl.nginx.url, {
      token, rooms: [room], ...fromAddress(n), reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 1000,
    }));
  }
  const { i: victim, count } = await busiestNode(cl, addrs.map((n) => `127.0.0.${n}`));
  assert.ok(count > 0, 'no client through nginx landed on any node');
  t.diagnostic(`killing node ${victim}, which serves ${count} of ${addrs.length} clients`);

  const PER_USER = 30;
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    cl.nodes[victim].proc.kill('SIGKILL');
  };
  const acks = await Promise.all(users.map((u, i) => sendAll(u, room, `u${i}`, PER_USER, {
    after: (k) => { if (i === 0 && k === PER_USER / 3) kill(); },
  })));
  assert.equal((await cl.nodes[victim].exited).signal, 'SIGKILL');

  const total = users.length * PER_USER;
  assertSeqRange(acks.flat().map((a) => a.seq).sort((a, b) => a - b), 1, total, 'acked seqs (stored once each, whichever node acked)');
  const moved = users.filter((u) => u.sessions.length > 1).length;
  assert.ok(moved >= count, `${count} clients were on the dead node but only ${moved} reconnected`);
  for (const [i, u] of users.entries()) {
    const feed = u.feeds[room];
    await feed.untilSeq(total, { timeout: 20000 });
    assertSeqRange(feed.seqs(), 1, total, `feed of user ${i} (${u.sessions.length} session(s))`);
    const byId = new Map(feed.messages.map((m) => [m.id, m]));
    for (const a of acks.flat()) assert.equal(byId.get(a.id)?.seq, a.seq, `acked ${a.id} at seq ${a.seq}`);
  }
});

test('Redis restarted under traffic: every node serves its own clients, /readyz names redis, delivery across nodes resumes and feeds replay the gap', { timeout: 90000 }, async (t) => {
  const cl = await startCluster(t, { privateRedis: true, nginx: false });
  const host = await cl.user('Host', { node: 0 });
  const room = (await ok(host, 'create', { name: unique('outage') })).id;
  // Two users on each node, kept current by position.
  const users = [];
  for (let i = 0; i < 6; i++) {
    const node = i % 3;
    const guest = await cl.user(`U${i}`, { node });
    await ok(guest, 'join', { room });
    const { token } = guest.session;
    guest.disconnect();
    users.push(await resumingClient(cl.clients, cl.nodes[node].url, { token, rooms: [room] }));
  }
  // Each user sends `n` messages; the acks per user.
  const round = (tag, n) => Promise.all(users.map((u, i) => sendAll(u, room, `${tag}${i}`, n)));

  const before = (await round('a', 5)).flat();
  await cl.redis.stop();
  const down = Date.now();
  for (const node of cl.nodes) {
    const body = await readyz(node, 503);
    assert.ok(body.down.some((d) => d.name === 'redis'), `/readyz body: ${JSON.stringify(body)}`);
  }
  // Redis stays away for 10 s of traffic: every send is still stored and acked, and the
  // sender's own node delivers it to its members there.
  const during = [];
  let last = [];
  for (let r = 0; r === 0 || Date.now() - down < 10000; r++) {
    last = await round(`b${r}-`, 2);
    during.push(...last.flat());
  }
  for (const [i, u] of users.entries()) {
    const neighbour = (i + 3) % 6; // the other user on the same node
    const theirs = last[neighbour].map((a) => a.id);
    const feed = u.feeds[room];
    await feed.until(() => theirs.every((id) => feed.messages.some((m) => m.id === id)), `user ${neighbour}'s messages on their node`, 10000);
  }

  await cl.redis.start();
  for (const node of cl.nodes) await readyz(node, 200);
  const after = (await round('c', 5)).flat();
  const total = before.length + during.length + after.length;
  assertSeqRange([...before, ...during, ...after].map((a) => a.seq).sort((a, b) => a - b), 1, total, 'acked seqs');
  for (const [i, u] of users.entries()) {
    await u.feeds[room].untilSeq(total, { timeout: 20000 });
    assertSeqRange(u.feeds[room].seqs(), 1, total, `feed of user ${i} on node ${i % 3}`);
  }
});

test('a node killed with kill -9: its users leave presence on the other nodes within the stated bound', { timeout: 60000 }, async (t) => {
  const cl = await startCluster(t, { nginx: false });
  const ben = await cl.user('Ben', { node: 0 });
  const room = (await ok(ben, 'create', { name: unique('ghosts') })).id;
  const ada = await connectUser(cl.clients, cl.nodes[1].url, { name: 'Ada' }, { reconnection: false });
  const adaId = ada.session.userId;
  const arrived = expectEvent(ben, 'presence', { filter: (p) => p?.room === room && p?.user?.userId === adaId && p.online });
  await ok(ada, 'join', { room });
  await arrived;

  const left = expectEvent(ben, 'presence', {
    timeout: PRESENCE_BOUND_MS,
    filter: (p) => p?.room === room && p?.user?.userId === adaId && p.online === false,
  });
  cl.nodes[1].proc.kill('SIGKILL');
  await left;
  assert.deepEqual((await ok(ben, 'presence', { room })).online.map((u) => u.userId), [ben.session.userId]);
});
