// `--metrics-listen`: Prometheus metrics on a listener of their own, moved by what clients do.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, fails, send, cid } from '../support/chat.js';
import { botEnv, connectWatched, assertCleanEnd } from '../support/bot.js';
import { metricsUrl, scrape, scrapeUntil } from '../support/metrics.js';

const WS = { transport: 'websocket', namespace: '/' };
const POLLING = { transport: 'polling', namespace: '/' };

/** How much each of `reads` (name -> [metric, labels]) moved from `before` to `now`. */
function moved(before, now, reads) {
  return Object.fromEntries(Object.entries(reads).map(([k, [name, labels]]) => [k, now.value(name, labels) - before.value(name, labels)]));
}

describe('metrics', () => {
  let env;
  let base;
  const cleanups = [];
  before(async () => {
    env = await botEnv({ after: (fn) => cleanups.push(fn) }, { fake: false, args: ['--metrics-listen', '127.0.0.1:0'] });
    base = await metricsUrl(env.server);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('are served on their own port, not on the public one, with the process metrics', async () => {
    const port = Number(new URL(base).port);
    assert.notEqual(port, env.server.port, 'the metrics listener is the public port');
    const pub = await fetch(`${env.url}/metrics`);
    assert.equal(pub.status, 404, 'the public port serves /metrics');
    await pub.arrayBuffer();
    const other = await fetch(`${base}/other`);
    assert.equal(other.status, 404);
    await other.arrayBuffer();

    const m = await scrape(base);
    assert.ok(m.value('process_resident_memory_bytes') > 1_000_000, 'no resident memory');
    assert.ok(m.has('process_cpu_seconds_total'), 'no CPU seconds');
    assert.ok(m.value('process_open_fds') > 0, 'no open files');
    assert.equal(m.types.get('chat_messages_stored_total'), 'counter');
    assert.equal(m.types.get('chat_connections'), 'gauge');
  });

  test('follow connections, events, refusals, messages, bytes and the bot', async () => {
    const m0 = await scrape(base);
    const ada = await env.user('Ada');
    const ben = await connectWatched(env.clients, env.url, { name: 'Ben' }, { transports: ['polling'] });
    const m1 = await scrape(base);
    assert.deepEqual(moved(m0, m1, {
      ws: ['chat_connections', WS],
      polling: ['chat_connections', POLLING],
      wsConnects: ['chat_connects_total', WS],
      pollingConnects: ['chat_connects_total', POLLING],
      sessions: ['chat_events_emitted_total', { event: 'session' }],
    }), { ws: 1, polling: 1, wsConnects: 1, pollingConnects: 1, sessions: 2 });

    const room = await ok(ada, 'create', { name: `metrics-${cid().slice(0, 8)}` });
    await ok(ben, 'join', { room: room.id });
    const seen = new Promise((resolve) => {
      let n = 0;
      ben.on('message', () => { if (++n === 3) resolve(); });
    });
    for (const text of ['one', 'two', 'three']) await send(ada, room.id, text);
    await seen;
    await fails(ben, 'send', { room: 'no-such-room', text: 'hi', clientId: cid() }, 'not_found');
    // An event outside the protocol has no answer; the ack that follows it is the barrier.
    ben.emit('no-such-event', {});
    ben.emit('Send', {});
    await ok(ben, 'rooms', {});
    const m2 = await scrape(base);
    assert.deepEqual(moved(m1, m2, {
      stored: ['chat_messages_stored_total'],
      sends: ['chat_events_received_total', { event: 'send' }],
      other: ['chat_events_received_total', { event: 'other' }],
      sendAcks: ['chat_ack_duration_seconds_count', { event: 'send' }],
      notFound: ['chat_refusals_total', { code: 'not_found' }],
      joins: ['chat_events_received_total', { event: 'join' }],
      joined: ['chat_events_emitted_total', { event: 'joined' }],
    }), { stored: 3, sends: 4, other: 2, sendAcks: 4, notFound: 1, joins: 1, joined: 2 });
    // Every message reaches both members' sockets.
    const messages = moved(m1, m2, { n: ['chat_events_emitted_total', { event: 'message' }] }).n;
    assert.equal(messages, 6, 'each of 3 messages to 2 sockets');
    assert.ok(m2.value('chat_rooms_live') >= 1, 'no room live while two sockets receive one');
    assert.ok(m2.value('chat_ack_duration_seconds_bucket', { event: 'send', le: '+Inf' }) >= 4);
    assert.ok(!m2.has('chat_events_received_total', { event: 'no-such-event' }), 'an unknown event name became a label');
    const bytes = moved(m0, m2, { in: ['chat_transport_received_bytes_total'], out: ['chat_transport_sent_bytes_total'] });
    assert.ok(bytes.in > 100 && bytes.out > 100, `bytes moved: ${JSON.stringify(bytes)}`);

    const botRoom = await ok(ada, 'bot:open', {});
    const q = await send(ada, botRoom.id, 'hello, who are you?');
    const reply = await ada.bot.ended(q.id, { timeout: 15000 });
    assertCleanEnd(reply, 'stop');
    const m3 = await scrapeUntil(base, (m) => m.value('chat_bot_replies_total', { finish: 'stop' }) > m2.value('chat_bot_replies_total', { finish: 'stop' }), 'the reply ended');
    assert.deepEqual(moved(m2, m3, {
      requests: ['chat_bot_requests_total'],
      stops: ['chat_bot_replies_total', { finish: 'stop' }],
      firstTokens: ['chat_bot_first_token_seconds_count'],
      speeds: ['chat_bot_tokens_per_second_count'],
      stored: ['chat_messages_stored_total'],
    }), { requests: 1, stops: 1, firstTokens: 1, speeds: 1, stored: 2 });
    assert.equal(m3.value('chat_bot_replies_running'), 0);
    assert.equal(m3.value('chat_bot_queue_length'), 0);

    ada.disconnect();
    ben.disconnect();
    // The gauge reads the namespace at the scrape, the counter moves in each socket's disconnect
    // handler, a moment later: wait for both.
    const disconnects = (m) => moved(m0, m, { n: ['chat_disconnects_total', { reason: 'client_disconnect' }] }).n;
    const m4 = await scrapeUntil(base, (m) => m.value('chat_connections', WS) === m0.value('chat_connections', WS)
      && m.value('chat_connections', POLLING) === m0.value('chat_connections', POLLING)
      && disconnects(m) >= 2, 'the sockets gone');
    const gone = disconnects(m4);
    assert.equal(gone, 2, 'two client disconnects');
  });
});

describe('metrics of the bot upstream', () => {
  test('count upstream errors by kind and cancellations', async (t) => {
    const env = await botEnv(t, { args: ['--metrics-listen', '127.0.0.1:0'] });
    const base = await metricsUrl(env.server);
    const ada = await env.user('Ada');
    const room = await ok(ada, 'bot:open', {});
    const m0 = await scrape(base);

    env.fake.enqueue({ status: 500 });
    const failed = await send(ada, room.id, 'this one fails');
    const broken = await ada.bot.ended(failed.id, { timeout: 15000 });
    assert.equal(broken.end.finishReason, 'error');

    env.fake.enqueue({ hang: true });
    const hung = await send(ada, room.id, 'this one hangs');
    const started = await ada.bot.started(hung.id, { timeout: 15000 });
    await ok(ada, 'cancel', { room: room.id, id: started.id });
    await ada.bot.ended(hung.id, { timeout: 15000 });

    const m1 = await scrapeUntil(base, (m) => m.value('chat_bot_replies_total', { finish: 'cancelled' }) > m0.value('chat_bot_replies_total', { finish: 'cancelled' }), 'the cancelled reply');
    assert.deepEqual(moved(m0, m1, {
      http: ['chat_bot_upstream_errors_total', { kind: 'upstream_http' }],
      errors: ['chat_bot_replies_total', { finish: 'error' }],
      cancelled: ['chat_bot_replies_total', { finish: 'cancelled' }],
      cancels: ['chat_bot_cancellations_total', { state: 'running' }],
      requests: ['chat_bot_requests_total'],
    }), { http: 1, errors: 1, cancelled: 1, cancels: 1, requests: 2 });
  });
});
