// The dev server (npm run dev): serves dist/ and forwards /socket.io/ to the chat server, for
// long-polling and for WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, distDir } from './helpers/server.js';
import { guest, closeAll, unique } from './helpers/clients.js';
import { next } from './helpers/wait.js';
import { startDevServer } from '../scripts/serve.js';
import { ensureBuilt } from './browser/helpers.js';

let server;
let dev;
before(async () => {
  await ensureBuilt();
  server = await startServer();
  dev = await startDevServer({ root: distDir, target: server.url });
});
after(async () => {
  closeAll();
  await dev?.close();
  await cleanup();
});

test('serves the built page', async () => {
  const res = await fetch(`${dev.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(await res.text(), /<script type="module" src="app.js">/);
  const js = await fetch(`${dev.url}/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await fetch(`${dev.url}/nope.txt`)).status, 404);
  assert.equal((await fetch(`${dev.url}/../package.json`)).status, 404);
});

test('forwards socket.io over long-polling and WebSocket', async () => {
  const polling = await guest(dev.url, 'Poll', { transports: ['polling'] });
  const ws = await guest(dev.url, 'Sock', { transports: ['websocket'] });
  assert.equal(polling.transport, 'polling');
  assert.equal(ws.transport, 'websocket');
  const room = (await polling.createRoom(unique('Proxied'))).id;
  await ws.join(room);
  const got = next(ws, 'message', { filter: (m) => m.room === room });
  await polling.send(room, 'through the proxy');
  assert.equal((await got).text, 'through the proxy');
});
