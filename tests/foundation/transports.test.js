// Transports: long-polling only, WebSocket only, and the polling -> WebSocket upgrade.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, echo } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { PollingSession } from '../support/raw.js';

let server; // relaxed heartbeat, for the transport tests
let profile; // the conformance profile's own heartbeat (300 ms / 200 ms)
const clients = clientPool();

before(async () => {
  [server, profile] = await Promise.all([
    startServer('conformance', RELAXED_HEARTBEAT),
    startServer('conformance'),
  ]);
});

after(async () => {
  clients.closeAll();
  await Promise.all([server?.stop(), profile?.stop()]);
});

const payload = ['hello', 42, { nested: { ok: true, list: [1, 2, 3] } }, null, 'é ✓ 🚀'];

test('polling only: connects and echoes', async () => {
  const socket = await clients.connect(server.url, { transports: ['polling'] });
  assert.equal(socket.io.engine.transport.name, 'polling');
  assert.deepEqual(await echo(socket, payload), payload);
  // several round trips in a row keep working on the same session
  for (let i = 0; i < 5; i++) assert.deepEqual(await echo(socket, [i]), [i]);
  assert.equal(socket.io.engine.transport.name, 'polling');
});

test('websocket only: connects and echoes', async () => {
  const socket = await clients.connect(server.url, { transports: ['websocket'] });
  assert.equal(socket.io.engine.transport.name, 'websocket');
  assert.deepEqual(await echo(socket, payload), payload);
  for (let i = 0; i < 5; i++) assert.deepEqual(await echo(socket, [i]), [i]);
});

test('default transports: starts on polling, upgrades to websocket, keeps the session and echoes', async () => {
  const socket = clients.create(server.url);
  const engine = socket.io.engine;
  assert.equal(engine.transport.name, 'polling');
  const upgraded = waitFor(engine, 'upgrade', { failOn: ['upgradeError', 'close'] });
  await waitFor(socket, 'connect', { failOn: ['connect_error'] });
  const sidBefore = engine.id;
  const socketId = socket.id;

  const transport = await upgraded;
  assert.equal(transport.name, 'websocket');
  assert.equal(socket.io.engine.transport.name, 'websocket');
  assert.equal(socket.io.engine, engine);
  assert.equal(engine.id, sidBefore);
  assert.equal(socket.id, socketId);
  assert.equal(socket.connected, true);
  assert.deepEqual(await echo(socket, payload), payload);
});

test('a message sent while the upgrade is in flight is not lost', async () => {
  const socket = clients.create(server.url);
  const upgraded = waitFor(socket.io.engine, 'upgrade', { failOn: ['upgradeError', 'close'] });
  await waitFor(socket, 'connect', { failOn: ['connect_error'] });
  // emitted right after connect, i.e. before (or while) the upgrade happens
  const back = echo(socket, ['during upgrade']);
  await upgraded;
  assert.deepEqual(await back, ['during upgrade']);
  assert.deepEqual(await echo(socket, ['after upgrade']), ['after upgrade']);
});

test('the conformance profile advertises its heartbeat: ping every 300 ms, 200 ms timeout', async () => {
  const handshake = await new PollingSession(profile.url).open();
  assert.equal(handshake.pingInterval, 300);
  assert.equal(handshake.pingTimeout, 200);
  assert.deepEqual(handshake.upgrades, ['websocket']);
  assert.equal(typeof handshake.sid, 'string');
});

test('the server keeps an idle connection alive with heartbeats (several ping intervals)', async () => {
  // the conformance profile pings every 300 ms and waits 200 ms for the pong
  for (const transports of [['polling'], ['websocket']]) {
    const socket = await clients.connect(profile.url, { transports });
    for (let i = 0; i < 3; i++) {
      await waitFor(socket.io, 'ping', { timeout: 3000, failOn: ['close'] });
    }
    assert.equal(socket.connected, true, `${transports} socket should still be connected`);
    assert.deepEqual(await echo(socket, ['alive']), ['alive']);
    socket.disconnect();
  }
});
