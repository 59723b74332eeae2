// The bot across nodes: a reply written on one node streams to members on every node, a late
// joiner on another node starts from the snapshot, a cancel from any node stops it where it runs
// (the upstream request is aborted), and a reply whose node dies ends as interrupted for everyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, ok, send } from '../support/chat.js';
import { connectWatched, assertCleanEnd, historyAt, roomWithBot } from '../support/bot.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { startCluster } from '../support/cluster.js';

/** How long a dead node's reply may stay open: it is out 8 s after its last beat (TTL 6 s + a 2 s look), with room to spare. */
const INTERRUPTED_BOUND_MS = 15000;

/** Three nodes answering with a fake OpenAI endpoint; `watch(name, i)` is a guest on node i. */
async function botCluster(t, args = []) {
  const fake = await startFakeOpenAI();
  t.after(() => fake.close());
  const cl = await startCluster(t, { nginx: false, args: ['--llm-base-url', fake.baseUrl, ...args] });
  const watch = (name, i) => connectWatched(cl.clients, cl.nodes[i].url, { name });
  return { cl, fake, watch };
}

test('a reply written on one node streams to every node, a late joiner elsewhere gets the snapshot, and a cancel from another node stops it', async (t) => {
  const { fake, watch } = await botCluster(t);
  const ada = await watch('Ada', 0);
  const ben = await watch('Ben', 1);
  const room = await roomWithBot(ada, ben);
  fake.enqueue({ tokens: ['Once ', 'upon ', 'a ', 'time'], pauseAfter: 2 });
  const q = await send(ada, room, '@bot tell a story');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'Once upon ');

  // Cat arrives on the third node while the reply streams.
  const cat = await watch('Cat', 2);
  await ok(cat, 'join', { room });
  await cat.bot.hasText(started.id, 'Once upon ');

  // Ben, on a node that does not write the reply, cancels it.
  assert.deepEqual(await ok(ben, 'cancel', { room, id: started.id }), {});
  for (const who of [ada, ben, cat]) {
    const reply = await who.bot.ended(q.id);
    assertCleanEnd(reply, 'cancelled');
    assert.equal(reply.end.text, 'Once upon ', `${who.session.name}'s end`);
  }
  await fake.hungUp(0);
  assert.equal(fake.requests[0].tokensSent, 2);

  // The room is free again, asked from yet another node.
  fake.enqueue({ tokens: ['Fine.'] });
  const q2 = await send(cat, room, '@bot something short');
  const next = await ada.bot.ended(q2.id);
  assertCleanEnd(next, 'stop');
  assert.equal(next.end.text, 'Fine.');
});

test('the node writing a reply is killed: members elsewhere get bot:end interrupted with the partial text stored, and the room can ask again', { timeout: 60000 }, async (t) => {
  const { cl, fake, watch } = await botCluster(t);
  const ada = await watch('Ada', 1);
  const ben = await watch('Ben', 0);
  const room = await roomWithBot(ben, ada);
  fake.enqueue({ tokens: ['Half ', 'an ', 'answer'], pauseAfter: 2 });
  const q = await send(ada, room, '@bot explain');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'Half an ');

  cl.nodes[1].proc.kill('SIGKILL');
  const reply = await ben.bot.ended(q.id, { timeout: INTERRUPTED_BOUND_MS });
  assertCleanEnd(reply, 'error', { complete: false });
  assert.equal(reply.end.error?.code, 'interrupted', `end: ${JSON.stringify(reply.end)}`);
  assert.equal(reply.end.text, 'Half an ');
  const stored = await historyAt(ben, room, started.start.seq);
  assert.equal(stored.text, 'Half an ');
  assert.notEqual(stored.status, 'streaming');

  fake.enqueue({ tokens: ['Again.'] });
  const q2 = await send(ben, room, '@bot once more');
  const next = await ben.bot.ended(q2.id);
  assertCleanEnd(next, 'stop');
  assert.equal(next.end.text, 'Again.');
});

