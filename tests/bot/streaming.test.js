// The chatbot against an OpenAI-compatible upstream (tests/support/fake-openai.js): how a reply
// streams (bot:start, bot:delta n = 1, 2, ..., bot:end), what history keeps, what the server
// asks the upstream (model, stream, system prompt, recent messages, API key), and coalescing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send, roomFeed, absent } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt, roomWithBot, promptOf, BOT_ID } from '../support/bot.js';

test('a reply streams: bot:start, deltas n = 1, 2, ... in order, bot:end with the whole text and usage; history keeps it', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const open = await ok(ada, 'bot:open', {});
  const room = open.id;
  const feed = roomFeed(ada, room);
  const tokens = ['The ', 'quick ', 'brown ', 'fox ', 'jumps.'];
  env.fake.enqueue({ tokens, pauseAfter: 2, usage: { prompt_tokens: 42, completion_tokens: 5 } });

  const ack = await send(ada, room, 'Tell me about the fox');
  const started = await ada.bot.started(ack.id);
  const start = started.start;
  assert.ok(start, `the requester got no bot:start (first event: ${started.events[0]})`);
  assert.equal(start.room, room);
  assert.equal(start.requestId, ack.id, 'requestId is the id of the message that asked');
  assert.equal(start.userId, BOT_ID);
  assert.equal(start.name, 'Assistant');
  assert.equal(start.seq, ack.seq + 1, 'the reply takes the next seq of the room when it starts');
  assert.equal(typeof start.id, 'string');
  assert.notEqual(start.id, ack.id);
  assert.equal(typeof start.ts, 'number');

  // The text shows up while the upstream is still writing (it is paused after two tokens).
  await ada.bot.hasText(start.id, 'The quick ');
  assert.equal(started.end, null, 'the reply ended while the upstream was still answering');
  // Meanwhile the reply is a message of the room, marked as being written.
  await feed.untilSeq(start.seq);
  const live = feed.messages.find((m) => m.seq === start.seq);
  assert.equal(live.id, start.id);
  assert.equal(live.userId, BOT_ID);
  assert.equal(live.name, 'Assistant');
  assert.equal(live.status, 'streaming');

  env.fake.release(0);
  const reply = await ada.bot.ended(ack.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.events[0], 'start');
  assert.deepEqual(reply.deltas.map((d) => d.n), reply.deltas.map((_, i) => i + 1));
  assert.equal(reply.deltas.map((d) => d.text).join(''), tokens.join(''));
  assert.equal(reply.end.text, 'The quick brown fox jumps.');
  assert.equal(reply.end.id, start.id);
  assert.equal(reply.end.seq, start.seq);
  assert.equal(reply.end.room, room);
  assert.deepEqual(reply.end.usage, { promptTokens: 42, completionTokens: 5 });
  assert.equal(reply.end.error, undefined);

  const stored = await historyAt(ada, room, start.seq);
  assert.equal(stored.id, start.id);
  assert.equal(stored.text, 'The quick brown fox jumps.');
  assert.equal(stored.userId, BOT_ID);
  assert.notEqual(stored.status, 'streaming', 'history still says the reply is being written');
  // Upstream saw one well-formed request and answered it to the end.
  const req = await env.fake.request(0);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.body?.model, 'gpt-4o-mini', 'default model');
  assert.equal(req.body?.stream, true);
  assert.equal(req.headers.authorization, undefined, 'no API key configured, yet an Authorization header was sent');
  assert.deepEqual(await env.fake.closed(0), { hungUp: false });
});

