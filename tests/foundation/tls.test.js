// TLS: the real server serves https/wss with a certificate given on the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import { startServer } from '../support/server.js';
import { clientPool } from '../support/clients.js';
import { waitFor, firstEvent } from '../support/wait.js';
import { makeSelfSignedCert } from '../support/tls.js';

let server;
let tls;
const clients = clientPool();
const auth = { name: 'tester' };

before(async () => {
  tls = makeSelfSignedCert();
  server = await startServer('server', ['--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
});

after(async () => {
  clients.closeAll();
  await server?.stop();
  tls?.cleanup();
});

test('the listening line announces https:// on the bound port', () => {
  assert.equal(server.scheme, 'https');
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(server.port > 0);
});

test('an https request with the certificate as CA succeeds', async () => {
  const res = await new Promise((resolve, reject) => {
    const req = https.get(`${server.url}/healthz`, { ca: tls.cert, agent: false }, (r) => {
      r.resume();
      r.on('end', () => resolve(r));
    });
    req.on('error', reject);
  });
  assert.equal(res.statusCode, 200);
});

for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`socket.io over TLS (${transports.join('+')}) connects when the certificate is trusted`, async () => {
    const socket = await clients.connect(server.url, { transports, ca: tls.cert, auth });
    assert.equal(socket.connected, true);
    assert.ok(socket.id);
    if (transports.length === 2 && socket.io.engine.transport.name !== 'websocket') {
      await waitFor(socket.io.engine, 'upgrade', { failOn: ['upgradeError'] });
    }
    assert.equal(socket.io.engine.transport.name, transports.at(-1));
  });
}

test('a client that does not trust the self-signed certificate is refused', async () => {
  const socket = clients.create(server.url, { transports: ['websocket'], auth });
  const err = await waitFor(socket, 'connect_error', { failOn: ['connect'] });
  assert.ok(err instanceof Error);
  assert.equal(socket.connected, false);
});

test('plain http:// cannot talk to the TLS port', async () => {
  const plainUrl = server.url.replace(/^https:/, 'http:');
  // raw HTTP request: no HTTP response comes back
  const outcome = await new Promise((resolve) => {
    const req = http.get(`${plainUrl}/healthz`, { agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ error }));
  });
  assert.ok(outcome.error, `expected a connection error, got HTTP ${outcome.status}`);
  assert.notEqual(outcome.error.message, 'timeout', 'the server should drop a plain-text connection, not hang');

  // socket.io-client over http:// / ws:// fails to connect
  for (const transports of [['polling'], ['websocket']]) {
    const socket = clients.create(plainUrl, { transports, auth });
    const first = await firstEvent([[socket, 'connect'], [socket, 'connect_error']]);
    assert.equal(first.event, 'connect_error', `${transports[0]} over plain http must not connect`);
  }
  assert.ok(server.alive());
});
