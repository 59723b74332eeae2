// Two tabs of one user (two sockets, one token): they see the same messages, the same joins
// and leaves, the same read marks and the same unread counts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backends, chatServer, ok, send, unique, roomFeed, logged, expectEvent } from '../support/chat.js';

/** Ada with two tabs, and Ben. */
async function setup(chat) {
  const tab1 = await chat.guest('Ada');
  const tab2 = await chat.connect({ token: tab1.session.token });
  assert.equal(tab2.session.userId, tab1.session.userId);
  assert.notEqual(tab2.id, tab1.id);
  const ben = await chat.guest('Ben');
  return { tab1, tab2, ben };
}

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend);

    test('both tabs get the same messages, including those written in the other tab', async () => {
      const { tab1, tab2, ben } = await setup(chat);
      const room = (await ok(ben, 'create', { name: unique('shared') })).id;
      const joined1 = expectEvent(tab1, 'joined', { filter: (r) => r?.id === room });
      const joined2 = expectEvent(tab2, 'joined', { filter: (r) => r?.id === room });
      await ok(tab1, 'join', { room });
      await joined1;
      await joined2; // the other tab is subscribed too
      const feed1 = roomFeed(tab1, room);
      const feed2 = roomFeed(tab2, room);
      await send(ben, room, 'from Ben');
      await send(tab1, room, 'from tab 1');
      await send(tab2, room, 'from tab 2');
      const last = await send(ben, room, 'Ben again');
      await feed1.untilSeq(last.seq);
      await feed2.untilSeq(last.seq);
      assert.deepEqual(feed1.messages, feed2.messages);
      assert.deepEqual(feed1.messages.map((m) => m.text), ['from Ben', 'from tab 1', 'from tab 2', 'Ben again']);
      assert.equal(feed1.messages[1].userId, feed1.messages[2].userId);
    });

    test('a room created in one tab reaches the other tab too', async () => {
      const { tab1, tab2, ben } = await setup(chat);
      const room = (await ok(tab1, 'create', { name: unique('made-in-tab1'), private: true })).id;
      await ok(tab1, 'add', { room, user: ben.session.userId });
      await ok(ben, 'join', { room });
      const feed2 = roomFeed(tab2, room);
      const ack = await send(ben, room, 'hi both tabs');
      await feed2.untilSeq(ack.seq);
      assert.equal(feed2.messages[0].text, 'hi both tabs');
      assert.ok((await ok(tab2, 'rooms', {})).some((r) => r.id === room && r.member === true));
    });

    test('a read mark set in one tab is announced to both and shows in both room lists', async () => {
      const { tab1, tab2, ben } = await setup(chat);
      const room = (await ok(ben, 'create', { name: unique('unread') })).id;
      await ok(tab2, 'join', { room });
      for (let i = 1; i <= 5; i++) await send(ben, room, `m${i}`);

      const before1 = (await ok(tab1, 'rooms', {})).find((r) => r.id === room);
      const before2 = (await ok(tab2, 'rooms', {})).find((r) => r.id === room);
      assert.deepEqual(before1, before2);
      assert.equal(before1.unread, 5);

      const isMark = (r) => r?.room === room && r?.userId === tab1.session.userId && r?.seq === 3;
      const seen1 = expectEvent(tab1, 'read', { filter: isMark });
      const seen2 = expectEvent(tab2, 'read', { filter: isMark });
      const seenBen = expectEvent(ben, 'read', { filter: isMark });
      assert.deepEqual(await ok(tab1, 'read', { room, seq: 3 }), { seq: 3 });
      await Promise.all([seen1, seen2, seenBen]);

      const after1 = (await ok(tab1, 'rooms', {})).find((r) => r.id === room);
      const after2 = (await ok(tab2, 'rooms', {})).find((r) => r.id === room);
      assert.deepEqual(after1, after2);
      assert.equal(after1.readSeq, 3);
      assert.equal(after1.unread, 2);
      // the other tab cannot move it back either
      assert.deepEqual(await ok(tab2, 'read', { room, seq: 1 }), { seq: 3 });
    });

    test('leaving in one tab: both tabs get `left` and stop receiving the room', async () => {
      const { tab1, tab2, ben } = await setup(chat);
      const room = (await ok(ben, 'create', { name: unique('bye') })).id;
      await ok(tab1, 'join', { room });
      const left1 = expectEvent(tab1, 'left', { filter: (l) => l?.room === room });
      const left2 = expectEvent(tab2, 'left', { filter: (l) => l?.room === room });
      await ok(tab2, 'leave', { room });
      assert.deepEqual(await left1, { room });
      assert.deepEqual(await left2, { room });

      const benFeed = roomFeed(ben, room);
      const ack = await send(ben, room, 'anyone?');
      await benFeed.untilSeq(ack.seq);
      await ok(tab1, 'rooms', {});
      await ok(tab2, 'rooms', {});
      assert.deepEqual(logged(tab1, 'message', (m) => m?.room === room), []);
      assert.deepEqual(logged(tab2, 'message', (m) => m?.room === room), []);
    });
  });
}
