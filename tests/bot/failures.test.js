// When the upstream fails: HTTP errors, a stream cut or garbled mid-answer, no first token, a
// stall, nobody listening. Every time the reply ends with finishReason "error" and an error
// { code, message }, keeps what was written, and the server goes on serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send } from '../support/chat.js';
import { botEnv, assertCleanEnd, historyAt } from '../support/bot.js';
import { closedPort } from '../support/fake-openai.js';

/** Ask in Ada's bot room; resolves with the ended reply, checked as an error ending with `text`. */
async function failingReply(ada, room, question, text) {
  const q = await send(ada, room, question);
  const reply = await ada.bot.ended(q.id, { timeout: 15000 });
  assertCleanEnd(reply, 'error');
  assert.equal(reply.end.text, text, 'the text written before the failure is kept');
  const { error } = reply.end;
  assert.ok(error && typeof error === 'object', `bot:end without error: ${JSON.stringify(reply.end)}`);
  assert.equal(typeof error.code, 'string');
  assert.ok(error.code.length > 0);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
  const stored = await historyAt(ada, room, reply.end.seq);
  assert.equal(stored.id, reply.id);
  assert.equal(stored.text, text);
  assert.notEqual(stored.status, 'streaming', 'a failed reply still shows as being written');
  reply.question = q;
  return reply;
}

/** After a failure the bot answers the next question normally. */
async function stillAnswers(env, ada, room) {
  env.fake.enqueue({ tokens: ['Back ', 'to ', 'normal.'] });
  const q = await send(ada, room, 'and now?');
  const reply = await ada.bot.ended(q.id);
  assertCleanEnd(reply, 'stop');
  assert.equal(reply.end.text, 'Back to normal.');
}

async function setup(t, args = []) {
  const env = await botEnv(t, { args });
  const ada = await env.user('Ada');
  const room = (await ok(ada, 'bot:open', {})).id;
  return { env, ada, room };
}

test('HTTP 500 from the upstream: bot:end error, empty text; the next question works', async (t) => {
  const { env, ada, room } = await setup(t);
  env.fake.enqueue({ status: 500 });
  await failingReply(ada, room, 'hello?', '');
  assert.equal(env.fake.requests.length, 1);
  await stillAnswers(env, ada, room);
});

test('HTTP 401 from the upstream: bot:end error that does not reveal the API key; the next question works', async (t) => {
  const { env, ada, room } = await setup(t, ['--llm-api-key', 'sk-secret-do-not-show']);
  env.fake.enqueue({ status: 401, errorMessage: 'Incorrect API key provided.' });
  const reply = await failingReply(ada, room, 'hello?', '');
  assert.ok(!JSON.stringify(reply.end).includes('sk-secret-do-not-show'), `the API key leaked: ${JSON.stringify(reply.end)}`);
  assert.equal((await env.fake.request(0)).headers.authorization, 'Bearer sk-secret-do-not-show');
  await stillAnswers(env, ada, room);
});

test('the stream is cut mid-answer: bot:end error with the partial text', async (t) => {
  const { env, ada, room } = await setup(t);
  env.fake.enqueue({ tokens: ['Half ', 'an ', 'answer ', 'lost'], cutAfter: 2 });
  await failingReply(ada, room, 'tell me', 'Half an ');
  await stillAnswers(env, ada, room);
});

test('a malformed chunk mid-answer: bot:end error with the text before it', async (t) => {
  const { env, ada, room } = await setup(t);
  env.fake.enqueue({ tokens: ['Good ', 'start ', 'then ', 'garbage'], malformed: 2 });
  await failingReply(ada, room, 'tell me', 'Good start ');
  await stillAnswers(env, ada, room);
});

test('no first token within --llm-first-token-timeout-ms: bot:end error, upstream request aborted', async (t) => {
  const { env, ada, room } = await setup(t, ['--llm-first-token-timeout-ms', '300']);
  env.fake.enqueue({ hang: true });
  const t0 = performance.now();
  await failingReply(ada, room, 'anyone?', '');
  const waited = performance.now() - t0;
  assert.ok(waited >= 250, `the reply failed after ${Math.round(waited)} ms, before the 300 ms timeout`);
  await env.fake.hungUp(0);
  await stillAnswers(env, ada, room);
});

test('the upstream stalls mid-answer beyond --llm-idle-timeout-ms: bot:end error with the partial text, request aborted', async (t) => {
  const { env, ada, room } = await setup(t, ['--llm-idle-timeout-ms', '300']);
  env.fake.enqueue({ tokens: ['Going ', 'well ', 'until'], stallAfter: 2 });
  await failingReply(ada, room, 'go on', 'Going well ');
  await env.fake.hungUp(0);
  await stillAnswers(env, ada, room);
});

test('connection refused: bot:end error, and the server keeps serving chat and the bot', async (t) => {
  const port = await closedPort();
  const env = await botEnv(t, { fake: `http://127.0.0.1:${port}/v1`, args: ['--llm-connect-timeout-ms', '2000'] });
  const ada = await env.user('Ada');
  const ben = await env.user('Ben');
  const room = (await ok(ada, 'bot:open', {})).id;
  await failingReply(ada, room, 'hello?', '');
  // The chat goes on, and the bot answers the next question the same way rather than hanging.
  const talk = (await ok(ada, 'create', { name: `talk-${port}` })).id;
  await ok(ben, 'join', { room: talk });
  const sent = await send(ben, talk, 'still here');
  assert.equal(sent.seq, 1);
  await failingReply(ada, room, 'hello again?', '');
  const benRoom = (await ok(ben, 'bot:open', {})).id;
  await failingReply(ben, benRoom, 'me too?', '');
});
