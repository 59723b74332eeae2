// The Engine.IO v3 gate of the chat server (issue 10, defect 7): without --allow-eio3, every query
// the engine would read as version 3 (its first `EIO=` pair, read up to the next `=`) is refused
// with HTTP 400 and no session, on long-polling and on the WebSocket upgrade; v4 is served.
// foundation/eio3.test.js covers socket.io 2.x clients and the plain `EIO=3` polling handshake on
// the conformance profile; this file covers the forms that slipped through, on the chat server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { launch } from '../support/chat.js';
import { RawConn, httpRequest } from '../support/rawconn.js';

/** Queries whose first EIO pair the engine reads as "3". */
const V3_FORMS = ['EIO=3=1', 'EIO=3=', 'EIO=3=x', 'EIO=3&EIO=4'];

/** The outcome of a WebSocket handshake: { status } if refused, { open } with the first message. */
function wsHandshake(url, query, { timeout = 3000 } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?${query}&transport=websocket`, { perMessageDeflate: false });
    const done = (v) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(v);
    };
    const timer = setTimeout(() => done({ silent: true }), timeout);
    ws.on('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    ws.on('error', (err) => done({ error: err.message }));
    ws.on('message', (data) => done({ open: data.toString() }));
  });
}

const pollingHandshake = (url, query) => httpRequest(`${url}/socket.io/?${query}&transport=polling`);

describe('without --allow-eio3', () => {
  let server;
  before(async () => {
    server = await launch([]);
  });
  after(async () => {
    await server?.stop();
  });

  test(`long-polling handshakes ${V3_FORMS.join(', ')} get HTTP 400 "Unsupported protocol version" and no session`, async (t) => {
    const problems = [];
    for (const q of V3_FORMS) {
      const res = await pollingHandshake(server.url, q);
      const body = res.body.toString();
      t.diagnostic(`${q}: HTTP ${res.status} ${body.slice(0, 80)}`);
      if (res.status !== 400 || !/Unsupported protocol version/.test(body) || /"sid"/.test(body)) {
        problems.push(`?${q}&transport=polling -> HTTP ${res.status} ${body.slice(0, 120)}`);
      }
    }
    assert.deepEqual(problems, [], 'Engine.IO v3 handshakes must be refused without --allow-eio3');
  });

  test(`WebSocket handshakes EIO=3, ${V3_FORMS.join(', ')} are refused with HTTP 400 before the upgrade`, async (t) => {
    const problems = [];
    for (const q of ['EIO=3', ...V3_FORMS]) {
      const out = await wsHandshake(server.url, q);
      t.diagnostic(`${q}: ${JSON.stringify(out).slice(0, 120)}`);
      if (out.status !== 400 || !/Unsupported protocol version/.test(out.body)) problems.push(`?${q}&transport=websocket -> ${JSON.stringify(out).slice(0, 160)}`);
    }
    assert.deepEqual(problems, [], 'Engine.IO v3 WebSocket handshakes must be refused without --allow-eio3');
  });

  for (const transport of ['polling', 'websocket']) {
    test(`${transport}: an EIO=4 session works (connect, session, rooms)`, async () => {
      const conn = await RawConn.open(server.url, { transport, query: 'EIO=4' });
      try {
        assert.equal(typeof conn.handshake.sid, 'string');
        const session = await conn.connect({ name: 'Four' });
        assert.equal(session.name, 'Four');
        const res = await conn.call('rooms', {});
        assert.equal(res?.ok, true, `rooms: ${JSON.stringify(res)}`);
      } finally {
        conn.destroy();
      }
    });
  }

  test('a query whose first EIO pair is 4 (EIO=4&EIO=3) is served as Engine.IO v4', async () => {
    const res = await pollingHandshake(server.url, 'EIO=4&EIO=3');
    assert.equal(res.status, 200, `HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
    assert.match(res.body.toString(), /^0\{"sid":/, 'a v4 open packet (no v3 length prefix)');
    const ws = await wsHandshake(server.url, 'EIO=4&EIO=3');
    assert.match(ws.open ?? '', /^0\{"sid":/, `websocket: ${JSON.stringify(ws)}`);
  });
});

describe('with --allow-eio3', () => {
  let server;
  before(async () => {
    server = await launch(['--allow-eio3']);
  });
  after(async () => {
    await server?.stop();
  });

  test(`${V3_FORMS.slice(0, 3).join(', ')} open Engine.IO v3 sessions on long-polling and WebSocket`, async (t) => {
    const problems = [];
    for (const q of V3_FORMS.slice(0, 3)) {
      const res = await pollingHandshake(server.url, q);
      const body = res.body.toString();
      // A v3 polling payload is length-prefixed: `<length>:0{"sid":…}`.
      if (res.status !== 200 || !/^\d+:0\{"sid":/.test(body)) problems.push(`polling ?${q} -> HTTP ${res.status} ${body.slice(0, 120)}`);
      const ws = await wsHandshake(server.url, q);
      if (!/^0\{"sid":/.test(ws.open ?? '')) problems.push(`websocket ?${q} -> ${JSON.stringify(ws).slice(0, 160)}`);
      t.diagnostic(`${q}: polling HTTP ${res.status} ${body.slice(0, 40)}; websocket ${JSON.stringify(ws).slice(0, 60)}`);
    }
    assert.deepEqual(problems, []);
  });
});
