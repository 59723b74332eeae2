// Plain HTTP behaviour: health endpoints, CORS, and compression of long-polling responses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { request, PollingSession, bodyText } from '../support/raw.js';

describe('real server', () => {
  let server;
  const ALLOWED = 'http://allowed.test';

  before(async () => {
    server = await startServer('server', ['--cors-origin', ALLOWED]);
  });
  after(async () => {
    await server?.stop();
  });

  for (const endpoint of ['/healthz', '/readyz']) {
    test(`GET ${endpoint} answers 200`, async () => {
      const res = await request(`${server.url}${endpoint}`);
      assert.equal(res.status, 200);
    });
  }

  test('CORS preflight from the allowed origin is allowed with credentials', async () => {
    const res = await request(`${server.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const methods = (res.headers['access-control-allow-methods'] ?? '').toUpperCase();
    assert.ok(methods.includes('POST') || methods === '*', `allow-methods: ${methods}`);
  });

  test('CORS preflight from another origin gets no allow-origin header', async () => {
    const res = await request(`${server.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  test('a polling handshake from the allowed origin carries the CORS headers, another origin does not', async () => {
    const allowed = await request(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: ALLOWED } });
    assert.equal(allowed.status, 200);
    assert.match(allowed.body.toString(), /^0\{/);
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');

    const other = await request(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://evil.test' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});

describe('long-polling compression (conformance profile)', () => {
  let server;
  before(async () => {
    server = await startServer('conformance', RELAXED_HEARTBEAT);
  });
  after(async () => {
    await server?.stop();
  });

  async function connectedSession() {
    const session = new PollingSession(server.url);
    await session.open();
    await session.connectNamespace('/');
    return session;
  }

  async function echoOverPolling(session, text, headers) {
    const sent = await session.send(`42${JSON.stringify(['message', text])}`);
    assert.equal(sent.status, 200);
    const expected = `42${JSON.stringify(['message-back', text])}`;
    const { packet, response } = await session.pollUntil((p) => p.startsWith('42["message-back"'), { headers });
    assert.equal(packet, expected);
    return response;
  }

  const big = Array.from({ length: 4000 }, (_, i) => `line ${i} of a long chat message;`).join(' ');

  test('a large polling response is gzip-encoded when the client accepts gzip', async () => {
    const session = await connectedSession();
    const res = await echoOverPolling(session, big, { 'accept-encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.ok(res.body.length < big.length / 2, `compressed body is ${res.body.length} bytes for ${big.length} chars`);
    assert.ok(bodyText(res).includes(big));
  });

  test('the same large response is not encoded when the client does not ask for it', async () => {
    const session = await connectedSession();
    const res = await echoOverPolling(session, big, {});
    assert.equal(res.headers['content-encoding'], undefined);
  });

  test('a small polling response is not compressed even when gzip is accepted', async () => {
    const session = await connectedSession();
    const res = await echoOverPolling(session, 'hi', { 'accept-encoding': 'gzip' });
    assert.ok(res.body.length < 100, `small response is ${res.body.length} bytes`);
    assert.equal(res.headers['content-encoding'], undefined);
  });
});
