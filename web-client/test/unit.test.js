// The library's pure parts: ordering per room, reply assembly, storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer } from '../src/sequencer.js';
import { ChangeTracker } from '../src/changes.js';
import { ReplyAssembler } from '../src/replies.js';
import { Store, memoryStorage } from '../src/storage.js';

const m = (seq) => ({ seq, text: `#${seq}` });
const seqs = (list) => list.map((x) => x.seq);

test('sequencer: in order once, holds what is ahead, reports the gap', () => {
  const s = new Sequencer({ a: 2 });
  assert.deepEqual(seqs(s.accept('a', [m(1), m(2), m(3)]).deliver), [3]);
  const r = s.accept('a', [m(6), m(5)]);
  assert.deepEqual(r.deliver, []);
  assert.deepEqual(r.gap, { after: 3, before: 5 });
  assert.deepEqual(seqs(s.accept('a', [m(4)]).deliver), [4, 5, 6]);
  assert.equal(s.gap('a'), null);
  assert.deepEqual(seqs(s.accept('a', [m(6), m(7), m(7)]).deliver), [7]);
  assert.deepEqual(s.snapshot(), { a: 7 });
});

test('sequencer: an unknown room starts at its first message; advance skips what history showed', () => {
  const s = new Sequencer();
  assert.equal(s.last('b'), undefined);
  assert.deepEqual(seqs(s.accept('b', [m(10)]).deliver), [10]);
  s.accept('b', [m(13)]);
  assert.deepEqual(seqs(s.advance('b', 12)), [13]);
  assert.deepEqual(s.advance('b', 5), []);
  assert.equal(s.last('b'), 13);
  s.forget('b');
  assert.deepEqual(s.snapshot(), {});
  assert.deepEqual(new Sequencer({ c: -1, d: 'x', e: 0 }).snapshot(), { e: 0 });
});

test('replies: start, deltas in order, repeats ignored, snapshot, end', () => {
  const r = new ReplyAssembler();
  assert.equal(r.start({ room: 'x', id: 'r1', seq: 4, requestId: 'q', userId: 'bot', name: 'Assistant', ts: 1 }).text, '');
  assert.equal(r.delta({ room: 'x', id: 'r1', n: 1, text: 'Hel' }).text, 'Hel');
  assert.equal(r.delta({ room: 'x', id: 'r1', n: 1, text: 'Hel' }), null);
  assert.equal(r.delta({ room: 'x', id: 'r1', n: 2, text: 'lo' }).text, 'Hello');
  assert.deepEqual(r.streaming('x').map((x) => x.id), ['r1']);
  const end = r.end({ room: 'x', id: 'r1', seq: 4, text: 'Hello!', finishReason: 'stop' });
  assert.equal(end.text, 'Hello!');
  assert.equal(end.done, true);
  assert.equal(r.delta({ room: 'x', id: 'r1', n: 3, text: 'late' }), null, 'nothing revives a finished reply');
  assert.deepEqual(r.streaming('x'), []);

  // A late joiner: the snapshot, then only deltas after it.
  r.snapshot({ room: 'x', id: 'r2', seq: 5, text: 'abc', n: 3 });
  assert.equal(r.delta({ room: 'x', id: 'r2', n: 3, text: 'c' }), null);
  assert.equal(r.delta({ room: 'x', id: 'r2', n: 4, text: 'd' }).text, 'abcd');
});

test('store: JSON values under a prefix, tolerant of junk', () => {
  const storage = memoryStorage();
  const store = new Store(storage, 'p');
  store.set('k', { a: 1 });
  assert.deepEqual(store.get('k', null), { a: 1 });
  assert.equal(storage.getItem('p:k'), '{"a":1}');
  storage.setItem('p:bad', '{nope');
  assert.equal(store.get('bad', 'fallback'), 'fallback');
  store.set('k', undefined);
  assert.equal(storage.getItem('p:k'), null);
});

test('sequencer: a change to a message held back replaces it before it is handed out', () => {
  const s = new Sequencer({ a: 1 });
  s.accept('a', [{ seq: 3, id: 'm3', text: 'old', rev: 3 }]);
  assert.equal(s.held('a', 3, 'other'), undefined, 'another id at that seq is not the held message');
  assert.equal(s.held('a', 2, 'm3'), undefined);
  assert.equal(s.held('a', 3, 'm3').text, 'old');
  s.held('a', 3, 'm3', (m) => ({ ...m, text: 'new', rev: 5 }));
  const out = s.accept('a', [{ seq: 2, id: 'm2', text: 'two', rev: 2 }]).deliver;
  assert.deepEqual(out.map((x) => [x.seq, x.text, x.rev]), [[2, 'two', 2], [3, 'new', 5]]);
  assert.equal(s.held('a', 3, 'm3'), undefined, 'handed out: no longer held');
});

test('change tracker: rooms move only forward, snapshot per room or for some rooms, junk ignored', () => {
  const c = new ChangeTracker({ a: 4, b: -1, c: 'x', d: 0, e: 1.5 });
  assert.deepEqual(c.snapshot(), { a: 4, d: 0 });
  c.seeRoom('a', 3);
  c.seeRoom('a', 7);
  c.seeRoom('a', 6);
  c.seeRoom('z', undefined);
  c.seeRoom('z', '9');
  assert.equal(c.last('a'), 7);
  assert.equal(c.last('z'), undefined);
  c.seeRoom('f', 2);
  assert.deepEqual(c.snapshot(['a', 'f', 'nope']), { a: 7, f: 2 });
  assert.deepEqual(c.snapshot([]), {});
  c.forget('a');
  assert.deepEqual(c.snapshot(), { d: 0, f: 2 });
});

test('change tracker: a change is news only when newer than the state held for that message', () => {
  const c = new ChangeTracker({}, { maxMessages: 3 });
  assert.equal(c.isNew('m1', 5), true, 'unknown message');
  c.hold('m1', 5);
  assert.equal(c.isNew('m1', 5), false, 'the same state again');
  assert.equal(c.isNew('m1', 4), false, 'an older state');
  assert.equal(c.isNew('m1', 6), true);
  assert.equal(c.isNew('m1', undefined), true, 'a change without rev (older server) is applied');
  c.hold('m1', 3);
  assert.equal(c.held('m1'), 5, 'held positions never move back');
  c.hold('m2', 1);
  c.hold('m3', 1);
  c.hold('m1', 9); // m1 is now the most recently changed
  c.hold('m4', 1); // over the bound: the least recently changed (m2) is forgotten
  assert.equal(c.held('m2'), undefined);
  assert.equal(c.held('m1'), 9);
  assert.equal(c.messages.size, 3);
  assert.equal(c.isNew('m2', 1), true, 'a forgotten message takes the change again (harmless)');
});

test('replies: a bot:end for a reply never seen streaming gives a finished reply with its rev', () => {
  const r = new ReplyAssembler();
  const end = r.end({ room: 'x', id: 'r9', seq: 9, rev: 31, text: 'all of it', finishReason: 'stop' });
  assert.deepEqual(
    [end.id, end.room, end.seq, end.rev, end.text, end.done, end.finishReason],
    ['r9', 'x', 9, 31, 'all of it', true, 'stop'],
  );
  assert.equal(r.end({ room: 'x', id: 'r9', seq: 9, rev: 31, text: 'all of it', finishReason: 'stop' }), null, 'not twice');
});
