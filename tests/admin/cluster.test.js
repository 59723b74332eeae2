// The Admin UI on two nodes sharing Redis: an admin logged in on one node lists the sockets of
// both (with their handshakes), hears both nodes' stats and socket events, and its commands reach
// a socket held by the other node; its session lets it in on the other node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../support/cluster.js';
import { assertNoSocketIds, ok, unique } from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import {
  ADMIN_USER, UI_DIR, command, connectAdmin, passwordHash, received, until,
} from '../support/admin.js';

const isSocket = (id) => (s) => s.id === id;

test('an admin on one node sees and acts on the sockets of both', async (t) => {
  const hash = await passwordHash();
  const cl = await startCluster(t, {
    nodes: 2,
    nginx: false,
    args: ['--admin-user', ADMIN_USER, '--admin-password-hash', hash, '--admin-ui-dir', UI_DIR],
  });
  // Connected before the admin logs in: one on each node.
  const ann = await cl.user('Ann', { node: 0 });
  const bo = await cl.user('Bo', { node: 1 });

  const admin = await connectAdmin(cl.clients, cl.nodes[0].url);
  const [listed] = await until(admin, 'all_sockets');
  assert.ok(listed.find(isSocket(ann.id)), 'its own node\'s socket is in all_sockets');
  // The other node's socket comes from that node, with everything the UI shows of a socket.
  const [shown, at] = await until(admin, 'socket_connected', isSocket(bo.id));
  assert.ok(!Number.isNaN(Date.parse(at)));
  assert.equal(shown.nsp, '/');
  assert.deepEqual(shown.data, { userId: bo.session.userId, name: 'Bo', guest: true });
  assert.equal(shown.handshake.auth.name, 'Bo');
  assert.equal(typeof shown.handshake.issued, 'number');
  assert.equal(shown.handshake.time, at, 'told with the time it connected');
  assert.ok(shown.rooms.includes(`u:${bo.session.userId}`), JSON.stringify(shown.rooms));

  // Both nodes' stats, told apart by serverId.
  await until(admin, 'server_stats', (s) => s.serverId === 'n0');
  await until(admin, 'server_stats', (s) => s.serverId === 'n1');

  // Events of the other node after the login: a new socket there, and its rooms.
  const cy = await cl.user('Cy', { node: 1 });
  await until(admin, 'socket_connected', isSocket(cy.id));
  const room = (await ok(cy, 'create', { name: unique('ops') })).id;
  await until(admin, 'room_joined', (nsp, r, id) => r === `r:${room}` && id === cy.id);

  // A second admin on the other node, logged in with the first one's session (a UI reloaded
  // onto another node stays logged in), gets the first node's sockets, the first admin included.
  const [session] = await until(admin, 'session');
  const other = await connectAdmin(cl.clients, cl.nodes[1].url, { sessionId: session });
  assert.deepEqual(received(other, 'session'), [], 'resumed, not a new login');
  const [listed1] = await until(other, 'all_sockets');
  assert.ok(listed1.find(isSocket(bo.id)) && listed1.find(isSocket(cy.id)));
  await until(other, 'socket_connected', isSocket(ann.id));
  await until(other, 'socket_connected', isSocket(admin.id));

  // Commands from node 0 for a socket that node 1 holds.
  const got = waitFor(bo, 'notice');
  assert.deepEqual(await command(admin, 'emit', '/', bo.id, 'notice', 'across'), { ok: true, data: {} });
  assert.equal(await got, 'across');
  const gone = waitFor(bo, 'disconnect');
  const boId = bo.id;
  assert.deepEqual(await command(admin, '_disconnect', '/', false, boId), { ok: true, data: {} });
  assert.equal(await gone, 'io server disconnect');
  const [, , reason] = await until(admin, 'socket_disconnected', (nsp, id) => id === boId);
  assert.equal(reason, 'server namespace disconnect');
  admin.disconnect();
  other.disconnect();
});

test('no socket id ever reached a chat client', () => {
  assertNoSocketIds();
});
