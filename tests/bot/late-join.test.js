// Joining a reply in the middle: a member who joins, opens another tab or reconnects while the
// bot is writing gets bot:snapshot (the text so far, through delta n) and then only the later
// deltas: no gap, no duplicate, the same final text as everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send, resumingClient } from '../support/chat.js';
import { botEnv, botWatch, assertCleanEnd, historyAt, roomWithBot, BOT_ID } from '../support/bot.js';
import { waitFor } from '../support/wait.js';

const TOKENS = ['one ', 'two ', 'three ', 'four ', 'five'];
const FULL = TOKENS.join('');

/** The snapshot checks every late joiner shares; `seenBy` is a socket that followed from the start. */
function assertSnapshot(snap, started, seenBy, text) {
  assert.equal(snap.id, started.id);
  assert.equal(snap.room, started.room);
  assert.equal(snap.seq, started.start.seq);
  assert.equal(snap.requestId, started.start.requestId);
  assert.equal(snap.userId, BOT_ID);
  assert.equal(snap.name, started.start.name);
  assert.equal(snap.ts, started.start.ts);
  assert.equal(snap.text, text);
  assert.equal(snap.n, seenBy.bot.replies.get(started.id).lastN, 'snapshot n is not the number of deltas the others saw');
}

test('a user who joins the room mid-reply gets bot:snapshot, then only the later deltas', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada);
  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 2 });
  const q = await send(ada, room, '@bot count to five');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'one two ');
  assert.equal(ben.bot.replies.size, 0, 'a non-member heard the reply');

  await ok(ben, 'join', { room });
  const late = await ben.bot.until(() => ben.bot.replies.get(started.id)?.snapshots[0], 'bot:snapshot for Ben');
  assertSnapshot(late, started, ada, 'one two ');
  env.fake.release(0);
  const reply = await ben.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.events[0], 'snapshot', `Ben's first event for the reply: ${reply.events.join(', ')}`);
  assert.equal(reply.end.text, FULL);
  assert.ok(reply.deltas.every((d) => d.n > late.n));
  assert.equal(late.text + reply.deltas.map((d) => d.text).join(''), FULL);
  assertCleanEnd(await ada.bot.ended(q.id), 'stop');
});

test('a member\'s new tab connecting mid-reply gets bot:snapshot, then only the later deltas', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 3 });
  const q = await send(ada, room, 'count to five');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'one two three ');

  const tab = await env.connect({ token: ada.session.token });
  assert.equal(tab.session.userId, ada.session.userId);
  const snap = await tab.bot.until(() => tab.bot.replies.get(started.id)?.snapshots[0], 'bot:snapshot for the new tab');
  assertSnapshot(snap, started, ada, 'one two three ');
  env.fake.release(0);
  const reply = await tab.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.events[0], 'snapshot');
  assert.equal(reply.end.text, FULL);
  assert.ok(reply.deltas.length >= 1 && reply.deltas.every((d) => d.n > snap.n));
});

test('reconnecting with auth.since mid-reply: bot:snapshot with what was missed, then the later deltas', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben0 = await env.user('Ben');
  const room = await roomWithBot(ada, ben0);
  ben0.disconnect();
  const ben = await resumingClient(env.clients, env.url, { token: ben0.session.token, rooms: [room] });
  ben.bot = botWatch(ben);
  const feed = ben.feeds[room];

  // Ben follows the first two tokens, drops, misses two more, comes back.
  env.fake.enqueue({ tokens: TOKENS, pauseAfter: [2, 4] });
  const q = await send(ada, room, '@bot count to five');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'one two ');
  await feed.untilSeq(started.start.seq);
  ben.disconnect();
  env.fake.release(0);
  await env.fake.paused(0, 1);
  await ada.bot.hasText(started.id, 'one two three four ');

  ben.connect();
  await waitFor(ben, 'session', { failOn: ['connect_error'] });
  const snap = await ben.bot.until(() => ben.bot.replies.get(started.id)?.snapshots[0], 'bot:snapshot after the reconnect');
  assertSnapshot(snap, started, ada, 'one two three four ');
  env.fake.release(0);
  const reply = await ben.bot.ended(q.id);
  assertCleanEnd(reply, 'stop'); // includes: snapshot continued what Ben had, no gap or duplicate after it
  assert.equal(reply.end.text, FULL);
  assert.ok(reply.deltas.filter((d) => d.n > snap.n).length >= 1);
  assert.equal((await historyAt(ben, room, started.start.seq)).text, FULL);
});

