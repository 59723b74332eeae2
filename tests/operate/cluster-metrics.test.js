// The metrics of cluster mode, and the shipped dashboard and alert rules checked against the
// metrics that live nodes expose.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { ok, send, cid } from '../support/chat.js';
import { startCluster } from '../support/cluster.js';
import { repoRoot } from '../support/server.js';
import { metricsUrl, scrape, scrapeUntil } from '../support/metrics.js';

const exec = promisify(execFile);
const DASHBOARD = path.join(repoRoot, 'deploy', 'grafana', 'chat-dashboard.json');
const ALERTS = path.join(repoRoot, 'deploy', 'prometheus', 'alerts.yml');

/** Metric names in a PromQL expression (ours and the process metrics). */
const namesIn = (expr) => [...expr.matchAll(/\b(?:chat|process)_[a-z0-9_]+\b/g)].map((m) => m[0]);

/** Every sample name a scrape can show: each `# TYPE`, histograms with their series. */
function exposed(scraped) {
  const names = new Set();
  for (const [name, type] of scraped.types) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/**
 * The alert rules, read with the few YAML forms the file uses (a list of groups, each a list of
 * rules of `key: value` lines and `labels:`/`annotations:` maps): [{ alert, expr, for, labels }].
 */
function parseRules(text) {
  const rules = [];
  let rule = null;
  let map = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '');
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const m = /^(\s*)(- )?([a-z_]+):\s*(.*)$/.exec(line);
    assert.ok(m, `alerts.yml: a line this reader does not know: ${raw}`);
    const [, indent, dash, k, v] = m;
    const value = v.replace(/^"(.*)"$/, '$1');
    if (dash && k === 'alert') {
      rule = { alert: value, labels: {}, annotations: {}, indent: indent.length };
      rules.push(rule);
      map = null;
    } else if (rule && indent.length === rule.indent + 2 && !dash) {
      if (k === 'labels' || k === 'annotations') {
        assert.equal(value, '', `${rule.alert}: ${k} must be a map`);
        map = rule[k];
      } else {
        rule[k] = value;
        map = null;
      }
    } else if (rule && map && indent.length === rule.indent + 4) {
      map[k] = value;
    } else {
      rule = null;
    }
  }
  return rules;
}

describe('cluster metrics', () => {
  let cl;
  let bases;
  const cleanups = [];
  before(async () => {
    cl = await startCluster({ after: (fn) => cleanups.push(fn) }, {
      nodes: 2, nginx: false, privateRedis: true, args: ['--metrics-listen', '127.0.0.1:0'],
    });
    bases = await Promise.all(cl.nodes.map((n) => metricsUrl(n)));
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('the dashboard and the alert rules use only metrics the nodes expose', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8'));
    assert.equal(typeof dashboard.title, 'string');
    assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length >= 10, 'too few panels');
    const used = new Map();
    for (const panel of dashboard.panels) {
      assert.equal(typeof panel.title, 'string');
      assert.ok(panel.gridPos && panel.datasource, `panel ${panel.title}: no gridPos or datasource`);
      assert.ok(Array.isArray(panel.targets) && panel.targets.length > 0, `panel ${panel.title}: no targets`);
      for (const target of panel.targets) {
        assert.ok(typeof target.expr === 'string' && target.refId, `panel ${panel.title}: a target without expr or refId`);
        const names = namesIn(target.expr);
        assert.ok(names.length > 0, `panel ${panel.title}: ${target.expr} names no metric`);
        for (const n of names) used.set(n, `panel "${panel.title}"`);
      }
    }
    const rules = parseRules(await readFile(ALERTS, 'utf8'));
    assert.ok(rules.length >= 5, `too few alert rules: ${rules.length}`);
    for (const rule of rules) {
      assert.ok(rule.expr, `${rule.alert}: no expr`);
      assert.ok(['page', 'warn'].includes(rule.labels.severity), `${rule.alert}: severity ${rule.labels.severity}`);
      assert.ok(rule.annotations.summary, `${rule.alert}: no summary`);
      const names = namesIn(rule.expr);
      assert.ok(names.length > 0, `${rule.alert}: names no metric`);
      for (const n of names) used.set(n, `alert ${rule.alert}`);
    }

    // Traffic that makes every histogram exist: a message crosses the bus, the bot answers.
    const ada = await cl.user('Ada', { node: 0 });
    const ben = await cl.user('Ben', { node: 1 });
    const room = await ok(ada, 'create', { name: `m-${cid().slice(0, 8)}` });
    await ok(ben, 'join', { room: room.id });
    const got = new Promise((resolve) => ben.once('message', resolve));
    await send(ada, room.id, 'across the bus');
    await got;
    const botRoom = await ok(ada, 'bot:open', {});
    const ended = new Promise((resolve) => ada.on('bot:end', resolve));
    await send(ada, botRoom.id, 'hello bot');
    await ended;

    const names = new Set();
    const scrapes = [];
    for (const base of bases) {
      const m = await scrapeUntil(base, (s) => s.has('chat_cluster_redis_up'), 'chat_cluster_redis_up');
      scrapes.push(m);
      for (const n of exposed(m)) names.add(n);
    }
    const missing = [...used].filter(([n]) => !names.has(n)).map(([n, where]) => `${n} (${where})`);
    assert.deepEqual(missing, [], 'names used but not exposed');
    assert.ok(scrapes[1].value('chat_cluster_bus_lag_seconds_count') >= 1, 'node 1 recorded no bus lag');
  });

  test('the rules pass promtool', async (t) => {
    const found = await exec('sh', ['-c', 'command -v promtool']).catch(() => null);
    if (!found) {
      t.skip('promtool is not installed (scripts/setup.sh installs Debian\'s prometheus)');
      return;
    }
    const { stdout } = await exec('promtool', ['check', 'rules', ALERTS]);
    assert.match(stdout, /SUCCESS/);
  });

  test('Redis errors rise and redis_up falls when Redis is killed', async () => {
    const before = await Promise.all(bases.map(scrape));
    for (const m of before) {
      assert.equal(m.value('chat_cluster_redis_up'), 1);
      assert.ok(m.has('chat_cluster_redis_errors_total'), 'no Redis error counter');
    }
    await cl.redis.stop();
    for (const [i, base] of bases.entries()) {
      const m = await scrapeUntil(base, (s) => s.value('chat_cluster_redis_up') === 0
        && s.value('chat_cluster_redis_errors_total') > before[i].value('chat_cluster_redis_errors_total'), `node ${i} counting Redis errors`);
      assert.equal(m.value('chat_cluster_redis_up'), 0);
    }
  });
});
