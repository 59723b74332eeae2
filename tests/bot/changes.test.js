// Bot replies in the room's change log: a reply's `message` (status streaming) takes a rev when
// it starts and its `bot:end` the next change position when it ends. A member who drops while a
// reply streams and comes back after it ended, with `since` and `rev`, receives the reply's end
// (it already has the reply's message, so as a replayed `bot:end` with the final text), and its
// view of the room then equals history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send } from '../support/chat.js';
import { botEnv, botWatch, assertCleanEnd, roomWithBot, BOT_ID } from '../support/bot.js';
import {
  changeView, historyOf, positionsClient, reconnect, assertRevOrder,
} from '../support/changes.js';

const TOKENS = ['one ', 'two ', 'three ', 'four ', 'five'];
const FULL = TOKENS.join('');

/**
 * Ada and Ben in a room with the bot; Ada stays connected (her view: `ada.view`), Ben is
 * followed by a positions client (`ben`, with `ben.bot` and `ben.views[room]`).
 */
async function roomWithAdaAndBen(env, { withRev = true } = {}) {
  const ada = await env.user('Ada');
  const ben0 = await env.user('Ben');
  const room = await roomWithBot(ada, ben0);
  ada.view = changeView(ada, room);
  ben0.disconnect();
  const ben = await positionsClient(env.clients, env.url, {
    token: ben0.session.token, rooms: [room], withRev, watch: (s) => { s.bot = botWatch(s); },
  });
  return { ada, ben, room, view: ben.views[room] };
}

test('dropped while a reply streams, back after it ended with since + rev: the replayed bot:end brings the final text', async (t) => {
  const env = await botEnv(t);
  const { ada, ben, room, view } = await roomWithAdaAndBen(env);
  const hello = await send(ada, room, 'hello Ben');
  await view.until(() => view.seq === hello.seq, 'the first message');

  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 2, usage: { prompt_tokens: 9, completion_tokens: 5 } });
  const q = await send(ada, room, '@bot count to five');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'one two ');
  await view.until(() => view.byId.get(started.id)?.status === 'streaming', 'the reply\'s message, streaming');
  const replyMsg = view.byId.get(started.id);
  assert.equal(replyMsg.userId, BOT_ID);
  assert.equal(replyMsg.seq, started.start.seq);
  assert.equal(replyMsg.rev, view.rev, 'the reply\'s message is the newest change Ben saw');
  const positions = view.positions();
  assert.deepEqual(positions, { seq: started.start.seq, rev: replyMsg.rev });
  ben.disconnect();

  // The reply ends while Ben is away; Ada (connected) sees bot:end take the next rev.
  env.fake.release(0);
  const done = await ada.bot.ended(q.id);
  assertCleanEnd(done, 'stop');
  assert.equal(done.end.text, FULL);
  assert.equal(done.end.rev, replyMsg.rev + 1, 'bot:end takes the next change position');
  await ada.view.until(() => ada.view.rev === done.end.rev, 'Ada\'s view to reach the end');
  // Ada's live log: each change one rev after the other.
  assert.deepEqual(ada.view.log.map((e) => e.rev), ada.view.log.map((_, i) => i + 1), `Ada's live revs: ${JSON.stringify(ada.view.log)}`);
  assert.deepEqual(ada.view.log.map((e) => e.event), ['message', 'message', 'message', 'bot:end']);

  const from = view.log.length;
  const botFrom = ben.bot.log.length;
  await reconnect(ben);
  assert.deepEqual(ben.auths.at(-1), { token: ben.auths[0].token, since: { [room]: positions.seq }, rev: { [room]: positions.rev } });
  const history = await historyOf(ada, room);
  await view.untilEquals(history);
  await ok(ben, 'rooms', {}); // a round trip: anything the recovery queued for Ben has arrived

  const ends = view.since(from, ['bot:end']);
  assert.equal(ends.length, 1, `Ben's replayed bot:end: ${JSON.stringify(view.since(from))}`);
  const end = ben.bot.log.slice(botFrom).find((e) => e.event === 'bot:end')?.payload;
  assert.deepEqual(
    { room: end.room, id: end.id, seq: end.seq, rev: end.rev, text: end.text, finishReason: end.finishReason, usage: end.usage },
    { room, id: started.id, seq: started.start.seq, rev: done.end.rev, text: FULL, finishReason: 'stop', usage: { promptTokens: 9, completionTokens: 5 } },
    'the replayed bot:end is built from the stored reply',
  );
  assert.deepEqual(ben.bot.log.slice(botFrom).map((e) => e.event), ['bot:end'], 'a reply that was over came back as more than its end');
  assert.deepEqual(view.since(from, ['messages']).flatMap((b) => b.seqs), [], 'nothing new to batch');
  assert.equal(view.rev, done.end.rev);
  const stored = history.find((h) => h.id === started.id);
  assert.equal(stored.text, FULL);
  assert.equal(stored.rev, done.end.rev, 'history: the reply\'s rev is its end\'s');
  assert.equal(stored.status, undefined);
  // Ben's stream record ends with the final text (the deltas he missed are covered by the end).
  const reply = ben.bot.replies.get(started.id);
  assert.deepEqual(reply.problems, []);
  assert.equal(reply.end.text, FULL);
});

