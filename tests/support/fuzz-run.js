// Runs the cases of support/fuzz.js against a chat server over raw connections (support/rawconn.js)
// and says, per case, what went wrong: an answer of the wrong shape, a malformed request that was
// accepted, a connection left neither closed nor answering, a request refused with anything but
// a 4xx. The caller checks the server and its well-behaved users around it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { RawConn, httpRequest, foreignIds } from './rawconn.js';
import { ERROR_CODES, fillRoom, describeCase, prng, generateCases } from './fuzz.js';
import { clientPool } from './clients.js';
import { launch, assertNoSocketIds } from './chat.js';
import { steadyUsers, assertHealthy, scaled } from './hostile.js';

const isEnvelope = (res) => res && typeof res === 'object' && (
  (res.ok === true && 'data' in res)
  || (res.ok === false && res.error && typeof res.error.code === 'string' && typeof res.error.message === 'string'));

/** Check one ack against what the step expects; a string says what is wrong. */
function judgeAck(step, res, conn) {
  const shown = JSON.stringify(res)?.slice(0, 300);
  if (step.expect === 'maybe') return res === undefined || isEnvelope(res) ? null : `answer of the wrong shape: ${shown}`;
  if (res === undefined) return `no answer (${conn.closed ? `connection closed: ${conn.closed}` : 'timed out'})`;
  if (!isEnvelope(res)) return `answer of the wrong shape: ${shown}`;
  if (step.expect === 'ok' && res.ok !== true) return `expected ok, got ${shown}`;
  if (step.expect === 'error') {
    if (res.ok !== false) return `a malformed request was accepted: ${shown}`;
    if (!ERROR_CODES.includes(res.error.code)) return `unexpected error code: ${shown}`;
  }
  return null;
}

/** A WebSocket upgrade with `query`; resolves with how it ended: { status } if refused,
 * { probe: true } if the Engine.IO upgrade probe was answered, { closed } otherwise. */
