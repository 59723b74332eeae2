// A flooding client in a worker thread (tests/hostile/flood.test.js): one raw Socket.IO connection
// that pipelines `n` events without awaiting them and reports how they were answered. It runs
// apart from the test's main thread so the flood's own JavaScript work (encoding and decoding
// thousands of packets) does not delay the other client whose round trips the test measures.
//
// workerData: { url, transport, n, boundMs }. Posts { ready } once connected, waits for 'go',
// then posts { answered, counts, wrong, elapsed, closed }.
import { parentPort, workerData } from 'node:worker_threads';
import { RawConn } from './rawconn.js';

const { url, transport, n, boundMs } = workerData;
const flooder = await RawConn.open(url, { transport, label: `flooder ${transport}` });
await flooder.connect({ name: `Flooder ${transport}` });
const room = (await flooder.call('create', { name: `flood-${transport}` }))?.data?.id;
if (!room) throw new Error('the flooder could not create its room');

// Mostly `send` (beyond the rate limit's burst each is refused `rate_limited` after its turn, so
// it costs little but waits in order like every event), and the cheap reads.
const send = (i) => ['send', { room, text: `flood ${i}`, clientId: `f-${transport}-${i}` }];
const kinds = [send, send, send, send, send, send, send, () => ['rooms', {}], send, send, send, send, send, send, () => ['history', { room, limit: 1 }], send, send, send, send, send, send, () => ['presence', { room }]];

parentPort.postMessage({ ready: true });
await new Promise((resolve) => parentPort.once('message', resolve));

const answers = new Array(n);
let answered = 0;
let allAnswered;
const done = new Promise((resolve) => { allAnswered = resolve; });
const onAnswer = (i) => (res) => {
  answers[i] = res;
  if (++answered === n) allAnswered();
};
const started = performance.now();
if (transport === 'polling') {
  // POSTs of 2,000 packets each, as a long-polling client's buffer would carry them.
  const packets = [];
  for (let i = 0; i < n; i++) {
    const [event, payload] = kinds[i % kinds.length](i);
    const id = flooder.nextAck++;
    flooder.pending.set(id, onAnswer(i));
    packets.push(`42${id}${JSON.stringify([event, payload])}`);
  }
  for (let i = 0; i < packets.length; i += 2000) await flooder.post(packets.slice(i, i + 2000).join('\x1e'));
} else {
  for (let i = 0; i < n; i++) {
    const [event, payload] = kinds[i % kinds.length](i);
    flooder.fire(event, payload, onAnswer(i));
  }
}
const timer = setTimeout(() => allAnswered(), boundMs);
await done;
clearTimeout(timer);
const elapsed = performance.now() - started;

const counts = {};
const wrong = [];
for (let i = 0; i < n; i++) {
  const res = answers[i];
  const key = res === undefined ? 'unanswered' : res.ok === true ? 'ok' : res.error?.code ?? 'malformed';
  counts[key] = (counts[key] ?? 0) + 1;
  if (res !== undefined && res.ok !== true && res.error?.code !== 'rate_limited' && wrong.length < 5) wrong.push(`#${i}: ${JSON.stringify(res)}`);
}
const firstUnanswered = answers.findIndex((a) => a === undefined);
parentPort.postMessage({ answered, counts, wrong, elapsed, closed: flooder.closed, firstUnanswered });
flooder.destroy();
