// The bot through the library: replies assembled from bot:start / bot:delta / bot:snapshot /
// bot:end into text that grows, cancelReply, and a member who arrives half-way. The bot talks to
// a stand-in OpenAI-compatible API on 127.0.0.1 (test/helpers/fake-llm.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, supports, CALM } from './helpers/server.js';
import { startFakeLlm } from './helpers/fake-llm.js';
import { guest, closeAll, unique } from './helpers/clients.js';
import { next, until, collect } from './helpers/wait.js';

const hasBot = supports('--llm-base-url');
let server;
let llm;
before(async () => {
  if (!hasBot) return;
  llm = await startFakeLlm();
  server = await startServer({ args: [...CALM, '--llm-base-url', llm.url, '--bot-name', 'Assistant'] });
});
after(async () => {
  closeAll();
  await cleanup();
  await llm?.close();
});

const skip = hasBot ? false : 'this server build has no bot (--llm-base-url)';

test('openBotRoom gives the same private bot room each time', { skip }, async () => {
  const ada = await guest(server.url, 'Ada');
  const room = await ada.openBotRoom();
  assert.equal(room.private, true);
  assert.equal(room.member, true);
  assert.equal(room.bot, true);
  assert.equal((await ada.openBotRoom()).id, room.id);
  const ben = await guest(server.url, 'Ben');
  assert.notEqual((await ben.openBotRoom()).id, room.id);
});

test('a reply streams: text grows, then done with the final text, which history keeps', { skip }, async () => {
  const ada = await guest(server.url, 'Ada');
  const room = (await ada.openBotRoom()).id;
  const replies = collect(ada, 'reply', (r) => r.room === room);
  const messages = collect(ada, 'message', (m) => m.room === room);
  await ada.send(room, 'hello there');
  await until(ada, 'reply', () => replies.some((r) => r.done), { what: 'the end of the reply' });
  const final = replies.at(-1);
  assert.equal(final.done, true);
  assert.equal(final.finishReason, 'stop');
  assert.equal(final.text, llm.text());
  assert.equal(final.seq, 2);
  const partial = replies.filter((r) => !r.done).map((r) => r.text);
  assert.ok(new Set(partial).size >= 3, `the text grew in steps: ${JSON.stringify(partial)}`);
  for (let i = 1; i < partial.length; i++) assert.ok(partial[i].startsWith(partial[i - 1]), 'each step extends the last');
  assert.ok(final.text.startsWith(partial.at(-1)));
  assert.equal(ada.streaming(room).length, 0);

  const reply = messages.find((m) => m.seq === 2);
  assert.ok(reply, 'the reply is a message of the room');
  assert.equal(reply.userId, 'bot');
  const { messages: stored } = await ada.history(room);
  assert.equal(stored.find((m) => m.seq === 2).text, llm.text());
  assert.equal(stored.find((m) => m.seq === 2).status, undefined);
});

test('cancelReply stops a reply at once and keeps the partial text', { skip }, async () => {
  const ada = await guest(server.url, 'Ada');
  const room = (await ada.openBotRoom()).id;
  const aborted = next(llm.events, 'aborted');
  await ada.send(room, 'tell me something long');
  const growing = await next(ada, 'reply', { filter: (r) => r.room === room && r.text.length > 20 });
  assert.deepEqual(ada.streaming(room).map((r) => r.id), [growing.id]);
  const ended = next(ada, 'reply', { filter: (r) => r.id === growing.id && r.done });
  assert.deepEqual(await ada.cancelReply(room, growing.id), {});
  const end = await ended;
  assert.equal(end.finishReason, 'cancelled');
  assert.ok(end.text.length >= growing.text.length && end.text.startsWith(growing.text));
  assert.ok(end.text.length < llm.text(600).length, 'stopped before the end');
  await aborted; // the upstream request was dropped
  const { messages } = await ada.history(room);
  assert.equal(messages.find((m) => m.id === growing.id).text, end.text);
});

test('a member who arrives mid-reply gets a snapshot, then the rest, and ends with the same text', { skip }, async () => {
  const ada = await guest(server.url, 'Ada');
  const room = (await ada.createRoom(unique('Bot room'))).id;
  await ada.addMember(room, 'bot');
  await ada.send(room, '@bot a long answer please');
  const started = await next(ada, 'reply', { filter: (r) => r.room === room && r.text.length > 10 });

  const ben = await guest(server.url, 'Ben');
  const benReplies = collect(ben, 'reply', (r) => r.id === started.id);
  const snapshots = collect(ben.socket, 'bot:snapshot');
  await ben.join(room);
  await until(ben, 'reply', () => benReplies.some((r) => r.text.length > started.text.length), { what: 'Ben sees the reply grow' });
  const adaEnd = next(ada, 'reply', { filter: (r) => r.id === started.id && r.done });
  const benEnd = next(ben, 'reply', { filter: (r) => r.id === started.id && r.done });
  await ben.cancelReply(room, started.id); // any member may stop it
  const [a, b] = await Promise.all([adaEnd, benEnd]);
  assert.equal(b.text, a.text);
  assert.equal(b.finishReason, 'cancelled');
  assert.ok(snapshots.length >= 1, 'Ben got a snapshot');
  const texts = benReplies.map((r) => r.text);
  for (let i = 1; i < texts.length; i++) assert.ok(texts[i].startsWith(texts[i - 1]), `no gap or repeat: ${texts[i - 1]} -> ${texts[i]}`);
});
