// Shared pieces of the soak (scripts/soak.mjs and its churn workers): the parameters, the
// socket.io client (from tests/node_modules), acked calls, small statistics and /proc readers.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const require = createRequire(new URL('../../tests/package.json', import.meta.url));
/** socket.io-client 4.8 as installed for the end-to-end tests (`npm ci` in tests/). */
export const { io } = require('socket.io-client');

const num = (name, dflt) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}=${raw}: not a non-negative number`);
  return v;
};

/** Every parameter of the soak, from SOAK_* variables, with the real run's defaults. */
export function config() {
  const connections = Math.round(num('SOAK_CONNECTIONS', 10000));
  const c = {
    url: process.env.SOAK_URL || '',
    serverPid: Math.round(num('SOAK_SERVER_PID', 0)),
    connections,
    minutes: num('SOAK_MINUTES', 10),
    rooms: Math.max(1, Math.round(num('SOAK_ROOMS', 500))),
    observers: Math.max(1, Math.round(num('SOAK_OBSERVERS', 20))),
    workers: Math.max(1, Math.round(num('SOAK_WORKERS', Math.ceil(connections / 2500)))),
    lifeMinS: num('SOAK_LIFE_MIN_S', 20),
    lifeMaxS: num('SOAK_LIFE_MAX_S', 180),
    cleanFraction: num('SOAK_CLEAN_FRACTION', 0.5),
    pollingFraction: num('SOAK_POLLING_FRACTION', 0.05),
    talkerFraction: num('SOAK_TALKER_FRACTION', 0.05),
    sendIntervalMs: num('SOAK_SEND_INTERVAL_MS', 10000),
    newUserFraction: num('SOAK_NEW_USER_FRACTION', 0.2),
    rampPerSec: Math.max(1, num('SOAK_RAMP_PER_SEC', 200)),
    settleSeconds: num('SOAK_SETTLE_SECONDS', 75),
    sampleMs: Math.max(500, num('SOAK_SAMPLE_MS', 5000)),
    ackTimeoutMs: num('SOAK_ACK_TIMEOUT_MS', 20000),
    json: process.env.SOAK_JSON || '',
  };
  c.observers = Math.min(c.observers, c.rooms);
  c.workers = Math.min(c.workers, Math.max(1, connections));
  if (c.lifeMaxS < c.lifeMinS) throw new Error('SOAK_LIFE_MAX_S < SOAK_LIFE_MIN_S');
  return c;
}

/** Emit `event` with an ack; resolves with the envelope, rejects after `timeout` ms. */
export function call(socket, event, payload, timeout = 20000) {
  return socket.timeout(timeout).emitWithAck(event, payload);
}

/** `call` that must answer ok; resolves with `data`. */
export async function ok(socket, event, payload, timeout) {
  const res = await call(socket, event, payload, timeout);
  if (!res || res.ok !== true) throw new Error(`${event} ${JSON.stringify(payload)}: ${JSON.stringify(res)}`);
  return res.data;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A bounded sample of values (reservoir), for percentiles of millions of events. */
export class Reservoir {
  constructor(cap = 20000) {
    this.cap = cap;
    this.values = [];
    this.count = 0;
  }
  add(v) {
    this.count++;
    if (this.values.length < this.cap) this.values.push(v);
    else {
      const i = Math.floor(Math.random() * this.count);
      if (i < this.cap) this.values[i] = v;
    }
  }
  merge(values, count) {
    // Good enough for percentiles: keep a proportional share of each worker's sample.
    for (const v of values) this.add(v);
    this.count += Math.max(0, count - values.length);
  }
}

export function percentiles(values, ps = [50, 90, 99, 100]) {
  if (!values.length) return Object.fromEntries(ps.map((p) => [`p${p}`, null]));
  const sorted = [...values].sort((a, b) => a - b);
  return Object.fromEntries(ps.map((p) => {
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return [`p${p}`, Math.round(sorted[i] * 10) / 10];
  }));
}

/** Add the counters of `b` into `a` (nested objects of numbers). */
export function addCounts(a, b) {
  for (const [k, v] of Object.entries(b)) {
    if (typeof v === 'number') a[k] = (a[k] || 0) + v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) addCounts((a[k] ??= {}), v);
  }
  return a;
}

/** Least-squares slope of ys over xs (same units per x unit); null with fewer than 2 points. */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num2 = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num2 += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num2 / den;
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux's usual value
}

/**
 * Seconds the threads of a process spent runnable but waiting for a CPU (the run-queue delay
 * of /proc/<pid>/task/<tid>/schedstat, summed): how much a busy machine held it back.
 */
export function runQueueWaitSec(pid) {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) || 0;
      } catch {
        // the thread ended
      }
    }
  } catch {
    return null;
  }
  return ns / 1e9;
}

/** The machine's CPU pressure (PSI "some" avg10, %): share of time something waited for a CPU. */
export function cpuPressure() {
  try {
    return Number(/avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))[1]);
  } catch {
    return null;
  }
}

/** A process's memory, CPU time, threads and open files from /proc (null once it is gone). */
export function procSample(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number((new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status) || [])[1] || 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / clkTck; // utime + stime
    let fds = null;
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // not ours to read
    }
    return {
      rssMiB: kib('VmRSS') / 1024,
      anonMiB: kib('RssAnon') / 1024,
      fileMiB: (kib('RssFile') + kib('RssShmem')) / 1024,
      hwmMiB: kib('VmHWM') / 1024,
      threads: kib('Threads'),
      cpuSec,
      fds,
      waitSec: runQueueWaitSec(pid),
    };
  } catch {
    return null;
  }
}

/** The soft limit on open files of a process ('self' for this one). */
export function openFilesLimit(pid) {
  try {
    return /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))[1];
  } catch {
    return '?';
  }
}

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export const round = (v, d = 1) => (v === null || v === undefined ? null : Math.round(v * 10 ** d) / 10 ** d);
