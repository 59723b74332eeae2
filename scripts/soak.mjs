// The soak (issue 10): SOAK_CONNECTIONS chat connections churning for SOAK_MINUTES with chat
// traffic, against a running server (SOAK_URL, its pid SOAK_SERVER_PID). Usually started by
// scripts/soak.sh, which starts the server and stops it afterwards.
//
//  1. SOAK_OBSERVERS long-lived clients create SOAK_ROOMS rooms and record every seq they get.
//  2. SOAK_WORKERS child processes (scripts/soak/churn.mjs) keep the population at
//     SOAK_CONNECTIONS: each connection joins a room, lives SOAK_LIFE_MIN_S..SOAK_LIFE_MAX_S,
//     then leaves cleanly or vanishes, and is replaced at once; some talk.
//  3. The server's VmRSS, CPU and open files are sampled every SOAK_SAMPLE_MS.
//  4. After SOAK_MINUTES at full population every churned client leaves; then presence must
//     show only observers, and histories, observers and acks must agree (scripts/soak/observers.mjs).
//
// Prints progress, a JSON summary (also written to SOAK_JSON when set) and a table. Exits 1 when
// anything was lost, duplicated, out of order or left online, 2 when the run itself failed.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import {
  config, call, procSample, runQueueWaitSec, cpuPressure, openFilesLimit, loadavg, slope, percentiles, Reservoir, addCounts, round, sleep,
} from './soak/lib.mjs';
import { startObservers, closeObservers, settlePresence, verifyMessages } from './soak/observers.mjs';
import { printTable } from './soak/table.mjs';

const cfg = config();
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);
const log = (s) => console.log(`[soak +${secs()}s] ${s}`);

if (!cfg.url || !cfg.serverPid) {
  console.error('SOAK_URL and SOAK_SERVER_PID are required (scripts/soak.sh sets them)');
  process.exit(2);
}
log(`parameters ${JSON.stringify({ ...cfg, json: undefined })}`);

// ---- sampling -------------------------------------------------------------------------------
const latest = [];
const finals = [];
const samples = [];
let phase = 'setup';
let prevSample = null;

function clientTotals() {
  const own = process.cpuUsage();
  let cpuSec = (own.user + own.system) / 1e6;
  let live = 0;
  let connecting = 0;
  let sessions = 0;
  let acked = 0;
  let rssMiB = process.memoryUsage.rss() / 1048576;
  for (const w of latest) {
    if (!w) continue;
    cpuSec += w.cpuSec;
    live += w.live;
    connecting += w.connecting;
    sessions += w.stats.sessions;
    acked += w.stats.acked;
    rssMiB += w.rssMiB;
  }
  let waitSec = 0;
  for (const child of workers) waitSec += runQueueWaitSec(child.pid) || 0;
  const sent = latest.reduce((n, w) => n + (w?.stats.sent || 0), 0);
  const joined = latest.reduce((n, w) => n + (w?.stats.joinOk || 0), 0);
  const observed = (observersRef || []).reduce((n, o) => n + o.events.live + o.events.replayed, 0);
  const lagMaxMs = latest.reduce((m, w) => Math.max(m, w?.lagMaxMs || 0), 0);
  return { cpuSec, live, connecting, sessions, acked, rssMiB, waitSec, sent, joined, observed, lagMaxMs };
}

