// Malformed packets end only the offending connection; the server and other clients carry on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, echo } from '../support/clients.js';
import { waitFor, withTimeout } from '../support/wait.js';
import { PollingSession, rawWebSocket, rawConnectNamespace } from '../support/raw.js';

let server;
let bystander;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', RELAXED_HEARTBEAT);
  bystander = await clients.connect(server.url, { transports: ['websocket'] });
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

async function assertServerHealthy() {
  assert.ok(server.alive(), 'server process must still be running');
  assert.equal(bystander.connected, true, 'the bystander client must still be connected');
  assert.deepEqual(await echo(bystander, ['ok?', 1]), ['ok?', 1]);
}

const garbage = [
  ['unterminated JSON event', '42["message"'],
  ['socket.io packet without type', '4'],
  ['unknown socket.io packet type', '49["message"]'],
  ['event that is not an array', '42{"message":1}'],
  ['unknown engine.io packet type', '9xyz'],
  ['binary frame nobody announced', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff])],
];

test('raw websocket: a well-formed session works (sanity check of the raw client)', async () => {
  const ws = await rawWebSocket(server.url);
  await rawConnectNamespace(ws, '/');
  const back = waitFor(ws, 'packet', { filter: (p) => typeof p === 'string' && p.startsWith('42["message-back"') });
  ws.send('42["message","raw"]');
  assert.equal(await back, '42["message-back","raw"]');
  ws.close();
});

for (const [name, bad] of garbage) {
  test(`websocket: ${name} closes that connection only`, async (t) => {
    const ws = await rawWebSocket(server.url);
    await rawConnectNamespace(ws, '/');
    ws.send(bad);
    const { code, reason } = await withTimeout(ws.closeInfo, 5000, 'server closing the websocket');
    t.diagnostic(`websocket ${name}: closed with code ${code}${reason ? ` reason "${reason}"` : ''}`);
    await assertServerHealthy();
  });
}

test('raw polling: a well-formed session works (sanity check of the raw client)', async () => {
  const session = new PollingSession(server.url);
  await session.open();
  await session.connectNamespace('/');
  const res = await session.send('42["message","raw polling"]');
  assert.equal(res.status, 200);
  const { packet } = await session.pollUntil((p) => p.startsWith('42["message-back"'));
  assert.equal(packet, '42["message-back","raw polling"]');
});

for (const [name, bad] of garbage) {
  test(`polling: ${name} is refused and the session closed`, async (t) => {
    const session = new PollingSession(server.url);
    await session.open();
    await session.connectNamespace('/');
    const res = await session.send(typeof bad === 'string' ? bad : `b${bad.toString('base64')}`);
    t.diagnostic(`polling ${name}: POST -> HTTP ${res.status} ${JSON.stringify(res.body.toString())}`);
    const next = await session.get();
    t.diagnostic(`polling ${name}: next GET -> HTTP ${next.status} ${JSON.stringify(next.text)}`);
    const closed = res.status === 400 || next.status === 400 || next.packets.includes('1');
    assert.ok(closed, `expected an error or a closed session, got POST ${res.status}, GET ${next.status} ${JSON.stringify(next.text)}`);
    await assertServerHealthy();
  });
}

test('polling: requests with an unknown sid or a bad EIO version get HTTP 400', async (t) => {
  const unknown = new PollingSession(server.url);
  unknown.sid = 'AAAAAAAAAAAAAAAAAAAA';
  const res = await unknown.get();
  t.diagnostic(`unknown sid: HTTP ${res.status} ${res.text}`);
  assert.equal(res.status, 400);
  assert.match(res.text, /Session ID unknown/);

  const session = new PollingSession(server.url);
  session.url = () => `${server.url}/socket.io/?EIO=9&transport=polling`;
  const bad = await session.get();
  t.diagnostic(`EIO=9: HTTP ${bad.status} ${bad.text}`);
  assert.equal(bad.status, 400);
  await assertServerHealthy();
});
