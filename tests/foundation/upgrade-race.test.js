// Issue 10, item 13: a long-polling request carrying the sid of a session that is upgrading to
// WebSocket. Once the server has read the client's UPGRADE packet ("5"), the session is a
// WebSocket session and any polling request with its sid is refused with HTTP 400. Before
// that, the upgrade is still in flight and engineioxide answers polls with a NOOP ("6"), as
// the Engine.IO protocol asks (`transport/polling.rs` in engineioxide 0.17.9, `is_upgrading`).
//
// socketioxide's port of the Engine.IO v4 suite ("ignores HTTP requests with same sid after
// upgrade") sends "2probe" and "5" and immediately a poll on another connection, and expects
// 400: nothing orders that poll after the server's reading of "5", so on a busy machine the
// poll lands in the upgrade window and gets 200 "6". That case is kept below as a visible todo
// (known upstream behaviour, see docs/COMPATIBILITY.md); the behaviour that must hold is
// checked with the order made explicit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { PollingSession, request, bodyText } from '../support/raw.js';

const BAD_REQUEST = { code: '3', message: 'Bad request' };

let server;
const open = new Set();

before(async () => {
  server = await startServer('conformance', RELAXED_HEARTBEAT);
});

after(async () => {
  for (const ws of open) ws.terminate();
  await server?.stop();
});

/** A polling session, plus a WebSocket opened with its sid (the upgrade's first step). */
async function startUpgrade() {
  const polling = new PollingSession(server.url);
  await polling.open();
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(polling.sid)}`);
  open.add(ws);
  ws.on('close', () => open.delete(ws));
  ws.on('error', () => {}); // seen through `close`
  const queue = [];
  let wake = () => {};
  ws.on('message', (data, isBinary) => {
    const packet = isBinary ? data : data.toString('utf8');
    if (packet === '2') {
      ws.send('3'); // server ping
      return;
    }
    queue.push(packet);
    wake();
  });
  ws.on('close', () => wake());
  /** Resolves with the first queued packet matching `predicate` (waits for it if needed). */
  ws.next = async (predicate, { timeout = 5000 } = {}) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = queue.findIndex(predicate);
      if (i >= 0) return queue.splice(i, 1)[0];
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`websocket closed; waiting for a packet, got ${JSON.stringify(queue)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching packet within ${timeout} ms; got ${JSON.stringify(queue)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code) => reject(new Error(`websocket with the polling sid closed before opening (${code})`)));
  });
  return { polling, ws };
}

/**
 * Sends "5" and returns once the server has read it: the engine hands WebSocket frames to
 * Socket.IO only after the upgrade packet, so the CONNECT reply proves "5" was processed.
 */
async function completeUpgrade(ws) {
  ws.send('5');
  ws.send('40');
  const reply = await ws.next((p) => typeof p === 'string' && (p.startsWith('40') || p.startsWith('44')));
  assert.match(reply, /^40\{"sid":"[^"]+"\}$/);
}

/** Echo over the upgraded WebSocket: the session is alive and usable. */
async function assertEchoes(ws, text) {
  ws.send(`42${JSON.stringify(['message', text])}`);
  const back = await ws.next((p) => typeof p === 'string' && p.startsWith('42["message-back"'));
  assert.deepEqual(JSON.parse(back.slice(2)), ['message-back', text]);
}

function json(res) {
  return JSON.parse(bodyText(res));
}

test('after the upgrade packet was processed, a poll or a POST with the same sid gets 400 and the WebSocket session lives on', async () => {
  const { polling, ws } = await startUpgrade();
  ws.send('2probe');
  assert.equal(await ws.next((p) => p === '3probe'), '3probe');
  await completeUpgrade(ws);

  for (let i = 0; i < 3; i++) {
    const get = await request(polling.url());
    assert.equal(get.status, 400, `GET after upgrade: HTTP ${get.status} ${bodyText(get)}`);
    assert.deepEqual(json(get), BAD_REQUEST);
  }
  const post = await polling.send('42["message","over polling"]');
  assert.equal(post.status, 400, `POST after upgrade: HTTP ${post.status} ${bodyText(post)}`);
  assert.deepEqual(json(post), BAD_REQUEST);

  // Neither refused request touched the session.
  await assertEchoes(ws, 'still upgraded');
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
});

test('the same holds for every session in a burst of upgrades (the order made explicit)', async () => {
  const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
    const { polling, ws } = await startUpgrade();
    ws.send('2probe');
    await ws.next((p) => p === '3probe');
    await completeUpgrade(ws);
    const get = await request(polling.url());
    ws.close();
    return get.status;
  }));
  assert.deepEqual(statuses, Array(20).fill(400));
});

test('while the upgrade is in flight (3probe sent, no 5 yet), a poll with the sid gets a NOOP, as Engine.IO specifies', async () => {
  // Deterministic view of the window the upstream race falls into: engineioxide
  // (`transport/polling.rs`, `is_upgrading`) and Node's engine.io both keep the polling
  // transport until they read "5", and answer polls meanwhile with a NOOP packet.
  const { polling, ws } = await startUpgrade();
  ws.send('2probe');
  await ws.next((p) => p === '3probe');

  const during = await request(polling.url());
  assert.equal(during.status, 200);
  assert.equal(bodyText(during), '6');

  await completeUpgrade(ws);
  const afterwards = await request(polling.url());
  assert.equal(afterwards.status, 400);
  assert.deepEqual(json(afterwards), BAD_REQUEST);
  await assertEchoes(ws, 'upgraded after a poll in the window');
  ws.close();
});

// Known upstream behaviour (issue 10, item 13): the Engine.IO v4 suite's sequence, repeated.
// "2probe" and "5" are written to the WebSocket and a poll is sent at once on a new
// connection; on a busy machine the engine's upgrade task has not read "5" yet when the poll is
// handled, and the poll gets 200 "6" (engineioxide 0.17.9 `transport/polling.rs:95`; the
// transport only switches at `transport/ws.rs:457`). Reported as todo while that holds; it
// passes when the machine is idle.
test(
  'a poll sent right behind "2probe" + "5" gets 400 (Engine.IO v4 suite: ignores HTTP requests with same sid after upgrade)',
  { todo: 'engineioxide 0.17.9 (upstream): a poll racing the "5" upgrade packet is answered 200 "6" until the upgrade task has read "5"' },
  async () => {
    const answers = {};
    for (let i = 0; i < 30; i++) {
      const { polling, ws } = await startUpgrade();
      ws.send('2probe');
      ws.send('5');
      const get = await request(polling.url());
      const key = `${get.status} ${bodyText(get)}`;
      answers[key] = (answers[key] ?? 0) + 1;
      ws.close();
    }
    assert.deepEqual(Object.keys(answers), [`400 ${JSON.stringify(BAD_REQUEST)}`], `answers: ${JSON.stringify(answers)}`);
  },
);

test('the server is still up', () => {
  assert.ok(server.alive(), server.stderr());
});
