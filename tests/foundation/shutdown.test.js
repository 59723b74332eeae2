// Graceful shutdown: SIGTERM disconnects every client cleanly and the process exits 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.js';
import { clientPool } from '../support/clients.js';
import { waitFor, withTimeout } from '../support/wait.js';

const clients = clientPool();
after(() => clients.closeAll());

const CLIENTS = 200;
const POLLING_CLIENTS = 10;
const SHUTDOWN_TIMEOUT_MS = 5000;

// Like Node's io.close(), the server closes every transport rather than sending a Socket.IO
// DISCONNECT: clients see "transport close" (a polling client whose next request races the
// closing listener may see "transport error") and reconnect on their own once a server is back.
const TRANSPORT_ENDED = new Set(['transport close', 'transport error']);

test(`SIGTERM with ${CLIENTS} connected clients: every client sees its transport closed, exit code 0`, async (t) => {
  const server = await startServer('server', ['--shutdown-timeout-ms', String(SHUTDOWN_TIMEOUT_MS)]);
  t.after(() => server.stop());

  const sockets = await withTimeout(Promise.all(Array.from({ length: CLIENTS }, (_, i) => clients.connect(
    server.url,
    { transports: [i < POLLING_CLIENTS ? 'polling' : 'websocket'], auth: { name: `user${i}` } },
    { timeout: 20_000 },
  ))), 25_000, `${CLIENTS} clients connecting`);
  assert.equal(sockets.filter((s) => s.connected).length, CLIENTS);

  const reasons = sockets.map((s) => waitFor(s, 'disconnect', { timeout: SHUTDOWN_TIMEOUT_MS + 2000 }));
  const exit = withTimeout(server.exited, SHUTDOWN_TIMEOUT_MS + 1000, 'server exit after SIGTERM');
  server.proc.kill('SIGTERM');

  const seen = await Promise.all(reasons);
  const { code, signal } = await exit;
  const counts = {};
  for (const r of seen) counts[r] = (counts[r] ?? 0) + 1;
  t.diagnostic(`disconnect reasons after SIGTERM: ${JSON.stringify(counts)}; exit code ${code}, signal ${signal}`);

  assert.equal(signal, null, `server was killed by ${signal}`);
  assert.equal(code, 0, `server exited with ${code}; stderr:\n${server.stderr()}`);
  assert.deepEqual(seen.filter((r) => !TRANSPORT_ENDED.has(r)), [], 'unexpected disconnect reasons');
  assert.deepEqual([...new Set(seen.slice(POLLING_CLIENTS))], ['transport close'], 'websocket clients');
});

test('SIGTERM sent right after the "listening on" line exits 0 (5 starts)', async (t) => {
  // A supervisor may stop the server as soon as it reported listening: the
  // signal must already be handled then, not kill the process.
  const outcomes = [];
  for (let i = 0; i < 5; i++) {
    const server = await startServer('server', ['--shutdown-timeout-ms', String(SHUTDOWN_TIMEOUT_MS)]);
    t.after(() => server.stop());
    server.proc.kill('SIGTERM');
    const { code, signal } = await withTimeout(server.exited, SHUTDOWN_TIMEOUT_MS + 1000, 'server exit after SIGTERM');
    outcomes.push(signal ? `killed by ${signal}` : `exit ${code}`);
  }
  t.diagnostic(`outcomes: ${outcomes.join(', ')}`);
  assert.deepEqual(outcomes, Array(5).fill('exit 0'));
});
