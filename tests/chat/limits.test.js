// Per-user limits on what costs the server for good or fans out (issue 10, defects 8 and 9):
// room creation (`--rooms-per-minute`, a burst refilled over a minute) and `typing` notices.
// Beyond a limit the answer is `rate_limited` with `retryAfter` (ms), and nothing happens.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import {
  backends, chatServer, ok, call, unique, expectEvent,
} from '../support/chat.js';

/** Assert `res` is a rate_limited refusal with a usable retryAfter; resolves with retryAfter. */
function assertRateLimited(res, what) {
  assert.equal(res?.ok, false, `${what} should be refused, got ${JSON.stringify(res)}`);
  assert.equal(res.error?.code, 'rate_limited', `${what}: ${JSON.stringify(res)}`);
  assert.equal(typeof res.error.message, 'string', `${what}: error without a message: ${JSON.stringify(res)}`);
  const { retryAfter } = res.error;
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60000,
    `${what}: retryAfter should be 1..60000 ms, got ${JSON.stringify(res.error)}`);
  return retryAfter;
}

/** `count` calls of `event`, sent `chunk` at a time without awaiting (below the pending-event bound). */
async function burst(socket, event, payloadOf, count, chunk = 50) {
  const answers = [];
  for (let i = 0; i < count; i += chunk) {
    const n = Math.min(chunk, count - i);
    answers.push(...await Promise.all(Array.from({ length: n }, (_, k) => call(socket, event, payloadOf(i + k)))));
  }
  return answers;
}

const TYPING_FLOOD = 200;

for (const backend of backends()) {
  describe(`${backend.name}: --rooms-per-minute 3`, () => {
    const chat = chatServer(backend, ['--rooms-per-minute', '3']);

    test('create: the 4th room in a minute is rate_limited with retryAfter, and is not made', async () => {
      const ada = await chat.guest('Ada');
      const names = Array.from({ length: 6 }, (_, i) => unique(`r${i}`));
      // Sent at once: the first three (in the order sent) are made, the rest refused.
      const answers = await Promise.all(names.map((name) => call(ada, 'create', { name })));
      for (const [i, res] of answers.slice(0, 3).entries()) assert.equal(res.ok, true, `create #${i + 1}: ${JSON.stringify(res)}`);
      const retryAfter = answers.slice(3).map((res, i) => assertRateLimited(res, `create #${i + 4}`));
      // One room comes back every 20 s: the wait is about that, not a whole minute.
      assert.ok(retryAfter[0] > 1000 && retryAfter[0] <= 21000, `retryAfter ${retryAfter[0]} ms for 3 rooms a minute`);

      const mine = (await ok(ada, 'rooms', {})).filter((r) => r.member).map((r) => r.name).sort();
      assert.deepEqual(mine, names.slice(0, 3).sort(), 'exactly the rooms that were accepted exist');
      // Joining and writing are not creating: still fine.
      await ok(ada, 'send', { room: answers[0].data.id, text: 'still here', clientId: unique('c') });
    });

    test('create: the limit is per user; another user still creates', async () => {
      const ada = await chat.guest('Ada');
      for (let i = 0; i < 3; i++) await ok(ada, 'create', { name: unique('a') });
      assertRateLimited(await call(ada, 'create', { name: unique('a') }), 'Ada\'s 4th create');
      const ben = await chat.guest('Ben');
      const room = await ok(ben, 'create', { name: unique('b') });
      assert.equal(room.member, true);
      // Ada's other tab is the same user: refused too.
      const tab = await chat.connect({ token: ada.session.token });
      assertRateLimited(await call(tab, 'create', { name: unique('a') }), 'a create from Ada\'s second tab');
    });
  });

  describe(`${backend.name}: default limits`, () => {
    const chat = chatServer(backend);

    test('create: by default a burst of 10 rooms, then rate_limited', async () => {
      const ada = await chat.guest('Ada');
      const answers = await burst(ada, 'create', (i) => ({ name: unique(`d${i}`) }), 12);
      const made = answers.filter((res) => res.ok === true).length;
      assert.equal(made, 10, `${made} of 12 rooms created at once; answers: ${JSON.stringify(answers.map((r) => r.ok || r.error?.code))}`);
      assertRateLimited(answers[10], 'the 11th create');
      assertRateLimited(answers[11], 'the 12th create');
    });

    test(`typing: a flood of ${TYPING_FLOOD} notices is cut off with rate_limited; the others see few of them`, async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const cat = await chat.guest('Cat');
      const room = (await ok(ada, 'create', { name: unique('flood') })).id;
      await ok(ben, 'join', { room });
      await ok(cat, 'join', { room });
      let noticed = 0;
      ben.on('typing', (e) => {
        if (e?.room === room && e?.user?.userId === ada.session.userId && e.typing === true) noticed++;
      });

      const answers = await burst(ada, 'typing', () => ({ room, typing: true }), TYPING_FLOOD);
      const accepted = answers.filter((res) => res.ok === true).length;
      const refused = answers.filter((res) => res.ok !== true);
      assert.ok(refused.length > 0, `all ${TYPING_FLOOD} typing notices were accepted: typing is not rate-limited`);
      const retryAfter = refused.map((res, i) => assertRateLimited(res, `refused typing #${i}`));
      assert.ok(accepted >= 1, 'not even the first typing notice was accepted');
      assert.ok(accepted <= TYPING_FLOOD / 2, `${accepted} of ${TYPING_FLOOD} typing notices sent at once were accepted`);

      // A message from Ada after the flood: by the time Ben has it, the notices were sent.
      const delivered = expectEvent(ben, 'message', { filter: (m) => m?.room === room });
      await ok(ada, 'send', { room, text: 'done typing', clientId: unique('c') });
      await delivered;
      assert.ok(noticed <= accepted, `Ben was told ${noticed} times, for ${accepted} accepted notices`);

      // Another user is not limited by Ada's flood.
      const catTyping = expectEvent(ben, 'typing', { filter: (e) => e?.user?.userId === cat.session.userId });
      await ok(cat, 'typing', { room, typing: true });
      await catTyping;

      // After the wait it named, Ada may type again.
      const wait = retryAfter.at(-1);
      if (wait <= 5000) {
        await delay(wait + 100);
        await ok(ada, 'typing', { room, typing: true });
      }
    });
  });
}
