// One socket pipelining thousands of events without awaiting them (issue 10, defect 3): every
// event is answered (ok, or `rate_limited` beyond --max-pending-events), at a constant cost per
// event, and other clients' round trips stay fast meanwhile. The flooder runs in a worker thread
// (support/flood-worker.js) so its own work does not delay the measured client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { launch, connectUser, ok } from '../support/chat.js';
import { clientPool } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { watchRoundTrips, assertHealthy, scaled, SCALE } from '../support/hostile.js';

const N = scaled(20000);
// Linear in N: 0.5 ms per event is generous (a constant cost per event is a few µs; 20,000 take
// 1.5-4 s here, on 2 busy cores). Before the fix each answer woke every waiting event: of 20,000
// only 7,700-9,500 were answered in 10 s.
const BOUND_MS = 10000 * SCALE;
const pool = clientPool();
let server;

before(async () => {
  // Default rate limits and default --max-pending-events (256).
  server = await launch([]);
});
after(async () => {
  pool.closeAll();
  await server?.stop();
});

for (const transport of ['websocket', 'polling']) {
  test(`${transport}: ${N} pipelined events from one socket are all answered (ok or rate_limited) within ${BOUND_MS / 1000} s; another client's round trips stay under 1 s`, { timeout: BOUND_MS + 30000 }, async (t) => {
    const other = await connectUser(pool, server.url, { name: `Other ${transport}` });
    await ok(other, 'rooms', {});
    const worker = new Worker(new URL('../support/flood-worker.js', import.meta.url), {
      workerData: { url: server.url, transport, n: N, boundMs: BOUND_MS },
    });
    t.after(() => worker.terminate());
    await waitFor(worker, 'message', { timeout: 10000, failOn: ['error', 'exit'] });

    const result = waitFor(worker, 'message', { timeout: BOUND_MS + 10000, failOn: ['error', 'exit'] });
    const watch = watchRoundTrips(other, { every: 50, timeout: BOUND_MS });
    worker.postMessage('go');
    const { answered, counts, wrong, elapsed, closed, firstUnanswered } = await result;
    const rtt = await watch.stop();

    t.diagnostic(`${answered}/${N} answered in ${Math.round(elapsed)} ms ${JSON.stringify(counts)}; other client: ${rtt.count} round trips, max ${Math.round(rtt.max)} ms`);
    assert.equal(answered, N, `only ${answered} of ${N} pipelined events were answered within ${BOUND_MS} ms `
      + `(${JSON.stringify(counts)}; first unanswered: #${firstUnanswered}; flooder ${closed ? `closed: ${closed}` : 'still connected'})`);
    assert.deepEqual(wrong, [], 'every answer is ok or rate_limited');
    assert.ok(elapsed < BOUND_MS, `${N} events took ${Math.round(elapsed)} ms`);
    assert.deepEqual(rtt.failures, [], 'the other client\'s round trips failed');
    assert.ok(rtt.max < 1000, `the other client's round trip reached ${Math.round(rtt.max)} ms`);
    assert.equal(closed, null, 'the flooder was disconnected');
    await assertHealthy(server);
  });
}
