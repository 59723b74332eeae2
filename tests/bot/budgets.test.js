// Per-user budgets (--bot-max-inflight, --bot-tokens-per-minute) and a reply that outlives its
// requester's connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, call, send } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt, roomWithBot } from '../support/bot.js';

test('--bot-max-inflight 1: a second request from the same user while one runs is rate_limited; others are not', async (t) => {
  const env = await botEnv(t, { args: ['--bot-max-inflight', '1'] });
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['one ', 'moment'], pauseAfter: 1 }, { tokens: ['for Ben'] }, { tokens: ['Ada again'] });
  const q1 = await send(ada, room, '@bot first');
  const r1 = await ada.bot.started(q1.id);
  await ada.bot.hasText(r1.id, 'one ');

  const refused = await call(ada, 'send', { room, text: '@bot second', clientId: 'ada-second' });
  assert.equal(refused?.ok, false, `a second request in flight was accepted: ${JSON.stringify(refused)}`);
  assert.equal(refused.error?.code, 'rate_limited', JSON.stringify(refused));
  // Ben has his own budget: his request waits for the room.
  const qb = await send(ben, room, '@bot mine');
  const queued = await ben.bot.queuedFor(qb.id);
  assert.equal(queued.position, 1);

  env.fake.release(0);
  assertCleanEnd(await ada.bot.ended(q1.id), 'stop');
  // Ada's request is over: she may ask again (it waits behind Ben's, or runs if his is done).
  const q3 = await send(ada, room, '@bot third');
  const rb = await ada.bot.ended(qb.id);
  const r3 = await ada.bot.ended(q3.id);
  assertCleanEnd(rb, 'stop');
  assertCleanEnd(r3, 'stop');
  assert.deepEqual([rb.end.text, r3.end.text], ['for Ben', 'Ada again']);
  assert.equal(env.fake.requests.length, 3, 'the refused request reached the upstream');
});

test('--bot-tokens-per-minute 10: after a reply that used 50 tokens the next request is rate_limited with retryAfter', async (t) => {
  const env = await botEnv(t, { args: ['--bot-tokens-per-minute', '10'] });
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['A ', 'costly ', 'answer.'], usage: { prompt_tokens: 40, completion_tokens: 10 } });
  const q1 = await send(ada, room, 'expensive question');
  const r1 = await ada.bot.ended(q1.id);
  assertCleanEnd(r1, 'stop');
  assert.deepEqual(r1.end.usage, { promptTokens: 40, completionTokens: 10 });

  const refused = await call(ada, 'send', { room, text: 'one more?', clientId: 'ada-more' });
  assert.equal(refused?.ok, false, `a request over the token budget was accepted: ${JSON.stringify(refused)}`);
  assert.equal(refused.error?.code, 'rate_limited', JSON.stringify(refused));
  assert.equal(typeof refused.error.retryAfter, 'number', JSON.stringify(refused));
  assert.ok(refused.error.retryAfter > 0 && refused.error.retryAfter <= 60000, `retryAfter ${refused.error.retryAfter}`);
  assert.equal(env.fake.requests.length, 1, 'the refused request reached the upstream');

  // The budget is per user: Ben still gets answers.
  env.fake.enqueue({ tokens: ['Hi Ben.'] });
  const benRoom = (await ok(ben, 'bot:open', {})).id;
  const qb = await send(ben, benRoom, 'hi');
  const rb = await ben.bot.ended(qb.id);
  assertCleanEnd(rb, 'stop');
  assert.equal(rb.end.text, 'Hi Ben.');
});

test('--bot-tokens-per-minute without upstream usage: the text length counts (200 characters ≈ 50 tokens)', async (t) => {
  const env = await botEnv(t, { args: ['--bot-tokens-per-minute', '10'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: Array.from({ length: 20 }, () => 'abcdefghi ') }); // 200 characters, no usage
  const q1 = await send(ada, room, 'a long answer please');
  const r1 = await ada.bot.ended(q1.id);
  assertCleanEnd(r1, 'stop');
  assert.equal(r1.end.text.length, 200);
  const refused = await call(ada, 'send', { room, text: 'again', clientId: 'ada-again' });
  assert.equal(refused?.ok, false, `a request over the token budget was accepted: ${JSON.stringify(refused)}`);
  assert.equal(refused.error?.code, 'rate_limited', JSON.stringify(refused));
  assert.ok(refused.error.retryAfter > 0, JSON.stringify(refused));
});

test('the requester disconnecting mid-reply does not stop it: another member sees it to the end', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['Still ', 'here ', 'for Ben.'], pauseAfter: 1 });
  const q = await send(ada, room, '@bot explain slowly');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'Still ');
  ada.disconnect();
  env.fake.release(0);
  const reply = await ben.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, 'Still here for Ben.');
  assert.deepEqual(await env.fake.closed(0), { hungUp: false });
  assert.equal((await historyAt(ben, room, reply.end.seq)).text, 'Still here for Ben.');
});

test('--bot-max-inflight 1: a failed, a cancelled and a refused request each give their place back', async (t) => {
  const env = await botEnv(t, { args: ['--bot-max-inflight', '1'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ status: 500 }, { tokens: ['cancel ', 'me'], pauseAfter: 1 }, { tokens: ['All good.'] });

  const q1 = await send(ada, room, 'this one fails');
  assertCleanEnd(await ada.bot.ended(q1.id), 'error');
  const q2 = await send(ada, room, 'this one is cancelled');
  const r2 = await ada.bot.started(q2.id);
  await ada.bot.hasText(r2.id, 'cancel ');
  await ok(ada, 'cancel', { room, id: r2.id });
  assertCleanEnd(await ada.bot.ended(q2.id), 'cancelled');
  // Refused for its size: no request was made, nothing is held.
  const tooBig = await call(ada, 'send', { room, text: 'x'.repeat(5000), clientId: 'too-big' });
  assert.equal(tooBig.error?.code, 'too_large', JSON.stringify(tooBig));
  const q3 = await send(ada, room, 'and this one works');
  const r3 = await ada.bot.ended(q3.id);
  assertCleanEnd(r3, 'stop');
  assert.equal(r3.end.text, 'All good.');
});

test('resending a request with the same clientId starts no second reply', async (t) => {
  const env = await botEnv(t, { args: ['--bot-max-inflight', '1'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['Only ', 'once.'], pauseAfter: 1 });
  const first = await send(ada, room, 'hello?', 'same-client-id');
  const r = await ada.bot.started(first.id);
  await ada.bot.hasText(r.id, 'Only ');
  // A client retrying after a lost ack: the same ack, not rate_limited, no new request.
  const again = await send(ada, room, 'hello?', 'same-client-id');
  assert.deepEqual(again, first);
  env.fake.release(0);
  assertCleanEnd(await ada.bot.ended(first.id), 'stop');
  const resentAfter = await send(ada, room, 'hello?', 'same-client-id');
  assert.deepEqual(resentAfter, first);
  await ok(ada, 'rooms', {});
  assert.equal(env.fake.requests.length, 1, 'a resend asked the upstream again');
  assert.equal(ada.bot.replies.size, 1);
  const history = (await ok(ada, 'history', { room })).messages;
  assert.deepEqual(history.map((m) => m.text), ['hello?', 'Only once.']);
});
