// A churn worker of the soak (forked by scripts/soak.mjs): keeps `count` chat connections open,
// each living a random time, then leaving cleanly or vanishing (TCP destroyed), replaced at once
// by a new one. A fraction of them talk. Every connection checks that the messages it receives
// come in seq order without gap or duplicate; every acked send is reported to the coordinator.
//
// Messages from the coordinator: { type: 'start', cfg, index, count, firstSlot, rooms } and
// { type: 'stop' }. To it: { type: 'stats', ... } every 2 s and { type: 'final', ... } at the end.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io, Reservoir, sleep } from './lib.mjs';

let cfg;
let rooms;
let index = 0;
let stopping = false;
const rnd = Math.random;
const slots = [];
const lives = new Set();
/** Acked sends: [roomIndex, seq, clientId], all of them (a few tens of thousands in a soak). */
const acked = [];
const lat = { session: new Reservoir(), join: new Reservoir(), send: new Reservoir() };
let sendCounter = 0;
let inflight = 0;
const examples = [];
const stats = {
  lives: 0,
  sessions: 0,
  newUsers: 0,
  returning: 0,
  transports: { websocket: 0, polling: 0 },
  talkers: 0,
  joinOk: 0,
  joinErrors: {},
  connectErrors: {},
  unexpectedDisconnects: {},
  ended: { clean: 0, abruptWebsocket: 0, abruptPolling: 0 },
  sent: 0,
  acked: 0,
  sendErrors: {},
  sendNoAck: {},
  delivered: { live: 0, replayed: 0, batches: 0, presence: 0 },
  anomalies: { duplicate: 0, gap: 0 },
};

const bump = (obj, key) => {
  obj[key] = (obj[key] || 0) + 1;
};
const note = (text) => {
  if (examples.length < 20) examples.push(text);
};
const between = (a, b) => a + rnd() * (b - a);


function startLife(slot) {
  if (stopping) return;
  const fresh = !slot.token || rnd() < cfg.newUserFraction;
  if (fresh) slot.room = Math.floor(rnd() * rooms.length);
  const polling = rnd() < cfg.pollingFraction;
  const life = {
    slot,
    room: rooms[slot.room],
    roomIndex: slot.room,
    polling,
    talker: rnd() < cfg.talkerFraction,
    endedByUs: false,
    closed: false,
    timers: [],
    last: new Map(),
    t0: performance.now(),
  };
  stats.lives++;
  bump(stats.transports, polling ? 'polling' : 'websocket');
  if (fresh) stats.newUsers++;
  else stats.returning++;
  const opts = {
    forceNew: true,
    reconnection: false,
    timeout: cfg.ackTimeoutMs,
    transports: [polling ? 'polling' : 'websocket'],
    auth: fresh ? { name: `soak-${index}-${slot.i}` } : { token: slot.token },
  };
  // A long-polling client keeps its connections alive, as a browser does; its own agent lets
  // it vanish by destroying them.
  if (polling) opts.agent = life.agent = new http.Agent({ keepAlive: true });
  const socket = io(cfg.url, opts);
  life.socket = socket;
  lives.add(life);

  socket.on('session', (s) => {
    stats.sessions++;
    lat.session.add(performance.now() - life.t0);
    slot.token = s.token;
    life.live = true;
    const tj = performance.now();
    socket.timeout(cfg.ackTimeoutMs).emit('join', { room: life.room }, (err, res) => {
      if (err) return bump(stats.joinErrors, life.endedByUs ? 'ended before the ack' : err.message);
      if (!res?.ok) return bump(stats.joinErrors, res?.error?.code || 'bad answer');
      stats.joinOk++;
      lat.join.add(performance.now() - tj);
      if (life.talker && !life.endedByUs) {
        stats.talkers++;
        scheduleSend(life);
      }
    });
    life.timers.push(setTimeout(() => end(life), between(cfg.lifeMinS, cfg.lifeMaxS) * 1000));
  });
  socket.on('message', (m) => {
    stats.delivered.live++;
    check(life, m);
  });
  socket.on('messages', (b) => {
    stats.delivered.batches++;
    for (const m of b?.messages || []) {
      stats.delivered.replayed++;
      check(life, m);
    }
  });
  socket.on('presence', () => {
    stats.delivered.presence++;
  });
  socket.on('connect_error', (err) => {
    bump(stats.connectErrors, String(err?.message || err).slice(0, 80));
    finish(life, between(1000, 3000));
  });
  socket.on('disconnect', (reason) => {
    if (!life.endedByUs) bump(stats.unexpectedDisconnects, reason);
    finish(life, life.endedByUs ? between(0, 500) : between(500, 2000));
  });
}

/** Messages of one room reach one socket in seq order, each once, from the first one on. */
function check(life, m) {
  const prev = life.last.get(m?.room);
  if (prev !== undefined) {
    if (m.seq <= prev) {
      stats.anomalies.duplicate++;
      note(`room ${m.room}: seq ${m.seq} after ${prev} on one socket`);
    } else if (m.seq !== prev + 1) {
      stats.anomalies.gap++;
      note(`room ${m.room}: seq ${m.seq} after ${prev} on one socket (gap)`);
    }
  }
  if (prev === undefined || m.seq > prev) life.last.set(m.room, m.seq);
}

