// Presence (first socket in, last socket out), the `presence` query, typing indicators that
// lapse on their own, and read marks that only move forward.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, fails, call, send, unique, absent, logged, assertNoSocketIds, expectEvent,
} from '../support/chat.js';

const TYPING_MS = 300;
/** How long we give the server to (wrongly) announce something before concluding it did not. */
const QUIET_MS = 600;

const onlineIds = async (socket, room) => {
  const res = await ok(socket, 'presence', { room });
  assert.ok(Array.isArray(res.online), `presence ack: ${JSON.stringify(res)}`);
  for (const u of res.online) assert.deepEqual(Object.keys(u).sort(), ['name', 'userId'], JSON.stringify(u));
  return res.online.map((u) => u.userId).sort();
};

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--typing-timeout-ms', String(TYPING_MS)]);

    test('presence: online only for a user\'s first socket, offline only when the last one goes', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const adaId = ada.session.userId;
      const token = ada.session.token;
      const room = (await ok(ada, 'create', { name: unique('hall') })).id;
      await ok(ben, 'join', { room });
      const isAda = (online) => (p) => p?.room === room && p?.user?.userId === adaId && p?.online === online;

      // Ada's only socket leaves: offline.
      const off1 = expectEvent(ben, 'presence', { filter: isAda(false) });
      ada.disconnect();
      assert.deepEqual(await off1, { room, user: { userId: adaId, name: 'Ada' }, online: false });
      assert.deepEqual(await onlineIds(ben, room), [ben.session.userId]);

      // First tab: online.
      const on = expectEvent(ben, 'presence', { filter: isAda(true) });
      const tab1 = await chat.connect({ token });
      assert.deepEqual(await on, { room, user: { userId: adaId, name: 'Ada' }, online: true });

      // Second tab: nothing new.
      const quiet1 = absent(ben, 'presence', { within: QUIET_MS, filter: (p) => p?.user?.userId === adaId, what: 'presence for a second tab' });
      const tab2 = await chat.connect({ token });
      assert.equal(tab2.session.userId, adaId);
      await quiet1;
      assert.deepEqual(await onlineIds(ben, room), [adaId, ben.session.userId].sort());

      // First tab closes, second still open: still online, no event.
      const quiet2 = absent(ben, 'presence', { within: QUIET_MS, filter: (p) => p?.user?.userId === adaId, what: 'offline while a tab is still open' });
      tab1.disconnect();
      await quiet2;
      assert.deepEqual(await onlineIds(ben, room), [adaId, ben.session.userId].sort());

      // Last tab closes: offline.
      const off2 = expectEvent(ben, 'presence', { filter: isAda(false) });
      tab2.disconnect();
      await off2;
      assert.deepEqual(await onlineIds(ben, room), [ben.session.userId]);

      assert.deepEqual(logged(ben, 'presence', (p) => p?.user?.userId === adaId).map((p) => p.online), [false, true, false]);
    });

    test('presence: the query lists the room\'s online members; non-members are refused', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const cat = await chat.guest('Cat');
      const room = (await ok(ada, 'create', { name: unique('lounge') })).id;
      assert.deepEqual(await onlineIds(ada, room), [ada.session.userId]);
      await ok(ben, 'join', { room });
      assert.deepEqual(await onlineIds(ada, room), [ada.session.userId, ben.session.userId].sort());
      const res = await ok(ben, 'presence', { room });
      assert.deepEqual(res.online.find((u) => u.userId === ada.session.userId), { userId: ada.session.userId, name: 'Ada' });
      // A private room's presence is not for outsiders (the exact code for private rooms of
      // others is checked in rooms.test.js).
      const priv = (await ok(ada, 'create', { name: unique('p'), private: true })).id;
      const refused = await call(cat, 'presence', { room: priv });
      assert.equal(refused.ok, false, `an outsider got a private room's presence: ${JSON.stringify(refused)}`);
      assert.equal(refused.data, undefined);
      await fails(cat, 'presence', {}, 'bad_request');
    });

    test('typing: the others are told, not the typer; it lapses on its own after the timeout', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const room = (await ok(ada, 'create', { name: unique('typing') })).id;
      await ok(ben, 'join', { room });

      const startOn = expectEvent(ben, 'typing', { filter: (e) => e?.typing === true });
      const lapsed = expectEvent(ben, 'typing', { filter: (e) => e?.typing === false, timeout: TYPING_MS + 3000 });
      const sentAt = Date.now();
      assert.deepEqual(await ok(ada, 'typing', { room, typing: true }), {});
      assert.deepEqual(await startOn, { room, user: { userId: ada.session.userId, name: 'Ada' }, typing: true });
      const off = await lapsed;
      const elapsed = Date.now() - sentAt;
      assert.deepEqual(off, { room, user: { userId: ada.session.userId, name: 'Ada' }, typing: false });
      assert.ok(elapsed >= TYPING_MS - 50, `typing lapsed after ${elapsed} ms, before the ${TYPING_MS} ms timeout`);
      await ok(ada, 'rooms', {});
      assert.deepEqual(logged(ada, 'typing'), [], 'the typer was told about its own typing');
    });

    test('typing: false ends it for the others; bad payloads and non-members are refused', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const cat = await chat.guest('Cat');
      const room = (await ok(ada, 'create', { name: unique('typing2') })).id;
      await ok(ben, 'join', { room });

      const on = expectEvent(ada, 'typing', { filter: (e) => e?.typing === true });
      await ok(ben, 'typing', { room, typing: true });
      await on;
      const off = expectEvent(ada, 'typing', { filter: (e) => e?.typing === false });
      const sentAt = Date.now();
      await ok(ben, 'typing', { room, typing: false });
      assert.deepEqual(await off, { room, user: { userId: ben.session.userId, name: 'Ben' }, typing: false });
      assert.ok(Date.now() - sentAt < 5000);

      await fails(cat, 'typing', { room, typing: true }, 'forbidden');
      await fails(ada, 'typing', { room, typing: 'yes' }, 'bad_request');
      await fails(ada, 'typing', { typing: true }, 'bad_request');
      await ok(ben, 'rooms', {});
      assert.deepEqual(logged(ben, 'typing'), [], 'nothing reached Ben from refused typing calls');
    });

    test('read: the mark moves forward only, never past the last seq, and members are told', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const room = (await ok(ada, 'create', { name: unique('reads') })).id;
      await ok(ben, 'join', { room });
      for (let i = 1; i <= 6; i++) await send(ada, room, `m${i}`);

      const told5 = expectEvent(ada, 'read', { filter: (r) => r?.room === room && r?.seq === 5 });
      assert.deepEqual(await ok(ben, 'read', { room, seq: 5 }), { seq: 5 });
      assert.deepEqual(await told5, { room, userId: ben.session.userId, seq: 5 });

      // Backwards: the mark stays.
      assert.deepEqual(await ok(ben, 'read', { room, seq: 3 }), { seq: 5 });
      const benRoom = (await ok(ben, 'rooms', {})).find((r) => r.id === room);
      assert.equal(benRoom.readSeq, 5);
      assert.equal(benRoom.unread, 1);

      // Past the end: clamped to the last seq.
      const told6 = expectEvent(ada, 'read', { filter: (r) => r?.room === room && r?.seq === 6 });
      assert.deepEqual(await ok(ben, 'read', { room, seq: 1000 }), { seq: 6 });
      assert.deepEqual(await told6, { room, userId: ben.session.userId, seq: 6 });
      assert.deepEqual(logged(ada, 'read', (r) => r?.room === room).map((r) => r.seq), [5, 6],
        'Ada should be told of each forward move once, and of nothing else');
      const again = (await ok(ben, 'rooms', {})).find((r) => r.id === room);
      assert.equal(again.readSeq, 6);
      assert.equal(again.unread, 0);

      // A newcomer sees the marks in the join answer.
      const cat = await chat.guest('Cat');
      const joined = await ok(cat, 'join', { room });
      assert.deepEqual(joined.reads.find((r) => r.userId === ben.session.userId), { userId: ben.session.userId, seq: 6 });
    });

    test('join: the answer carries at most 100 read marks, the furthest ahead, and none at 0', async () => {
      // The answer goes to every joining socket: it must not grow with the membership (the soak
      // found join answers growing with every member ever seen, and the server's memory with them).
      const ada = await chat.guest('Ada');
      const room = (await ok(ada, 'create', { name: unique('many-reads') })).id;
      for (let i = 1; i <= 4; i++) await send(ada, room, `m${i}`);
      const readers = 110;
      const lurkers = 15; // members who never read
      await ok(ada, 'read', { room, seq: 4 });
      const marks = new Map([[ada.session.userId, 4]]);
      for (let i = 0; i < readers + lurkers; i++) {
        const guest = await chat.guest(`Member${i}`);
        await ok(guest, 'join', { room });
        if (i < readers) {
          const seq = 1 + (i % 3); // 1, 2 or 3
          await ok(guest, 'read', { room, seq });
          marks.set(guest.session.userId, seq);
        }
        guest.disconnect();
      }
      const cat = await chat.guest('Cat');
      const { reads } = await ok(cat, 'join', { room });
      assert.equal(reads.length, 100, `${reads.length} read marks in the join answer`);
      assert.ok(reads.every((r) => r.seq > 0), 'a member who has read nothing is not listed');
      for (const r of reads) assert.equal(r.seq, marks.get(r.userId), `${r.userId}'s mark`);
      const seqs = reads.map((r) => r.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'highest marks first');
      // The 100 furthest ahead: Ada (4), then every 3 and 2, then enough 1s.
      const expected = [...marks.values()].sort((a, b) => b - a).slice(0, 100);
      assert.deepEqual(seqs, expected);
    });

    test('read: non-members and bad payloads are refused', async () => {
      const ada = await chat.guest('Ada');
      const cat = await chat.guest('Cat');
      const room = (await ok(ada, 'create', { name: unique('reads2') })).id;
      await send(ada, room, 'one');
      await fails(cat, 'read', { room, seq: 1 }, 'forbidden');
      await fails(ada, 'read', { room, seq: 'one' }, 'bad_request');
      await fails(ada, 'read', { room }, 'bad_request');
      await fails(ada, 'read', { room: unique('nowhere'), seq: 1 }, 'not_found');
      assert.deepEqual(await ok(ada, 'read', { room, seq: 1 }), { seq: 1 });
    });

    test('no payload carried a socket id', () => {
      assertNoSocketIds();
    });
  });
}
