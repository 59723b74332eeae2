// POST /api/v1/emit (plain events to a room's sockets, a user's sockets, or every chat socket;
// reserved names and bad targets refused), GET /api/v1/rooms[/{room}] (rooms and presence) and
// DELETE /api/v1/users/{user}/sessions (the user's sockets told the server disconnected them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, unique, expectEvent, absent, assertNoSocketIds } from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import { apiServer, assertError } from '../support/api.js';

describe('api events, rooms and sessions', () => {
  const chat = apiServer(['--api-max-body-bytes', '4096']);
  const emit = (body) => chat.api('POST', '/api/v1/emit', { body });

  test('emit to a room reaches its subscribed sockets only', async () => {
    const [ada, ben, cat] = await Promise.all(['Ada', 'Ben', 'Cat'].map((n) => chat.guest(n)));
    const room = (await ok(ada, 'create', { name: unique('emit') })).id;
    await ok(ben, 'join', { room });
    const notCat = absent(cat, 'order:shipped', { within: 500 });
    const got = Promise.all([ada, ben].map((s) => expectEvent(s, 'order:shipped')));
    const res = await emit({ room, event: 'order:shipped', data: { order: 7, items: ['a', 'b'] } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, { accepted: true });
    for (const data of await got) assert.deepEqual(data, { order: 7, items: ['a', 'b'] });
    await notCat;
    // Once Ben left the room, he no longer receives its events.
    await ok(ben, 'leave', { room });
    const notBen = absent(ben, 'ping:room', { within: 500 });
    const adaGets = expectEvent(ada, 'ping:room');
    await emit({ room, event: 'ping:room', data: 1 });
    assert.equal(await adaGets, 1);
    await notBen;
  });

  test('emit to a user reaches every socket of theirs and nobody else; without a target, everyone', async () => {
    const ada1 = await chat.guest('Ada');
    const ada2 = await chat.connect({ token: ada1.session.token });
    const ben = await chat.guest('Ben');
    const notBen = absent(ben, 'you', { within: 500 });
    const both = Promise.all([ada1, ada2].map((s) => expectEvent(s, 'you')));
    assert.equal((await emit({ user: ada1.session.userId, event: 'you', data: 'hello' })).status, 202);
    assert.deepEqual(await both, ['hello', 'hello']);
    await notBen;
    const all = Promise.all([ada1, ada2, ben].map((s) => expectEvent(s, 'maintenance')));
    assert.equal((await emit({ event: 'maintenance', data: null })).status, 202);
    assert.deepEqual(await all, [null, null, null]);
  });

  test('emit refuses reserved events, both targets, unknown targets, bad bodies and oversized data', async () => {
    const ada = await chat.guest('Ada');
    const room = (await ok(ada, 'create', { name: unique('emit') })).id;
    for (const event of ['message', 'presence', 'session', 'joined', 'bot:delta', 'disconnect', 'connect_error', '']) {
      assertError(await emit({ room, event, data: {} }), 400, 'bad_request', event);
    }
    assertError(await emit({ room, user: ada.session.userId, event: 'x', data: 1 }), 400, 'bad_request', 'both');
    assertError(await emit({ room: unique('nowhere'), event: 'x', data: 1 }), 404, 'not_found', 'room');
    assertError(await emit({ user: unique('nobody'), event: 'x', data: 1 }), 404, 'not_found', 'user');
    assertError(await emit({ event: 'x' }), 400, 'bad_request', 'no data');
    assertError(await emit({ data: 1 }), 400, 'bad_request', 'no event');
    assertError(await emit({ event: 5, data: 1 }), 400, 'bad_request', 'event of the wrong type');
    assertError(await emit({ room: 5, event: 'x', data: 1 }), 400, 'bad_request', 'room of the wrong type');
    assertError(await chat.api('POST', '/api/v1/emit', { body: 'event=x' }), 400, 'bad_request', 'not JSON');
    assertError(await emit({ event: 'x', data: 'z'.repeat(5000) }), 413, 'too_large', 'oversized');
  });

  test('rooms: listed by id with paging; one room with its presence', async () => {
    const [ada, ben] = await Promise.all(['Ada', 'Ben'].map((n) => chat.guest(n)));
    const pub = await ok(ada, 'create', { name: unique('list') });
    const priv = await ok(ada, 'create', { name: unique('list'), private: true });
    await ok(ben, 'join', { room: pub.id });
    const all = [];
    let after = '';
    for (let pages = 0; pages < 100; pages += 1) {
      const res = await chat.api('GET', `/api/v1/rooms?limit=1${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      all.push(...res.json.rooms);
      if (!res.json.next) break;
      after = res.json.next;
    }
    const ids = all.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort(), 'by id');
    assert.ok(ids.includes(pub.id) && ids.includes(priv.id), 'public and private rooms');
    assert.deepEqual(all.find((r) => r.id === priv.id), { id: priv.id, name: priv.name, private: true, bot: false, lastSeq: 0 });
    for (const q of ['?limit=0', '?limit=1001', '?limit=x', '?sort=name']) {
      assertError(await chat.api('GET', `/api/v1/rooms${q}`), 400, 'bad_request', q);
    }
    const one = await chat.api('GET', `/api/v1/rooms/${pub.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.room.id, pub.id);
    assert.deepEqual(one.json.online.map((u) => u.name).sort(), ['Ada', 'Ben']);
    const left = expectEvent(ada, 'presence', { filter: (p) => p.room === pub.id && !p.online });
    ben.disconnect();
    await left;
    const after2 = await chat.api('GET', `/api/v1/rooms/${pub.id}`);
    assert.deepEqual(after2.json.online.map((u) => u.name), ['Ada']);
    assertError(await chat.api('GET', `/api/v1/rooms/${unique('nowhere')}`), 404, 'not_found');
  });

  test('ending a user\'s sessions disconnects all their sockets as a server disconnect, nobody else\'s', async () => {
    const ada1 = await chat.guest('Ada');
    const ada2 = await chat.connect({ token: ada1.session.token });
    const ben = await chat.guest('Ben');
    const room = (await ok(ada1, 'create', { name: unique('kick') })).id;
    await ok(ben, 'join', { room });
    const reasons = Promise.all([ada1, ada2].map((s) => waitFor(s, 'disconnect')));
    const gone = expectEvent(ben, 'presence', { filter: (p) => p.room === room && !p.online });
    const res = await chat.api('DELETE', `/api/v1/users/${ada1.session.userId}/sessions`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { disconnected: 2 });
    // `io server disconnect`: socket.io-client does not reconnect by itself after it.
    assert.deepEqual(await reasons, ['io server disconnect', 'io server disconnect']);
    assert.equal((await gone).user.userId, ada1.session.userId);
    assert.ok(ben.connected, 'Ben stays');
    const again = await chat.api('DELETE', `/api/v1/users/${ada1.session.userId}/sessions`);
    assert.deepEqual(again.json, { disconnected: 0 });
    assertError(await chat.api('DELETE', `/api/v1/users/${unique('nobody')}/sessions`), 404, 'not_found');
    assertNoSocketIds();
  });
});