test('the request carries the model, stream: true, the API key, the system prompt and the recent room messages', async (t) => {
  const system = 'You are Testy. Answer in one line.';
  const env = await botEnv(t, {
    args: ['--llm-model', 'test-model-7', '--llm-api-key', 'sk-test-0123456789', '--bot-system-prompt', system],
  });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['First ', 'answer.'] }, { tokens: ['Second answer.'] });

  const q1 = await send(ada, room, 'First question?');
  assertCleanEnd(await ada.bot.ended(q1.id), 'stop');
  const q2 = await send(ada, room, 'Second question?');
  const second = await ada.bot.ended(q2.id);
  assertCleanEnd(second, 'stop');
  assert.equal(second.end.text, 'Second answer.');

  const req = await env.fake.request(1);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.headers.authorization, 'Bearer sk-test-0123456789');
  assert.match(String(req.headers['content-type']), /application\/json/);
  assert.equal(req.body?.model, 'test-model-7');
  assert.equal(req.body?.stream, true);
  // OpenAI streams usage only when asked to.
  assert.equal(req.body?.stream_options?.include_usage, true, `stream_options: ${JSON.stringify(req.body?.stream_options)}`);
  const prompt = promptOf(req.body);
  assert.equal(prompt[0][0], 'system', `the first message should be the system prompt: ${JSON.stringify(prompt)}`);
  assert.ok(prompt[0][1].includes(system), `system prompt missing: ${JSON.stringify(prompt[0])}`);
  const at = (role, text) => prompt.findIndex(([r, c]) => r === role && c.includes(text));
  const q1At = at('user', 'First question?');
  const a1At = at('assistant', 'First answer.');
  const q2At = at('user', 'Second question?');
  assert.ok(q1At > 0, `the earlier question is not in the request: ${JSON.stringify(prompt)}`);
  assert.ok(a1At > q1At, `the bot's earlier answer should follow it as an assistant message: ${JSON.stringify(prompt)}`);
  assert.equal(q2At, prompt.length - 1, `the question being answered should come last: ${JSON.stringify(prompt)}`);
  // The first request already had the key and the system prompt, and only the first question.
  const first = promptOf((await env.fake.request(0)).body);
  assert.equal(first[0][0], 'system');
  assert.equal(first.at(-1)[0], 'user');
  assert.ok(first.at(-1)[1].includes('First question?'));
  assert.equal((await env.fake.request(0)).headers.authorization, 'Bearer sk-test-0123456789');
});

test('--bot-context-chars keeps the newest room messages that fit and drops older ones', async (t) => {
  const env = await botEnv(t, { args: ['--bot-context-chars', '100', '--bot-system-prompt', 'Be brief.'] });
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  const oldest = `OLDEST-${'o'.repeat(63)}`; // 70 characters
  const middle = `MIDDLE-${'m'.repeat(33)}`; // 40 characters
  await send(ada, room, oldest);
  await send(ben, room, middle);
  env.fake.enqueue({ tokens: ['Noted.'] });
  const q = await send(ada, room, '@bot newest?');
  assertCleanEnd(await ada.bot.ended(q.id), 'stop');
  const prompt = promptOf((await env.fake.request(0)).body);
  const all = prompt.map(([, c]) => c).join('\n');
  assert.ok(all.includes('@bot newest?'), `the question is missing: ${all}`);
  assert.ok(all.includes(middle), `the previous message fits in 100 characters and is missing: ${all}`);
  assert.ok(!all.includes('OLDEST-'), `the oldest message does not fit in 100 characters but was sent: ${all}`);
  assert.equal(env.fake.requests.length, 1, 'messages without a mention started a reply');
});

test('coalescing: 30 tokens sent back to back arrive as fewer deltas whose concatenation is exact', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  const tokens = Array.from({ length: 30 }, (_, i) => `w${String(i).padStart(2, '0')} `);
  env.fake.enqueue({ tokens });
  const q = await send(ada, room, 'count');
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, tokens.join(''));
  assert.equal(reply.deltas.map((d) => d.text).join(''), tokens.join(''));
  assert.ok(reply.deltas.length >= 1);
  assert.ok(reply.deltas.length < tokens.length, `${tokens.length} tokens came as ${reply.deltas.length} deltas: not coalesced`);
  t.diagnostic(`${tokens.length} tokens -> ${reply.deltas.length} deltas of ${reply.deltas.map((d) => d.text.length).join(', ')} characters`);
});

test('coalescing off (--bot-coalesce-bytes 1 --bot-coalesce-ms 0): every token is its own delta', async (t) => {
  const env = await botEnv(t, { args: ['--bot-coalesce-bytes', '1', '--bot-coalesce-ms', '0'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  const tokens = Array.from({ length: 30 }, (_, i) => `t${i} `);
  env.fake.enqueue({ tokens });
  const q = await send(ada, room, 'count');
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.deepEqual(reply.deltas.map((d) => d.text), tokens);
  assert.deepEqual(reply.deltas.map((d) => d.n), tokens.map((_, i) => i + 1));
});

test('coalescing flushes on time: a lone token shows up while the upstream pauses', async (t) => {
  const env = await botEnv(t); // 10 ms, 64 bytes
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['Thinking', '...', ' done.'], pauseAfter: 1 });
  const q = await send(ada, room, 'think');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'Thinking');
  assert.equal(started.end, null);
  env.fake.release(0);
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, 'Thinking... done.');
});

