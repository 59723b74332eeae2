// A reply read by a socket that stops reading (its TCP receive window and the server's queue
// fill up) while megabytes of deltas go by: the others are not held up, and once it reads again
// it ends up with the whole reply, coherent (no gap, no duplicate, no contradiction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { send, resumingClient, tcpSocketOf } from '../support/chat.js';
import { botEnv, botWatch, assertCleanEnd, historyAt, roomWithBot } from '../support/bot.js';

test('a socket that stops reading during a long reply holds nobody up and ends with the whole reply', { timeout: 50000 }, async (t) => {
  const env = await botEnv(t, { args: ['--max-buffer-size', '16'] });
  const ada = await env.user('Ada');
  const ben0 = await env.user('Ben');
  const cat = await env.user('Cat');
  const room = await roomWithBot(ada, ben0, cat);
  ben0.disconnect();
  const ben = await resumingClient(env.clients, env.url, {
    token: ben0.session.token, rooms: [room], reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0,
  });
  ben.bot = botWatch(ben);
  let drops = 0;
  ben.on('disconnect', () => drops++);

  // 2,000 tokens of 4 KB: 8 MB of text, more than loopback TCP buffers hold.
  const tokens = Array.from({ length: 2000 }, (_, i) => `[${i}]${crypto.randomBytes(3000).toString('base64')}`);
  const full = tokens.join('');
  env.fake.enqueue({ tokens });
  const tcp = tcpSocketOf(ben);
  const readBefore = tcp.bytesRead;
  tcp.pause();
  let seen;
  try {
    const q = await send(ada, room, '@bot the long version, please');
    seen = await cat.bot.ended(q.id, { timeout: 30000 });
    // Cat reads, but 2,000 quick deltas may outrun a queue of 16 packets: Cat may then skip
    // deltas to the end, which carries the whole text.
    assertCleanEnd(seen, 'stop', { complete: false });
    assert.ok(seen.end.text === full, `the watcher's bot:end has ${seen.end.text.length} of ${full.length} characters`);
    const readWhilePaused = tcp.bytesRead - readBefore;
    t.diagnostic(`watcher: ${seen.deltas.length} deltas, ${seen.incomplete ?? 'deltas built the whole text'}; the paused socket read ${readWhilePaused} bytes meanwhile`);
    assert.ok(readWhilePaused < full.length / 2, `the paused socket read ${readWhilePaused} of ${full.length} bytes: no backpressure was created`);
  } finally {
    tcp.resume();
  }

  const reply = await ben.bot.endedId(seen.id, { timeout: 30000 });
  // Coherent: whatever it got (deltas, a snapshot, or only the end), nothing contradicts, and the
  // end has the whole text.
  assertCleanEnd(reply, 'stop', { complete: false });
  assert.ok(reply.end.text === full, `the slow socket's bot:end has ${reply.end.text.length} of ${full.length} characters`);
  t.diagnostic(`slow socket: ${reply.events.length} events (${reply.deltas.length} deltas, ${reply.snapshots.length} snapshots), `
    + `${reply.incomplete ?? 'deltas built the whole text'}, ${drops} disconnection(s)`);
  assert.equal((await historyAt(ben, room, seen.end.seq)).text.length, full.length);
});
