// Rooms: join, leave, emit to a room (sender excluded) and to everyone except a room.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, ask, settle } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

let server;
let harness;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', RELAXED_HEARTBEAT);
  harness = `${server.url}/harness`;
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

/** Connect n /harness sockets, each recording every `event` it receives. */
async function recordingSockets(n, event, opts = {}) {
  const sockets = await Promise.all(Array.from({ length: n }, () => clients.connect(harness, opts)));
  for (const s of sockets) {
    s.received = [];
    s.on(event, (data) => s.received.push(data));
  }
  return sockets;
}

/** Round trip on each socket so anything already queued for it has arrived. */
const settleAll = (sockets) => Promise.all(sockets.map(settle));

for (const transport of ['websocket', 'polling']) {
  test(`${transport}: "to" reaches the room members only, never the sender`, async () => {
    const [a, b, c] = await recordingSockets(3, 'note', { transports: [transport] });
    const room = `to-${transport}`;
    assert.deepEqual(await ask(a, 'join', room), { ok: true });
    assert.deepEqual(await ask(b, 'join', room), { ok: true });

    // A non-member sends to the room: both members get it, the sender does not.
    const aGot = waitFor(a, 'note');
    const bGot = waitFor(b, 'note');
    assert.deepEqual(await ask(c, 'to', { room, event: 'note', data: { from: 'c', n: 1 } }), { ok: true });
    assert.deepEqual(await aGot, { from: 'c', n: 1 });
    assert.deepEqual(await bGot, { from: 'c', n: 1 });

    // A member sends to its own room: the other member gets it, the sender
    // and the non-member do not.
    const bGot2 = waitFor(b, 'note', { filter: (d) => d.n === 2 });
    assert.deepEqual(await ask(a, 'to', { room, event: 'note', data: { from: 'a', n: 2 } }), { ok: true });
    assert.deepEqual(await bGot2, { from: 'a', n: 2 });
    await settleAll([a, b, c]);
    assert.deepEqual(a.received, [{ from: 'c', n: 1 }]);
    assert.deepEqual(b.received, [{ from: 'c', n: 1 }, { from: 'a', n: 2 }]);
    assert.deepEqual(c.received, []);
  });
}

test('leave: a socket that left the room stops receiving its messages', async () => {
  const [a, b, c] = await recordingSockets(3, 'note');
  const room = 'leave-room';
  for (const s of [a, b]) assert.deepEqual(await ask(s, 'join', room), { ok: true });
  assert.deepEqual(await ask(a, 'leave', room), { ok: true });

  const bGot = waitFor(b, 'note');
  assert.deepEqual(await ask(c, 'to', { room, event: 'note', data: 'after leave' }), { ok: true });
  assert.equal(await bGot, 'after leave');
  await settleAll([a, b, c]);
  assert.deepEqual(a.received, []);
  assert.deepEqual(b.received, ['after leave']);

  // Joining again brings the messages back.
  assert.deepEqual(await ask(a, 'join', room), { ok: true });
  const aGot = waitFor(a, 'note');
  assert.deepEqual(await ask(c, 'to', { room, event: 'note', data: 'rejoined' }), { ok: true });
  assert.equal(await aGot, 'rejoined');
});

test('a socket can be in several rooms; a message to one room reaches only that room', async () => {
  const [a, b, c] = await recordingSockets(3, 'note');
  assert.deepEqual(await ask(a, 'join', 'red'), { ok: true });
  assert.deepEqual(await ask(a, 'join', 'blue'), { ok: true });
  assert.deepEqual(await ask(b, 'join', 'blue'), { ok: true });

  const aGot = waitFor(a, 'note');
  assert.deepEqual(await ask(c, 'to', { room: 'red', event: 'note', data: 'red only' }), { ok: true });
  assert.equal(await aGot, 'red only');
  const bGot = waitFor(b, 'note');
  const aGot2 = waitFor(a, 'note', { filter: (d) => d === 'blue' });
  assert.deepEqual(await ask(c, 'to', { room: 'blue', event: 'note', data: 'blue' }), { ok: true });
  assert.equal(await bGot, 'blue');
  assert.equal(await aGot2, 'blue');
  await settleAll([a, b, c]);
  assert.deepEqual(a.received, ['red only', 'blue']);
  assert.deepEqual(b.received, ['blue']);
  assert.deepEqual(c.received, []);
});

test('"except" reaches every socket of the namespace outside the room, never the sender', async () => {
  const [inA, inB, outC, outD] = await recordingSockets(4, 'news');
  // a socket on another namespace of the same server must not receive it
  const other = await clients.connect(`${server.url}/custom`);
  const otherNews = [];
  other.on('news', (d) => otherNews.push(d));

  const room = 'except-room';
  for (const s of [inA, inB]) assert.deepEqual(await ask(s, 'join', room), { ok: true });

  // Sent by a member of the excluded room: only the outsiders get it.
  const cGot = waitFor(outC, 'news');
  const dGot = waitFor(outD, 'news');
  assert.deepEqual(await ask(inA, 'except', { room, event: 'news', data: { n: 1 } }), { ok: true });
  assert.deepEqual(await cGot, { n: 1 });
  assert.deepEqual(await dGot, { n: 1 });

  // Sent by an outsider: the other outsider gets it, the sender and the room do not.
  const dGot2 = waitFor(outD, 'news', { filter: (d) => d.n === 2 });
  assert.deepEqual(await ask(outC, 'except', { room, event: 'news', data: { n: 2 } }), { ok: true });
  assert.deepEqual(await dGot2, { n: 2 });

  await settleAll([inA, inB, outC, outD]);
  assert.deepEqual(inA.received, []);
  assert.deepEqual(inB.received, []);
  assert.deepEqual(outC.received, [{ n: 1 }]);
  assert.deepEqual(outD.received, [{ n: 1 }, { n: 2 }]);
  // /custom echo is a round trip for the other namespace's socket
  const back = waitFor(other, 'message-back');
  other.emit('message', 'barrier');
  assert.equal(await back, 'barrier');
  assert.deepEqual(otherNews, []);
});