test('away while a reply ends, a question is edited and new messages come: batches first, then the ends and edits in rev order', async (t) => {
  const env = await botEnv(t);
  const { ada, ben, room, view } = await roomWithAdaAndBen(env);

  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 3 });
  const q = await send(ada, room, '@bot count to five');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'one two three ');
  await view.until(() => view.byId.has(started.id), 'the reply\'s message');
  const positions = view.positions();
  ben.disconnect();

  // Away: the reply is cancelled by Ada (partial text stored), her question is edited, and a
  // new message is sent and deleted, another sent.
  const ended = ada.bot.ended(q.id);
  await ok(ada, 'cancel', { room, id: started.id });
  const done = await ended;
  assertCleanEnd(done, 'cancelled', { complete: false });
  const edited = await ok(ada, 'edit', { room, id: q.id, text: '@bot count to five, please' });
  const gone = await send(ada, room, 'a message deleted at once');
  const del = await ok(ada, 'delete', { room, id: gone.id });
  const kept = await send(ada, room, 'a message that stays');
  assert.ok(done.end.rev < edited.rev && edited.rev < del.rev, `revs of the end ${done.end.rev}, the edit ${edited.rev}, the delete ${del.rev}`);

  const from = view.log.length;
  await reconnect(ben);
  assert.deepEqual(ben.auths.at(-1).rev, { [room]: positions.rev });
  const history = await historyOf(ada, room);
  await view.untilEquals(history);
  await ok(ben, 'rooms', {});

  const events = view.since(from);
  const batches = events.filter((e) => e.event === 'messages');
  assert.deepEqual(batches.flatMap((b) => b.seqs), [gone.seq, kept.seq], 'the new messages, batched');
  const lastBatch = events.lastIndexOf(batches.at(-1));
  const changes = events.slice(lastBatch + 1);
  assert.ok(changes.every((e) => e.event !== 'messages' && e.event !== 'message'), JSON.stringify(events));
  assertRevOrder(changes, 'replayed changes');
  const old = changes.filter((e) => e.seq <= positions.seq);
  assert.deepEqual(old.map((e) => [e.event, e.id, e.rev]), [['bot:end', started.id, done.end.rev], ['edited', q.id, edited.rev]],
    'the changes to what Ben had: the reply\'s end, then the edit of the question');
  const reply = view.byId.get(started.id);
  assert.equal(reply.text, done.end.text);
  assert.equal(reply.meta.finishReason, 'cancelled');
  assert.equal(view.byId.get(gone.id).deleted, true, 'the batch gives the deleted message in its latest state');
  assert.ok(view.rev >= edited.rev, `Ben's rev ${view.rev} after the replay`);
});

test('an old client (since only) back after a reply ended gets no bot:end replayed, as before', async (t) => {
  const env = await botEnv(t);
  const { ada, ben, room, view } = await roomWithAdaAndBen(env, { withRev: false });
  env.fake.enqueue({ tokens: TOKENS, pauseAfter: 2 });
  const q = await send(ada, room, '@bot count to five');
  const started = await ben.bot.started(q.id);
  await ben.bot.hasText(started.id, 'one two ');
  await view.until(() => view.byId.has(started.id), 'the reply\'s message');
  ben.disconnect();
  env.fake.release(0);
  assertCleanEnd(await ada.bot.ended(q.id), 'stop');
  const after = await send(ada, room, 'after the reply');

  const from = view.log.length;
  const botFrom = ben.bot.log.length;
  await reconnect(ben);
  assert.equal(ben.auths.at(-1).rev, undefined);
  await view.until(() => view.seq === after.seq, 'the new message');
  await ok(ben, 'rooms', {});
  assert.deepEqual(view.since(from).map((e) => e.event), ['messages'], `an old client got: ${JSON.stringify(view.since(from))}`);
  assert.deepEqual(ben.bot.log.slice(botFrom), [], 'bot events replayed to a client that did not send rev');
});
