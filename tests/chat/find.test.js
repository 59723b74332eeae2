// Mentions and search. `@name` in a message names the room's members by user id (the
// message's `mentions`), and each member's mentions after their read mark are counted in
// `rooms` and `join` (`RoomInfo.mentions`), also after a reconnect. `search { room?, query,
// before? }` finds messages by their words, best first, in pages, over what the caller can read.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, fails, send, unique, expectEvent,
} from '../support/chat.js';

const infoOf = async (socket, room) => (await ok(socket, 'rooms', {})).find((r) => r.id === room);

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--rate-limit-per-sec', '1000', '--rate-limit-burst', '1000']);

    test('a mention names a member by id, and counts for them until they read past it', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest(unique('Ben'));
      const benName = ben.session.name;
      const room = (await ok(ada, 'create', { name: unique('mentions') })).id;
      await ok(ben, 'join', { room });
      const live = expectEvent(ben, 'message', { filter: (m) => m.room === room });
      const sent = await send(ada, room, `@${benName.toUpperCase()}, can you look? cc @Ada`);
      const m = await live;
      assert.equal(m.id, sent.id);
      assert.deepEqual(m.mentions, [ben.session.userId], 'Ben is named, the author is not');
      await send(ada, room, 'no one named here');
      await send(ada, room, `and again @${benName}!`);

      assert.equal((await infoOf(ben, room)).mentions, 2);
      assert.equal((await infoOf(ada, room)).mentions, 0);
      const [first] = (await ok(ben, 'history', { room, limit: 1, after: 0 })).messages;
      assert.deepEqual(first.mentions, [ben.session.userId], 'history carries them too');

      // Read up to the first: one left. A fresh connection as Ben sees the same on join.
      await ok(ben, 'read', { room, seq: sent.seq });
      const again = await chat.connect({ token: ben.session.token });
      assert.equal((await infoOf(again, room)).mentions, 1);
      assert.equal((await ok(again, 'join', { room })).room.mentions, 1);
      await ok(again, 'read', { room, seq: sent.seq + 2 });
      assert.equal((await infoOf(ben, room)).mentions, 0);
    });

    test('an edit that names someone counts for them; deleting the message takes it back', async () => {
      const ada = await chat.guest('Ada');
      const cy = await chat.guest(unique('Cy'));
      const room = (await ok(ada, 'create', { name: unique('edits') })).id;
      await ok(cy, 'join', { room });
      const sent = await send(ada, room, 'who can help?');
      const edited = await ok(ada, 'edit', { room, id: sent.id, text: `who can help? @${cy.session.name}` });
      assert.deepEqual(edited.mentions, [cy.session.userId]);
      assert.equal((await infoOf(cy, room)).mentions, 1);
      const deleted = await ok(ada, 'delete', { room, id: sent.id });
      assert.equal('mentions' in deleted, false);
      assert.equal((await infoOf(cy, room)).mentions, 0);
    });

    test('search: best first, stemmed, every word, paged, and only over rooms one can read', async () => {
      const word = `zq${unique('w').slice(2).replace(/[^a-z0-9]/g, '')}`;
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const open = (await ok(ada, 'create', { name: unique('open') })).id;
      const secret = (await ok(ben, 'create', { name: unique('secret'), private: true })).id;
      await send(ada, open, `${word} ${word} ${word} is all I think about`);
      for (let i = 0; i < 25; i++) await send(ada, open, `filler ${i} mentions ${word} once among many other words here`);
      await send(ben, secret, `the secret ${word}`);
      await send(ada, open, 'nothing to see');

      const page = await ok(ada, 'search', { query: word.toUpperCase() });
      assert.equal(page.messages.length, 20);
      assert.match(page.messages[0].text, new RegExp(`^${word} ${word} ${word}`), 'the densest match ranks first');
      assert.ok(page.messages.every((m) => m.room === open), 'not the private room Ada is not in');
      assert.equal(typeof page.next, 'string');
      const rest = await ok(ada, 'search', { query: word, before: page.next });
      assert.equal(rest.messages.length, 6);
      assert.equal('next' in rest, false, 'the last page has no next');
      const ids = new Set([...page.messages, ...rest.messages].map((m) => m.id));
      assert.equal(ids.size, 26, 'no match twice across pages');

      // Ben reads both rooms; with `room`, one only. Every word must match.
      const benAll = await ok(ben, 'search', { query: `secret ${word}` });
      assert.deepEqual(benAll.messages.map((m) => m.room), [secret]);
      const inOpen = await ok(ben, 'search', { room: open, query: `${word} filler 7` });
      assert.deepEqual(inOpen.messages.map((m) => m.text), [`filler 7 mentions ${word} once among many other words here`]);
      assert.deepEqual((await ok(ada, 'search', { query: 'nothingmatcheszzz' })).messages, []);
    });

    test('search refuses what it cannot answer, with a reason', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const secret = (await ok(ben, 'create', { name: unique('secret'), private: true })).id;
      await fails(ada, 'search', { room: secret, query: 'anything' }, 'forbidden');
      await fails(ada, 'search', { room: 'no-such-room', query: 'anything' }, 'not_found');
      await fails(ada, 'search', { query: ' *** ' }, 'bad_request');
      await fails(ada, 'search', { query: 'x'.repeat(201) }, 'bad_request');
      await fails(ada, 'search', { query: 'ok', before: 'not-a-cursor' }, 'bad_request');
      await fails(ada, 'search', { before: 'x' }, 'bad_request');
      // Search syntax is only words: quotes and operators find nothing and break nothing.
      assert.deepEqual((await ok(ada, 'search', { query: '"a" OR NEAR(b c) * ^d:' })).messages, []);
    });
  });
}
