// Volatile emits: may be dropped, but what arrives is in order and the latest one arrives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, ask } from '../support/clients.js';
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

for (const transport of ['websocket', 'polling']) {
  test(`${transport}: a burst of volatile ticks arrives as an increasing subset ending with the last one`, async () => {
    const socket = await clients.connect(`${server.url}/harness`, { transports: [transport] });
    const count = 200;
    const ticks = [];
    socket.on('tick', (n) => ticks.push(n));
    // Volatile packets bypass the queue, so the last tick may come after the ack.
    const lastTick = waitFor(socket, 'tick', { filter: (n) => n === count - 1, failOn: ['disconnect'] });

    assert.deepEqual(await ask(socket, 'volatile', { count }), { ok: true });
    await lastTick;

    assert.ok(ticks.length > 0 && ticks.length <= count, `got ${ticks.length} ticks`);
    for (const n of ticks) assert.ok(Number.isInteger(n) && n >= 0 && n < count, `unexpected tick ${n}`);
    for (let i = 1; i < ticks.length; i++) {
      assert.ok(ticks[i] > ticks[i - 1], `ticks out of order or duplicated: ${ticks.slice(Math.max(0, i - 3), i + 2)}`);
    }

    // The connection is still usable afterwards.
    assert.deepEqual(await ask(socket, 'join', 'after-volatile'), { ok: true });
  });
}
