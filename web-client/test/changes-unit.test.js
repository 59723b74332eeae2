// Change positions (`rev`) in the ChatClient, without a server: the events are handed to the
// client's handlers as the socket would (live `message`, `messages` batches, `edited`, `deleted`,
// `bot:end`), and what it emits, sends as `auth.rev` and keeps in storage is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient, memoryStorage } from '../src/client.js';

const SESSION = { userId: 'guest-ada', name: 'Ada', guest: true, token: 'tok' };

/** A client whose storage says it was connected before (so positions are loaded and kept). */
function client(storage = memoryStorage()) {
  if (storage.getItem('chat:session') == null) storage.setItem('chat:session', JSON.stringify(SESSION));
  const c = new ChatClient({ storage });
  c.seen = { message: [], edited: [], deleted: [], reply: [] };
  for (const ev of Object.keys(c.seen)) c.on(ev, (p) => c.seen[ev].push(p));
  return c;
}

/** What storage holds once the client's queued save ran. */
async function stored(storage, key) {
  await Promise.resolve();
  return JSON.parse(storage.getItem(`chat:${key}`));
}

const msg = (room, seq, rev, extra = {}) => ({
  room, id: `${room}-m${seq}`, seq, rev, userId: 'guest-ben', name: 'Ben', text: `text ${seq}`, ts: seq, ...extra,
});

/** The room as an application builds it from the client's events, keyed by message id. */
function view(c, room) {
  const out = new Map();
  for (const m of c.seen.message) if (m.room === room) out.set(m.id, { ...m });
  // Changes and reply ends in the order they were emitted, applied over the messages.
  for (const { kind, p } of c.changeLog) {
    if (p.room !== room) continue;
    if (kind === 'reply') {
      if (!p.done) continue;
      const m = out.get(p.id);
      if (m) Object.assign(m, { text: p.text, status: undefined, rev: p.rev });
    } else {
      out.set(p.id, { ...out.get(p.id), ...p });
    }
  }
  return out;
}
function logChanges(c) {
  c.changeLog = [];
  for (const kind of ['edited', 'deleted', 'reply']) c.on(kind, (p) => c.changeLog.push({ kind, p }));
}

test('rev per room: live message, edited, deleted and bot:end move it; batches do not', async () => {
  const storage = memoryStorage();
  const c = client(storage);
  c._ingest('r', [msg('r', 1, 1)], { live: true });
  c._ingest('r', [msg('r', 2, 2)], { live: true });
  assert.equal(c.lastRev('r'), 2);
  assert.equal(c.lastSeq('r'), 2);

  // A batch: seqs count, revs of its messages do not (they may be ahead of unreplayed changes).
  c._ingest('r', [msg('r', 3, 9), msg('r', 4, 4)]);
  assert.equal(c.lastSeq('r'), 4);
  assert.equal(c.lastRev('r'), 2, 'a batch moved the room rev');

  c._onChange('edited', msg('r', 1, 5, { text: 'edit', editedTs: 7 }));
  assert.equal(c.lastRev('r'), 5);
  c._onChange('deleted', msg('r', 2, 6, { text: '', deleted: true }));
  assert.equal(c.lastRev('r'), 6);
  c._onBotEnd({ room: 'r', id: 'r-bot', seq: 4, rev: 10, text: 'done', finishReason: 'stop' });
  assert.equal(c.lastRev('r'), 10);
  // An older rev never moves it back; a live message moves it again.
  c._onChange('edited', msg('r', 1, 3, { text: 'stale' }));
  assert.equal(c.lastRev('r'), 10);
  c._ingest('r', [msg('r', 5, 11)], { live: true });
  assert.equal(c.lastRev('r'), 11);

  // auth carries since and rev; rev only for rooms that have a since.
  c._onChange('edited', msg('other', 3, 40));
  assert.equal(c.lastRev('other'), 40);
  assert.equal(c.lastSeq('other'), undefined);
  assert.deepEqual(c.authPayload(), { since: { r: 5 }, rev: { r: 11 }, token: 'tok' });
  assert.deepEqual(await stored(storage, 'since'), { r: 5 });
  assert.deepEqual(await stored(storage, 'rev'), { r: 11, other: 40 });

  // A reload: a new client on the same storage sends the same positions.
  const again = client(storage);
  assert.deepEqual(again.authPayload(), { since: { r: 5 }, rev: { r: 11 }, token: 'tok' });
  assert.equal(again.lastRev('r'), 11);

  // Leaving forgets the room's rev with its seq; a new identity forgets everything.
  again.changes.forget('r');
  assert.equal(again.lastRev('r'), undefined);
  c.resetIdentity('Other');
  assert.equal(storage.getItem('chat:rev'), null);
  assert.deepEqual(c.authPayload().rev, {});
});

