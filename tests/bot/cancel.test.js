// `cancel { room, id }`: any member stops a reply at once; the upstream request is aborted, the
// reply ends with finishReason "cancelled" and keeps the text written so far.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, fails, send } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt, roomWithBot } from '../support/bot.js';

test('the requester cancels mid-answer: upstream aborted, bot:end cancelled with the partial text, kept in history', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['Once ', 'upon ', 'a ', 'time'], pauseAfter: 2 });
  const q = await send(ada, room, 'a story please');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'Once upon ');

  const res = await ok(ada, 'cancel', { room, id: started.id });
  assert.deepEqual(res, {});
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'cancelled');
  assert.equal(reply.end.text, 'Once upon ');
  assert.equal(reply.end.seq, started.start.seq);
  await env.fake.hungUp(0);
  assert.equal(env.fake.requests[0].tokensSent, 2);

  const stored = await historyAt(ada, room, reply.end.seq);
  assert.equal(stored.id, started.id);
  assert.equal(stored.text, 'Once upon ');
  assert.notEqual(stored.status, 'streaming');

  // The room is free again: the next question is answered.
  env.fake.enqueue({ tokens: ['Fine.'] });
  const q2 = await send(ada, room, 'something short then');
  const next = await ada.bot.ended(q2.id);
  assertCleanEnd(next, 'stop');
  assert.equal(next.end.text, 'Fine.');
});

test('another member may cancel; a non-member may not', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const cat = await env.user('Cat');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['Long ', 'answer ', 'here'], pauseAfter: 1 });
  const q = await send(ada, room, '@bot go on at length');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'Long ');

  await fails(cat, 'cancel', { room, id: started.id }, 'forbidden');
  assert.equal(started.end, null, 'a non-member stopped the reply');
  await ok(ben, 'cancel', { room, id: started.id });
  const seenByAda = await ada.bot.ended(q.id);
  assertCleanEnd(seenByAda, 'cancelled');
  assert.equal(seenByAda.end.text, 'Long ');
  assertCleanEnd(await ben.bot.ended(q.id), 'cancelled');
  await env.fake.hungUp(0);
});

test('cancel before the first token: the upstream request is aborted and the reply ends empty', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ hang: true });
  const q = await send(ada, room, 'are you there?');
  const started = await ada.bot.started(q.id);
  await env.fake.request(0);
  await ok(ada, 'cancel', { room, id: started.id });
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'cancelled');
  assert.equal(reply.end.text, '');
  await env.fake.hungUp(0);
});

test('cancel of an unknown reply is not_found; a malformed cancel is bad_request', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  await fails(ada, 'cancel', { room, id: 'm_no_such_reply' }, 'not_found');
  await fails(ada, 'cancel', { room }, 'bad_request');
  await fails(ada, 'cancel', { room, id: 42 }, 'bad_request');
  // The connection stays usable and the room still works.
  env.fake.enqueue({ tokens: ['Done.'] });
  const q = await send(ada, room, 'hello');
  assertCleanEnd(await ada.bot.ended(q.id), 'stop');
  assert.equal(ada.connected, true);
});

test('cancelling the running reply lets the next queued request start', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['Too ', 'long'], pauseAfter: 1 }, { tokens: ['Your turn, Ben.'] });
  const q1 = await send(ada, room, '@bot a long one');
  const r1 = await ada.bot.started(q1.id);
  await ada.bot.hasText(r1.id, 'Too ');
  const q2 = await send(ben, room, '@bot then me');
  assert.equal((await ben.bot.queuedFor(q2.id)).position, 1);
  await ok(ada, 'cancel', { room, id: r1.id });
  assertCleanEnd(await ben.bot.ended(q1.id), 'cancelled');
  const r2 = await ben.bot.ended(q2.id);
  assertCleanEnd(r2, 'stop');
  assert.equal(r2.end.text, 'Your turn, Ben.');
  await env.fake.hungUp(0);
});
