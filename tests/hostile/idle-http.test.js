// Idle HTTP connections (issue 10, soak): a TCP connection that sends nothing, one that sends a
// request head slowly and never finishes it, and a keep-alive connection idle after a response
// each held an open file for good. With --http-idle-timeout-ms the server closes each of them;
// a long-polling request that lasts longer than the timeout and an idle WebSocket are not cut.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { launch, connectUser, ok, unique } from '../support/chat.js';
import { clientPool } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const IDLE_MS = 400;
/** How long a connection may outlive the timeout before the test calls it never closed. */
const GRACE_MS = 10_000;

/**
 * Opens a TCP connection to the server, lets `act(socket)` write to it, and resolves with
 * { closedAfterMs, received } once the server closes it, or { open: true, received } after GRACE_MS.
 */
function openRaw(url, act = () => {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks = [];
    let opened;
    let timer;
    const finish = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.on('connect', () => {
      opened = Date.now();
      timer = setTimeout(() => finish({ open: true, received: Buffer.concat(chunks).toString('latin1') }), IDLE_MS + GRACE_MS);
      act(socket);
    });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () =>
      finish({ closedAfterMs: Date.now() - opened, received: Buffer.concat(chunks).toString('latin1') }),
    );
  });
}

describe('--http-idle-timeout-ms (CHAT_HTTP_IDLE_TIMEOUT_MS)', () => {
  let server;
  const clients = clientPool();
  before(async () => {
    // Set through the environment, so a build without the setting runs the same cases.
    server = await launch(['--ping-interval-ms', '1500', '--ping-timeout-ms', '3000'], {
      env: { CHAT_HTTP_IDLE_TIMEOUT_MS: String(IDLE_MS) },
    });
  });
  after(async () => {
    clients.closeAll();
    await server?.stop();
  });

  test('a connection that never sends a byte is closed', async () => {
    const res = await openRaw(server.url);
    assert.ok(!res.open, `a silent connection was still open ${IDLE_MS + GRACE_MS} ms after it was accepted`);
    assert.ok(res.closedAfterMs >= IDLE_MS - 50, `closed after ${res.closedAfterMs} ms, before the timeout`);
  });

  test('a request head sent one header at a time and never finished is closed', async () => {
    let timer;
    const res = await openRaw(server.url, (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
      let n = 0;
      // A new header every 100 ms: each write is progress, but the head is never complete.
      timer = setInterval(() => socket.writable && socket.write(`X-Slow-${n++}: 1\r\n`), 100);
    });
    clearInterval(timer);
    assert.ok(!res.open, 'a slow, never-finished request head kept its connection');
    assert.equal(res.received.startsWith('HTTP/1.1 2'), false, 'an unfinished head must not be answered');
  });

  test('a keep-alive connection idle after its response is closed', async () => {
    const res = await openRaw(server.url, (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    });
    assert.match(res.received, /^HTTP\/1\.1 200/, 'the request itself is answered');
    assert.ok(!res.open, 'an idle keep-alive connection was never closed');
  });

  test('a long-polling session and an idle WebSocket outlive the timeout (three pings each)', async () => {
    const polling = await connectUser(clients, server.url, { name: unique('poller') }, { transports: ['polling'] });
    const ws = await connectUser(clients, server.url, { name: unique('idler') });
    let disconnected = null;
    for (const s of [polling, ws]) s.on('disconnect', (reason) => (disconnected ??= reason));
    // Each long-polling GET waits up to the ping interval (1,500 ms), well past the timeout.
    for (let i = 0; i < 3; i++) {
      await Promise.all([waitFor(polling.io, 'ping', { timeout: 10_000 }), waitFor(ws.io, 'ping', { timeout: 10_000 })]);
    }
    assert.equal(disconnected, null, `a session was cut: ${disconnected}`);
    const room = unique('idle');
    await ok(polling, 'create', { name: room });
    await ok(ws, 'create', { name: `${room}-2` });
  });
});
