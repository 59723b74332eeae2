// Rooms: create (public, private), the `rooms` list with unread counts, join, add, leave,
// and the errors: private room without invitation, unknown room, non-member.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, fails, send, unique, roomFeed, logged, assertNoSocketIds, expectEvent,
} from '../support/chat.js';

function assertRoomInfo(info, expected) {
  assert.equal(typeof info?.id, 'string', `RoomInfo without an id: ${JSON.stringify(info)}`);
  for (const key of ['id', 'name', 'private', 'lastSeq', 'readSeq', 'unread', 'member']) {
    assert.ok(key in info, `RoomInfo without ${key}: ${JSON.stringify(info)}`);
  }
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(info[key], value, `RoomInfo.${key} in ${JSON.stringify(info)}`);
  }
}

const byId = (rooms, id) => rooms.find((r) => r.id === id);

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend);

    test('create: a public and a private room, the creator is a member of both', async () => {
      const ada = await chat.guest('Ada');
      const pubName = unique('lobby');
      const pub = await ok(ada, 'create', { name: pubName });
      assertRoomInfo(pub, { name: pubName, private: false, lastSeq: 0, readSeq: 0, unread: 0, member: true });
      const privName = unique('secret');
      const priv = await ok(ada, 'create', { name: privName, private: true });
      assertRoomInfo(priv, { name: privName, private: true, lastSeq: 0, readSeq: 0, unread: 0, member: true });
      assert.notEqual(pub.id, priv.id);

      const rooms = await ok(ada, 'rooms', {});
      assert.ok(Array.isArray(rooms));
      assertRoomInfo(byId(rooms, pub.id), { name: pubName, private: false, member: true });
      assertRoomInfo(byId(rooms, priv.id), { name: privName, private: true, member: true });

      // The creator can write to both at once.
      assert.equal((await send(ada, pub.id, 'first')).seq, 1);
      assert.equal((await send(ada, priv.id, 'first')).seq, 1);
    });

    test('create: room names are unique regardless of case, public or private, and an error says so', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const name = unique('Ärger-Lounge');
      const first = await ok(ada, 'create', { name });
      for (const [who, again, priv] of [[ada, name, false], [ben, name.toLowerCase(), false], [ben, name.toUpperCase(), true], [ada, `  ${name} `, false]]) {
        const error = await fails(who, 'create', { name: again, private: priv }, 'conflict');
        assert.match(error.message, /name/);
      }
      const rooms = await ok(ben, 'rooms', {});
      assert.deepEqual(rooms.filter((r) => r.name.toLowerCase() === name.toLowerCase()).map((r) => r.id), [first.id]);
      // A different name is fine; private bot rooms are all named after the bot.
      await ok(ben, 'create', { name: `${name}-2` });
    });

    test('create: a missing or non-string name is a bad_request', async () => {
      const ada = await chat.guest('Ada');
      await fails(ada, 'create', {}, 'bad_request');
      await fails(ada, 'create', { name: 42 }, 'bad_request');
      await fails(ada, 'create', { name: unique('x'), private: 'yes' }, 'bad_request');
      await fails(ada, 'create', 'lobby', 'bad_request');
      // still usable
      await ok(ada, 'create', { name: unique('after-errors') });
    });

    test('rooms: public rooms for everyone, private rooms only for members, with unread counts', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const cat = await chat.guest('Cat');
      const pub = await ok(ada, 'create', { name: unique('pub') });
      const priv = await ok(ada, 'create', { name: unique('priv'), private: true });
      await ok(ben, 'join', { room: pub.id });
      for (let i = 1; i <= 3; i++) await send(ada, pub.id, `m${i}`);
      await send(ada, priv.id, 'private one');

      const benRooms = await ok(ben, 'rooms', {});
      assertRoomInfo(byId(benRooms, pub.id), { lastSeq: 3, readSeq: 0, unread: 3, member: true, private: false });
      assert.equal(byId(benRooms, priv.id), undefined, 'a private room of others is not listed');

      const catRooms = await ok(cat, 'rooms', {});
      assertRoomInfo(byId(catRooms, pub.id), { unread: 0, member: false, private: false });
      assert.equal(byId(catRooms, priv.id), undefined, 'a private room of others is not listed');

      const adaRooms = await ok(ada, 'rooms', {});
      assertRoomInfo(byId(adaRooms, priv.id), { lastSeq: 1, member: true, private: true });

      // Reading moves the count.
      assert.deepEqual(await ok(ben, 'read', { room: pub.id, seq: 2 }), { seq: 2 });
      assertRoomInfo(byId(await ok(ben, 'rooms', {}), pub.id), { lastSeq: 3, readSeq: 2, unread: 1 });
      await send(ada, pub.id, 'm4');
      assertRoomInfo(byId(await ok(ben, 'rooms', {}), pub.id), { lastSeq: 4, readSeq: 2, unread: 2 });
    });

    test('join: a public room; the joiner gets `joined`, the room, who is online, then its messages', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const room = await ok(ada, 'create', { name: unique('open') });
      await send(ada, room.id, 'before ben');

      const joined = expectEvent(ben, 'joined', { filter: (r) => r?.id === room.id });
      const res = await ok(ben, 'join', { room: room.id });
      assertRoomInfo(res.room, { id: room.id, name: room.name, private: false, member: true, lastSeq: 1 });
      assert.ok(Array.isArray(res.online) && Array.isArray(res.reads), `join ack: ${JSON.stringify(res)}`);
      const online = res.online.map((u) => u.userId).sort();
      assert.deepEqual(online, [ada.session.userId, ben.session.userId].sort());
      assert.deepEqual(res.online.find((u) => u.userId === ada.session.userId), { userId: ada.session.userId, name: 'Ada' });
      assertRoomInfo(await joined, { id: room.id, member: true });

      const feed = roomFeed(ben, room.id);
      const ack = await send(ada, room.id, 'welcome');
      await feed.untilSeq(ack.seq);
      assert.equal(feed.messages.at(-1).text, 'welcome');
      // ben can write now
      const adaFeed = roomFeed(ada, room.id);
      const back = await send(ben, room.id, 'thanks');
      await adaFeed.untilSeq(back.seq);
      assert.equal(adaFeed.messages.at(-1).userId, ben.session.userId);
    });

    test('join: a private room without invitation is forbidden, and nothing leaks', async () => {
      const ada = await chat.guest('Ada');
      const eve = await chat.guest('Eve');
      const priv = await ok(ada, 'create', { name: unique('vault'), private: true });
      await send(ada, priv.id, 'secret');
      await fails(eve, 'join', { room: priv.id }, 'forbidden');
      await fails(eve, 'send', { room: priv.id, text: 'let me in', clientId: 'x1' }, 'forbidden');
      await fails(eve, 'history', { room: priv.id }, 'forbidden');
      // a round trip on eve's socket, then check she never saw the room
      await ok(eve, 'rooms', {});
      assert.deepEqual(logged(eve, 'message', (m) => m?.room === priv.id), []);
      assert.deepEqual(logged(eve, 'joined', (r) => r?.id === priv.id), []);
    });

    test('add: a member invites a user, who can then join the private room and sees `joined`', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const priv = await ok(ada, 'create', { name: unique('club'), private: true });
      await send(ada, priv.id, 'hello club');

      const joined = expectEvent(ben, 'joined', { filter: (r) => r?.id === priv.id, timeout: 10000 });
      assert.deepEqual(await ok(ada, 'add', { room: priv.id, user: ben.session.userId }), {});
      const res = await ok(ben, 'join', { room: priv.id });
      assertRoomInfo(res.room, { id: priv.id, private: true, member: true, lastSeq: 1 });
      assertRoomInfo(await joined, { id: priv.id, private: true });

      assertRoomInfo(byId(await ok(ben, 'rooms', {}), priv.id), { private: true, member: true });
      const feed = roomFeed(ada, priv.id);
      const ack = await send(ben, priv.id, 'thanks for the invite');
      await feed.untilSeq(ack.seq);
      const history = await ok(ben, 'history', { room: priv.id });
      assert.deepEqual(history.messages.map((m) => m.text), ['hello club', 'thanks for the invite']);
    });

    test('add: unknown user or room is not_found, a bad payload is bad_request', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const priv = await ok(ada, 'create', { name: unique('club'), private: true });
      await fails(ada, 'add', { room: priv.id, user: unique('nobody') }, 'not_found');
      await fails(ada, 'add', { room: unique('no-room'), user: ben.session.userId }, 'not_found');
      await fails(ada, 'add', { room: priv.id }, 'bad_request');
      await fails(ada, 'add', { room: priv.id, user: 7 }, 'bad_request');
      // none of that let Ben in
      assert.equal((await ok(ben, 'rooms', {})).find((r) => r.id === priv.id), undefined);
    });

    test('add: a caller who is not a member is forbidden (public and private rooms)', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const eve = await chat.guest('Eve');
      const pub = await ok(ada, 'create', { name: unique('open-club') });
      await fails(eve, 'add', { room: pub.id, user: ben.session.userId }, 'forbidden');
      const priv = await ok(ada, 'create', { name: unique('club'), private: true });
      await fails(eve, 'add', { room: priv.id, user: eve.session.userId }, 'forbidden');
      await fails(eve, 'add', { room: priv.id, user: ben.session.userId }, 'forbidden');
      // nobody got in
      assert.equal((await ok(eve, 'rooms', {})).find((r) => r.id === priv.id), undefined);
      assert.equal((await ok(ben, 'rooms', {})).find((r) => r.id === priv.id), undefined);
    });

    test('leave: the member gets `left`, stops receiving the room, and can no longer write to it', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const room = await ok(ada, 'create', { name: unique('temp') });
      await ok(ben, 'join', { room: room.id });

      const left = expectEvent(ben, 'left', { filter: (l) => l?.room === room.id });
      assert.deepEqual(await ok(ben, 'leave', { room: room.id }), {});
      assert.deepEqual(await left, { room: room.id });

      const benFeed = roomFeed(ben, room.id);
      const adaFeed = roomFeed(ada, room.id);
      const ack = await send(ada, room.id, 'after ben left');
      await adaFeed.untilSeq(ack.seq);
      await ok(ben, 'rooms', {}); // a round trip on ben's socket
      assert.deepEqual(benFeed.messages, [], 'a member who left still receives the room');
      await fails(ben, 'send', { room: room.id, text: 'hi?', clientId: 'c1' }, 'forbidden');
      assertRoomInfo(byId(await ok(ben, 'rooms', {}), room.id), { member: false, unread: 0 });

      // A public room can be joined again.
      await ok(ben, 'join', { room: room.id });
      const again = await send(ada, room.id, 'welcome back');
      await benFeed.untilSeq(again.seq);
      assert.deepEqual(benFeed.seqs(), [again.seq]);
    });

    test('unknown rooms are not_found everywhere', async () => {
      const ada = await chat.guest('Ada');
      const room = unique('missing');
      await fails(ada, 'join', { room }, 'not_found');
      await fails(ada, 'send', { room, text: 'hello?', clientId: 'c1' }, 'not_found');
      await fails(ada, 'history', { room }, 'not_found');
      await fails(ada, 'presence', { room }, 'not_found');
      await fails(ada, 'leave', { room }, 'not_found');
      // still usable
      await ok(ada, 'rooms', {});
    });

    test('no payload carried a socket id', () => {
      assertNoSocketIds();
    });
  });
}
