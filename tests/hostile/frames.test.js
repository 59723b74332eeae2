// Oversized WebSocket frames (issue 10, defect 6): a frame whose header declares more than
// --max-payload-bytes is refused at the header, so a client cannot make the server buffer it.
// Raw TCP clients do the upgrade by hand and then send frame headers no library would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../support/chat.js';
import { rawWsUpgrade, frameHeader, rssBytes, mib, assertHealthy } from '../support/hostile.js';
import { withTimeout } from '../support/wait.js';

const MAX_PAYLOAD = 1_000_000; // the default, given explicitly
const DECLARED = 16_000_000;
let server;

before(async () => {
  server = await launch(['--max-payload-bytes', String(MAX_PAYLOAD)]);
});
after(async () => {
  await server?.stop();
});

/** Write `total` bytes of frame payload in 64 KiB chunks while the server keeps the connection. */
async function stream(conn, total, { deadline }) {
  const chunk = Buffer.alloc(65536, 0x61);
  let sent = 0;
  let closed = false;
  conn.closed.then(() => { closed = true; });
  while (sent < total && !closed && performance.now() < deadline) {
    const more = conn.socket.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
    sent += Math.min(chunk.length, total - sent);
    if (!more) {
      await Promise.race([new Promise((r) => conn.socket.once('drain', r)), conn.closed,
        new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())))]);
    }
  }
  return sent;
}

test(`a frame header declaring ${DECLARED} bytes (limit ${MAX_PAYLOAD}) ends the connection within 3 s`, async (t) => {
  const conn = await rawWsUpgrade(server.url);
  t.after(() => conn.socket.destroy());
  const started = performance.now();
  conn.socket.write(Buffer.concat([frameHeader(DECLARED, { mask: Buffer.alloc(4) }), Buffer.alloc(4096, 0x61)]));
  const { at, why } = await withTimeout(conn.closed, 3000,
    `the server closing a connection whose frame header declared ${DECLARED} bytes (it waited for the rest instead)`);
  t.diagnostic(`closed after ${Math.round(at - started)} ms (${why})`);
  await assertHealthy(server);
});

test('10 clients streaming 15 MB into 16,000,000-byte frames: each is cut off and the server grows by < 20 MiB', { timeout: 30000 }, async (t) => {
  const conns = [];
  t.after(() => conns.forEach((c) => c.socket.destroy()));
  for (let i = 0; i < 10; i++) conns.push(await rawWsUpgrade(server.url));
  const baseline = rssBytes(server.proc.pid);
  const deadline = performance.now() + 10000;
  const sent = await Promise.all(conns.map(async (c) => {
    c.socket.write(frameHeader(DECLARED, { mask: Buffer.alloc(4) }));
    return stream(c, 15_000_000, { deadline });
  }));
  const peak = rssBytes(server.proc.pid);
  const closedIn = await Promise.all(conns.map((c) => withTimeout(c.closed, 5000, 'the server closing an oversized frame').then(() => true, () => false)));
  t.diagnostic(`RSS ${mib(baseline)} -> ${mib(peak)}; bytes written per client before the cut: ${sent.map((s) => `${(s / 1e6).toFixed(1)} MB`).join(', ')}`);
  assert.ok(peak - baseline < 20 * 1048576, `the server's RSS grew by ${mib(peak - baseline)} (${mib(baseline)} -> ${mib(peak)}): oversized frames are buffered`);
  assert.deepEqual(closedIn, conns.map(() => true), 'every oversized frame must end its connection');
  await assertHealthy(server);
});

test('a message fragmented into frames under the limit is still refused once it exceeds the limit', async (t) => {
  const conn = await rawWsUpgrade(server.url);
  t.after(() => conn.socket.destroy());
  // 20 non-final frames of 100 KB (text, then continuations): 2 MB in all, each frame < 1 MB.
  const piece = Buffer.alloc(100_000, 0x61);
  const frames = [];
  for (let i = 0; i < 20; i++) {
    const head = frameHeader(piece.length, { opcode: i === 0 ? 0x1 : 0x0, mask: Buffer.alloc(4) });
    head[0] &= 0x7f; // FIN clear: more fragments follow
    frames.push(head, piece);
  }
  const deadline = performance.now() + 5000;
  for (const f of frames) {
    if (performance.now() > deadline) break;
    if (!conn.socket.write(f)) await Promise.race([new Promise((r) => conn.socket.once('drain', r)), conn.closed]);
  }
  const { why } = await withTimeout(conn.closed, 3000, 'the server closing a fragmented message over the limit');
  t.diagnostic(`closed (${why})`);
  await assertHealthy(server);
});
