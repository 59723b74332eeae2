// The private bot room after a user left it, and refusals that must leave nothing behind
// (issue 10, defect 10): `bot:open` re-admits its owner; a refused `join` or `bot:open` never
// leaves a subscription that a later `send` could use. The embedded bot answers.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ok, fails, call, send, cid, logged, expectEvent,
} from '../support/chat.js';
import { botEnv, assertCleanEnd, BOT_ID } from '../support/bot.js';

/** Ask in `room`; resolves with the reply, checked as streamed and ended with stop. */
async function answer(socket, room, text) {
  const q = await send(socket, room, text);
  const reply = await socket.bot.ended(q.id, { timeout: 15000 });
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.start?.userId, BOT_ID);
  return { q, reply };
}

/** Record every event a socket receives (bot.js's sockets only watch `bot:*`). */
function recordAll(socket) {
  socket.log = [];
  socket.onAny((event, ...args) => socket.log.push({ event, args }));
  return socket;
}

describe('bot room', () => {
  let env;
  const cleanups = [];
  before(async () => {
    env = await botEnv({ after: (fn) => cleanups.push(fn) }, { fake: false, args: ['--bot-tokens-per-minute', '1000000'] });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('after leaving the bot room, bot:open re-admits the user and the bot answers again', async () => {
    const ada = recordAll(await env.user('Ada'));
    const room = await ok(ada, 'bot:open', {});
    const first = await answer(ada, room.id, '/roll 1d6');

    const left = expectEvent(ada, 'left', { filter: (l) => l?.room === room.id });
    await ok(ada, 'leave', { room: room.id });
    await left;
    await fails(ada, 'send', { room: room.id, text: 'anyone?', clientId: cid() }, 'forbidden');
    assert.equal((await ok(ada, 'rooms', {})).find((r) => r.id === room.id), undefined, 'a private room left is still listed');

    const again = await call(ada, 'bot:open', {});
    assert.equal(again.ok, true, `bot:open after leaving the bot room should re-admit its owner, got ${JSON.stringify(again)}`);
    assert.equal(again.data.id, room.id, 'bot:open made another room instead of reopening the first');
    assert.equal(again.data.member, true);
    assert.equal(again.data.bot, true);
    assert.equal(again.data.private, true);
    const listed = (await ok(ada, 'rooms', {})).find((r) => r.id === room.id);
    assert.equal(listed?.member, true, `the reopened bot room is not listed as the user's: ${JSON.stringify(listed)}`);

    const { q, reply } = await answer(ada, room.id, '/help');
    const history = (await ok(ada, 'history', { room: room.id })).messages;
    assert.deepEqual(history.map((m) => m.id), [first.q.id, first.reply.id, q.id, reply.id],
      'the history holds both questions and both answers, and nothing sent while out of the room');
  });

  test('whatever bot:open answers after a leave, a send is stored only while the user is a member', async () => {
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    await ok(ada, 'leave', { room });
    // Sent together: the send must not ride on anything a refused bot:open left behind.
    const clientId = cid();
    const [opened, sent] = await Promise.all([
      call(ada, 'bot:open', {}),
      call(ada, 'send', { room, text: 'back again?', clientId }),
    ]);
    if (sent.ok === true) {
      assert.equal(opened.ok, true,
        `the send was accepted (seq ${sent.data.seq}) although bot:open was refused (${JSON.stringify(opened)}): a refused request left a subscription behind`);
    }
    assert.equal(opened.ok, true, `bot:open after a leave: ${JSON.stringify(opened)}`);
    assert.equal(sent.ok, true, `send after bot:open re-admitted the user: ${JSON.stringify(sent)}`);
    // The bot answers it as in any bot room.
    const reply = await ada.bot.ended(sent.data.id, { timeout: 15000 });
    assertCleanEnd(reply, 'stop');
  });

  test('a refused join of a private room leaves nothing: send, typing and read stay forbidden, nothing is stored', async () => {
    const ada = recordAll(await env.user('Ada'));
    const eve = recordAll(await env.user('Eve'));
    const club = (await ok(ada, 'create', { name: `club-${cid().slice(0, 8)}`, private: true })).id;
    const botRoom = (await ok(ada, 'bot:open', {})).id;
    for (const room of [club, botRoom]) {
      // Awaited one after the other, then sent together.
      await fails(eve, 'join', { room }, 'forbidden');
      await fails(eve, 'send', { room, text: 'sneaking in', clientId: cid() }, 'forbidden');
      const [joined, sent, typed, read] = await Promise.all([
        call(eve, 'join', { room, since: 0 }),
        call(eve, 'send', { room, text: 'sneaking in again', clientId: cid() }),
        call(eve, 'typing', { room, typing: true }),
        call(eve, 'read', { room, seq: 1 }),
      ]);
      for (const [what, res] of Object.entries({ joined, sent, typed, read })) {
        assert.equal(res.error?.code, 'forbidden', `${what} by an outsider of ${room}: ${JSON.stringify(res)}`);
      }
    }
    // Ada, a member of both, sees nothing of Eve's.
    for (const room of [club, botRoom]) {
      const history = (await ok(ada, 'history', { room })).messages;
      assert.deepEqual(history.filter((m) => m.userId === eve.session.userId), [], `Eve's messages were stored in ${room}`);
    }
    // And Eve received nothing of those rooms: a message of Ada's in each, then a round trip.
    for (const room of [club, botRoom]) await send(ada, room, 'members only');
    await ok(eve, 'rooms', {});
    const leaked = eve.log.filter(({ args }) => [club, botRoom].includes(args[0]?.room) || [club, botRoom].includes(args[0]?.id));
    assert.deepEqual(leaked.map((e) => e.event), [], 'an outsider received events of the private rooms');
    assert.deepEqual(logged(ada, 'typing', (e) => e?.user?.userId === eve.session.userId), [], 'Eve\'s typing reached the room');
  });

  test('a second tab: leaving in one tab and bot:open in the other brings both back', async () => {
    const ada = await env.user('Ada');
    const tab = recordAll(await env.connect({ token: ada.session.token }));
    const room = (await ok(ada, 'bot:open', {})).id;
    const leftInTab = expectEvent(tab, 'left', { filter: (l) => l?.room === room });
    await ok(ada, 'leave', { room });
    await leftInTab;
    const joinedInTab = expectEvent(tab, 'joined', { filter: (r) => r?.id === room });
    const again = await call(tab, 'bot:open', {});
    assert.equal(again.ok, true, `bot:open from the other tab after a leave: ${JSON.stringify(again)}`);
    await joinedInTab;
    // Both tabs receive the room again: a question from the first, the reply seen by both.
    const { reply } = await answer(ada, room, '/time');
    assertCleanEnd(await tab.bot.endedId(reply.id), 'stop');
  });
});
