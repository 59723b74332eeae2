// The embedded bot (no --llm-base-url): a private bot room per user, commands (/help, /roll,
// /time), plain questions, and mentions in a room the bot was added to.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, fails, send, absent } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt, roomWithBot, BOT_ID } from '../support/bot.js';

/** Ask in `room`; resolves with the reply, checked as streamed and ended with stop. */
async function answer(socket, room, text) {
  const q = await send(socket, room, text);
  const reply = await socket.bot.ended(q.id, { timeout: 15000 });
  assertCleanEnd(reply, 'stop');
  assert.ok(reply.start, 'no bot:start');
  assert.equal(reply.start.userId, BOT_ID);
  assert.ok(reply.deltas.length >= 1, 'the answer came without any bot:delta');
  assert.ok(reply.end.text.trim().length > 0, 'empty answer');
  return reply;
}

/** Whether `text` shows the current time (HH:MM in UTC or local time, within 2 minutes, or epoch ms). */
function showsNow(text, now = Date.now()) {
  const near = (ms) => Math.abs(ms - now) <= 2 * 60 * 1000;
  for (const m of text.matchAll(/\b(\d{13})\b/g)) if (near(Number(m[1]))) return true;
  for (const m of text.matchAll(/\b(\d{1,2}):(\d{2})\b/g)) {
    const minutes = Number(m[1]) * 60 + Number(m[2]);
    for (const offset of [-2, -1, 0, 1, 2]) {
      const d = new Date(now + offset * 60 * 1000);
      if (minutes === d.getUTCHours() * 60 + d.getUTCMinutes()) return true;
      if (minutes === d.getHours() * 60 + d.getMinutes()) return true;
    }
  }
  return false;
}

describe('embedded bot', () => {
  let env;
  const cleanups = [];
  before(async () => {
    env = await botEnv({ after: (fn) => cleanups.push(fn) }, { fake: false });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('bot:open gives the caller a private bot room, the same one every time, and only theirs', async () => {
    const ada = await env.user('Ada');
    const ben = await env.user('Ben');
    const room = await ok(ada, 'bot:open', {});
    assert.equal(typeof room.id, 'string');
    assert.equal(room.private, true);
    assert.equal(room.member, true);
    const again = await ok(ada, 'bot:open', {});
    assert.equal(again.id, room.id, 'a second bot:open made another room');
    const bens = await ok(ben, 'bot:open', {});
    assert.notEqual(bens.id, room.id);

    const adaRooms = (await ok(ada, 'rooms', {})).map((r) => r.id);
    assert.ok(adaRooms.includes(room.id), 'the bot room is not among the caller\'s rooms');
    const benRooms = (await ok(ben, 'rooms', {})).map((r) => r.id);
    assert.ok(!benRooms.includes(room.id), 'another user sees Ada\'s bot room');
    await fails(ben, 'join', { room: room.id }, 'forbidden');
    await fails(ben, 'send', { room: room.id, text: 'let me in', clientId: 'ben-intrudes' }, 'forbidden');
  });

  test('/help streams a useful answer that lists the commands', async () => {
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    const reply = await answer(ada, room, '/help');
    for (const command of ['/help', '/roll', '/time']) {
      assert.ok(reply.end.text.includes(command), `/help does not mention ${command}: ${reply.end.text}`);
    }
    assert.equal((await historyAt(ada, room, reply.end.seq)).text, reply.end.text);
  });

  test('/roll 2d6 answers with a total between 2 and 12', async () => {
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    for (let i = 0; i < 3; i++) {
      const { text } = (await answer(ada, room, '/roll 2d6')).end;
      const numbers = [...text.replaceAll(/2d6/gi, ' ').matchAll(/\d+/g)].map((m) => Number(m[0]));
      assert.ok(numbers.length > 0, `no number in the roll: ${text}`);
      // "Total: N" when the answer says so, else the largest number (no die exceeds the sum).
      const labelled = /total\D{0,5}(\d+)/i.exec(text);
      const total = labelled ? Number(labelled[1]) : Math.max(...numbers);
      assert.ok(total >= 2 && total <= 12, `2d6 gave ${total}: ${text}`);
    }
  });

  test('/time tells the current time', async () => {
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    const { text } = (await answer(ada, room, '/time')).end;
    assert.ok(showsNow(text), `no current time in: ${text} (now ${new Date().toISOString()})`);
  });

  test('a plain question gets an answer that is not an echo', async () => {
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    const question = 'What is the capital of France?';
    const { text } = (await answer(ada, room, question)).end;
    const norm = (s) => s.toLowerCase().replace(/\s+/g, ' ').trim();
    assert.notEqual(norm(text), norm(question), 'the bot echoed the question');
  });

  test('in a room the bot was added to, a mention (@bot, @assistant in any case) starts a reply; other messages do not', async () => {
    const ada = await env.user('Ada');
    const ben = await env.user('Ben');
    const room = await roomWithBot(ada, ben);

    const quietly = absent(ben, 'bot:start', { within: 1500 });
    await send(ada, room, 'hello Ben, no bot needed here');
    await send(ben, room, 'agreed, just us (a bot would be nice later)');
    await quietly;
    assert.equal(ben.bot.log.length, 0, `the bot reacted without a mention: ${ben.bot.describe()}`);

    const q = await send(ada, room, '@bot what can you do?');
    const reply = await ben.bot.ended(q.id, { timeout: 15000 });
    assertCleanEnd(reply, 'stop');
    assert.equal(reply.start.name, 'Assistant');
    assert.ok(reply.end.text.trim().length > 0);
    const byName = await answer(ben, room, 'hey @ASSISTANT, what time is it?');
    assert.equal(byName.end.room, room);
  });

  test('a private room a member added the bot to: a mention starts a reply every member sees', async () => {
    const ada = await env.user('Ada');
    const ben = await env.user('Ben');
    const room = (await ok(ada, 'create', { name: `club-${Date.now()}`, private: true })).id;
    await ok(ada, 'add', { room, user: ben.session.userId });
    await ok(ada, 'add', { room, user: BOT_ID });
    const reply = await answer(ben, room, '@bot /roll 1d6');
    const seenByAda = await ada.bot.endedId(reply.id);
    assertCleanEnd(seenByAda, 'stop');
    assert.equal(seenByAda.end.text, reply.end.text);
  });

  test('a mention in a room without the bot starts nothing', async () => {
    const ada = await env.user('Ada');
    const ben = await env.user('Ben');
    const room = (await ok(ada, 'create', { name: `no-bot-${Date.now()}` })).id;
    await ok(ben, 'join', { room });
    const quietly = absent(ben, 'bot:start', { within: 1500 });
    await send(ada, room, '@bot are you there?');
    await quietly;
    assert.equal(ada.bot.log.length + ben.bot.log.length, 0, 'the bot answered in a room it is not in');
    const history = (await ok(ada, 'history', { room })).messages;
    assert.deepEqual(history.map((m) => m.userId), [ada.session.userId]);
  });
});
