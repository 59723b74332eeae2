// The outbox across a server restart: messages sent while the server is down wait with their
// clientIds and go out exactly once when the connection is back (same port, same SQLite file);
// an unacknowledged message is sent again with the same clientId and stored once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { startServer, cleanup, CALM } from './helpers/server.js';
import { makeClient, closeAll, unique } from './helpers/clients.js';
import { next, until, collect } from './helpers/wait.js';

after(async () => {
  closeAll();
  await cleanup();
});

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/**
 * Count the `send` packets a client writes, by clientId (`counts.events` emits `send`), less the
 * deliberate retries on the same connection (`retry`: an `internal` or `rate_limited` answer),
 * which are not resends caused by the reconnection. Retries are listed in `counts.retries`.
 */
function countSends(client) {
  const counts = new Map();
  counts.events = new EventEmitter();
  counts.retries = [];
  client.socket.onAnyOutgoing((event, payload) => {
    if (event !== 'send') return;
    counts.set(payload.clientId, (counts.get(payload.clientId) ?? 0) + 1);
    counts.events.emit('send', payload);
  });
  client.on('retry', ({ message, error }) => {
    counts.retries.push(`${message.clientId}: ${error.code} ${error.message}`);
    counts.set(message.clientId, counts.get(message.clientId) - 1);
  });
  return counts;
}

test('messages queued while the server is down go out exactly once after its restart', { timeout: 60000 }, async (t) => {
  const first = await startServer({ file: true, args: CALM });
  const ada = makeClient(first.url, { name: 'Ada' });
  const ben = makeClient(first.url, { name: 'Ben' });
  await ada.connect();
  await ben.connect();
  const room = (await ada.createRoom(unique('Restart'))).id;
  await ben.join(room);
  const adaSeen = collect(ada, 'message', (m) => m.room === room);
  const benSeen = collect(ben, 'message', (m) => m.room === room);
  await ada.send(room, 'before the restart', { clientId: 'a-0' });
  await until(ben, 'message', () => benSeen.length === 1);

  const adaOffline = next(ada, 'offline');
  const benOffline = next(ben, 'offline');
  await first.kill();
  await adaOffline;
  await benOffline;

  const adaSends = countSends(ada);
  const benSends = countSends(ben);
  const queued = [
    ada.send(room, 'queued 1', { clientId: 'a-1' }),
    ada.send(room, 'queued 2', { clientId: 'a-2' }),
    ben.send(room, 'queued by Ben', { clientId: 'b-1' }),
    ada.send(room, 'queued 3', { clientId: 'a-3' }),
  ];
  assert.deepEqual(ada.pending().map((o) => o.clientId), ['a-1', 'a-2', 'a-3']);
  assert.equal(adaSends.size, 0, 'nothing goes out while offline');

  const second = await first.restart();
  assert.equal(second.port, first.port);
  const acks = await Promise.all(queued);
  assert.deepEqual(acks.map((a) => a.seq).sort((x, y) => x - y), [2, 3, 4, 5]);
  assert.deepEqual(ada.pending(), []);
  assert.deepEqual(Object.fromEntries(adaSends), { 'a-1': 1, 'a-2': 1, 'a-3': 1 });
  assert.deepEqual(Object.fromEntries(benSends), { 'b-1': 1 });
  const retries = [...adaSends.retries, ...benSends.retries];
  if (retries.length) t.diagnostic(`retried on the same connection after a server error: ${retries.join('; ')}`);

  await until(ben, 'message', () => benSeen.length >= 5, { what: 'Ben sees all five' });
  await until(ada, 'message', () => adaSeen.length >= 5, { what: 'Ada sees all five' });
  const last = await ada.send(room, 'after', { clientId: 'a-4' });
  await until(ben, 'message', () => benSeen.some((m) => m.seq === last.seq));
  // Ada's own copy arrives on its own; her ack can come first.
  await until(ada, 'message', () => adaSeen.some((m) => m.seq === last.seq));
  assert.deepEqual(benSeen.map((m) => m.seq), range(1, 6));
  assert.deepEqual(adaSeen.map((m) => m.seq), range(1, 6));
  const { messages } = await ada.history(room, { after: 0 });
  assert.deepEqual(messages.map((m) => m.clientId).sort(), ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'b-1']);
  // Ada's own three keep their order.
  assert.deepEqual(messages.filter((m) => /^a-[123]$/.test(m.clientId)).map((m) => m.text), ['queued 1', 'queued 2', 'queued 3']);
});

test('a send whose ack was lost with the server is sent again with the same clientId and stored once', { timeout: 60000 }, async () => {
  const first = await startServer({ file: true, args: CALM });
  const ada = makeClient(first.url, { name: 'Ada', transports: ['websocket'] });
  await ada.connect();
  const room = (await ada.createRoom(unique('Lost ack'))).id;
  const sends = countSends(ada);

  // Freeze the server: the message goes out but no answer can come; then kill it.
  first.proc.kill('SIGSTOP');
  const pending = ada.send(room, 'in flight', { clientId: 'flight-1' });
  await until(sends.events, 'send', () => sends.get('flight-1') === 1, { what: 'the first attempt' });
  const offline = next(ada, 'offline');
  await first.kill();
  await offline;
  assert.deepEqual(ada.pending().map((o) => o.clientId), ['flight-1'], 'still queued: it was never acknowledged');

  await first.restart();
  const ack = await pending;
  assert.equal(ack.seq, 1);
  assert.equal(sends.get('flight-1'), 2, 'one attempt before the crash, exactly one after');
  const { messages } = await ada.history(room);
  assert.deepEqual(messages.map((m) => [m.seq, m.clientId]), [[1, 'flight-1']]);
});

test('the outbox survives a reload: a queued message kept in storage goes out once', { timeout: 60000 }, async () => {
  const first = await startServer({ file: true, args: CALM });
  const ada = makeClient(first.url, { name: 'Ada' });
  await ada.connect();
  const room = (await ada.createRoom(unique('Kept'))).id;
  const offline = next(ada, 'offline');
  await first.kill();
  await offline;
  ada.send(room, 'written offline', { clientId: 'kept-1' }).catch(() => {});
  ada.disconnect(); // the page is closed with the message still queued

  const second = await first.restart();
  const reloaded = makeClient(second.url, { storage: ada.store.storage });
  assert.deepEqual(reloaded.pending().map((o) => o.text), ['written offline']);
  const sent = next(reloaded, 'sent');
  await reloaded.connect();
  assert.equal((await sent).clientId, 'kept-1');
  assert.deepEqual(reloaded.pending(), []);
  const { messages } = await reloaded.history(room);
  assert.deepEqual(messages.map((m) => m.text), ['written offline']);
});
