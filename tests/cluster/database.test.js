// PostgreSQL out of reach under a cluster: a send fails with a clear error ack and nothing is
// acked that was not stored, /readyz names the database, and service resumes when it is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, ok, send, unique, roomFeed, PG_URL } from '../support/chat.js';
import { startCluster, tcpProxy, readyz } from '../support/cluster.js';

test('PostgreSQL unreachable: send fails with an internal error ack, /readyz names the database, and everything resumes when it is back', { timeout: 90000 }, async (t) => {
  const pg = new URL(PG_URL);
  const proxy = await tcpProxy(Number(pg.port || 5432));
  t.after(() => proxy.cut().catch(() => {}));
  pg.host = `127.0.0.1:${proxy.port}`;
  const cl = await startCluster(t, { nodes: 2, nginx: false, pgUrl: pg.href });
  const ada = await cl.user('Ada', { node: 0 });
  const ben = await cl.user('Ben', { node: 1 });
  const room = (await ok(ada, 'create', { name: unique('pg-outage') })).id;
  await ok(ben, 'join', { room });
  const feed = roomFeed(ben, room);
  const first = await send(ada, room, 'before');

  await proxy.cut();
  const res = await call(ada, 'send', { room, text: 'during', clientId: 'during-1' }, { timeout: 30000 });
  assert.equal(res.ok, false, `a send without the database was acked: ${JSON.stringify(res)}`);
  assert.equal(res.error.code, 'internal', JSON.stringify(res));
  for (const node of cl.nodes) {
    const body = await readyz(node, 503);
    assert.ok(body.down.some((d) => d.name === 'database'), `/readyz body: ${JSON.stringify(body)}`);
  }

  await proxy.restore();
  for (const node of cl.nodes) await readyz(node, 200);
  // The client sends again with the same clientId: stored once, right after the first.
  const again = await send(ada, room, 'during', 'during-1');
  assert.equal(again.seq, first.seq + 1, 'the refused send was not stored');
  const fromBen = await send(ben, room, 'after');
  assert.equal(fromBen.seq, first.seq + 2);
  await feed.untilSeq(fromBen.seq);
  assert.deepEqual(feed.messages.map((m) => m.text), ['before', 'during', 'after']);
});