function scheduleSend(life) {
  const wait = between(0.5, 1.5) * cfg.sendIntervalMs;
  life.timers.push(setTimeout(() => {
    if (life.endedByUs || stopping) return;
    const clientId = `w${index}-${++sendCounter}`;
    const text = `soak ${clientId} ${'x'.repeat(Math.floor(rnd() * 200))}`;
    const t = performance.now();
    stats.sent++;
    inflight++;
    life.socket.timeout(cfg.ackTimeoutMs).emit('send', { room: life.room, text, clientId }, (err, res) => {
      inflight--;
      if (err) return bump(stats.sendNoAck, life.endedByUs ? 'connection ended first' : err.message);
      if (res?.ok) {
        stats.acked++;
        lat.send.add(performance.now() - t);
        acked.push([life.roomIndex, res.data.seq, clientId]);
      } else {
        bump(stats.sendErrors, res?.error?.code || 'bad answer');
      }
    });
    scheduleSend(life);
  }, wait));
}

/** Leave: cleanly (Socket.IO DISCONNECT), or vanish (TCP destroyed, or polling abandoned). */
function end(life, mode = rnd() < cfg.cleanFraction ? 'clean' : 'abrupt') {
  if (life.endedByUs || life.closed) return;
  life.endedByUs = true;
  for (const t of life.timers) clearTimeout(t);
  const { socket } = life;
  const engine = socket.io?.engine;
  const transport = engine?.transport;
  if (mode === 'abrupt' && transport?.name === 'websocket' && transport.ws?._socket) {
    stats.ended.abruptWebsocket++;
    transport.ws._socket.destroy();
  } else if (mode === 'abrupt' && transport?.name === 'polling' && engine.readyState === 'open') {
    // A tab killed mid-poll: no close packet, the connections (the pending GET's too) torn
    // down, no further polls. The server finds out by its heartbeat.
    stats.ended.abruptPolling++;
    transport.doClose = () => {};
    engine.close();
    closeAgent(life.agent);
  } else {
    stats.ended.clean++;
    socket.disconnect();
  }
  // With no transport left to report it, `disconnect` may not come: finish regardless.
  setTimeout(() => finish(life, between(0, 500)), 2000);
}

function finish(life, replaceAfterMs) {
  if (life.closed) return;
  life.closed = true;
  for (const t of life.timers) clearTimeout(t);
  lives.delete(life);
  life.socket.removeAllListeners();
  if (!life.socket.disconnected) life.socket.disconnect();
  // Idle keep-alive connections would stay open: close them once the goodbye went out.
  if (life.agent) setTimeout(() => closeAgent(life.agent), 2000);
  if (!stopping) setTimeout(() => startLife(life.slot), replaceAfterMs);
}

/**
 * Tear down a polling client's connections for good. xmlhttprequest-ssl sends a request again
 * when its reused keep-alive connection is reset, which would open a fresh connection (and keep
 * it alive, idle, for the rest of the run): the agent refuses new connections first.
 */
function closeAgent(agent) {
  agent.createConnection = (_opts, cb) => {
    cb(new Error('soak: this client is gone'));
  };
  agent.destroy();
}

function gauges() {
  let live = 0;
  let connecting = 0;
  for (const l of lives) {
    if (l.live && !l.endedByUs) live++;
    else if (!l.live) connecting++;
  }
  const cpu = process.cpuUsage();
  return { live, connecting, cpuSec: (cpu.user + cpu.system) / 1e6, rssMiB: process.memoryUsage.rss() / 1048576 };
}

// How late this process runs its callbacks: when it is starved, acks arrive late on our side.
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
const report = () => {
  process.send({ type: 'stats', index, stats, ...gauges(), lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 });
  lag.reset();
};
let reporter;

async function stop() {
  stopping = true;
  // Let the sends in flight be answered, then every connection leaves (clean or vanishing).
  const until = Date.now() + cfg.ackTimeoutMs;
  while (inflight > 0 && Date.now() < until) await sleep(100);
  for (const life of [...lives]) {
    if (life.live) end(life);
    else finish(life, 0);
  }
  const closeBy = Date.now() + 10000;
  while (lives.size > 0 && Date.now() < closeBy) await sleep(100);
  for (const life of [...lives]) finish(life, 0);
  clearInterval(reporter);
  await sleep(2100); // the agents of the last polling clients close
  const pack = (r) => ({ values: r.values, count: r.count });
  process.send({
    type: 'final',
    index,
    stats,
    ...gauges(),
    acked,
    examples,
    inflightLeft: inflight,
    lat: { session: pack(lat.session), join: pack(lat.join), send: pack(lat.send) },
  }, () => process.exit(0));
}

process.on('message', async (msg) => {
  if (msg.type === 'start') {
    ({ cfg, rooms, index } = msg);
    for (let i = 0; i < msg.count; i++) {
      const g = msg.firstSlot + i;
      slots.push({ i: g, room: g % rooms.length, token: null });
    }
    reporter = setInterval(report, 2000);
    // Ramp up at this worker's share of the ramp rate.
    const gap = 1000 / (cfg.rampPerSec / cfg.workers);
    for (const slot of slots) {
      if (stopping) break;
      startLife(slot);
      await sleep(gap);
    }
  } else if (msg.type === 'stop') {
    await stop();
  }
});
process.on('disconnect', () => process.exit(1)); // the coordinator is gone
