// Ordering under contention: 20 users each fire 50 messages at once into one room. Every member
// sees the same 1,000 messages, seq 1..1000 without a gap, in the same order, and each sender's
// messages in the order it sent them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backends, chatServer, ok, call, unique, roomFeed, assertSeqRange } from '../support/chat.js';

const USERS = 20;
const EACH = 50;
const TOTAL = USERS * EACH;

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--rate-limit-burst', '100']);

    test(`${USERS} users x ${EACH} messages at once: one order for everyone, no gap, senders' order kept`, { timeout: 50000 }, async (t) => {
      const users = [];
      for (let k = 0; k < USERS; k++) users.push(await chat.guest(`user${k}`));
      const room = (await ok(users[0], 'create', { name: unique('stampede') })).id;
      for (const u of users.slice(1)) await ok(u, 'join', { room });
      const feeds = users.map((u) => roomFeed(u, room));

      // Everyone fires at once, no await between emits.
      const acks = await Promise.all(users.flatMap((u, k) => Array.from({ length: EACH }, (_, i) =>
        call(u, 'send', { room, text: `u${k} #${i}`, clientId: `u${k}-${i}` }, { timeout: 10000 })
          .then((res) => ({ k, i, res }), (err) => ({ k, i, err: err.message })))));
      const unanswered = acks.filter((a) => a.err);
      assert.equal(unanswered.length, 0,
        `${unanswered.length} of ${TOTAL} sends got no ack (users ${[...new Set(unanswered.map((a) => a.k))].join(', ')}); first: ${unanswered[0]?.err}`);
      const refused = acks.filter((a) => a.res?.ok !== true);
      assert.deepEqual(refused, [], `${refused.length} sends were refused`);

      // Acks: each seq used once, 1..TOTAL, each sender's increasing in its sending order.
      assertSeqRange(acks.map((a) => a.res.data.seq).sort((a, b) => a - b), 1, TOTAL, 'acked seqs');
      const seqOf = new Map(acks.map((a) => [`u${a.k}-${a.i}`, a.res.data.seq]));
      for (let k = 0; k < USERS; k++) {
        const mine = Array.from({ length: EACH }, (_, i) => seqOf.get(`u${k}-${i}`));
        for (let i = 1; i < EACH; i++) {
          assert.ok(mine[i] > mine[i - 1], `user${k}: message ${i} got seq ${mine[i]} after message ${i - 1}'s ${mine[i - 1]}`);
        }
      }

      await Promise.all(feeds.map((f) => f.untilCount(TOTAL, { timeout: 30000 })));
      const replayed = feeds.reduce((n, f) => n + f.messages.length - f.live, 0);
      t.diagnostic(`${USERS * TOTAL - replayed} deliveries live, ${replayed} from \`messages\` batches`);
      const reference = feeds[0].messages;
      for (const [n, feed] of feeds.entries()) {
        assertSeqRange(feed.seqs(), 1, TOTAL, `user${n}'s view`);
        // The same message at each seq for everyone, and the one that was acked with that seq.
        for (let j = 0; j < TOTAL; j++) {
          const m = feed.messages[j];
          if (m.id !== reference[j].id || m.clientId !== reference[j].clientId) {
            assert.fail(`user${n} sees ${m.clientId} (${m.id}) at seq ${m.seq}, user0 sees ${reference[j].clientId} (${reference[j].id})`);
          }
          assert.equal(seqOf.get(m.clientId), m.seq, `${m.clientId} was acked with seq ${seqOf.get(m.clientId)}, delivered as ${m.seq}`);
        }
      }
      // Each sender's messages appear in the order it sent them.
      const counters = new Map();
      for (const m of reference) {
        const [, k, i] = /^u(\d+) #(\d+)$/.exec(m.text).map(Number);
        assert.equal(m.userId, users[k].session.userId, `message "${m.text}" attributed to ${m.userId}`);
        const expected = counters.get(k) ?? 0;
        assert.equal(i, expected, `user${k}'s message #${i} came where #${expected} was expected`);
        counters.set(k, expected + 1);
      }
      assert.equal(counters.size, USERS);

      // Storage agrees with what was delivered.
      const last = (await ok(users[0], 'history', { room, limit: 100 })).messages;
      assert.deepEqual(last.map((m) => m.id), reference.slice(TOTAL - 100).map((m) => m.id));
    });
  });
}
