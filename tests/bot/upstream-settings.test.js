// A room's bot settings reach the model: the request the server makes upstream carries the
// room's model, temperature and persona, and the server's defaults again once they are reset.
// Against the fake OpenAI-compatible server, which records each request body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send } from '../support/chat.js';
import { botEnv, promptOf, roomWithBot } from '../support/bot.js';

test('the room\'s model, temperature and persona are in the upstream request; reset, the defaults are', async (t) => {
  const env = await botEnv(t, { args: ['--llm-model', 'server-default-model'] });
  const ada = await env.user('Ada');
  const room = await roomWithBot(ada);
  const other = await roomWithBot(ada);
  await ok(ada, 'bot:settings', { room, model: 'room-model-7b', temperature: 0.3, systemPrompt: 'You are a pirate.' });

  const q1 = await send(ada, room, '@bot hello there');
  const first = await env.fake.request(0);
  assert.equal(first.body.model, 'room-model-7b');
  assert.equal(first.body.temperature, 0.3);
  const [system] = promptOf(first.body);
  assert.equal(system[0], 'system');
  assert.match(system[1], /You are a pirate\./);
  await ada.bot.until(() => ada.bot.forRequest(q1.id).find((r) => r.end), 'the first reply');

  // Another room keeps the server's defaults: no temperature is sent, the model's own applies.
  const q2 = await send(ada, other, '@bot and here?');
  const second = await env.fake.request(1);
  assert.equal(second.body.model, 'server-default-model');
  assert.equal('temperature' in second.body, false, JSON.stringify(second.body).slice(0, 300));
  assert.doesNotMatch(promptOf(second.body)[0][1], /pirate/);
  await ada.bot.until(() => ada.bot.forRequest(q2.id).find((r) => r.end), 'the second reply');

  // Reset in the first room: the next request there is the server's again.
  await ok(ada, 'bot:settings', { room, model: '', temperature: null, systemPrompt: '' });
  await send(ada, room, '@bot once more');
  const third = await env.fake.request(2);
  assert.equal(third.body.model, 'server-default-model');
  assert.equal('temperature' in third.body, false);
  assert.doesNotMatch(promptOf(third.body)[0][1], /pirate/);
});
