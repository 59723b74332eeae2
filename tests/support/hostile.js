// Fixtures for the hostile suite (tests/hostile/): the scale knob, the server's memory and
// health, well-behaved users that chat throughout and must lose nothing, a round-trip watcher,
// and a raw TCP WebSocket for frames no library would send.
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import msgpackParser from 'socket.io-msgpack-parser';
import { connectUser, ok, call, unique, roomFeed, assertSeqRange, summarize } from './chat.js';
import { httpRequest, knownIds } from './rawconn.js';

/** HOSTILE_SCALE (default 1) multiplies counts for evidence runs. */
export const SCALE = Math.max(0.01, Number(process.env.HOSTILE_SCALE ?? 1) || 1);
export const scaled = (n) => Math.max(1, Math.round(n * SCALE));

/** The server's resident memory in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** The server process is running and /healthz answers 200 "ok". */
export async function assertHealthy(server) {
  assert.ok(server.alive(), `the server process died: ${JSON.stringify(server.proc.exitCode ?? server.proc.signalCode)}\n${server.stderr().slice(-2000)}`);
  const res = await httpRequest(`${server.url}/healthz`, { timeout: 5000 });
  assert.equal(res.status, 200, `/healthz answered HTTP ${res.status}`);
  assert.equal(res.body.toString(), 'ok');
}

function remember(socket, label) {
  if (socket.id) knownIds.set(socket.id, `${label} (socket id)`);
  const engineId = socket.io?.engine?.id;
  if (engineId) knownIds.set(engineId, `${label} (engine id)`);
}

/**
 * Two well-behaved socket.io-client users (one on WebSocket, one on long-polling, with the
 * server's parser) in a fresh shared room, each sending a message every ~25 ms and awaiting its
 * ack, both receiving the room. `finish()` stops them and asserts that nothing was lost: every
 * send acked ok, each user's feed is exactly seq 1..last once in order, each acked message is in
 * it under its seq, and so is every message of `extra` ({ clientId, seq }).
 */
export async function steadyUsers(pool, url, { parser = 'json', maxMessages = scaled(4000) } = {}) {
  const opts = parser === 'msgpack' ? { parser: msgpackParser } : {};
  const users = [];
  for (const transport of ['websocket', 'polling']) {
    const socket = await connectUser(pool, url, { name: `Steady ${transport}` }, { ...opts, transports: [transport] });
    socket.label = `steady-${transport}`;
    remember(socket, socket.label);
    socket.drops = [];
    socket.on('disconnect', (reason) => socket.drops.push(reason));
    socket.acks = [];
    socket.errors = [];
    socket.maxRtt = 0;
    users.push(socket);
  }
  const room = (await ok(users[0], 'create', { name: unique('hostile') })).id;
  await ok(users[1], 'join', { room });
  for (const u of users) u.feed = roomFeed(u, room);

  let stopped = false;
  const loop = async (u) => {
    for (let i = 0; i < maxMessages && !stopped; i++) {
      const clientId = `${u.label}-${i}`;
      const started = performance.now();
      try {
        const res = await call(u, 'send', { room, text: `${u.label} #${i}`, clientId }, { timeout: 15000 });
        u.maxRtt = Math.max(u.maxRtt, performance.now() - started);
        if (res?.ok === true) u.acks.push({ clientId, seq: res.data.seq, id: res.data.id });
        else u.errors.push(`send ${clientId}: ${JSON.stringify(res)}`);
      } catch (err) {
        u.errors.push(err.message);
      }
      await sleep(25); // pacing, not waiting for anything
    }
  };
  const loops = users.map(loop);

  return {
    room,
    users,
    async finish(extra = [], { timeout = 15000 } = {}) {
      stopped = true;
      await Promise.all(loops);
      for (const u of users) {
        assert.deepEqual(u.drops, [], `${u.label} was disconnected`);
        assert.deepEqual(u.errors.slice(0, 5), [], `${u.label}: ${u.errors.length} send(s) failed`);
        assert.ok(u.acks.length > 0, `${u.label} sent nothing`);
      }
      const last = (await ok(users[0], 'history', { room, limit: 1 })).messages[0].seq;
      const report = {};
      for (const u of users) {
        await u.feed.untilSeq(last, { timeout });
        assertSeqRange(u.feed.seqs(), 1, last, `${u.label}'s feed of the shared room`);
        const byClientId = new Map(u.feed.messages.map((m) => [m.clientId, m]));
        for (const sent of [...users.flatMap((x) => x.acks), ...extra]) {
          const got = byClientId.get(sent.clientId);
          assert.ok(got, `${u.label} never received ${sent.clientId} (seq ${sent.seq})`);
          assert.equal(got.seq, sent.seq, `${sent.clientId} acked as seq ${sent.seq}, received as ${got.seq}`);
        }
        report[u.label] = { sent: u.acks.length, received: u.feed.messages.length, maxRttMs: Math.round(u.maxRtt), seqs: summarize(u.feed.seqs(), 3) };
      }
      return { last, ...report };
    },
  };
}

/**
 * Round trips of `socket` (a `rooms` call) every `every` ms until stopped; `stop()` resolves
 * with { count, max, maxAt (ms after the start, when the slowest began), failures }.
 */
export function watchRoundTrips(socket, { every = 100, timeout = 10000, limit = 10000 } = {}) {
  let stopped = false;
  const stats = { count: 0, max: 0, maxAt: 0, failures: [] };
  const origin = performance.now();
  const done = (async () => {
    for (let i = 0; i < limit && !stopped; i++) {
      const started = performance.now();
      const res = await call(socket, 'rooms', {}, { timeout }).catch((err) => ({ err: err.message }));
      const rtt = performance.now() - started;
      stats.count++;
      if (rtt > stats.max) {
        stats.max = rtt;
        stats.maxAt = Math.round(started - origin);
      }
      if (res?.ok !== true) stats.failures.push(JSON.stringify(res).slice(0, 200));
      await sleep(every);
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      await done;
      return stats;
    },
  };
}

/**
 * A raw TCP connection that did the WebSocket upgrade of an Engine.IO v4 session by hand.
 * Resolves with { socket, closed: Promise<{ at, why }>, head } once the 101 arrived.
 */
export function rawWsUpgrade(baseUrl, { timeout = 5000 } = {}) {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no 101 within the timeout')); }, timeout);
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    socket.on('error', (err) => closedResolve({ at: performance.now(), why: err.code ?? err.message }));
    socket.on('close', () => closedResolve({ at: performance.now(), why: 'close' }));
    socket.on('end', () => closedResolve({ at: performance.now(), why: 'end' }));
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.on('data', () => {}); // keep reading (the open packet, pings) so a close is seen
      const head = buffered.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      resolve({ socket, closed, head });
    };
    socket.on('data', onData);
    socket.write([
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1',
      `Host: ${hostname}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '', '',
    ].join('\r\n'));
  });
}

/** A masked client frame header (FIN set) that declares `length` bytes of payload. */
export function frameHeader(length, { opcode = 0x1, mask = crypto.randomBytes(4) } = {}) {
  let head;
  if (length < 126) head = Buffer.from([0x80 | opcode, 0x80 | length]);
  else if (length < 0x10000) { head = Buffer.alloc(4); head[0] = 0x80 | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(length, 2); }
  else { head = Buffer.alloc(10); head[0] = 0x80 | opcode; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(length), 2); }
  return Buffer.concat([head, mask]);
}
