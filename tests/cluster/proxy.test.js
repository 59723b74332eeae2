// Behind a proxy: with --trust-proxy a node takes each client's address from the entry nginx
// appends to X-Forwarded-For (for the new-guest limit and the logs); without it, a header the
// client wrote changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectUser, refused, launch } from '../support/chat.js';
import { startCluster, untilLogs } from '../support/cluster.js';
import { clientPool } from '../support/clients.js';

// The connection's log lines (info) name the address.
const LIMIT = ['--guests-per-minute', '2', '--log-filter', 'warn,server::chat=info'];

/** The servers' logs joined, once they match `re`. */
function logsShow(servers, re) {
  return untilLogs(servers, (logs) => re.test(logs.join('\n')) && logs.join('\n'), `no log line matches ${re}`);
}

/** A `connect_error` is the server's refusal over the new-guest limit. */
function assertRateLimited(err) {
  assert.ok(err.message.startsWith('rate_limited:'), `expected rate_limited, got ${JSON.stringify(err.message)}`);
}

test('through nginx with --trust-proxy, each client address has its own new-guest budget, and the logs name it', async (t) => {
  const cl = await startCluster(t, { args: LIMIT });
  // Two new guests from 127.0.0.5, one straight after the other: the budget is spent.
  const first = await cl.user('First', { via: 5 });
  await cl.user('Second', { via: 5 });
  const err = await refused(cl.clients, cl.nginx.url, { name: 'Third' }, cl.target({ via: 5 }).opts);
  assertRateLimited(err);
  // Another address through nginx still gets in, whichever node it lands on.
  const other = await cl.user('Other', { via: 6 });
  assert.ok(other.session.userId.startsWith('guest-'));
  // A guest coming back with its token is not a new guest.
  const back = await cl.connect({ token: first.session.token }, { via: 5 });
  assert.equal(back.session.userId, first.session.userId);

  // Each connection's lines name its client's address and, in a cluster, the node.
  await logsShow(cl.nodes, /addr=127\.0\.0\.5 node=n[012]\}/);
  const logs = await logsShow(cl.nodes, /addr=127\.0\.0\.6\b/);
  assert.doesNotMatch(logs, /addr=127\.0\.0\.1\b/, 'a guest through nginx logged with nginx\'s address');
});

test('an address\'s new-guest budget is the cluster\'s, not each node\'s', async (t) => {
  const cl = await startCluster(t, { args: LIMIT, nginx: false });
  // As nginx would forward one client to three nodes in turn.
  const from = { extraHeaders: { 'X-Forwarded-For': '203.0.113.5' } };
  await cl.user('A', { node: 0 }, from);
  await cl.user('B', { node: 1 }, from);
  const err = await refused(cl.clients, cl.nodes[2].url, { name: 'C' }, from);
  assertRateLimited(err);
});

test('without --trust-proxy a client\'s own X-Forwarded-For is ignored: its TCP address counts', async (t) => {
  const server = await launch(['--database-url', 'sqlite::memory:', ...LIMIT]);
  const clients = clientPool();
  t.after(async () => { clients.closeAll(); await server.stop(); });
  const spoof = (ip) => ({ extraHeaders: { 'X-Forwarded-For': ip } });
  await connectUser(clients, server.url, { name: 'A' }, spoof('198.51.100.1'));
  await connectUser(clients, server.url, { name: 'B' }, spoof('198.51.100.2'));
  const err = await refused(clients, server.url, { name: 'C' }, spoof('198.51.100.3'));
  assertRateLimited(err);
  const logs = await logsShow([server], /addr=127\.0\.0\.1\b/);
  assert.doesNotMatch(logs, /addr=198\.51\.100/, 'a client-written address reached the logs');
});

test('with --trust-proxy only the entry the proxy appended counts, never what the client put before it', async (t) => {
  const server = await launch(['--database-url', 'sqlite::memory:', '--trust-proxy', 'true', ...LIMIT]);
  const clients = clientPool();
  t.after(async () => { clients.closeAll(); await server.stop(); });
  // As nginx forwards a client that wrote its own header: "what the client wrote, what nginx saw".
  const via = (written, seen) => ({ extraHeaders: { 'X-Forwarded-For': `${written}, ${seen}` } });
  await connectUser(clients, server.url, { name: 'A' }, via('198.51.100.1', '203.0.113.9'));
  await connectUser(clients, server.url, { name: 'B' }, via('198.51.100.2', '203.0.113.9'));
  const err = await refused(clients, server.url, { name: 'C' }, via('198.51.100.3', '203.0.113.9'));
  assertRateLimited(err);
  await connectUser(clients, server.url, { name: 'D' }, via('198.51.100.3', '203.0.113.10'));
  await logsShow([server], /addr=203\.0\.113\.10\b/);
});
