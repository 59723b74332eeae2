// Several replies: rooms answer at the same time; within a room one reply at a time, further
// requests wait in a bounded queue (bot:queued with their position, then queue_full) and are
// answered in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, call, send } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt, promptOf } from '../support/bot.js';

test('two rooms answer at once: both replies stream at the same time', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const roomA = (await ok(ada, 'bot:open', {})).id;
  const roomB = (await ok(ben, 'bot:open', {})).id;
  assert.notEqual(roomA, roomB);
  // Both upstream answers stop after their first token until released.
  env.fake.enqueue({ tokens: ['A1 ', 'A2 ', 'A3'], pauseAfter: 1 }, { tokens: ['B1 ', 'B2 ', 'B3'], pauseAfter: 1 });

  const qa = await send(ada, roomA, 'question A');
  await env.fake.request(0);
  const qb = await send(ben, roomB, 'question B');
  // Room B's request reaches the upstream while room A's answer is still open.
  const reqB = await env.fake.request(1);
  assert.ok(promptOf(reqB.body).at(-1)[1].includes('question B'));
  const a = await ada.bot.started(qa.id);
  const b = await ben.bot.started(qb.id);
  await ada.bot.hasText(a.id, 'A1 ');
  await ben.bot.hasText(b.id, 'B1 ');
  assert.equal(a.end, null);
  assert.equal(b.end, null);

  env.fake.release(1);
  env.fake.release(0);
  const ra = await ada.bot.ended(qa.id);
  const rb = await ben.bot.ended(qb.id);
  assertCleanEnd(ra, 'stop');
  assertCleanEnd(rb, 'stop');
  assert.equal(ra.end.text, 'A1 A2 A3');
  assert.equal(rb.end.text, 'B1 B2 B3');
  // Interleaved in time: each reply's first delta came before the other's end.
  const endAt = (r) => ada.bot.log.concat(ben.bot.log).find((e) => e.event === 'bot:end' && e.payload.id === r.id).at;
  assert.ok(ra.deltas[0].at < endAt(rb) && rb.deltas[0].at < endAt(ra), 'the replies did not overlap');
  // Each room only heard its own reply.
  assert.deepEqual([...ada.bot.replies.keys()], [a.id]);
  assert.deepEqual([...ben.bot.replies.keys()], [b.id]);
});

test('one reply at a time per room: the next requests get bot:queued 1 and 2, the one beyond the limit queue_full; then answered in order', async (t) => {
  const env = await botEnv(t, { args: ['--bot-queue-limit', '2', '--bot-max-inflight', '10'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue(
    { tokens: ['first ', 'answer'], pauseAfter: 1 },
    { tokens: ['second ', 'answer'] },
    { tokens: ['third ', 'answer'] },
  );
  const q1 = await send(ada, room, 'question 1');
  const r1 = await ada.bot.started(q1.id);
  await ada.bot.hasText(r1.id, 'first ');

  const q2 = await send(ada, room, 'question 2');
  const queued2 = await ada.bot.queuedFor(q2.id);
  assert.deepEqual([queued2.room, queued2.requestId, queued2.position], [room, q2.id, 1], JSON.stringify(queued2));
  const q3 = await send(ada, room, 'question 3');
  const queued3 = await ada.bot.queuedFor(q3.id);
  assert.deepEqual([queued3.room, queued3.requestId, queued3.position], [room, q3.id, 2], JSON.stringify(queued3));
  const refused = await call(ada, 'send', { room, text: 'question 4', clientId: 'q4' });
  assert.equal(refused?.ok, false, `a request beyond the queue limit was accepted: ${JSON.stringify(refused)}`);
  assert.equal(refused.error?.code, 'queue_full', JSON.stringify(refused));
  assert.equal(typeof refused.error.message, 'string');
  assert.equal(env.fake.requests.length, 1, 'a queued request reached the upstream while the room was busy');
  assert.equal(ada.bot.forRequest(q2.id).length + ada.bot.forRequest(q3.id).length, 0, 'a queued request started early');

  env.fake.release(0);
  const a1 = await ada.bot.ended(q1.id);
  const a2 = await ada.bot.ended(q2.id);
  const a3 = await ada.bot.ended(q3.id);
  for (const r of [a1, a2, a3]) assertCleanEnd(r, 'stop');
  assert.deepEqual([a1, a2, a3].map((r) => r.end.text), ['first answer', 'second answer', 'third answer']);
  // In order, one after the other: each starts after the previous one ended.
  const at = (r, event) => ada.bot.log.find((e) => e.event === event && e.payload.id === r.id).order;
  assert.ok(at(a1, 'bot:end') < at(a2, 'bot:start') && at(a2, 'bot:end') < at(a3, 'bot:start'),
    `replies overlapped: ${ada.bot.describe()}`);
  assert.ok(a1.end.seq < a2.end.seq && a2.end.seq < a3.end.seq);
  assert.ok(a2.end.seq > q3.seq, 'a queued reply got its seq before it started');
  assert.equal(env.fake.requests.length, 3);
  const asked = (i, text) => promptOf(env.fake.requests[i].body).some(([role, c]) => role === 'user' && c.includes(text));
  assert.ok(asked(1, 'question 2') && asked(2, 'question 3'), 'the queued questions were not sent upstream in order');
  for (const r of [a1, a2, a3]) assert.equal((await historyAt(ada, room, r.end.seq)).text, r.end.text);
  // The refused request was not stored, and never answered.
  const texts = (await ok(ada, 'history', { room })).messages.map((m) => m.text);
  assert.ok(!texts.includes('question 4'), `the refused message is in history: ${JSON.stringify(texts)}`);
  assert.equal(ada.bot.replies.size, 3);
});

test('a reply that fails does not stall the queue behind it', async (t) => {
  const env = await botEnv(t, { args: ['--bot-max-inflight', '10'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['Start ', 'then ', 'cut'], pauseAfter: 1, cutAfter: 2 }, { tokens: ['Next one is fine.'] });
  const q1 = await send(ada, room, 'first');
  const r1 = await ada.bot.started(q1.id);
  await ada.bot.hasText(r1.id, 'Start ');
  const q2 = await send(ada, room, 'second');
  await ada.bot.queuedFor(q2.id);
  env.fake.release(0);
  const failed = await ada.bot.ended(q1.id);
  assertCleanEnd(failed, 'error');
  assert.equal(failed.end.text, 'Start then ');
  const next = await ada.bot.ended(q2.id);
  assertCleanEnd(next, 'stop');
  assert.equal(next.end.text, 'Next one is fine.');
});
