// Churn and presence ghosts (issue 10, defect 5): sockets that join a shared room and vanish within
// 0-20 ms (closing politely, or destroying their TCP connection) never stay listed online, and
// every user announced online is announced offline again. HOSTILE_CHURN sets the number of
// sockets (default 300 × HOSTILE_SCALE; the closing note's run uses 10,000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, connectUser, ok, call, tempDir, removeTempDirs } from '../support/chat.js';
import { clientPool } from '../support/clients.js';
import { RawConn } from '../support/rawconn.js';
import { prng } from '../support/fuzz.js';
import { assertHealthy, scaled } from '../support/hostile.js';

const N = Number(process.env.HOSTILE_CHURN) || scaled(300);
const CONCURRENCY = Math.min(64, Math.max(8, Math.round(N / 20)));
// Milliseconds between sending `join` and vanishing: mostly while the join is being handled.
const DELAYS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 5, 8, 13, 20];
/** Sends in flight in the shared room while the churners come and go. */
const CHAT_LANES = 8;
const pool = clientPool();
let server;

before(async () => {
  // The default storage (a SQLite file, synchronous=full): storing takes real time, as in production.
  const dir = await tempDir('churn-');
  server = await launch(['--data-dir', dir, '--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000']);
});
after(async () => {
  pool.closeAll();
  await server?.stop();
  await removeTempDirs();
});

/** How a churner leaves: its transport and what it does after 0-20 ms. */
const ENDINGS = [
  ['websocket', 'destroy the TCP socket'],
  ['websocket', 'close the WebSocket'],
  ['websocket', 'send a Socket.IO disconnect, then destroy'],
  ['polling', 'Engine.IO close packet'],
];

test(`${N} sockets join a shared room and vanish within 0-20 ms: no presence ghosts, every online announced offline`, { timeout: 90000 + N * 45 }, async (t) => {
  const observer = await connectUser(pool, server.url, { name: 'Observer' });
  const room = (await ok(observer, 'create', { name: 'churn' })).id;
  const observerId = observer.session.userId;

  // A busy room: a chatter keeps messages flowing (a few in flight) while the churners come and go.
  const chatter = await connectUser(pool, server.url, { name: 'Chatter' });
  const steadyIds = new Set([observerId, chatter.session.userId]);

  // userId -> list of `online` flags the observer saw, in order (churners only).
  const seen = new Map();
  let waiting = null;
  const pendingOffline = () => [...seen].filter(([, flags]) => flags.at(-1) === true).map(([id]) => id);
  observer.on('presence', (p) => {
    if (p?.room !== room || steadyIds.has(p.user?.userId)) return;
    if (!seen.has(p.user.userId)) seen.set(p.user.userId, []);
    seen.get(p.user.userId).push(p.online);
    if (waiting && pendingOffline().length === 0) waiting();
  });

  const r = prng(0xc4a17);
  const plan = Array.from({ length: N }, () => ({ ending: r.int(ENDINGS.length), delay: r.pick(DELAYS) }));
  const churned = [];
  const problems = [];
  let next = 0;
  // ~10 ms per churner is typical here; 40 leaves room for a loaded machine.
  const deadline = performance.now() + 30000 + N * 40;
  const churn = async (i) => {
    const [transport, how] = ENDINGS[plan[i].ending];
    // Generous timeouts: a 10,000-socket run on 2 busy cores is slow to connect, not wrong.
    const conn = await RawConn.open(server.url, { transport, label: `churn ${i}`, timeout: 15000 });
    try {
      const session = await conn.connect({ name: `Churn ${i}` }, { timeout: 15000 });
      churned.push(session.userId);
      conn.fire('join', { room }, () => {});
      await sleep(plan[i].delay); // the point of the test: vanish 0-20 ms after joining
      if (how === 'destroy the TCP socket') conn.ws._socket.destroy();
      else if (how === 'close the WebSocket') conn.ws.close();
      else if (how.startsWith('send a Socket.IO disconnect')) { conn.ws.send('41'); conn.ws._socket.destroy(); }
    } finally {
      conn.destroy();
    }
  };
  const worker = async () => {
    while (next < N && performance.now() < deadline) {
      const i = next++;
      await churn(i).catch((err) => problems.push(`churner ${i}: ${err.message}`));
    }
  };
  await ok(chatter, 'join', { room });
  let chatting = true;
  let chatted = 0;
  const chatLoop = async (lane) => {
    for (let i = 0; chatting && i < 1_000_000; i++) {
      // Background load only: its answers are not what this test is about.
      const res = await call(chatter, 'send', { room, text: `busy ${lane}.${i}`, clientId: `busy-${lane}-${i}` }).catch(() => null);
      if (res?.ok) chatted++;
    }
  };
  const chats = Array.from({ length: CHAT_LANES }, (_, lane) => chatLoop(lane));
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const churnMs = Math.round(performance.now() - started);
  chatting = false;
  await Promise.all(chats);

  // Every user announced online must be announced offline: wait for the last of them (bounded).
  if (pendingOffline().length > 0) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 10000);
      waiting = () => { clearTimeout(timer); resolve(); };
    });
  }
  waiting = null;
  const announced = [...seen.keys()].length;
  const stuck = pendingOffline();
  const listed = (await ok(observer, 'presence', { room })).online.map((u) => u.userId);
  const ghosts = listed.filter((id) => !steadyIds.has(id));
  t.diagnostic(`${N} churners in ${churnMs} ms (${CONCURRENCY} at a time, ${problems.length} failed to connect); ${announced} announced online; `
    + `${chatted} messages meanwhile; ${stuck.length} never announced offline; presence lists ${listed.length} (${ghosts.length} ghosts)`);

  assert.deepEqual(stuck.slice(0, 10), [], `${stuck.length} of ${announced} churned users were announced online and never offline`);
  assert.deepEqual(ghosts.slice(0, 10), [], `presence still lists ${ghosts.length} of ${N} churned users as online`);
  assert.ok(listed.includes(observerId), 'the observer is listed');
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} churners failed to connect`);
  assert.equal(churned.length, N, 'not every churner ran before the deadline');
  await assertHealthy(server);
});
