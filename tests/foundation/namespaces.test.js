// Namespaces: multiplexing over one connection, auth payloads, refusing middleware.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

let server;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', RELAXED_HEARTBEAT);
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

test('"/", "/custom" and "/harness" share one engine connection and each gets its auth payload back', async () => {
  const rootAuth = { token: 'root-token', n: 1 };
  const customAuth = { token: 'custom-token', nested: { list: [1, 'two'] } };
  const harnessAuth = { who: 'harness' };

  const root = clients.track(io(server.url, { reconnection: false, auth: rootAuth }));
  const rootAuthEvent = waitFor(root, 'auth', { failOn: ['connect_error'] });
  const custom = clients.track(io(`${server.url}/custom`, { reconnection: false, auth: customAuth }));
  const customAuthEvent = waitFor(custom, 'auth', { failOn: ['connect_error'] });
  const harness = clients.track(io(`${server.url}/harness`, { reconnection: false, auth: harnessAuth }));
  const harnessAuthEvent = waitFor(harness, 'auth', { failOn: ['connect_error'] });

  assert.deepEqual(await rootAuthEvent, rootAuth);
  assert.deepEqual(await customAuthEvent, customAuth);
  assert.deepEqual(await harnessAuthEvent, harnessAuth);

  assert.equal(root.connected, true);
  assert.equal(custom.connected, true);
  assert.equal(harness.connected, true);
  // One Manager, one Engine.IO session for all three namespaces.
  assert.equal(custom.io, root.io);
  assert.equal(harness.io, root.io);
  assert.equal(custom.io.engine, root.io.engine);
  assert.equal(harness.io.engine, root.io.engine);
  assert.equal(Object.keys(root.io.nsps).length, 3);

  // Each namespace talks independently over the shared connection.
  const [rootBack, customBack] = await Promise.all([
    waitFor(root, 'message-back', { all: true }),
    waitFor(custom, 'message-back', { all: true }),
    Promise.resolve().then(() => {
      root.emit('message', 'to root');
      custom.emit('message', 'to custom');
    }),
  ]);
  assert.deepEqual(rootBack, ['to root']);
  assert.deepEqual(customBack, ['to custom']);
});

test('a namespace opened later on an existing connection reuses its engine', async () => {
  const a = clients.track(io(server.url, { forceNew: true, reconnection: false }));
  await waitFor(a, 'connect', { failOn: ['connect_error'] });
  const engine = a.io.engine;
  const b = clients.track(a.io.socket('/custom', { auth: { late: true } }));
  const authBack = waitFor(b, 'auth', { failOn: ['connect_error'] });
  b.connect();
  assert.deepEqual(await authBack, { late: true });
  assert.equal(b.io.engine, engine);
  assert.equal(a.connected && b.connected, true);
  // closing one namespace leaves the other one working on the same engine
  b.disconnect();
  const back = waitFor(a, 'message-back', { failOn: ['disconnect'] });
  a.emit('message', 'after /custom left');
  assert.equal(await back, 'after /custom left');
  assert.equal(a.io.engine, engine);
});

test('a connection without auth payload gets an empty auth object back', async () => {
  const socket = clients.create(`${server.url}/custom`);
  const auth = await waitFor(socket, 'auth', { failOn: ['connect_error'] });
  assert.ok(auth === null || (typeof auth === 'object' && Object.keys(auth).length === 0),
    `expected null or {} but got ${JSON.stringify(auth)}`);
});

test('a refusing middleware gives connect_error with its message, other namespaces stay connected', async () => {
  const root = clients.create(server.url, { auth: { fine: true } });
  await waitFor(root, 'connect', { failOn: ['connect_error'] });

  const refused = clients.track(root.io.socket('/harness', { auth: { refuse: 'not welcome here' } }));
  refused.connect();
  const err = await waitFor(refused, 'connect_error', { failOn: ['connect'] });
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'not welcome here');
  assert.equal(refused.connected, false);

  // The multiplexed "/" socket is unaffected by the refusal.
  assert.equal(root.connected, true);
  const back = waitFor(root, 'message-back', { all: true, failOn: ['disconnect'] });
  root.emit('message', 'still here');
  assert.deepEqual(await back, ['still here']);
});

test('the same middleware lets a non-refusing auth payload through', async () => {
  const auth = { name: 'welcome', note: 'refuse only when asked' };
  const socket = clients.create(`${server.url}/harness`, { auth });
  const authBack = await waitFor(socket, 'auth', { failOn: ['connect_error'] });
  assert.deepEqual(authBack, auth);
  assert.equal(socket.connected, true);
});
