// Reactions: a member toggles one of eight emoji on a message; everyone in the room sees the
// message with its counts and who reacted (`reacted`, a change in the room's log with its own
// rev), a retry changes nothing, and a member who was away gets the change on `join { since, rev }`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, fails, send, unique, expectEvent,
} from '../support/chat.js';

const names = (reaction) => reaction.users.map((u) => u.name);

/** Ada's room that Ben has joined, with one message of Ada's. */
async function roomWithMessage(chat) {
  const ada = await chat.guest('Ada');
  const ben = await chat.guest('Ben');
  const room = (await ok(ada, 'create', { name: unique('react') })).id;
  await ok(ben, 'join', { room });
  const sent = await send(ada, room, 'lunch at noon?');
  return { ada, ben, room, sent };
}

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--rate-limit-per-sec', '1000', '--rate-limit-burst', '1000']);

    test('react: everyone in the room sees the counts and who reacted, each change with the next rev', async () => {
      const { ada, ben, room, sent } = await roomWithMessage(chat);
      const seen = expectEvent(ada, 'reacted');
      const m = await ok(ben, 'react', { room, id: sent.id, emoji: '👍', on: true });
      assert.deepEqual(m.reactions, [{ emoji: '👍', count: 1, users: [{ userId: ben.session.userId, name: 'Ben' }] }]);
      assert.equal(m.text, 'lunch at noon?');
      const live = await seen;
      assert.equal(live.id, sent.id);
      assert.equal(live.rev, m.rev);
      assert.ok(m.rev > sent.seq, `a reaction takes a new rev: ${m.rev}`);
      assert.deepEqual(live.reactions, m.reactions);

      const both = await ok(ada, 'react', { room, id: sent.id, emoji: '👍', on: true });
      const party = await ok(ada, 'react', { room, id: sent.id, emoji: '🎉', on: true });
      assert.equal(party.rev, both.rev + 1);
      assert.deepEqual(party.reactions.map((r) => [r.emoji, r.count, names(r)]), [['👍', 2, ['Ben', 'Ada']], ['🎉', 1, ['Ada']]]);

      // history shows the same.
      const [stored] = (await ok(ben, 'history', { room })).messages;
      assert.deepEqual(stored.reactions, party.reactions);

      // Taken back: the emoji goes when nobody is left; a message without reactions has none.
      await ok(ada, 'react', { room, id: sent.id, emoji: '🎉', on: false });
      await ok(ada, 'react', { room, id: sent.id, emoji: '👍', on: false });
      const none = await ok(ben, 'react', { room, id: sent.id, emoji: '👍', on: false });
      assert.equal('reactions' in none, false, `reactions left: ${JSON.stringify(none)}`);
    });

    test('react is idempotent: a retry answers the message as it is, with no new rev and no broadcast', async () => {
      const { ada, ben, room, sent } = await roomWithMessage(chat);
      const first = await ok(ben, 'react', { room, id: sent.id, emoji: '❤️', on: true });
      const retry = await ok(ben, 'react', { room, id: sent.id, emoji: '❤️', on: true });
      assert.equal(retry.rev, first.rev);
      assert.equal(retry.reactions[0].count, 1);
      // The next real change comes right after: nothing took a rev in between.
      const seen = expectEvent(ada, 'reacted', { filter: (m) => m.rev > first.rev });
      const next = await ok(ben, 'react', { room, id: sent.id, emoji: '❤️', on: false });
      assert.equal(next.rev, first.rev + 1);
      assert.equal((await seen).rev, next.rev);
    });

    test('react refuses other emoji, non-members, deleted and unknown messages', async () => {
      const { ada, room, sent } = await roomWithMessage(chat);
      for (const emoji of ['🦀', '', 'thumbsup', '👍👍']) {
        await fails(ada, 'react', { room, id: sent.id, emoji, on: true }, 'bad_request');
      }
      await fails(ada, 'react', { room, id: sent.id, emoji: '👍' }, 'bad_request');
      await fails(ada, 'react', { room, id: sent.id, emoji: '👍', on: 'yes' }, 'bad_request');
      const eve = await chat.guest('Eve');
      await fails(eve, 'react', { room, id: sent.id, emoji: '👍', on: true }, 'forbidden');
      await fails(ada, 'react', { room, id: 'no-such-message', emoji: '👍', on: true }, 'not_found');
      const gone = await send(ada, room, 'oops');
      await ok(ada, 'delete', { room, id: gone.id });
      await fails(ada, 'react', { room, id: gone.id, emoji: '👍', on: true }, 'not_found');
    });

    test('a member who was away gets the reactions she missed on join { since, rev }', async () => {
      const { ada, ben, room, sent } = await roomWithMessage(chat);
      const [before] = (await ok(ada, 'history', { room })).messages;
      await ok(ada, 'leave', { room });
      await ok(ben, 'react', { room, id: sent.id, emoji: '😂', on: true });
      const last = await ok(ben, 'react', { room, id: sent.id, emoji: '🙏', on: true });
      const replayed = expectEvent(ada, 'reacted', { filter: (m) => m.id === sent.id });
      await ok(ada, 'join', { room, since: before.seq, rev: before.rev });
      const m = await replayed;
      assert.equal(m.rev, last.rev);
      assert.deepEqual(m.reactions.map((r) => r.emoji), ['😂', '🙏']);
    });
  });
}