function tryUpgrade(url, query, { timeout = 3000 } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?${query}`, { perMessageDeflate: false });
    const received = [];
    const done = (v) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve({ ...v, received });
    };
    const timer = setTimeout(() => done({ silent: true }), timeout);
    ws.on('unexpected-response', (req, res) => {
      res.resume();
      done({ status: res.statusCode });
    });
    ws.on('error', (err) => done({ closed: err.message }));
    ws.on('close', (code) => done({ closed: code }));
    ws.on('open', () => ws.send('2probe'));
    ws.on('message', (data) => {
      const text = data.toString();
      received.push(text);
      if (text === '3probe') done({ probe: true });
      else if (text[0] === '0') done({ opened: true }); // a new session instead of an upgrade
    });
  });
}

const randomSid = (r) => crypto.createHash('sha256').update(String(r.int(1e9))).digest('base64url').slice(0, r.pick([16, 20, 22]));
const BAD_SIDS = ['', '!!!', '%C3%A9', '%00', 'a'.repeat(2000), '..%2F..%2Fetc', 'AAAAAAAAAAAAAAAAAAAAAA', '%20', 'sid%26EIO%3D3'];
const BAD_QUERIES = ['EIO=5', 'EIO=', 'EIO=4x', 'EIO=-4', 'EIO=04', 'EIO=%34', 'EIO=4.0', 'EIOX=4', ''];

/** One 'http' case; resolves with a failure message or null, and texts received (leak check). */
async function runHttp(url, c, texts) {
  const r = prng(c.seed);
  const kind = c.http.kind;
  const base = `${url}/socket.io/?`;
  const mustRefuse = async (what, res) => {
    texts.push({ text: res.body.toString('latin1') });
    if (res.status < 400 || res.status >= 500) return `${what}: expected a 4xx refusal, got HTTP ${res.status} ${res.body.toString().slice(0, 200)}`;
    return null;
  };
  const closedSession = async () => {
    const conn = await RawConn.open(url, { transport: 'polling', parser: c.parser, label: `case ${c.n}` });
    texts.push({ text: conn.receivedText(), own: conn.ownIds });
    await conn.post('1');
    return conn.sid;
  };
  switch (kind) {
    case 'unknown-sid':
      return mustRefuse('GET with an unknown sid', await httpRequest(`${base}EIO=4&transport=polling&sid=${randomSid(r)}`));
    case 'bad-sid':
      return mustRefuse('GET with a malformed sid', await httpRequest(`${base}EIO=4&transport=polling&sid=${r.pick(BAD_SIDS)}`));
    case 'reused-sid': {
      const sid = await closedSession();
      const method = r.pick(['GET', 'POST']);
      return mustRefuse(`${method} with the sid of a closed session`, await httpRequest(`${base}EIO=4&transport=polling&sid=${sid}`, { method, body: method === 'POST' ? '42["rooms",{}]' : undefined }));
    }
    case 'bad-query': {
      const query = `${r.pick(BAD_QUERIES)}&transport=${r.pick(['polling', 'polling', '', 'pigeon'])}`;
      const res = await httpRequest(`${base}${query}`);
      if (res.body.toString().startsWith('0{')) return `handshake with "${query}" opened a session: ${res.body.toString().slice(0, 200)}`;
      return mustRefuse(`handshake with "${query}"`, res);
    }
    case 'post-handshake':
      return mustRefuse('POST without a sid', await httpRequest(`${base}EIO=4&transport=polling`, { method: 'POST', body: '40' }));
    case 'bad-method':
      return mustRefuse('PUT/DELETE handshake', await httpRequest(`${base}EIO=4&transport=polling`, { method: r.pick(['PUT', 'DELETE', 'PATCH']), body: '40' }));
    case 'overlapping-get': {
      // Two GETs at once on a session with nothing to send: the second overlaps the first.
      const open = await httpRequest(`${base}EIO=4&transport=polling`);
      const handshake = open.body.toString();
      const sid = JSON.parse(handshake.slice(1)).sid;
      const own = new Set([sid]);
      const get = () => httpRequest(`${base}EIO=4&transport=polling&sid=${sid}`, { timeout: 8000 }).catch((err) => ({ status: 0, body: Buffer.from(err.message) }));
      const both = await Promise.all([get(), get()]);
      const after = await get();
      texts.push({ text: [handshake, ...[...both, after].map((x) => x.body.toString('latin1'))].join('\n'), own });
      const shown = [...both, after].map((x) => `${x.status} ${JSON.stringify(x.body.toString().slice(0, 60))}`).join(', ');
      // The overlap ends the session: one GET is refused or carries the close packet, and the
      // sid is unknown afterwards.
      const ended = both.some((x) => x.status === 400 || x.body.toString().split('\x1e').includes('1'));
      if (!ended || after.status !== 400) return `the session lived on after overlapping GETs: ${shown}`;
      return null;
    }
    case 'ws-unknown-sid':
    case 'ws-bad-sid':
    case 'ws-reused-sid': {
      const sid = kind === 'ws-unknown-sid' ? randomSid(r) : kind === 'ws-bad-sid' ? r.pick(BAD_SIDS) : await closedSession();
      const out = await tryUpgrade(url, `EIO=4&transport=websocket&sid=${sid}`);
      texts.push({ text: out.received.join('\n') });
      if (out.probe || out.opened || out.silent) return `upgrade with ${kind} sid ${sid.slice(0, 40)} was not refused: ${JSON.stringify(out)}`;
      return null;
    }
    case 'ws-bad-query': {
      const query = `${r.pick(BAD_QUERIES)}&transport=websocket`;
      const out = await tryUpgrade(url, query);
      texts.push({ text: out.received.join('\n') });
      if (out.probe || out.opened || out.silent) return `websocket with "${query}" was not refused: ${JSON.stringify(out)}`;
      return null;
    }
    case 'ws-second-upgrade': {
      const conn = await RawConn.open(url, { transport: 'polling', parser: c.parser, label: `case ${c.n}` });
      const first = await tryUpgrade(url, `EIO=4&transport=websocket&sid=${conn.sid}`);
      const second = await tryUpgrade(url, `EIO=4&transport=websocket&sid=${conn.sid}`);
      texts.push({ text: [conn.receivedText(), ...first.received, ...second.received].join('\n'), own: conn.ownIds });
      conn.destroy();
      if (first.probe && second.probe) return `two upgrades of one session were both answered: ${JSON.stringify(second)}`;
      return null;
    }
    default:
      throw new Error(`unknown http case ${kind}`);
  }
}

/** One connection case; resolves with a failure message or null. */
async function runConn(url, c, ctx) {
  let conn;
  try {
    conn = await RawConn.open(url, { transport: c.transport, parser: c.parser, label: `case ${c.n}` });
  } catch (err) {
    return `the handshake failed: ${err.message}`;
  }
  ctx.conns.push(conn);
  try {
    if (c.stage === 'nsp') {
      try {
        await conn.connect({ name: `Hostile ${c.n}` });
      } catch (err) {
        return `a guest could not connect: ${err.message}`;
      }
    }
    for (const raw of c.steps) {
      const step = fillRoom(raw, ctx.room);
      if (step.call !== undefined) {
        const res = await conn.call(step.call, step.payload, { timeout: step.expect === 'maybe' ? 300 : 5000 });
        const wrong = judgeAck(step, res, conn);
        if (wrong) return `${step.call}: ${wrong}`;
        if (step.record && res?.ok) ctx.recorded.push({ clientId: step.payload.clientId, seq: res.data.seq, text: step.payload.text });
        // socketioxide ends the connection on an event name it cannot borrow (one with a JSON
        // escape, e.g. "x\u0000"): unknown event names may close it.
        if (step.expect === 'maybe' && conn.closed) break;
      } else if (step.text !== undefined) await conn.sendText(step.text);
      else if (step.textBytes) await conn.sendTextBytes(Buffer.from(step.textBytes.toString('latin1').replaceAll('$ROOM', ctx.room), 'latin1'));
      else if (step.bin) await conn.sendBinary(step.bin);
      else if (step.body !== undefined) await conn.sendBody(step.body);
      else if (step.sio) await conn.sendPacket(step.sio);
    }
    const outcome = await conn.probe();
    ctx.outcomes[`${c.cat}:${outcome}`] = (ctx.outcomes[`${c.cat}:${outcome}`] ?? 0) + 1;
    if (outcome === 'silent') return 'the connection was neither closed nor answering (a CONNECT to an unknown namespace got no CONNECT_ERROR within 3 s)';
    if (c.expect === 'closed' && outcome !== 'closed') return `expected the server to end the connection, it is still ${outcome}`;
    return null;
  } finally {
    conn.destroy();
  }
}

/**
 * Run `cases` with `concurrency` at a time. Resolves with
 * { failures: [string], outcomes: {cat:outcome -> n}, recorded: [{clientId, seq}], leaks: [string], ran }.
 * `recorded` are the valid messages hostile sessions sent to `room` and got acked.
 */
export async function runCases(url, cases, { room, concurrency = 12, deadline = Date.now() + 60000 } = {}) {
  const ctx = { room, conns: [], recorded: [], outcomes: {}, texts: [] };
  const failures = [];
  let next = 0;
  let ran = 0;
  const worker = async () => {
    while (next < cases.length && Date.now() < deadline) {
      const c = cases[next++];
      let why;
      try {
        why = c.stage === 'http' ? await runHttp(url, c, ctx.texts) : await runConn(url, c, ctx);
      } catch (err) {
        why = `threw: ${err.stack?.split('\n').slice(0, 3).join(' ')}`;
      }
      ran++;
      if (why) failures.push(`${describeCase(c)}\n    -> ${why}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const leaks = [];
  for (const conn of ctx.conns) {
    const ids = foreignIds(conn.receivedText(), conn.ownIds);
    if (ids.length) leaks.push(`${conn.label} received another client's socket id(s) ${ids.join(', ')}`);
  }
  for (const { text, own = new Set() } of ctx.texts) {
    const ids = foreignIds(text, own);
    if (ids.length) leaks.push(`an HTTP answer carried socket id(s) ${ids.join(', ')}: ${text.slice(0, 200)}`);
  }
  return { failures, outcomes: ctx.outcomes, recorded: ctx.recorded, leaks, ran };
}

