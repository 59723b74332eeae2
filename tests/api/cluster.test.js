// The API in cluster mode: whichever node takes the call, a message posted there reaches
// sockets on the other node (and its history), emits reach the other node's sockets, presence is
// the cluster's, and ending a user's sessions disconnects their sockets on every node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, unique, expectEvent, absent } from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import { startCluster } from '../support/cluster.js';
import { call, newKey } from '../support/api.js';

test('two nodes: post, emit, presence and session ending work whichever node is called', async (t) => {
  const key = newKey();
  const cl = await startCluster(t, { nodes: 2, nginx: false, args: ['--api-key', key] });
  const api = (i, method, path, opts) => call(cl.nodes[i].url, key, method, path, opts);
  const ada = await cl.user('Ada', { node: 0 });
  const ben = await cl.user('Ben', { node: 1 });
  const room = (await ok(ada, 'create', { name: unique('nodes') })).id;
  await ok(ben, 'join', { room });

  // A post on node 0 reaches Ben on node 1, with the room's next seq; node 1's history has it.
  const live = expectEvent(ben, 'message', { filter: (m) => m.room === room });
  const posted = await api(0, 'POST', `/api/v1/rooms/${room}/messages`, { body: { text: 'across', clientId: 'x-1' } });
  assert.equal(posted.status, 201, posted.text);
  assert.equal((await live).id, posted.json.id);
  // The replay on the other node answers the same.
  const replay = await api(1, 'POST', `/api/v1/rooms/${room}/messages`, { body: { text: 'across', clientId: 'x-1' } });
  assert.equal(replay.status, 200);
  assert.deepEqual(replay.json, posted.json);
  const history = await api(1, 'GET', `/api/v1/rooms/${room}/history`);
  assert.deepEqual(history.json.messages.map((m) => m.id), [posted.json.id]);

  // Presence as the cluster knows it, asked of either node.
  for (const i of [0, 1]) {
    const one = await api(i, 'GET', `/api/v1/rooms/${room}`);
    assert.deepEqual(one.json.online.map((u) => u.name).sort(), ['Ada', 'Ben'], `node ${i}`);
  }

  // Emits through node 1 reach node 0's sockets: to the room, and to a user (not the others).
  const roomEvent = expectEvent(ada, 'deploy');
  assert.equal((await api(1, 'POST', '/api/v1/emit', { body: { room, event: 'deploy', data: { v: 2 } } })).status, 202);
  assert.deepEqual(await roomEvent, { v: 2 });
  const notBen = absent(ben, 'just-ada', { within: 500 });
  const toAda = expectEvent(ada, 'just-ada');
  assert.equal((await api(1, 'POST', '/api/v1/emit', { body: { user: ada.session.userId, event: 'just-ada', data: 1 } })).status, 202);
  assert.equal(await toAda, 1);
  await notBen;

  // Ada with a socket on each node: ending her sessions on node 1 disconnects both.
  const ada2 = await cl.connect({ token: ada.session.token }, { node: 1 });
  const reasons = Promise.all([ada, ada2].map((s) => waitFor(s, 'disconnect', { timeout: 10000 })));
  const ended = await api(1, 'DELETE', `/api/v1/users/${ada.session.userId}/sessions`);
  assert.equal(ended.status, 200, ended.text);
  assert.deepEqual(ended.json, { disconnected: 2 });
  assert.deepEqual(await reasons, ['io server disconnect', 'io server disconnect']);
  assert.ok(ben.connected);
});
