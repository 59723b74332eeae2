// --max-payload-bytes: an oversized message ends only the offending connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, echo } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { PollingSession } from '../support/raw.js';

const LIMIT = 10_000;
let server;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', [...RELAXED_HEARTBEAT, '--max-payload-bytes', String(LIMIT)]);
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

test('the handshake advertises the configured maxPayload (and command-line heartbeat values)', async () => {
  const session = new PollingSession(server.url);
  const handshake = await session.open();
  assert.equal(handshake.maxPayload, LIMIT);
  assert.equal(handshake.pingInterval, 5000);
  assert.equal(handshake.pingTimeout, 5000);
});

const expectedReason = { websocket: 'transport close', polling: 'transport error' };

for (const transport of ['websocket', 'polling']) {
  test(`${transport}: a message under the limit is echoed, one over the limit disconnects only its sender`, async (t) => {
    const opts = { transports: [transport] };
    const bystanderWs = await clients.connect(server.url, { transports: ['websocket'] });
    const bystanderPolling = await clients.connect(server.url, { transports: ['polling'] });
    const offender = await clients.connect(server.url, opts);

    // Well under the limit (with framing overhead): fine.
    const fine = 'a'.repeat(LIMIT / 2);
    assert.deepEqual(await echo(offender, [fine]), [fine]);

    // Twice the limit: the connection is closed by the server.
    const disconnected = waitFor(offender, 'disconnect', { all: true, timeout: 5000 });
    const backAnyway = [];
    offender.on('message-back', (m) => backAnyway.push(m.length));
    offender.emit('message', 'b'.repeat(LIMIT * 2));
    const [reason, details] = await disconnected;
    t.diagnostic(`${transport}: oversized message -> disconnect reason "${reason}"${details?.description ? ` (${details.description?.message ?? details.description})` : ''}`);
    assert.equal(reason, expectedReason[transport]);
    assert.equal(offender.connected, false);
    assert.deepEqual(backAnyway, [], 'the oversized message must not be echoed');

    // The other clients, on both transports, are untouched.
    assert.equal(bystanderWs.connected, true);
    assert.equal(bystanderPolling.connected, true);
    assert.deepEqual(await echo(bystanderWs, ['still here']), ['still here']);
    assert.deepEqual(await echo(bystanderPolling, ['me too']), ['me too']);
    assert.ok(server.alive());

    // A new connection is accepted afterwards.
    const fresh = await clients.connect(server.url, opts);
    assert.deepEqual(await echo(fresh, ['fresh']), ['fresh']);
  });
}

test('polling: an oversized POST body is refused with HTTP 413 and the session is gone', async (t) => {
  const session = new PollingSession(server.url);
  await session.open();
  await session.connectNamespace('/');
  const res = await session.send(`42${JSON.stringify(['message', 'c'.repeat(LIMIT * 2)])}`);
  t.diagnostic(`oversized POST: HTTP ${res.status} ${JSON.stringify(res.body.toString())}`);
  assert.equal(res.status, 413);
  const after = await session.get();
  t.diagnostic(`GET after oversized POST: HTTP ${after.status} ${JSON.stringify(after.text)}`);
  assert.ok(after.status === 400 || after.packets.includes('1') || after.text === '',
    `expected the session to be closed, got HTTP ${after.status} ${JSON.stringify(after.text)}`);
});
