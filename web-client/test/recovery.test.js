// Recovery carried by the library: the last seq per room travels as `auth.since`, so after a
// dropped transport or a reload the client gets exactly what it missed (no gap, no duplicate),
// and a gap seen live is filled with `history`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup } from './helpers/server.js';
import { makeClient, guest, closeAll, unique } from './helpers/clients.js';
import { next, until, collect } from './helpers/wait.js';
import { memoryStorage } from '../src/client.js';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  closeAll();
  await cleanup();
});

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('disconnect, miss messages, connect again: since replays exactly the missed ones', async () => {
  const ada = await guest(server.url, 'Ada');
  const ben = await guest(server.url, 'Ben');
  const room = (await ada.createRoom(unique('Recover'))).id;
  await ben.join(room);
  const seen = collect(ben, 'message', (m) => m.room === room);
  for (let i = 1; i <= 5; i++) await ada.send(room, `before ${i}`);
  await until(ben, 'message', () => seen.length === 5, { what: 'five live messages' });

  ben.disconnect();
  assert.equal(ben.state, 'offline');
  for (let i = 6; i <= 12; i++) await ada.send(room, `missed ${i}`);
  assert.deepEqual(ben.authPayload().since[room], 5, 'the position travels in auth.since');

  await ben.connect();
  await until(ben, 'message', () => seen.length >= 12, { what: 'the replay' });
  await ada.send(room, 'live 13');
  await until(ben, 'message', () => seen.length >= 13, { what: 'the live message after the replay' });
  assert.deepEqual(seen.map((m) => m.seq), range(1, 13));
  assert.equal(seen[5].text, 'missed 6');
});

test('transport cut twice while messages flow: no gap, no duplicate', { timeout: 60000 }, async () => {
  const ada = await guest(server.url, 'Ada');
  const ben = await guest(server.url, 'Ben', { transports: ['websocket'] });
  const room = (await ada.createRoom(unique('Flow'))).id;
  await ben.join(room);
  const seen = collect(ben, 'message', (m) => m.room === room);
  let drops = 0;
  ben.on('offline', () => drops++);

  const N = 300;
  const writer = (async () => {
    for (let i = 1; i <= N; i += 10) {
      const batch = [];
      for (let j = i; j < i + 10; j++) batch.push(ada.send(room, `flow ${j}`, { clientId: `flow-${j}` }));
      await Promise.all(batch);
    }
  })();
  writer.catch(() => {});
  await until(ben, 'message', () => seen.length >= 40, { what: '40 messages' });
  ben.socket.io.engine.close();
  await next(ben, 'connected');
  await until(ben, 'message', () => seen.length >= 140, { what: '140 messages' });
  ben.socket.io.engine.close();
  await next(ben, 'connected');
  await writer;
  await until(ben, 'message', () => seen.length >= N, { what: `${N} messages`, timeout: 20000 });
  assert.equal(drops, 2);
  assert.deepEqual(seen.map((m) => m.seq), range(1, N));
  assert.deepEqual(seen.map((m) => m.clientId), range(1, N).map((i) => `flow-${i}`));
});

test('a reload (new client, same storage) resumes from the stored positions', async () => {
  const ada = await guest(server.url, 'Ada');
  const storage = memoryStorage();
  const ben = makeClient(server.url, { name: 'Ben', storage });
  await ben.connect();
  const room = (await ada.createRoom(unique('Reload'))).id;
  await ben.join(room);
  const first = collect(ben, 'message', (m) => m.room === room);
  for (let i = 1; i <= 3; i++) await ada.send(room, `seen ${i}`);
  await until(ben, 'message', () => first.length === 3);
  ben.disconnect();
  for (let i = 4; i <= 8; i++) await ada.send(room, `while away ${i}`);

  assert.deepEqual(JSON.parse(storage.getItem('chat:since'))[room], 3);
  const again = makeClient(server.url, { storage });
  const seen = collect(again, 'message', (m) => m.room === room);
  const session = await again.connect();
  assert.equal(session.userId, ben.session.userId);
  await until(again, 'message', () => seen.length >= 5, { what: 'the replay after the reload' });
  await ada.send(room, 'live 9');
  await until(again, 'message', () => seen.length >= 6);
  assert.deepEqual(seen.map((m) => m.seq), range(4, 9));
});

test('a message ahead of its turn is held and the gap fetched with history', async () => {
  const ada = await guest(server.url, 'Ada');
  const ben = await guest(server.url, 'Ben');
  const room = (await ada.createRoom(unique('Gap'))).id;
  await ben.join(room);
  const seen = collect(ben, 'message', (m) => m.room === room);
  await ada.send(room, 'one');
  await until(ben, 'message', () => seen.length === 1);

  // Seqs 2..6 exist but Ben is shown only 6, as if 2..5 had been lost on the way.
  ben.disconnect();
  for (let i = 2; i <= 6; i++) await ada.send(room, `msg ${i}`);
  const { messages } = await ada.history(room, { after: 5 });
  await ben.connect();
  // The reconnection replays 2..6 anyway; the gap logic must neither duplicate nor reorder.
  ben._ingest(room, messages);
  await until(ben, 'message', () => seen.length >= 6, { what: 'the gap filled' });
  await ada.send(room, 'seven');
  await until(ben, 'message', () => seen.length >= 7);
  assert.deepEqual(seen.map((m) => m.seq), range(1, 7));
});

test('a live gap with nothing else to repair it is filled by history alone', async () => {
  const ada = await guest(server.url, 'Ada');
  const ben = await guest(server.url, 'Ben');
  const room = (await ada.createRoom(unique('Hole'))).id;
  await ben.join(room);
  const seen = collect(ben, 'message', (m) => m.room === room);
  await ada.send(room, 'one');
  await until(ben, 'message', () => seen.length === 1);

  // Ben's socket stops hearing about the room (as if its packets were lost), Ada writes 2..4.
  const listeners = ben.socket.listeners('message');
  ben.socket.off('message');
  for (let i = 2; i <= 4; i++) await ada.send(room, `lost ${i}`);
  for (const l of listeners) ben.socket.on('message', l);
  const asked = [];
  ben.socket.onAnyOutgoing((event, payload) => {
    if (event === 'history') asked.push(payload);
  });
  await ada.send(room, 'five');
  await until(ben, 'message', () => seen.length >= 5, { what: 'the hole filled' });
  assert.deepEqual(seen.map((m) => m.seq), range(1, 5));
  assert.deepEqual(seen.map((m) => m.text), ['one', 'lost 2', 'lost 3', 'lost 4', 'five']);
  assert.deepEqual(asked, [{ room, after: 1, limit: 100 }]);
});
