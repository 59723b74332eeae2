// Mentions address the bot only as whole words (issue 10, defect 11): `@bot` or `@<bot name>`
// (any case) at the start or after a space or punctuation, and followed by the end, a space or
// punctuation. "@bottles" and "x@botmail.com" are not mentions. The embedded bot answers.
//
// A message that does not address the bot is proven ignored without waiting on a clock: right
// after it a mention is sent, and one reply at a time runs per room in the order asked, so had
// the first started a reply, its bot:start or bot:queued would come before the mention's end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { send } from '../support/chat.js';
import { botEnv, assertCleanEnd, roomWithBot, BOT_ID } from '../support/bot.js';

const NOT_MENTIONS = [
  'my water is in @bottles',
  'email me at x@botmail.com',
  'the @botanist said hi',
  'ask @Assistants, plural',
  'see user@bot for details',
  'no space before it:x@Assistant',
];

const MENTIONS = [
  '@bot, hi',
  'hi @Assistant!',
  '@BOT?',
  'what do you think (@bot)',
  'thanks @assistant',
  '@bot',
];

describe('mentions', () => {
  let env;
  let ada;
  let ben;
  let room;
  const cleanups = [];
  before(async () => {
    env = await botEnv({ after: (fn) => cleanups.push(fn) }, { fake: false, args: ['--bot-tokens-per-minute', '1000000'] });
    ada = await env.user('Ada');
    ben = await env.user('Ben');
    room = await roomWithBot(ada, ben);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  /** Ada sends `text` then a sure mention; resolves with the bot's reaction to each. */
  async function thenMention(text) {
    const first = await send(ada, room, text);
    const control = await send(ada, room, `@bot are you there? (after ${JSON.stringify(text)})`);
    const reply = await ben.bot.ended(control.id, { timeout: 15000 });
    assertCleanEnd(reply, 'stop');
    return {
      started: ben.bot.forRequest(first.id),
      queued: ben.bot.queued.filter((q) => q.requestId === first.id),
      first,
    };
  }

  for (const text of NOT_MENTIONS) {
    test(`not a mention: ${JSON.stringify(text)}`, async () => {
      const { started, queued } = await thenMention(text);
      assert.deepEqual(started.map((r) => r.id), [], `the bot answered ${JSON.stringify(text)}`);
      assert.deepEqual(queued, [], `the bot queued a reply to ${JSON.stringify(text)}`);
    });
  }

  for (const text of MENTIONS) {
    test(`a mention: ${JSON.stringify(text)}`, async () => {
      const q = await send(ada, room, text);
      const reply = await ben.bot.ended(q.id, { timeout: 15000 });
      assertCleanEnd(reply, 'stop');
      assert.equal(reply.start?.userId, BOT_ID);
      assert.equal(reply.end.room, room);
    });
  }

  test('a name set with --bot-name is matched whole too', async (t) => {
    const named = await botEnv(t, { fake: false, args: ['--bot-name', 'Max'] });
    const a = await named.user('Ada');
    const b = await named.user('Ben');
    const r = await roomWithBot(a, b);
    const ignored = await send(a, r, 'the @maximum is 3');
    const asked = await send(a, r, 'hey @MAX: hello');
    const reply = await b.bot.ended(asked.id, { timeout: 15000 });
    assertCleanEnd(reply, 'stop');
    assert.equal(reply.start?.name, 'Max');
    assert.deepEqual(b.bot.forRequest(ignored.id).map((x) => x.id), [], 'the bot answered "the @maximum is 3"');
  });
});
