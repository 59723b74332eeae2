// A cluster for the end-to-end tests (tests/cluster/): chat nodes sharing Redis and one
// PostgreSQL schema, nginx in front with the shipped configuration (deploy/nginx/chat.conf),
// and clients that reach nginx from different loopback addresses so that its address hash
// spreads them over the nodes.
//
//   const cl = await startCluster(t);                 // 3 nodes + nginx, stopped in t.after
//   const ada = await cl.user('Ada', { node: 0 });    // straight to node 0
//   const ben = await cl.user('Ben', { via: 5 });     // through nginx from 127.0.0.5
//
// Each cluster has its own Redis prefix and schema, so runs never collide; both are removed at
// the end. `privateRedis: true` starts a Redis of its own on a free port, which a test may stop
// and start again (`cl.redis.stop()`, `cl.redis.start()`).
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launch, psql, requirePostgres, PG_URL, connectUser } from './chat.js';
import { repoRoot } from './server.js';
import { clientPool } from './clients.js';
import { closedPort as freePort } from './fake-openai.js';

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeout` ms. */
export async function listening(port, { timeout = 10000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exec(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Resolves once `/readyz` of `node` answers `status`, with its JSON body; rejects after
 * `timeout` ms. (What it reports changes with no event a test could await.)
 */
export async function readyz(node, status, { timeout = 20000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const res = await fetch(`${node.url}/readyz`).catch(() => null);
    if (res?.status === status) return res.json();
    if (Date.now() > deadline) throw new Error(`/readyz of ${node.url} never answered ${status} (last: ${res?.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves with what `test(logs)` returns once it is truthy, `logs` being each server's stderr
 * so far (read as it comes, so a line logged a moment ago may not be there yet); rejects after
 * `timeout` ms saying `what`.
 */
export async function untilLogs(servers, test, what, { timeout = 5000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const logs = servers.map((s) => s.stderr());
    const found = test(logs);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}; logs:\n${logs.join('\n').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Redis server of this test's own on a free port; `stop()` kills it, `start()` runs it again there. */
export async function privateRedis() {
  const port = await freePort();
  const r = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: null,
    async start() {
      r.proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await listening(port);
    },
    async stop() {
      if (!r.proc || r.proc.exitCode !== null || r.proc.signalCode !== null) return;
      const exited = once(r.proc, 'exit');
      r.proc.kill('SIGKILL');
      await exited;
    },
  };
  await r.start();
  return r;
}

/** nginx: NGINX_BIN, else Debian's /usr/sbin/nginx (not on a user's PATH), else whatever PATH has. */
const NGINX = process.env.NGINX_BIN ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');

/** nginx with deploy/nginx/chat.conf, its upstream being `ports`, on a free port of its own. */
export async function startNginx(ports) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-nginx-'));
  const port = await freePort();
  const shipped = await readFile(path.join(repoRoot, 'deploy', 'nginx', 'chat.conf'), 'utf8');
  let servers = 0;
  const conf = shipped
    .replace(/^(\s*)server 127\.0\.0\.1:300\d( .*)$/gm, (line, indent, rest) => {
      servers += 1;
      return servers === 1 ? ports.map((p) => `${indent}server 127.0.0.1:${p}${rest}`).join('\n') : '';
    })
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  if (servers === 0 || !conf.includes(`listen 127.0.0.1:${port};`)) {
    throw new Error('deploy/nginx/chat.conf changed shape: no upstream servers or listen line to replace');
  }
  await writeFile(path.join(dir, 'chat.conf'), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `${k}_temp_path ${dir}/${k};`).join('\n  ');
  await writeFile(path.join(dir, 'nginx.conf'), `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp}
  include ${dir}/chat.conf;
}
`);
  const proc = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => { stderr += c; });
  try {
    await listening(port);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`nginx did not start: ${err.message}\n${stderr}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy on a free port of its own to 127.0.0.1:`targetPort` (PostgreSQL), that a test can
 * cut (every connection dropped, new ones refused) and restore on the same port.
 */
export async function tcpProxy(targetPort) {
  const port = await freePort();
  const live = new Set();
  let server = null;
  const p = {
    port,
    async restore() {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          live.add(s);
          s.on('close', () => live.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
    },
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of live) s.destroy();
      await closed;
    },
  };
  await p.restore();
  return p;
}

/** Options that make a client reach nginx from 127.0.0.<n>, on either transport. */
export function fromAddress(n) {
  const localAddress = `127.0.0.${n}`;
  return { agent: new http.Agent({ localAddress, keepAlive: true }), localAddress };
}

/**
 * `nodes` chat nodes on one Redis prefix and PostgreSQL schema, and nginx in front; everything
 * is stopped and removed in `t.after`. `args`: more flags for every node; `pgUrl`: where the
 * nodes reach PostgreSQL (a `tcpProxy` to cut it).
 */
export async function startCluster(t, { nodes = 3, args = [], privateRedis: own = false, nginx = true, pgUrl = PG_URL } = {}) {
  await requirePostgres();
  const tag = crypto.randomBytes(5).toString('hex');
  const prefix = `t_${tag}`;
  const schema = `t_cluster_${tag}`;
  const secret = crypto.randomBytes(24).toString('hex');
  const clients = clientPool();
  const redis = own ? await privateRedis() : { url: 'redis://127.0.0.1:6379', stop: async () => {} };
  const cl = {
    prefix,
    schema,
    secret,
    redis,
    clients,
    nodes: [],
    nginx: null,
    /** The flags of node `i`. */
    args(i) {
      return [
        '--redis-url', redis.url, '--redis-prefix', prefix,
        '--database-url', pgUrl, '--database-schema', schema,
        '--jwt-secret', secret, '--node-id', `n${i}`, '--trust-proxy', 'true',
        // Tests about something else must not meet the rate limits; those about them set theirs.
        ...(args.includes('--rate-limit-per-sec') ? [] : ['--rate-limit-per-sec', '1000', '--rate-limit-burst', '1000']),
        ...args,
      ];
    },
    /** Starts node `i` (again). */
    async start(i) {
      cl.nodes[i] = await launch(cl.args(i));
      return cl.nodes[i];
    },
    /** Where a client goes: `{ node: i }` straight to node i, `{ via: n }` through nginx from 127.0.0.n. */
    target({ node, via } = {}) {
      if (node !== undefined) return { url: cl.nodes[node].url, opts: {} };
      return { url: cl.nginx.url, opts: via === undefined ? {} : fromAddress(via) };
    },
    /** A guest connected (recorded, `session` received) at `where` (see `target`). */
    user(name, where = {}, opts = {}) {
      const { url, opts: extra } = cl.target(where);
      return connectUser(clients, url, { name }, { ...extra, ...opts });
    },
    /** A client with `auth` at `where`. */
    connect(auth, where = {}, opts = {}) {
      const { url, opts: extra } = cl.target(where);
      return connectUser(clients, url, auth, { ...extra, ...opts });
    },
  };
  t.after(async () => {
    clients.closeAll();
    await Promise.all(cl.nodes.map((n) => n?.stop()));
    await cl.nginx?.stop();
    await redis.stop();
    await psql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    if (!own) {
      const keys = (await exec('redis-cli', ['--scan', '--pattern', `${prefix}*`])).split('\n').filter(Boolean);
      for (let i = 0; i < keys.length; i += 100) await exec('redis-cli', ['del', ...keys.slice(i, i + 100)]);
    }
  });
  // The first node creates the schema; the others start on it at once after.
  await cl.start(0);
  await Promise.all(Array.from({ length: nodes - 1 }, (_, i) => cl.start(i + 1)));
  if (nginx) cl.nginx = await startNginx(cl.nodes.map((n) => n.port));
  return cl;
}
