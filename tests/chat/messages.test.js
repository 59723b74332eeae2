// Messages: send (ack, fan-out, idempotency), edit, delete, history, payload validation,
// size limit, membership and rate limiting.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import {
  backends, chatServer, ok, fails, call, send, cid, unique, roomFeed, logged, NO_PAYLOAD,
  assertNoSocketIds, expectEvent,
} from '../support/chat.js';

/** Ada creates a public room, Ben joins it, Cat stays outside. */
async function threeUsers(chat) {
  const ada = await chat.guest('Ada');
  const ben = await chat.guest('Ben');
  const cat = await chat.guest('Cat');
  const room = await ok(ada, 'create', { name: unique('talk') });
  await ok(ben, 'join', { room: room.id });
  return { ada, ben, cat, room: room.id };
}

function assertMessage(m, expected) {
  for (const key of ['room', 'id', 'seq', 'userId', 'name', 'text', 'ts']) {
    assert.ok(m && key in m, `Message without ${key}: ${JSON.stringify(m)}`);
  }
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(m[key], value, `Message.${key} in ${JSON.stringify(m)}`);
  }
}

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend);

    test('send: the ack carries id, seq and ts, and every member socket gets the message', async () => {
      const { ada, ben, cat, room } = await threeUsers(chat);
      const adaFeed = roomFeed(ada, room);
      const benFeed = roomFeed(ben, room);
      const before = Date.now();
      const clientId = cid();
      const ack = await send(ada, room, 'hello, world', clientId);
      assert.deepEqual(Object.keys(ack).sort(), ['id', 'seq', 'ts']);
      assert.equal(typeof ack.id, 'string');
      assert.equal(ack.seq, 1);
      assert.ok(ack.ts >= before - 5000 && ack.ts <= Date.now() + 5000, `ts ${ack.ts} is not now (${before})`);

      await adaFeed.untilSeq(1);
      await benFeed.untilSeq(1);
      for (const feed of [adaFeed, benFeed]) {
        assert.equal(feed.messages.length, 1);
        assertMessage(feed.messages[0], {
          room, id: ack.id, seq: 1, userId: ada.session.userId, name: 'Ada', text: 'hello, world', ts: ack.ts, clientId,
        });
      }
      await ok(cat, 'rooms', {});
      assert.deepEqual(logged(cat, 'message'), [], 'a non-member received a message');

      // Next ones follow without a gap, whoever sends.
      assert.equal((await send(ben, room, 'hi Ada')).seq, 2);
      assert.equal((await send(ada, room, 'hi Ben')).seq, 3);
      await benFeed.untilSeq(3);
      assert.deepEqual(benFeed.seqs(), [1, 2, 3]);
      assert.deepEqual(benFeed.messages.map((m) => m.text), ['hello, world', 'hi Ada', 'hi Ben']);
    });

    test('send: a resend with the same clientId returns the first ack and delivers nothing new', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      const benFeed = roomFeed(ben, room);
      const clientId = cid();
      const first = await send(ada, room, 'only once', clientId);
      const again = await send(ada, room, 'only once', clientId);
      assert.deepEqual(again, first);
      // concurrent retries of a new message: one message, identical acks
      const racing = cid();
      const acks = await Promise.all([1, 2, 3].map(() => send(ada, room, 'racing', racing)));
      assert.deepEqual(acks[1], acks[0]);
      assert.deepEqual(acks[2], acks[0]);
      assert.equal(acks[0].seq, first.seq + 1);

      // The same clientId from another user is another message.
      const bens = await send(ben, room, 'same key, other user', clientId);
      assert.equal(bens.seq, first.seq + 2);
      assert.notEqual(bens.id, first.id);

      await benFeed.untilSeq(bens.seq);
      assert.deepEqual(benFeed.seqs(), [first.seq, first.seq + 1, first.seq + 2]);
      const history = await ok(ben, 'history', { room });
      assert.deepEqual(history.messages.map((m) => m.text), ['only once', 'racing', 'same key, other user']);
    });

    test('edit and delete own messages: members get `edited` and `deleted`, history shows them', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      const ack = await send(ada, room, 'typo hree');
      const keep = await send(ada, room, 'keep me');

      const edited = expectEvent(ben, 'edited', { filter: (m) => m?.id === ack.id });
      const res = await ok(ada, 'edit', { room, id: ack.id, text: 'typo here' });
      assertMessage(res, { room, id: ack.id, seq: ack.seq, userId: ada.session.userId, text: 'typo here' });
      assert.equal(typeof res.editedTs, 'number');
      const seen = await edited;
      assertMessage(seen, { id: ack.id, seq: ack.seq, text: 'typo here', editedTs: res.editedTs });

      const deleted = expectEvent(ben, 'deleted', { filter: (m) => m?.id === keep.id });
      const del = await ok(ada, 'delete', { room, id: keep.id });
      assertMessage(del, { id: keep.id, seq: keep.seq, deleted: true, text: '' });
      assertMessage(await deleted, { id: keep.id, seq: keep.seq, deleted: true, text: '' });

      const history = await ok(ben, 'history', { room });
      assert.deepEqual(history.messages.map((m) => [m.seq, m.text, m.deleted === true]), [
        [ack.seq, 'typo here', false],
        [keep.seq, '', true],
      ]);
      assert.equal(history.messages[0].editedTs, res.editedTs);
    });

    test('edit and delete: someone else\'s message is forbidden, an unknown one not_found', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      const ack = await send(ada, room, 'mine');
      await fails(ben, 'edit', { room, id: ack.id, text: 'yours now' }, 'forbidden');
      await fails(ben, 'delete', { room, id: ack.id }, 'forbidden');
      await fails(ada, 'edit', { room, id: 'm_does_not_exist', text: 'x' }, 'not_found');
      await fails(ada, 'delete', { room, id: 'm_does_not_exist' }, 'not_found');
      await fails(ada, 'edit', { room, id: ack.id, text: '' }, 'bad_request');
      await fails(ada, 'edit', { room, id: ack.id }, 'bad_request');
      const history = await ok(ada, 'history', { room });
      assert.deepEqual(history.messages.map((m) => m.text), ['mine']);
      assert.deepEqual(logged(ada, 'edited'), []);
      assert.deepEqual(logged(ada, 'deleted'), []);
    });

    test('history: newest by default, before/after/limit, always in seq order', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      for (let i = 1; i <= 12; i++) await send(i % 2 ? ada : ben, room, `n${i}`);
      const seqsOf = async (q) => (await ok(ben, 'history', { room, ...q })).messages.map((m) => m.seq);

      const all = (await ok(ben, 'history', { room })).messages;
      assert.deepEqual(all.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(all.map((m) => m.text), Array.from({ length: 12 }, (_, i) => `n${i + 1}`));
      assertMessage(all[1], { room, seq: 2, userId: ben.session.userId, name: 'Ben' });

      assert.deepEqual(await seqsOf({ limit: 5 }), [8, 9, 10, 11, 12]);
      assert.deepEqual(await seqsOf({ before: 6, limit: 3 }), [3, 4, 5]);
      assert.deepEqual(await seqsOf({ before: 6 }), [1, 2, 3, 4, 5]);
      assert.deepEqual(await seqsOf({ after: 6, limit: 3 }), [7, 8, 9]);
      assert.deepEqual(await seqsOf({ after: 10 }), [11, 12]);
      assert.deepEqual(await seqsOf({ after: 12 }), []);
      assert.deepEqual(await seqsOf({ before: 1 }), []);
      assert.deepEqual(await seqsOf({ limit: 100 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });

    test('history: limit over 100 or of the wrong type is a bad_request', async () => {
      const { ada, room } = await threeUsers(chat);
      await send(ada, room, 'x');
      await fails(ada, 'history', { room, limit: 101 }, 'bad_request');
      await fails(ada, 'history', { room, limit: 'ten' }, 'bad_request');
      await fails(ada, 'history', { room, before: 'yesterday' }, 'bad_request');
      await fails(ada, 'history', {}, 'bad_request');
      assert.equal((await ok(ada, 'history', { room, limit: 100 })).messages.length, 1);
    });

    test('history: the default limit is 50, newest first cut', async () => {
      const { ada, room } = await threeUsers(chat);
      const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => send(ada, room, `bulk ${i + 1}`)));
      assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 60 }, (_, i) => i + 1));
      const page = (await ok(ada, 'history', { room })).messages.map((m) => m.seq);
      assert.deepEqual(page, Array.from({ length: 50 }, (_, i) => i + 11));
    });

    test('send: payloads of the wrong shape are bad_request and the connection stays usable', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      const benFeed = roomFeed(ben, room);
      const cases = {
        'missing room': { text: 'hi', clientId: cid() },
        'missing text': { room, clientId: cid() },
        'text not a string': { room, text: 5, clientId: cid() },
        'text an object': { room, text: { html: '<b>' }, clientId: cid() },
        'empty text': { room, text: '', clientId: cid() },
        'number as clientId': { room, text: 'hi', clientId: 12345 },
        'empty clientId': { room, text: 'hi', clientId: '' },
        'clientId over 64 characters': { room, text: 'hi', clientId: 'k'.repeat(65) },
        'room not a string': { room: 7, text: 'hi', clientId: cid() },
        'payload a string': 'hi',
        'payload a number': 42,
        'payload null': null,
        'payload an array': [room, 'hi'],
        'no payload': NO_PAYLOAD,
      };
      for (const [what, payload] of Object.entries(cases)) {
        const res = await call(ada, 'send', payload);
        assert.equal(res?.ok, false, `${what}: should fail, got ${JSON.stringify(res)}`);
        assert.equal(res.error?.code, 'bad_request', `${what}: ${JSON.stringify(res)}`);
      }
      assert.equal(ada.connected, true);
      // Nothing was stored: the next good message is seq 1, with a 64-character clientId.
      const ack = await send(ada, room, 'finally', 'k'.repeat(64));
      assert.equal(ack.seq, 1);
      await benFeed.untilSeq(1);
      assert.deepEqual(benFeed.messages.map((m) => m.text), ['finally']);
    });

    test('send: text over max_message_bytes (4096 bytes, counted in UTF-8) is too_large', async () => {
      const { ada, room } = await threeUsers(chat);
      await fails(ada, 'send', { room, text: 'a'.repeat(4097), clientId: cid() }, 'too_large');
      // 1366 euro signs are 1366 characters but 4098 bytes
      await fails(ada, 'send', { room, text: '€'.repeat(1366), clientId: cid() }, 'too_large');
      const full = await send(ada, room, 'a'.repeat(4096));
      assert.equal(full.seq, 1);
      const euros = await send(ada, room, '€'.repeat(1365));
      assert.equal(euros.seq, 2);
      const history = (await ok(ada, 'history', { room })).messages;
      assert.equal(history[0].text, 'a'.repeat(4096));
      assert.equal(history[1].text, '€'.repeat(1365));
    });

    test('send and edit: control characters other than tab and line breaks are bad_request', async () => {
      const { ada, ben, room } = await threeUsers(chat);
      const benFeed = roomFeed(ben, room);
      for (const text of ['nul\u0000byte', 'bell\u0007', 'escape \u001b[31mred', 'del\u007f', 'c1 \u0085']) {
        await fails(ada, 'send', { room, text, clientId: cid() }, 'bad_request');
      }
      // Tabs and line breaks are text.
      const kept = 'line one\nline two\r\n\tindented';
      const ack = await send(ada, room, kept);
      assert.equal(ack.seq, 1, 'nothing refused was stored');
      await fails(ada, 'edit', { room, id: ack.id, text: 'now with\u0000nul' }, 'bad_request');
      await benFeed.untilSeq(1);
      assert.deepEqual(benFeed.messages.map((m) => m.text), [kept]);
      assert.deepEqual((await ok(ada, 'history', { room })).messages.map((m) => m.text), [kept]);
    });

    test('send: not a member of the room is forbidden', async () => {
      const { ada, cat, room } = await threeUsers(chat);
      await fails(cat, 'send', { room, text: 'can I?', clientId: cid() }, 'forbidden');
      await ok(cat, 'join', { room });
      assert.equal((await send(cat, room, 'now I can')).seq, 1);
      assert.equal((await send(ada, room, 'welcome')).seq, 2);
    });

    test('send: five members each fire 50 sends without waiting: every send is acked', async () => {
      const { ada, ben, cat, room } = await threeUsers(chat);
      await ok(cat, 'join', { room });
      const dan = await chat.guest('Dan');
      const eve = await chat.guest('Eve');
      await ok(dan, 'join', { room });
      await ok(eve, 'join', { room });
      const members = [ada, ben, cat, dan, eve];
      const feeds = members.map((m) => roomFeed(m, room));
      const results = await Promise.all(members.flatMap((m, k) => Array.from({ length: 50 }, (_, i) =>
        call(m, 'send', { room, text: `burst ${k}.${i}`, clientId: `burst-${k}-${i}` }, { timeout: 8000 })
          .catch((err) => ({ lost: `${k}.${i}: ${err.message}` })))));
      const lost = results.filter((r) => r.lost).map((r) => r.lost.split(':')[0]);
      assert.deepEqual(lost, [], `${lost.length} of 250 sends never got an ack`);
      assert.deepEqual(results.map((r) => r.data.seq).sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i + 1));
      await Promise.all(feeds.map((f) => f.untilSeq(250)));
      for (const f of feeds) assert.deepEqual(f.seqs(), Array.from({ length: 250 }, (_, i) => i + 1));
    });

    test('no payload carried a socket id', () => {
      assertNoSocketIds();
    });
  });

  describe(`${backend.name}: rate limit (1 per second, burst 3)`, () => {
    const chat = chatServer(backend, ['--rate-limit-per-sec', '1', '--rate-limit-burst', '3']);

    test('the 4th quick send is rate_limited with retryAfter; others are not held; a retry after it works', async () => {
      const ada = await chat.guest('Ada');
      const ben = await chat.guest('Ben');
      const room = (await ok(ada, 'create', { name: unique('busy') })).id;
      await ok(ben, 'join', { room });
      const results = await Promise.all([1, 2, 3, 4].map((i) => call(ada, 'send', { room, text: `quick ${i}`, clientId: cid() })));
      assert.deepEqual(results.slice(0, 3).map((r) => r.ok), [true, true, true], JSON.stringify(results));
      assert.deepEqual(results.slice(0, 3).map((r) => r.data.seq), [1, 2, 3]);
      const limited = results[3];
      assert.equal(limited.ok, false, `the 4th send should be refused: ${JSON.stringify(limited)}`);
      assert.equal(limited.error.code, 'rate_limited');
      assert.equal(typeof limited.error.retryAfter, 'number');
      assert.ok(limited.error.retryAfter > 0 && limited.error.retryAfter <= 1100, `retryAfter ${limited.error.retryAfter}`);

      // Another user is not limited by Ada's burst.
      assert.equal((await send(ben, room, 'my turn')).seq, 4);

      // Waiting as told lets Ada write again (the wait is the server's retryAfter).
      await delay(limited.error.retryAfter + 50);
      assert.equal((await send(ada, room, 'after waiting')).seq, 5);
      const history = (await ok(ben, 'history', { room })).messages.map((m) => m.text);
      assert.deepEqual(history, ['quick 1', 'quick 2', 'quick 3', 'my turn', 'after waiting']);
    });
  });
}