test('a replay after since + rev: new messages in latest state, older changes once, stale repeats dropped', () => {
  const c = client();
  logChanges(c);
  // Seen live before the disconnection: 1..3 (revs 1..3).
  c._ingest('r', [msg('r', 1, 1)], { live: true });
  c._ingest('r', [msg('r', 2, 2)], { live: true });
  c._ingest('r', [msg('r', 3, 3)], { live: true });
  assert.deepEqual(c.authPayload().rev, { r: 3 });

  // Meanwhile: rev 4 edit m1, 5 delete m2, 6 insert m4, 7 insert m5, 8 edit m4, 9 edit m1 again.
  // The replay: m4 and m5 in a batch, latest state; then the changes after rev 3 to seq <= 5,
  // in rev order, some of them repeating what the batch showed (and one older than it).
  c._ingest('r', [msg('r', 4, 8, { text: 'four, edited', editedTs: 8 }), msg('r', 5, 7)]);
  assert.equal(c.lastRev('r'), 3, 'batch revs are not the room position');
  c._onChange('deleted', msg('r', 2, 5, { text: '', deleted: true, editedTs: 5 }));
  c._onChange('edited', msg('r', 4, 6, { text: 'four, older state' })); // older than the batch's
  c._onChange('edited', msg('r', 4, 8, { text: 'four, edited', editedTs: 8 })); // the batch's state again
  c._onChange('edited', msg('r', 1, 9, { text: 'one, edited twice', editedTs: 9 }));
  c._onChange('edited', msg('r', 1, 9, { text: 'one, edited twice', editedTs: 9 })); // a repeat

  assert.deepEqual(c.seen.message.map((m) => m.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(c.seen.deleted.map((m) => [m.id, m.rev]), [['r-m2', 5]]);
  assert.deepEqual(c.seen.edited.map((m) => [m.id, m.rev]), [['r-m1', 9]], 'stale or repeated edits were emitted');
  assert.equal(c.lastRev('r'), 9);
  assert.equal(c.lastSeq('r'), 5);

  const room = view(c, 'r');
  assert.deepEqual([...room.values()].map((m) => [m.seq, m.text, !!m.deleted, m.rev]), [
    [1, 'one, edited twice', false, 9],
    [2, '', true, 5],
    [3, 'text 3', false, 3],
    [4, 'four, edited', false, 8],
    [5, 'text 5', false, 7],
  ]);
});

test('history pages count as held state: a replayed change as old is dropped, a newer one applied', async () => {
  const c = client();
  const storage = c.store.storage;
  // history() with a fake connected socket answering the page.
  const page = [msg('r', 1, 12, { text: 'one, edited', editedTs: 1 }), msg('r', 2, 2)];
  const sent = [];
  c.ready = true;
  c.socket = {
    connected: true,
    timeout: () => ({
      emit: (event, payload, cb) => {
        sent.push([event, payload]);
        queueMicrotask(() => cb(null, { ok: true, data: event === 'history' ? { messages: page } : {} }));
      },
    }),
  };
  const { messages } = await c.history('r');
  assert.equal(messages.length, 2);
  c._onChange('edited', msg('r', 1, 12, { text: 'one, edited' }));
  c._onChange('edited', msg('r', 1, 10, { text: 'one, first edit' }));
  assert.deepEqual(c.seen.edited, []);
  c._onChange('deleted', msg('r', 2, 13, { text: '', deleted: true }));
  assert.deepEqual(c.seen.deleted.map((m) => m.id), ['r-m2']);
  assert.equal(c.lastRev('r'), 13);
  // The page reached the newest messages: seq 2 counts as seen, but the page's revs do not
  // move the room's rev (only the change events did).
  assert.equal(c.lastSeq('r'), 2);

  // join passes since and rev when given, and nothing else otherwise.
  await c.join('r', { since: 2, rev: 13 });
  await c.join('s');
  assert.deepEqual(sent.filter(([e]) => e === 'join').map(([, p]) => p), [{ room: 'r', since: 2, rev: 13 }, { room: 's' }]);
  assert.deepEqual(await stored(storage, 'rev'), { r: 13 });
});

test('bot:end of a reply never seen streaming still finishes the message, once', () => {
  const c = client();
  logChanges(c);
  // The reply's message was seen live (streaming, empty), nothing else of it: the client went away.
  const reply = msg('r', 1, 1, { userId: 'bot', name: 'Assistant', text: '', status: 'streaming' });
  c._ingest('r', [reply], { live: true });
  const end = { room: 'r', id: reply.id, seq: 1, rev: 2, text: 'the whole answer', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 4 } };
  c._onBotEnd(end);
  c._onBotEnd(end); // replayed again
  assert.deepEqual(c.seen.reply.map((r) => [r.id, r.seq, r.rev, r.text, r.done, r.finishReason]), [
    [reply.id, 1, 2, 'the whole answer', true, 'stop'],
  ]);
  assert.equal(c.lastRev('r'), 2);
  assert.deepEqual(c.streaming('r'), []);
  assert.deepEqual([...view(c, 'r').values()].map((m) => [m.text, m.status, m.rev]), [['the whole answer', undefined, 2]]);

  // A reload that saw the reply finished in a batch (rev 4): the replayed end (rev 4) is old news.
  const later = client();
  later._ingest('r', [{ ...reply, id: 'r-bot2', seq: 2, rev: 4, text: 'done', status: undefined, meta: { finishReason: 'stop' } }]);
  later._onBotEnd({ room: 'r', id: 'r-bot2', seq: 2, rev: 4, text: 'done', finishReason: 'stop' });
  assert.deepEqual(later.seen.reply, []);
  assert.equal(later.lastRev('r'), 4);
});

test('a reply being assembled is finished by its bot:end even when a history page already showed it ended', async () => {
  const c = client();
  c._ingest('r', [msg('r', 1, 1, { userId: 'bot', text: '', status: 'streaming' })], { live: true });
  c._reply(c.replies.start({ room: 'r', id: 'r-m1', seq: 1, requestId: 'q', userId: 'bot', name: 'Assistant', ts: 1 }));
  c._reply(c.replies.delta({ room: 'r', id: 'r-m1', n: 1, text: 'Hel' }));
  assert.equal(c.streaming('r').length, 1);
  // The end is known to the tracker at rev 2 (as if a page had shown it) before bot:end arrives.
  c.changes.hold('r-m1', 2);
  c._onBotEnd({ room: 'r', id: 'r-m1', seq: 1, rev: 2, text: 'Hello', finishReason: 'stop' });
  assert.deepEqual(c.streaming('r'), []);
  assert.deepEqual(c.seen.reply.at(-1), { ...c.seen.reply.at(-1), text: 'Hello', done: true, rev: 2 });

  // A batch showing another streaming reply finished ends it here as well (no bot:end needed).
  c._ingest('r', [msg('r', 2, 3, { userId: 'bot', text: '', status: 'streaming' })], { live: true });
  c._reply(c.replies.start({ room: 'r', id: 'r-m2', seq: 2, requestId: 'q2', userId: 'bot', name: 'Assistant', ts: 2 }));
  assert.equal(c.streaming('r').length, 1);
  c._hold([msg('r', 2, 4, { userId: 'bot', text: 'All done', meta: { finishReason: 'length' } })]);
  assert.deepEqual(c.streaming('r'), []);
  const last = c.seen.reply.at(-1);
  assert.deepEqual([last.id, last.text, last.done, last.finishReason, last.rev], ['r-m2', 'All done', true, 'length', 4]);
});

test('a change to a message held back behind a gap is folded into it, not emitted on its own', () => {
  const c = client();
  c._fillGap = () => {}; // no server: keep the gap open
  c._ingest('r', [msg('r', 1, 1)], { live: true });
  c._ingest('r', [msg('r', 3, 3)], { live: true }); // 2 is missing: 3 is held
  assert.deepEqual(c.seen.message.map((m) => m.seq), [1]);
  c._onChange('edited', msg('r', 3, 4, { text: 'three, edited' }));
  c._onChange('edited', msg('r', 3, 2, { text: 'older' }));
  // A bot reply held back as streaming, whose end arrives before the gap is filled.
  c._ingest('r', [msg('r', 4, 5, { userId: 'bot', text: '', status: 'streaming' })], { live: true });
  c._onBotEnd({ room: 'r', id: 'r-m4', seq: 4, rev: 6, text: 'the answer', finishReason: 'stop' });
  assert.deepEqual(c.seen.edited, []);
  assert.deepEqual(c.seen.reply, [], 'a reply event for a message not handed out yet');
  assert.equal(c.lastRev('r'), 6);
  c._ingest('r', [msg('r', 2, 2)]);
  assert.deepEqual(c.seen.message.map((m) => [m.seq, m.text, m.rev, m.status]), [
    [1, 'text 1', 1, undefined],
    [2, 'text 2', 2, undefined],
    [3, 'three, edited', 4, undefined],
    [4, 'the answer', 6, undefined],
  ]);
  assert.equal(c.seen.message[3].meta.finishReason, 'stop');
  // Handed out: the changes it folded in are held, so their replay is dropped.
  c._onChange('edited', msg('r', 3, 4, { text: 'three, edited' }));
  c._onBotEnd({ room: 'r', id: 'r-m4', seq: 4, rev: 6, text: 'the answer', finishReason: 'stop' });
  assert.deepEqual(c.seen.edited, []);
  assert.deepEqual(c.seen.reply, []);
});