test('reconnecting before a reply started: the replay holds the question and the reply marked streaming, then snapshot and deltas', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben0 = await env.user('Ben');
  const room = await roomWithBot(ada, ben0);
  ben0.disconnect();
  const ben = await resumingClient(env.clients, env.url, { token: ben0.session.token, rooms: [room] });
  ben.bot = botWatch(ben);
  const feed = ben.feeds[room];
  const hello = await send(ada, room, 'hello Ben');
  await feed.untilSeq(hello.seq);
  ben.disconnect();

  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 2 });
  const q = await send(ada, room, '@bot count to five');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'one two ');

  ben.connect();
  await waitFor(ben, 'session', { failOn: ['connect_error'] });
  await feed.untilSeq(started.start.seq);
  const replayed = feed.messages.filter((m) => m.seq > hello.seq);
  assert.deepEqual(replayed.map((m) => m.seq), [q.seq, started.start.seq]);
  assert.equal(replayed[0].text, '@bot count to five');
  assert.equal(replayed[1].id, started.id);
  assert.equal(replayed[1].userId, BOT_ID);
  assert.equal(replayed[1].status, 'streaming');
  const snap = await ben.bot.until(() => ben.bot.replies.get(started.id)?.snapshots[0], 'bot:snapshot after the reconnect');
  assertSnapshot(snap, started, ada, 'one two ');

  env.fake.release(0);
  const reply = await ben.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.events[0], 'snapshot');
  assert.equal(reply.end.text, FULL);
});

test('reconnecting after the reply ended: the replay holds its final text, and no snapshot comes', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben0 = await env.user('Ben');
  const room = await roomWithBot(ada, ben0);
  ben0.disconnect();
  const ben = await resumingClient(env.clients, env.url, { token: ben0.session.token, rooms: [room] });
  ben.bot = botWatch(ben);
  const feed = ben.feeds[room];
  const hello = await send(ada, room, 'hello Ben');
  await feed.untilSeq(hello.seq);
  ben.disconnect();

  env.fake.enqueue({ tokens: TOKENS });
  const q = await send(ada, room, '@bot count to five');
  const done = await ada.bot.ended(q.id);
  assertCleanEnd(done, 'stop');

  ben.connect();
  await waitFor(ben, 'session', { failOn: ['connect_error'] });
  await feed.untilSeq(done.end.seq);
  const replayed = feed.messages.find((m) => m.seq === done.end.seq);
  assert.equal(replayed.id, done.id);
  assert.equal(replayed.text, FULL, 'the replayed reply does not carry its final text');
  assert.notEqual(replayed.status, 'streaming');
  await ok(ben, 'rooms', {}); // a round trip: anything queued for Ben before it has arrived
  assert.deepEqual(ben.bot.log, [], `bot events for a reply that was over: ${ben.bot.describe()}`);
});

test('tabs connecting one after another while deltas flow: each gets a coherent, complete reply', { timeout: 30000 }, async (t) => {
  const env = await botEnv(t, { args: ['--bot-coalesce-bytes', '1', '--bot-coalesce-ms', '0'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  const tokens = Array.from({ length: 150 }, (_, i) => `t${i} `);
  const full = tokens.join('');
  // Tokens every 2 ms, then a pause before the end so that every tab below joins a live reply.
  env.fake.enqueue({ tokens, delayMs: 2, pauseAfter: tokens.length });
  const q = await send(ada, room, 'count to 150');
  const started = await ada.bot.started(q.id);

  const tabs = [];
  let paused = false;
  env.fake.paused(0, 0, { timeout: 20000 }).then(() => { paused = true; }, () => {});
  while (!paused && tabs.length < 40) tabs.push(await env.connect({ token: ada.session.token }));
  await env.fake.paused(0, 0, { timeout: 20000 });
  tabs.push(await env.connect({ token: ada.session.token }));
  // A round trip per tab: its connection (and subscription) was handled before the reply ends.
  for (const tab of tabs) await ok(tab, 'rooms', {});
  env.fake.release(0);

  assertCleanEnd(await ada.bot.ended(q.id), 'stop');
  let snapshots = 0;
  for (const [i, tab] of tabs.entries()) {
    const reply = await tab.bot.endedId(started.id);
    assert.deepEqual(reply.problems, [], `tab ${i}: ${reply.problems.join('; ')}`);
    assertCleanEnd(reply, 'stop');
    assert.equal(reply.end.text, full, `tab ${i}`);
    if (reply.snapshots.length) snapshots++;
  }
  t.diagnostic(`${tabs.length} tabs joined the reply, ${snapshots} of them through a snapshot`);
  assert.ok(tabs.length >= 2);
});
