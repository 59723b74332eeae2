// The bot's second round, on SQLite and PostgreSQL with the embedded bot: `session.bot`, its
// introduction in a room's first reply, `replyTo`, per-room settings (`bot:settings`),
// `bot:regenerate` and `bot:continue`, and the usage ledger (`bot:usage`).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, fails, send, backends } from '../support/chat.js';
import { botEnv, historyAt, roomWithBot } from '../support/bot.js';

for (const backend of backends()) {
  describe(`bot settings, regenerate, continue and usage (${backend.name})`, () => {
    let env;
    const cleanups = [];
    before(async () => {
      const db = await backend.database();
      cleanups.push(db.drop);
      // The server's data folder comes from botEnv; the database from the backend.
      const args = backend.name === 'sqlite' ? [] : db.args.slice(0, 4);
      env = await botEnv({ after: (fn) => cleanups.push(fn) }, { fake: false, file: backend.name !== 'sqlite', args });
    });
    after(async () => {
      for (const fn of cleanups.reverse()) await fn();
    });

    /** The reply other than `except` to request `q`, once it ended. */
    const replyTo = (socket, q, except = []) => socket.bot.until(
      () => socket.bot.forRequest(q).find((r) => r.end && !except.includes(r.id)), `a reply to ${q}`, { timeout: 15000 });

    test('session says which bot answers; its first reply in a room says what it is, later ones do not', async () => {
      const ada = await env.user('Ada');
      assert.deepEqual(ada.session.bot, { name: 'Assistant', kind: 'embedded', model: 'embedded' });
      const room = await roomWithBot(ada);
      const q1 = await send(ada, room, '@bot /about');
      const first = await replyTo(ada, q1.id);
      assert.match(first.end.text, /offline assistant/);
      assert.match(first.end.text, /--llm-base-url/);
      const q2 = await send(ada, room, '@bot /about');
      const second = await replyTo(ada, q2.id);
      assert.doesNotMatch(second.end.text, /--llm-base-url/);
      const stored = await historyAt(ada, room, second.start.seq);
      assert.equal(stored.replyTo, q2.id, 'the stored reply names the message that asked');
    });

    test('bot:settings reads for members, changes for the creator only, broadcasts, and applies', async () => {
      const ada = await env.user('Ada');
      const ben = await env.user('Ben');
      const room = await roomWithBot(ada, ben);
      const defaults = await ok(ben, 'bot:settings', { room });
      assert.equal(defaults.replyMode, 'mention');
      assert.equal(defaults.model, 'embedded');
      assert.equal(defaults.temperature, null);
      assert.ok(defaults.systemPrompt.length > 0);
      await fails(ben, 'bot:settings', { room, replyMode: 'every' }, 'forbidden');
      await fails(ada, 'bot:settings', { room, temperature: 7 }, 'bad_request');
      await fails(ada, 'bot:settings', { room, replyMode: 'sometimes' }, 'bad_request');
      const heard = new Promise((resolve) => ben.on('bot:settings', resolve));
      const changed = await ok(ada, 'bot:settings', { room, replyMode: 'every', temperature: 0.5, systemPrompt: 'You are a pirate.' });
      assert.deepEqual(await heard, changed);
      assert.equal(changed.replyMode, 'every');
      assert.equal(changed.temperature, 0.5);
      // Reply mode `every`: a message without a mention gets an answer now.
      const q = await send(ben, room, '/about');
      const reply = await replyTo(ben, q.id);
      assert.ok(reply.end.text.length > 0);
      const reset = await ok(ada, 'bot:settings', { room, temperature: null, systemPrompt: '' });
      assert.equal(reset.temperature, null);
      assert.equal(reset.systemPrompt, defaults.systemPrompt);
      assert.equal(reset.replyMode, 'every', 'fields not given are kept');
    });

    test('a private bot room answers every message by default and has settings too', async () => {
      const ada = await env.user('Ada');
      const room = (await ok(ada, 'bot:open', {})).id;
      assert.equal((await ok(ada, 'bot:settings', { room })).replyMode, 'every');
      assert.equal((await ok(ada, 'bot:settings', { room, replyMode: 'mention' })).replyMode, 'mention');
    });

    test('regenerate writes a new reply to the request as it reads now; both are kept', async () => {
      const ada = await env.user('Ada');
      const room = await roomWithBot(ada);
      const q = await send(ada, room, '@bot /about');
      const first = await replyTo(ada, q.id);
      await ok(ada, 'edit', { room, id: q.id, text: '@bot /help' });
      const { requestId } = await ok(ada, 'bot:regenerate', { room, id: first.id });
      assert.equal(requestId, q.id);
      const second = await replyTo(ada, q.id, [first.id]);
      assert.match(second.end.text, /Commands:/, 'answers the edited text');
      const stored = await historyAt(ada, room, second.start.seq);
      assert.equal(stored.replaces, first.id);
      assert.equal(stored.replyTo, q.id);
      assert.equal((await historyAt(ada, room, first.start.seq)).id, first.id, 'the first reply is kept');
      await fails(ada, 'bot:regenerate', { room, id: q.id }, 'not_found');
      await fails(ada, 'bot:continue', { room, id: second.id }, 'bad_request');
    });

    test('continue carries on a cancelled reply with only what it had left to say', async () => {
      const ada = await env.user('Ada');
      const room = await roomWithBot(ada);
      await replyTo(ada, (await send(ada, room, '@bot hi')).id);
      const q = await send(ada, room, '@bot /help');
      const started = await ada.bot.started(q.id);
      await ada.bot.until(() => started.deltas.length >= 2, 'two deltas');
      await ok(ada, 'cancel', { room, id: started.id });
      const cut = await replyTo(ada, q.id);
      assert.equal(cut.end.finishReason, 'cancelled');
      await ok(ada, 'bot:continue', { room, id: cut.id });
      const more = await replyTo(ada, q.id, [cut.id]);
      const full = await replyTo(ada, (await send(ada, room, '@bot /help')).id);
      assert.equal(cut.end.text + more.end.text, full.end.text);
      assert.equal((await historyAt(ada, room, more.start.seq)).continues, cut.id);
    });

    test('bot:usage counts the replies the caller asked for today and this month, per room and in all', async () => {
      const ada = await env.user('Ada');
      const ben = await env.user('Ben');
      const room = await roomWithBot(ada, ben);
      const other = await roomWithBot(ada);
      const before = await ok(ada, 'bot:usage', {});
      await replyTo(ada, (await send(ada, room, '@bot /about')).id);
      await replyTo(ada, (await send(ada, other, '@bot /about')).id);
      await replyTo(ben, (await send(ben, room, '@bot /about')).id);
      const inRoom = await ok(ada, 'bot:usage', { room });
      assert.equal(inRoom.today.replies, 1);
      assert.ok(inRoom.today.promptTokens > 0 && inRoom.today.completionTokens > 0);
      assert.deepEqual(inRoom.month, inRoom.today);
      const all = await ok(ada, 'bot:usage', {});
      assert.equal(all.today.replies - before.today.replies, 2, 'Ben\'s reply is not Ada\'s');
      assert.equal((await ok(ben, 'bot:usage', {})).today.replies, 1);
    });
  });
}
