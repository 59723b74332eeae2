// A client that never reads (issue 10, defect 4): a WebSocket client joins a room full of large
// messages, stops reading its TCP socket and asks for `history` thousands of times. What the
// server holds for it is bounded (--client-output-limit-bytes), it is disconnected once it stays
// blocked longer than --slow-client-timeout-ms (its user goes offline in the room), and other
// clients' round trips stay fast throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, connectUser, ok, call } from '../support/chat.js';
import { clientPool } from '../support/clients.js';
import { RawConn } from '../support/rawconn.js';
import { rssBytes, mib, watchRoundTrips, assertHealthy, scaled } from '../support/hostile.js';

const REQUESTS = scaled(4000);
const MESSAGES = 100;
const TEXT_BYTES = 3000; // random base64: an answer of `history` (limit 100) is ~300 KB
const RSS_BOUND = 64 * 1048576;
const DISCONNECT_WITHIN_MS = 30000;
const pool = clientPool();
let server;

before(async () => {
  // The output limit and slow-client timeout are given as environment variables, so a binary
  // without them still starts (and shows what it does without them).
  server = await launch(['--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000'], {
    env: { CHAT_CLIENT_OUTPUT_LIMIT_BYTES: String(1024 * 1024), CHAT_SLOW_CLIENT_TIMEOUT_MS: '2000' },
  });
});
after(async () => {
  pool.closeAll();
  await server?.stop();
});

test(`a WebSocket client sending ${REQUESTS} history requests (limit 100, ~${(MESSAGES * TEXT_BYTES) / 1000} KB each) and reading nothing: RSS grows < 64 MiB, it is disconnected within 30 s, others' round trips stay < 1 s`, { timeout: DISCONNECT_WITHIN_MS + 30000 }, async (t) => {
  const watcher = await connectUser(pool, server.url, { name: 'Watcher' });
  const room = (await ok(watcher, 'create', { name: 'big-messages' })).id;
  for (let i = 0; i < MESSAGES; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => ok(watcher, 'send', {
      room, text: crypto.randomBytes((TEXT_BYTES * 3) / 4).toString('base64'), clientId: `big-${i + j}`,
    })));
  }

  const hog = await RawConn.open(server.url, { transport: 'websocket', label: 'hog' });
  t.after(() => hog.destroy());
  const hogUser = (await hog.connect({ name: 'Hog' })).userId;
  const joined = await hog.call('join', { room });
  assert.equal(joined?.ok, true, `the hog could not join: ${JSON.stringify(joined)}`);
  const offline = new Promise((resolve) => {
    watcher.on('presence', (p) => { if (p?.room === room && p.user?.userId === hogUser && p.online === false) resolve(performance.now()); });
  });

  const baseline = rssBytes(server.proc.pid);
  // Stop reading: the kernel buffers fill, then whatever the server keeps for this socket.
  hog.ws._socket.pause();
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) hog.fire('history', { room, limit: 100 }, () => {});
  // Measured from the moment the requests are on their way (this loop blocks this process a little).
  const watch = watchRoundTrips(watcher, { every: 100, timeout: 10000 });

  let peak = baseline;
  let goneAt = null;
  offline.then((at) => { goneAt = at; });
  // Sample the server's memory until the hog is seen going offline (bounded in time and count).
  for (let i = 0; i < DISCONNECT_WITHIN_MS / 100 && goneAt === null; i++) {
    peak = Math.max(peak, rssBytes(server.proc.pid));
    if (peak - baseline >= RSS_BOUND) break;
    await sleep(100);
  }
  peak = Math.max(peak, rssBytes(server.proc.pid));
  const rtt = await watch.stop();
  const gone = goneAt === null ? 'not disconnected' : `disconnected after ${Math.round(goneAt - started)} ms`;
  t.diagnostic(`RSS ${mib(baseline)} -> peak ${mib(peak)} (+${mib(peak - baseline)}); hog ${gone}; watcher: ${rtt.count} round trips, max ${Math.round(rtt.max)} ms (began ${rtt.maxAt} ms in)`);

  assert.ok(peak - baseline < RSS_BOUND, `a client that reads nothing grew the server's RSS by ${mib(peak - baseline)} (${mib(baseline)} -> ${mib(peak)}), ${gone}`);
  assert.ok(goneAt !== null, `the never-reading client was not disconnected within ${DISCONNECT_WITHIN_MS} ms (no presence offline for it)`);
  assert.deepEqual(rtt.failures, [], 'the watcher\'s round trips failed');
  assert.ok(rtt.max < 1000, `the watcher's round trip reached ${Math.round(rtt.max)} ms`);

  // The room is intact for a well-behaved client.
  const res = await call(watcher, 'history', { room, limit: 100 });
  assert.equal(res.data?.messages?.length, MESSAGES);
  await assertHealthy(server);
});
