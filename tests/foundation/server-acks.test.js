// Server -> client acknowledgements with timeouts, for one socket and for a whole room.
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

test('ask: a client that never acks makes the server report a timeout; a late ack is harmless', async () => {
  const socket = await clients.connect(harness);
  const question = waitFor(socket, 'question', { all: true }); // receives, never acks
  const timeoutMs = 300;
  const started = Date.now();
  const res = await ask(socket, 'ask', { timeoutMs, data: { q: 'anyone there?' } });
  const elapsed = Date.now() - started;

  const [data, ack] = await question;
  assert.deepEqual(data, { q: 'anyone there?' });
  assert.equal(typeof ack, 'function', 'the question must request an ack');
  assert.equal(res.ok, false);
  assert.equal(res.error?.code, 'timeout');
  assert.equal(typeof res.error.message, 'string');
  assert.ok(res.error.message.length > 0);
  assert.ok(elapsed >= timeoutMs - 50, `timeout reported after ${elapsed} ms, before the ${timeoutMs} ms deadline`);

  // Acking after the deadline must not break anything.
  ack('too late');
  socket.once('question', (d, cb) => cb({ echo: d }));
  const second = await ask(socket, 'ask', { timeoutMs: 3000, data: 'second' });
  assert.deepEqual(second, { ok: true, answer: { echo: 'second' } });
});

test('ask: a client that acks in time gets its first ack argument back as the answer', async () => {
  const socket = await clients.connect(harness, { transports: ['polling'] });
  socket.once('question', (data, cb) => cb({ doubled: data.n * 2 }, 'ignored second arg'));
  const res = await ask(socket, 'ask', { timeoutMs: 3000, data: { n: 21 } });
  assert.deepEqual(res, { ok: true, answer: { doubled: 42 } });
});

async function harnessSockets(n) {
  return Promise.all(Array.from({ length: n }, () => clients.connect(harness)));
}

test('gather: a room broadcast collects every member\'s ack and counts the member that never answered', async () => {
  const [a, b, c, outsider, caller] = await harnessSockets(5);
  const room = 'gather-room-1';
  for (const s of [a, b, c]) assert.deepEqual(await ask(s, 'join', room), { ok: true });

  a.on('question', (r, cb) => cb({ who: 'a', room: r }));
  b.on('question', (r, cb) => cb({ who: 'b', room: r }));
  const silentGotIt = waitFor(c, 'question', { all: true }); // c hears it but never acks
  const outsiderQuestions = [];
  outsider.on('question', (...args) => outsiderQuestions.push(args));
  const callerQuestions = [];
  caller.on('question', (...args) => callerQuestions.push(args));

  const res = await ask(caller, 'gather', { room, timeoutMs: 500 });
  assert.equal(res.ok, true);
  assert.equal(res.timeouts, 1);
  assert.ok(Array.isArray(res.answers));
  const sorted = [...res.answers].sort((x, y) => x.who.localeCompare(y.who));
  assert.deepEqual(sorted, [{ who: 'a', room }, { who: 'b', room }]);

  const [silentRoom, silentAck] = await silentGotIt;
  assert.equal(silentRoom, room);
  assert.equal(typeof silentAck, 'function');

  // Non-members are not asked (the ack above is a barrier for the caller).
  await settle(outsider);
  assert.deepEqual(outsiderQuestions, []);
  assert.deepEqual(callerQuestions, []);
});

test('gather: the sender is asked too when it is a member, and all answers arrive', async () => {
  const [a, b, caller] = await harnessSockets(3);
  const room = 'gather-room-2';
  for (const s of [a, b, caller]) assert.deepEqual(await ask(s, 'join', room), { ok: true });
  a.on('question', (_r, cb) => cb('a'));
  b.on('question', (_r, cb) => cb('b'));
  caller.on('question', (_r, cb) => cb('caller'));

  const res = await ask(caller, 'gather', { room, timeoutMs: 3000 });
  assert.equal(res.ok, true);
  assert.equal(res.timeouts, 0);
  assert.deepEqual([...res.answers].sort(), ['a', 'b', 'caller']);
});

test('gather: an empty room answers at once with no answers and no timeouts', async () => {
  const [caller] = await harnessSockets(1);
  // the room timeout is far above the ask timeout: the answer must not wait for it
  const res = await ask(caller, 'gather', { room: 'nobody-here', timeoutMs: 30_000 }, { timeout: 5000 });
  assert.deepEqual(res, { ok: true, answers: [], timeouts: 0 });
});
