// A reply interrupted by the server stopping (a crash, or a graceful shutdown): once the server
// is back, history does not show the reply as still being written, and the bot answers again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt } from '../support/bot.js';

for (const signal of ['SIGKILL', 'SIGTERM']) {
  test(`stopped by ${signal} mid-reply: after the restart the reply is not left "streaming" and the bot answers again`, async (t) => {
    const env = await botEnv(t, { file: true, args: ['--shutdown-timeout-ms', '2000'] });
    const ada = await env.user('Ada');
    const room = (await ok(ada, 'bot:open', {})).id;
    env.fake.enqueue({ tokens: ['Interrupted ', 'answer ', 'never finished'], pauseAfter: 2 });
    const q = await send(ada, room, 'tell me something long');
    const started = await ada.bot.started(q.id);
    await ada.bot.hasText(started.id, 'Interrupted answer ');
    const seq = started.start.seq;

    await env.restart(signal);
    await env.fake.hungUp(0);
    const back = await env.connect({ token: ada.session.token });
    assert.equal(back.session.userId, ada.session.userId);
    const stored = await historyAt(back, room, seq);
    assert.equal(stored.id, started.id);
    assert.equal(stored.userId, 'bot');
    assert.notEqual(stored.status, 'streaming', `after the restart the reply still shows as being written: ${JSON.stringify(stored)}`);
    if (signal === 'SIGTERM') {
      // A graceful stop ends the reply like any other ending: what was written is kept.
      assert.equal(stored.text, 'Interrupted answer ', 'a graceful shutdown lost the text written so far');
    }
    assert.equal(back.bot.replies.size, 0, `a reply nobody writes any more was announced: ${back.bot.describe()}`);

    // The room is not stuck behind the lost reply.
    env.fake.enqueue({ tokens: ['Back ', 'again.'] });
    const q2 = await send(back, room, 'are you back?');
    const reply = await back.bot.ended(q2.id);
    assertCleanEnd(reply, 'stop');
    assert.equal(reply.end.text, 'Back again.');
    assert.ok(reply.end.seq > seq);
  });
}
