// The `--metrics-listen` endpoint of a running server: where it is, and its samples parsed.
import assert from 'node:assert/strict';
import { withTimeout } from './wait.js';

const LINE = /^metrics on (http:\/\/[^\s/]+)\/metrics\s*$/m;

/**
 * The metrics base URL of `server` (from support/server.js), read from the line the server
 * prints on stdout after its `listening on` line.
 */
export function metricsUrl(server, { timeout = 10000 } = {}) {
  const found = () => LINE.exec(server.stdout())?.[1];
  if (found()) return Promise.resolve(found());
  return withTimeout(new Promise((resolve) => {
    const look = () => {
      const url = found();
      if (!url) return;
      server.proc.stdout.off('data', look);
      resolve(url);
    };
    // support/server.js keeps collecting stdout; this listener runs after its own.
    server.proc.stdout.on('data', look);
  }), timeout, 'the "metrics on" line');
}

/** `labels` as the text inside `{…}`, keys sorted. */
function key(name, labels = {}) {
  const inner = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',');
  return inner ? `${name}{${inner}}` : name;
}

/** Parses the Prometheus text format: { samples: Map(key -> value), types: Map(name -> type) }. */
export function parseMetrics(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name, type);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const [, name, inner = '', value] = m;
    const labels = {};
    for (const [, k, v] of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.set(key(name, labels), Number(value));
  }
  return { samples, types, text };
}

/** One scrape of `base` (a metricsUrl), parsed; `value(name, labels)` reads a sample (0 if absent). */
export async function scrape(base) {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200, `GET /metrics: ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const parsed = parseMetrics(await res.text());
  parsed.value = (name, labels) => parsed.samples.get(key(name, labels)) ?? 0;
  parsed.has = (name, labels) => parsed.samples.has(key(name, labels));
  return parsed;
}

/**
 * Scrapes until `check(scraped)` is true (a server's own bookkeeping, such as a disconnect, runs
 * after the client saw it happen); resolves with that scrape.
 */
export async function scrapeUntil(base, check, what, { timeout = 10000 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await scrape(base);
    if (check(last)) return last;
    if (Date.now() > deadline) assert.fail(`metrics never showed ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