test('one reply at a time per room across the cluster: a question asked on another node meanwhile waits, told it is next', async (t) => {
  const { fake, watch } = await botCluster(t);
  const ada = await watch('Ada', 0);
  const ben = await watch('Ben', 1);
  const room = await roomWithBot(ada, ben);
  fake.enqueue({ tokens: ['First ', 'answer'], pauseAfter: 1 }, { tokens: ['Second.'] });
  const q1 = await send(ada, room, '@bot one');
  await ada.bot.started(q1.id);
  await fake.paused(0);

  const q2 = await send(ben, room, '@bot two');
  assert.equal((await ada.bot.queuedFor(q2.id)).position, 1);
  assert.equal(fake.requests.length, 1, 'a second reply started in the room while the first streams');

  fake.release(0);
  const first = await ben.bot.ended(q1.id);
  assertCleanEnd(first, 'stop');
  const second = await ada.bot.ended(q2.id);
  assertCleanEnd(second, 'stop');
  assert.equal(second.end.text, 'Second.');
  // As every member saw it: the second reply started after the first ended.
  const at = (event, id) => ada.bot.log.find((e) => e.event === event && e.payload.id === id).order;
  assert.ok(at('bot:start', second.id) > at('bot:end', first.id), 'the second reply started before the first ended');
});

test('a user\'s token budget holds across the cluster: what a reply cost on one node counts on another', async (t) => {
  const fake = await startFakeOpenAI();
  t.after(() => fake.close());
  const cl = await startCluster(t, { nodes: 2, nginx: false, args: ['--llm-base-url', fake.baseUrl, '--bot-tokens-per-minute', '100'] });
  const ada = await connectWatched(cl.clients, cl.nodes[0].url, { name: 'Ada' });
  const room = (await ok(ada, 'bot:open', {})).id;
  fake.enqueue({ tokens: ['Costly.'], usage: { prompt_tokens: 90, completion_tokens: 30 } });
  const q = await send(ada, room, 'an expensive question');
  assertCleanEnd(await ada.bot.ended(q.id), 'stop');

  // Her other tab, on the other node: over budget there too. Ben is not.
  const tab = await connectWatched(cl.clients, cl.nodes[1].url, { token: ada.session.token });
  const res = await call(tab, 'send', { room, text: 'and another', clientId: 'again-1' });
  assert.equal(res.ok, false, JSON.stringify(res));
  assert.equal(res.error.code, 'rate_limited');
  assert.ok(res.error.retryAfter > 0 && res.error.retryAfter <= 60000, JSON.stringify(res.error));
  const ben = await connectWatched(cl.clients, cl.nodes[1].url, { name: 'Ben' });
  const benRoom = (await ok(ben, 'bot:open', {})).id;
  fake.enqueue({ tokens: ['Fine.'] });
  const qb = await send(ben, benRoom, 'a cheap one');
  assertCleanEnd(await ben.bot.ended(qb.id), 'stop');
});

test('a user\'s requests in flight count on every node, and a dead node\'s stop counting once it is swept', { timeout: 60000 }, async (t) => {
  const { cl, fake, watch } = await botCluster(t, ['--bot-max-inflight', '1']);
  const ada = await watch('Ada', 1);
  const room = (await ok(ada, 'bot:open', {})).id;
  fake.enqueue({ tokens: ['Thinking ', 'hard'], pauseAfter: 1 }, { tokens: ['Later.'] });
  const q = await send(ada, room, 'a long question');
  await ada.bot.started(q.id);
  await fake.paused(0);

  // Her tab on another node: one request is in flight already.
  const tab = await connectWatched(cl.clients, cl.nodes[0].url, { token: ada.session.token });
  const refused = await call(tab, 'send', { room, text: 'and another', clientId: 'tab-1' });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  assert.equal(refused.error.code, 'rate_limited');
  assert.match(refused.error.message, /at a time/);

  // The node running it dies: once it is swept, the request counts no more.
  cl.nodes[1].proc.kill('SIGKILL');
  await tab.bot.ended(q.id, { timeout: INTERRUPTED_BOUND_MS });
  const res = await call(tab, 'send', { room, text: 'and another', clientId: 'tab-1' });
  assert.equal(res.ok, true, JSON.stringify(res));
  const later = await tab.bot.ended(res.data.id);
  assertCleanEnd(later, 'stop');
  assert.equal(later.end.text, 'Later.');
});