function sample() {
  const s = procSample(cfg.serverPid);
  if (!s) return null;
  const c = clientTotals();
  const now = Date.now();
  const row = {
    t: round((now - t0) / 1000, 1),
    phase,
    rssMiB: round(s.rssMiB),
    anonMiB: round(s.anonMiB),
    fileMiB: round(s.fileMiB),
    hwmMiB: round(s.hwmMiB),
    fds: s.fds,
    threads: s.threads,
    live: c.live,
    connecting: c.connecting,
    sessions: c.sessions,
    joined: c.joined,
    sent: c.sent,
    acked: c.acked,
    observed: c.observed,
    clientRssMiB: round(c.rssMiB),
    clientLagMaxMs: round(c.lagMaxMs, 0),
    probeSendMs: probe.lastSend,
    probeEchoMs: probe.lastEcho,
    probeHistoryMs: probe.lastHistory,
    cpuPressurePct: cpuPressure(),
    _cpu: s.cpuSec,
    _ccpu: c.cpuSec,
    _wait: s.waitSec,
    _cwait: c.waitSec,
    _now: now,
  };
  if (prevSample) {
    const dt = (now - prevSample._now) / 1000;
    row.cpuPct = round((100 * (s.cpuSec - prevSample._cpu)) / dt, 0);
    row.clientCpuPct = round((100 * (c.cpuSec - prevSample._ccpu)) / dt, 0);
    row.sessionsPerSec = round((c.sessions - prevSample.sessions) / dt, 0);
    row.waitPct = round((100 * (s.waitSec - prevSample._wait)) / dt, 0);
    row.clientWaitPct = round((100 * (c.waitSec - prevSample._cwait)) / dt, 0);
  }
  prevSample = row;
  samples.push(row);
  return row;
}

let observersRef = null;

// The probe: observer 0, in this lightly loaded process, times a `send` and a `history` every
// sample period, so the server's answer time can be told apart from the churn workers' own lag.
// The probe also times when its own message comes back live on the same socket (`echo`) and the
// server's store time (`ts`): an ack much later than the echo means answers wait while
// deliveries flow.
const probe = {
  n: 0, acked: [], send: new Reservoir(), history: new Reservoir(), echo: new Reservoir(), stored: new Reservoir(),
  sentAt: new Map(), timeouts: 0, lastSend: null, lastHistory: null, lastEcho: null, timer: null,
};
function startProbe(obs) {
  const socket = obs.owner[0].socket;
  const room = obs.roomIds[0];
  socket.on('message', (m) => {
    const at = probe.sentAt.get(m?.clientId);
    if (at === undefined) return;
    probe.lastEcho = round(Date.now() - at, 0);
    probe.echo.add(probe.lastEcho);
    probe.stored.add(m.ts - at);
  });
  probe.pending = 0;
  const timed = async (event, payload) => {
    const t = performance.now();
    probe.pending++;
    try {
      const res = await call(socket, event, payload, 120000);
      return { ms: round(performance.now() - t, 0), res };
    } catch {
      probe.timeouts++;
      return { ms: null, res: null };
    } finally {
      probe.pending--;
    }
  };
  probe.timer = setInterval(async () => {
    const clientId = `probe-${++probe.n}`;
    probe.sentAt.set(clientId, Date.now());
    const [sent, hist] = await Promise.all([
      timed('send', { room, text: `probe ${probe.n}`, clientId }),
      timed('history', { room, limit: 1 }),
    ]);
    if (sent.res?.ok) {
      probe.acked.push([0, sent.res.data.seq, clientId]);
      probe.send.add(sent.ms);
    }
    if (hist.res?.ok) probe.history.add(hist.ms);
    probe.lastSend = sent.ms;
    probe.lastHistory = hist.ms;
  }, cfg.sampleMs);
}
let serverGone = false;
let workerDied = null;
const sampler = setInterval(() => {
  if (!sample()) {
    serverGone = true;
    log(`the server (pid ${cfg.serverPid}) is gone`);
  }
}, cfg.sampleMs);