/**
 * The fuzz suite for one parser ('json' | 'msgpack'): a chat server of its own, two well-behaved
 * users chatting in a shared room throughout, and `perTransport` generated cases over each
 * transport. Registers its before/after hooks and one test in the calling file.
 */
export function fuzzSuite(parser, { seed, perTransport = scaled(300), maxPayload = 65536 }) {
  const pool = clientPool();
  let server;
  before(async () => {
    server = await launch([
      '--parser', parser === 'msgpack' ? 'msgpack' : 'common',
      '--max-payload-bytes', String(maxPayload),
      '--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000',
      '--ping-interval-ms', '5000', '--ping-timeout-ms', '5000', '--connect-timeout-ms', '5000',
    ]);
  });
  after(async () => {
    pool.closeAll();
    await server?.stop();
  });

  test(`${parser} parser: ${2 * perTransport} generated malformed inputs over WebSocket and long-polling; well-behaved users lose nothing, no socket id leaks, the server stays up`, { timeout: 180000 }, async (t) => {
    const started = performance.now();
    const steady = await steadyUsers(pool, server.url, { parser });
    const results = await Promise.all(['websocket', 'polling'].map((transport, i) => runCases(server.url,
      generateCases({ parser, transport, seed: seed + i, count: perTransport, maxPayload }),
      { room: steady.room, concurrency: 8, deadline: Date.now() + 150000 })));
    const failures = results.flatMap((r) => r.failures);
    const leaks = results.flatMap((r) => r.leaks);
    const recorded = results.flatMap((r) => r.recorded);
    const ran = results.reduce((s, r) => s + r.ran, 0);
    const outcomes = {};
    for (const r of results) for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
    t.diagnostic(`${ran} cases in ${Math.round(performance.now() - started)} ms; outcomes ${JSON.stringify(outcomes)}; ${recorded.length} hostile messages stored`);

    await assertHealthy(server);
    const report = await steady.finish(recorded);
    t.diagnostic(`steady users: ${JSON.stringify(report)}`);
    assert.equal(ran, 2 * perTransport, 'not every case ran before the deadline');
    assert.deepEqual(leaks, [], 'hostile connections received socket ids of other clients');
    assert.equal(failures.length, 0, `${failures.length} of ${ran} cases failed:\n${failures.slice(0, 15).join('\n')}`);
    assertNoSocketIds();
    await assertHealthy(server);
  });
}
