// The library's pure parts: ordering per room, reply assembly, storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer } from '../src/sequencer.js';
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