// ---- workers --------------------------------------------------------------------------------
const workerPath = fileURLToPath(new URL('./soak/churn.mjs', import.meta.url));
const workers = [];
function startWorkers(roomIds) {
  let firstSlot = 0;
  for (let w = 0; w < cfg.workers; w++) {
    const count = Math.floor(cfg.connections / cfg.workers) + (w < cfg.connections % cfg.workers ? 1 : 0);
    const child = fork(workerPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.exitedP = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.once('exit', (code, signal) => {
      if (!finals[w]) {
        workerDied = `churn worker ${w} (pid ${child.pid}) exited early: code ${code}, signal ${signal}`;
        log(workerDied);
      }
    });
    child.on('message', (msg) => {
      if (msg.type === 'stats') latest[msg.index] = msg;
      else if (msg.type === 'final') {
        finals[msg.index] = msg;
        latest[msg.index] = msg;
      }
    });
    child.send({ type: 'start', cfg, index: w, count, firstSlot, rooms: roomIds });
    workers.push(child);
    firstSlot += count;
  }
  log(`${cfg.workers} churn workers started (pids ${workers.map((c) => c.pid).join(', ')})`);
}

async function stopWorkers() {
  for (const child of workers) if (child.connected) child.send({ type: 'stop' });
  const by = Date.now() + cfg.ackTimeoutMs + 30000;
  while (finals.filter(Boolean).length < workers.length && Date.now() < by) await sleep(200);
  for (const child of workers) {
    const done = await Promise.race([child.exitedP, sleep(5000).then(() => null)]);
    if (!done && child.exitCode === null) child.kill('SIGKILL'); // ours, by its own handle (pid)
  }
  return finals.filter(Boolean).length === workers.length;
}

function progress() {
  const s = samples.at(-1);
  if (!s) return;
  const c = clientTotals();
  log(`${phase}: live ${c.live}, connecting ${c.connecting}, sessions ${c.sessions} (${s.sessionsPerSec ?? '-'}/s), joined ${c.joined}, `
    + `sent ${c.sent}, acked ${c.acked}, observed ${c.observed}; server RSS ${s.rssMiB} MiB, CPU ${s.cpuPct ?? '-'}% (waited ${s.waitPct ?? '-'}%), fds ${s.fds}; `
    + `clients CPU ${s.clientCpuPct ?? '-'}% (waited ${s.clientWaitPct ?? '-'}%), RSS ${s.clientRssMiB} MiB; load ${loadavg()}, CPU pressure ${s.cpuPressurePct ?? '-'}%`);
}

// ---- the run --------------------------------------------------------------------------------
async function main() {
  sample();
  const setupRss = samples[0].rssMiB;
  log(`server pid ${cfg.serverPid} at ${cfg.url}: RSS ${setupRss} MiB; open files allowed: server ${openFilesLimit(cfg.serverPid)}, clients ${openFilesLimit('self')} per process`);
  const obs = await startObservers(cfg);
  observersRef = obs.observers;
  log(`${cfg.observers} observers connected, ${obs.roomIds.length} rooms created`);
  sample();
  const idleRss = samples.at(-1).rssMiB;

  phase = 'ramp';
  startProbe(obs);
  startWorkers(obs.roomIds);
  const tRamp = Date.now();
  const rampLimit = (cfg.connections / cfg.rampPerSec + 60) * 1000;
  let reached = false;
  while (Date.now() - tRamp < rampLimit && !serverGone && !workerDied) {
    await sleep(1000);
    if (clientTotals().live >= 0.97 * cfg.connections) {
      reached = true;
      break;
    }
    if ((Date.now() - tRamp) % 10000 < 1000) progress();
  }
  if (serverGone) throw new Error('the server died during the ramp');
  if (workerDied) throw new Error(workerDied);
  log(reached ? `population reached: ${clientTotals().live} live` : `population NOT reached in ${rampLimit / 1000} s: ${clientTotals().live} live; churning anyway`);

  phase = 'churn';
  const startRow = sample();
  const tChurn = Date.now();
  const churnMs = cfg.minutes * 60000;
  let nextProgress = Date.now() + Math.min(30000, churnMs / 4);
  while (Date.now() - tChurn < churnMs && !serverGone && !workerDied) {
    await sleep(Math.min(1000, churnMs - (Date.now() - tChurn)));
    if (Date.now() >= nextProgress) {
      progress();
      nextProgress += Math.min(30000, churnMs / 4);
    }
  }
  if (serverGone) throw new Error('the server died during the churn');
  if (workerDied) throw new Error(workerDied);
  const endRow = sample();
  clearInterval(probe.timer);
  phase = 'drain';
  log('churn over: every churned client leaves');
  const allFinal = await stopWorkers();
  sample();
  phase = 'settle';
  const presence = await settlePresence(cfg, obs, log);
  const probeBy = Date.now() + 120000; // the probe's last calls (bounded)
  while (probe.pending > 0 && Date.now() < probeBy) await sleep(200);
  const acked = [...probe.acked, ...finals.filter(Boolean).flatMap((f) => f.acked)];
  const messages = await verifyMessages(cfg, obs, acked, log);
  const afterRow = sample();
  clearInterval(sampler);
  const summary = summarize({ obs, presence, messages, startRow, endRow, afterRow, setupRss, idleRss, reached, allFinal });
  closeObservers(obs.observers);
  return summary;
}

function summarize({ obs, presence, messages, startRow, endRow, afterRow, setupRss, idleRss, reached, allFinal }) {
  const churn = samples.filter((s) => s.t >= startRow.t && s.t <= endRow.t);
  const half = startRow.t + (endRow.t - startRow.t) / 2;
  const second = churn.filter((s) => s.t >= half);
  const mins = (s) => s.t / 60;
  const peak = churn.reduce((m, s) => (s.rssMiB > m.rssMiB ? s : m), churn[0]);
  const quarter = (a, b) => {
    const xs = churn.filter((s) => s.t >= startRow.t + a * (endRow.t - startRow.t) && s.t < startRow.t + b * (endRow.t - startRow.t));
    return xs.length ? round(xs.reduce((n, s) => n + s.rssMiB, 0) / xs.length) : null;
  };
  const dt = (endRow._now - startRow._now) / 1000;
  const totals = { anomalies: { gap: 0, duplicate: 0 } };
  const lat = { session: new Reservoir(), join: new Reservoir(), send: new Reservoir() };
  const examples = [];
  for (const f of finals.filter(Boolean)) {
    addCounts(totals, f.stats);
    for (const k of Object.keys(lat)) lat[k].merge(f.lat[k].values, f.lat[k].count);
    examples.push(...f.examples);
  }
  const obsEvents = obs.observers.reduce((a, o) => addCounts(a, o.events), {});
  const obsDisconnects = obs.observers.reduce((a, o) => addCounts(a, o.disconnects), {});
  const liveCounts = churn.map((s) => s.live);
  const summary = {
    params: cfg,
    serverArgs: process.env.SOAK_SERVER_ARGS || null,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version, loadavg: loadavg() },
    population: { reached, liveMin: Math.min(...liveCounts), liveMean: Math.round(liveCounts.reduce((a, b) => a + b, 0) / liveCounts.length), liveMax: Math.max(...liveCounts), observers: cfg.observers },
    churnSeconds: round(dt, 0),
    sessions: { total: totals.sessions, attempts: totals.lives, duringChurnPerSec: round((endRow.sessions - startRow.sessions) / dt, 0), newUsers: totals.newUsers, returning: totals.returning, transports: totals.transports, ended: totals.ended, connectErrors: totals.connectErrors, unexpectedDisconnects: totals.unexpectedDisconnects, joinOk: totals.joinOk, joinErrors: totals.joinErrors },
    messages: {
      talkers: totals.talkers,
      sent: totals.sent,
      acked: totals.acked,
      sendErrors: totals.sendErrors,
      noAck: totals.sendNoAck,
      stored: messages.stored,
      storedWithoutAck: messages.storedWithoutAck,
      deliveredToChurners: totals.delivered,
      deliveredToObservers: obsEvents,
    },
    verdict: {
      lost: messages.lost,
      duplicates: messages.duplicates,
      outOfOrder: messages.outOfOrder,
      historyGaps: messages.historyGaps,
      ackedMissing: messages.ackedMissing + messages.ackedWrongSeq,
      churnSocketGaps: totals.anomalies.gap,
      churnSocketDuplicates: totals.anomalies.duplicate,
      ghosts: presence.ghosts,
      roomsWithoutObserver: presence.roomsWithoutObserver,
      presenceCleanAfterSeconds: presence.cleanAfterSeconds,
      observerReconnects: messages.observerReconnects,
      observerDisconnects: obsDisconnects,
      workersReported: allFinal,
    },
    rss: {
      beforeClientsMiB: setupRss,
      withObserversMiB: idleRss,
      startMiB: startRow.rssMiB,
      peakMiB: peak.rssMiB,
      peakAtSeconds: round(peak.t - startRow.t, 0),
      endMiB: endRow.rssMiB,
      afterClientsLeftMiB: afterRow?.rssMiB ?? null,
      hwmMiB: (afterRow ?? endRow).hwmMiB,
      secondHalfSlopeMiBPerMin: round(slope(second.map(mins), second.map((s) => s.rssMiB)), 2),
      quarterMeansMiB: [quarter(0, 0.25), quarter(0.25, 0.5), quarter(0.5, 0.75), quarter(0.75, 1.0001)],
    },
    cpu: {
      serverPct: round((100 * (endRow._cpu - startRow._cpu)) / dt, 0),
      clientsPct: round((100 * (endRow._ccpu - startRow._ccpu)) / dt, 0),
      serverRunQueueWaitPct: round((100 * (endRow._wait - startRow._wait)) / dt, 0),
      clientsRunQueueWaitPct: round((100 * (endRow._cwait - startRow._cwait)) / dt, 0),
      machineCpuPressurePct: round(churn.reduce((a, x) => a + (x.cpuPressurePct || 0), 0) / churn.length, 0),
      serverFdsPeak: Math.max(...churn.map((s) => s.fds ?? 0)),
      serverThreads: endRow.threads,
    },
    latencyMs: {
      session: percentiles(lat.session.values),
      join: percentiles(lat.join.values),
      sendAck: percentiles(lat.send.values),
      probeSend: percentiles(probe.send.values),
      probeHistory: percentiles(probe.history.values),
      probeEcho: percentiles(probe.echo.values),
      probeStored: percentiles(probe.stored.values),
      probeTimeouts: probe.timeouts,
      clientEventLoopLagMaxMs: percentiles(churn.map((x) => x.clientLagMaxMs || 0)),
    },
    examples: [...messages.examples, ...examples].slice(0, 30),
    ghostExamples: presence.ghostExamples,
    samples: samples.map(({ _cpu, _ccpu, _wait, _cwait, _now, ...s }) => s),
  };
  const v = summary.verdict;
  summary.pass = reached && allFinal && v.lost === 0 && v.duplicates === 0 && v.outOfOrder === 0 && v.historyGaps === 0
    && v.ackedMissing === 0 && v.churnSocketGaps === 0 && v.churnSocketDuplicates === 0 && v.ghosts === 0
    && v.roomsWithoutObserver === 0;
  // Not a verdict on the server's correctness, but on whether the soak tested what it claims:
  // the population held and answers came in time (a starved machine shows here first).
  const timeouts = (totals.joinErrors?.['operation has timed out'] || 0) + (totals.sendNoAck?.['operation has timed out'] || 0);
  summary.loadHeld = summary.population.liveMin >= 0.95 * cfg.connections && timeouts === 0;
  summary.ackTimeouts = timeouts;
  return summary;
}

main().then(
  (summary) => {
    const json = JSON.stringify(summary, null, 1);
    if (cfg.json) writeFileSync(cfg.json, `${json}\n`);
    console.log(JSON.stringify({ ...summary, samples: `${summary.samples.length} samples${cfg.json ? ` in ${cfg.json}` : ''}` }, null, 1));
    printTable(summary);
    process.exit(summary.pass ? 0 : 1);
  },
  async (err) => {
    console.error(`[soak] failed: ${err.stack || err}`);
    clearInterval(sampler);
    for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(2);
  },
);
