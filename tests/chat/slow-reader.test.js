// Slow readers: a websocket client that stops reading its TCP socket while 5,000 messages go by
// neither holds up the room nor loses anything. Once it reads again it ends up with every
// message exactly once, in seq order (live, from `messages` replay batches, or after a
// reconnection with `since`: all are allowed by the contract).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  backends, chatServer, ok, call, unique, roomFeed, resumingClient, tcpSocketOf, assertSeqRange, summarize,
} from '../support/chat.js';

const N = 5000;
/** Sends awaited together: the sender's own queue holds their acks and its copies of them. */
const CHUNK = 50;
const TEXT_BYTES = 3000; // random base64, so per-message compression cannot shrink the volume much

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000']);

    test(`a reader that stops reading during ${N} messages gets all of them once, in order, and holds nobody up`, { timeout: 40000 }, async (t) => {
      const started = Date.now();
      const sender = await chat.guest('Sender');
      const watcher = await chat.guest('Watcher');
      const slow = await chat.guest('Slow');
      const room = (await ok(sender, 'create', { name: unique('firehose') })).id;
      await ok(watcher, 'join', { room });
      await ok(slow, 'join', { room });
      const token = slow.session.token;
      slow.disconnect();
      const reader = await resumingClient(chat.clients, chat.url, {
        token, rooms: [room], reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0,
      });
      let drops = 0;
      reader.on('disconnect', () => drops++);
      const watcherFeed = roomFeed(watcher, room);

      // The reader stops reading: its TCP receive window fills, then the server's send buffer.
      const tcp = tcpSocketOf(reader);
      const readBefore = tcp.bytesRead;
      tcp.pause();

      const seqByClientId = new Map();
      let volume = 0;
      for (let base = 0; base < N; base += CHUNK) {
        const chunk = [];
        for (let i = base; i < Math.min(N, base + CHUNK); i++) {
          const text = `#${i} ${crypto.randomBytes((TEXT_BYTES * 3) / 4).toString('base64')}`;
          volume += text.length;
          chunk.push(call(sender, 'send', { room, text, clientId: `slow-${i}` }, { timeout: 20000 }).then((res) => {
            assert.equal(res?.ok, true, `send ${i}: ${JSON.stringify(res)}`);
            seqByClientId.set(`slow-${i}`, res.data.seq);
          }));
        }
        await Promise.all(chunk);
      }
      const sentIn = Date.now() - started;

      // The room was not held up: the watcher has everything while the reader is still paused.
      await watcherFeed.untilCount(N, { timeout: 20000 });
      assertSeqRange(watcherFeed.seqs(), 1, N, 'the watcher');
      const readWhilePaused = tcp.bytesRead - readBefore;
      t.diagnostic(`sent ${N} messages (${(volume / 1e6).toFixed(1)} MB of text) in ${sentIn} ms; the paused reader read ${readWhilePaused} bytes meanwhile`);
      assert.ok(readWhilePaused < volume / 4,
        `the reader was meant to stop reading, yet it read ${readWhilePaused} bytes of ${volume}: no backpressure was created`);

      // Reading again: everything arrives, once, in order.
      tcp.resume();
      const feed = reader.feeds[room];
      await feed.untilSeq(N, { timeout: Math.max(5000, 38000 - (Date.now() - started)) });
      const last = await call(sender, 'send', { room, text: 'done', clientId: 'slow-done' });
      assert.equal(last.ok, true);
      await feed.untilSeq(last.data.seq, { timeout: 5000 });
      t.diagnostic(`reader: ${feed.live} live, ${feed.messages.length - feed.live} replayed in ${feed.batches} batches, ${drops} disconnection(s); ${summarize(feed.seqs()).slice(0, 200)}`);
      assertSeqRange(feed.seqs(), 1, N + 1, 'the slow reader');
      for (const m of feed.messages.slice(0, N)) {
        assert.equal(seqByClientId.get(m.clientId), m.seq, `${m.clientId} acked as seq ${seqByClientId.get(m.clientId)}, delivered as ${m.seq}`);
      }
      // The data could not all have been in flight (kernel buffers hold a few MB at most), so the
      // server must have held the reader back and replayed, or dropped and let it recover.
      assert.ok(feed.batches > 0 || drops > 0,
        'all messages came live although the reader was stalled: the server buffered them without bound');
      assert.equal(sender.connected, true);
      assert.equal(watcher.connected, true);
    });
  });
}