test('coalescing flushes on size: --bot-coalesce-bytes 8 with a 60 s window still shows 8 bytes at once', async (t) => {
  const env = await botEnv(t, { args: ['--bot-coalesce-bytes', '8', '--bot-coalesce-ms', '60000'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  // The first token goes out at once (no delta yet in the window); the next two wait for the
  // window until together they reach 8 bytes.
  env.fake.enqueue({ tokens: ['abcd', 'efgh', 'ijkl', 'mn'], pauseAfter: 3 });
  const q = await send(ada, room, 'letters');
  const started = await ada.bot.started(q.id);
  await ada.bot.hasText(started.id, 'abcdefghijkl');
  const shown = ada.bot.replies.get(started.id)?.deltas.map((d) => d.text);
  assert.deepEqual(shown, ['abcd', 'efghijkl']);
  env.fake.release(0);
  // The rest is below the size and the window is long: the end flushes it.
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, 'abcdefghijklmn');
});

test('--bot-name: replies carry the name; "@<name>" in any case starts a reply, other messages do not', async (t) => {
  const env = await botEnv(t, { args: ['--bot-name', 'Robo'] });
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['Beep.'] }, { tokens: ['Boop.'] });

  const quietly = absent(ben, 'bot:start', { within: 1000 });
  await send(ada, room, 'just chatting with Ben about robots');
  await quietly;
  assert.equal(env.fake.requests.length, 0, 'a message without a mention reached the upstream');

  const q1 = await send(ada, room, 'hey @ROBO, beep?');
  const r1 = await ben.bot.ended(q1.id);
  assertCleanEnd(r1, 'stop');
  assert.equal(r1.start.name, 'Robo');
  assert.equal(r1.start.userId, BOT_ID);
  assert.equal(r1.end.text, 'Beep.');
  const q2 = await send(ben, room, '@bot boop?');
  const r2 = await ada.bot.ended(q2.id);
  assertCleanEnd(r2, 'stop');
  assert.equal(r2.end.text, 'Boop.');
  const stored = await historyAt(ben, room, r1.end.seq);
  assert.equal(stored.name, 'Robo');
});

test('finish_reason "length" from the upstream ends the reply with finishReason length', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue({ tokens: ['This answer was cut by max_tokens'], finishReason: 'length' });
  const q = await send(ada, room, 'write a novel');
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'length');
  assert.equal(reply.end.text, 'This answer was cut by max_tokens');
  assert.equal((await historyAt(ada, room, reply.end.seq)).text, reply.end.text);
});

test('multi-byte text survives small coalescing and events split across packets mid-character', async (t) => {
  const env = await botEnv(t, { args: ['--bot-coalesce-bytes', '2', '--bot-coalesce-ms', '0'] });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  const tokens = ['Ça ', 'coûte ', '5 €', ' — ', '😀👍', ' 日本語', ' ok'];
  env.fake.enqueue({ tokens, splitWrites: true });
  const q = await send(ada, room, 'unicode please');
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, tokens.join(''));
  for (const d of reply.deltas) assert.ok(!d.text.includes('\uFFFD'), `a delta carries a broken character: ${JSON.stringify(d.text)}`);
  assert.equal((await historyAt(ada, room, reply.end.seq)).text, tokens.join(''));
});

test('SSE framing of real providers: CRLF line ends and keep-alive comment lines are understood', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  env.fake.enqueue(
    { tokens: ['Carriage ', 'returns ', 'are fine.'], crlf: true, usage: { prompt_tokens: 7, completion_tokens: 3 } },
    { tokens: ['Comments ', 'are ', 'ignored.'], comments: true },
  );
  const q1 = await send(ada, room, 'crlf?');
  const r1 = await ada.bot.ended(q1.id);
  assertCleanEnd(r1, 'stop');
  assert.equal(r1.end.text, 'Carriage returns are fine.');
  assert.deepEqual(r1.end.usage, { promptTokens: 7, completionTokens: 3 });
  const q2 = await send(ada, room, 'comments?');
  const r2 = await ada.bot.ended(q2.id);
  assertCleanEnd(r2, 'stop');
  assert.equal(r2.end.text, 'Comments are ignored.');
});

test('a reply that mentions the bot does not start another reply', async (t) => {
  const env = await botEnv(t);
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = await roomWithBot(ada, ben);
  env.fake.enqueue({ tokens: ['Just write ', '@bot or @Assistant', ' to ask me.'] });
  const q = await send(ada, room, '@bot how do I call you?');
  const reply = await ben.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.ok(reply.end.text.includes('@bot'));
  await absent(ben, 'bot:start', { within: 1000 });
  assert.equal(env.fake.requests.length, 1, 'the bot answered itself');
});
