// The client library against the real server: one function per protocol event, the events it
// relays, acknowledgements as promises and refusals as ChatErrors carrying the server's code.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup } from './helpers/server.js';
import { makeClient, guest, closeAll, unique } from './helpers/clients.js';
import { next, until, collect } from './helpers/wait.js';
import { ChatClient, ChatError, memoryStorage } from '../src/client.js';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  closeAll();
  await cleanup();
});

describe('connection', () => {
  test('a guest connects: states, transport upgrade, session kept in storage', async () => {
    const storage = memoryStorage();
    const client = makeClient(server.url, { name: 'Ada', storage });
    const states = collect(client, 'state');
    const upgraded = next(client, 'connected', { filter: (p) => p.transport === 'websocket' });
    const session = await client.connect();
    assert.equal(session.name, 'Ada');
    assert.equal(session.guest, true);
    assert.match(session.userId, /^guest-/);
    assert.equal(typeof session.token, 'string');
    assert.equal(client.state, 'connected');
    await upgraded;
    assert.equal(client.transport, 'websocket');
    assert.deepEqual(states.map((s) => s.state).slice(0, 2), ['connecting', 'connected']);
    // Long-polling first, then the upgrade (which may finish before the session arrives).
    assert.ok(['polling', 'websocket'].includes(states[1].transport), states[1].transport);
    assert.equal(states.at(-1).transport, 'websocket');
    assert.equal(JSON.parse(storage.getItem('chat:session')).token, session.token);

    // A reload: a new client on the same storage is the same user, without giving a name.
    client.disconnect();
    const again = makeClient(server.url, { storage });
    const back = await again.connect();
    assert.equal(back.userId, session.userId);
    assert.equal(back.name, 'Ada');
  });

  test('offline, reconnecting with attempt numbers, then connected again', async () => {
    const client = await guest(server.url, 'Flaky', { transports: ['websocket'] });
    const offline = next(client, 'offline');
    const attempt = next(client, 'reconnecting');
    const back = next(client, 'connected');
    client.socket.io.engine.close();
    assert.equal(typeof (await offline).reason, 'string');
    assert.equal((await attempt).attempt, 1);
    assert.equal((await back).transport, 'websocket');
  });

  test('a refused handshake rejects connect() with the server code', async () => {
    const client = makeClient(server.url, { name: '' });
    await assert.rejects(client.connect(), (err) => err instanceof ChatError && err.code === 'bad_request');
    assert.equal(client.state, 'offline');
  });

  test('a token the server does not accept is dropped: same name, new guest', async () => {
    const storage = memoryStorage();
    storage.setItem('chat:session', JSON.stringify({ userId: 'guest-old', name: 'Zed', guest: true, token: 'not.a.jwt' }));
    storage.setItem('chat:since', JSON.stringify({ general: 5 }));
    const client = makeClient(server.url, { storage });
    const session = await client.connect();
    assert.equal(session.name, 'Zed');
    assert.notEqual(session.userId, 'guest-old');
    assert.deepEqual(client.authPayload().since, {});
  });

  test('calls while not connected reject with offline', async () => {
    const client = new ChatClient({ url: server.url, storage: memoryStorage() });
    await assert.rejects(client.listRooms(), { code: 'offline' });
  });
});

describe('rooms', () => {
  test('listRooms, createRoom, join (with joined on every tab), leave', async () => {
    const ada = await guest(server.url, 'Ada');
    const ben = await guest(server.url, 'Ben');
    const rooms = await ada.listRooms();
    assert.ok(rooms.some((r) => r.id === 'general'), 'the general room is listed');

    const created = await ada.createRoom(unique('Tea'));
    assert.equal(created.member, true);
    assert.equal(created.private, false);
    assert.equal(created.lastSeq, 0);

    const benTab2 = makeClient(server.url, { storage: ben.store.storage });
    await benTab2.connect();
    const joinedOnOtherTab = next(benTab2, 'joined', { filter: (r) => r.id === created.id });
    const res = await ben.join(created.id);
    assert.equal(res.room.id, created.id);
    assert.equal(res.room.member, true);
    assert.ok(Array.isArray(res.online) && Array.isArray(res.reads));
    await joinedOnOtherTab;

    const listed = await ben.listRooms();
    assert.equal(listed.find((r) => r.id === created.id)?.member, true);

    const left = next(benTab2, 'left', { filter: (p) => p.room === created.id });
    assert.deepEqual(await ben.leave(created.id), {});
    await left;
    assert.equal((await ben.listRooms()).find((r) => r.id === created.id)?.member, false);
  });

  test('a private room: invisible and closed to others until a member adds them', async () => {
    const ada = await guest(server.url, 'Ada');
    const ben = await guest(server.url, 'Ben');
    const secret = await ada.createRoom(unique('Secret'), { private: true });
    assert.equal(secret.private, true);
    assert.ok(!(await ben.listRooms()).some((r) => r.id === secret.id));
    await assert.rejects(ben.join(secret.id), (e) => e instanceof ChatError && ['not_found', 'forbidden'].includes(e.code));

    const joined = next(ben, 'joined', { filter: (r) => r.id === secret.id });
    assert.deepEqual(await ada.addMember(secret.id, ben.session.userId), {});
    await joined;
    const got = next(ada, 'message', { filter: (m) => m.room === secret.id });
    await ben.send(secret.id, 'thanks for the invite');
    assert.equal((await got).text, 'thanks for the invite');
  });
});

describe('messages', () => {
  test('send, message events, edit, remove, history with paging', async () => {
    const ada = await guest(server.url, 'Ada');
    const ben = await guest(server.url, 'Ben');
    const room = (await ada.createRoom(unique('Paging'))).id;
    await ben.join(room);

    const seen = collect(ben, 'message', (m) => m.room === room);
    const acks = [];
    for (let i = 1; i <= 25; i++) acks.push(await ada.send(room, `line ${i}`, { clientId: `c-${i}` }));
    assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.ok(acks.every((a) => typeof a.id === 'string' && typeof a.ts === 'number'));
    await until(ben, 'message', () => seen.length === 25, { what: '25 messages' });
    assert.deepEqual(seen.map((m) => m.text), acks.map((_, i) => `line ${i + 1}`));
    assert.equal(seen[0].clientId, 'c-1');
    assert.equal(seen[0].name, 'Ada');
    assert.equal(ben.lastSeq(room), 25);

    const newest = await ben.history(room, { limit: 10 });
    assert.deepEqual(newest.messages.map((m) => m.seq), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    const older = await ben.history(room, { before: 16, limit: 10 });
    assert.deepEqual(older.messages.map((m) => m.seq), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await ben.history(room, { before: 6 });
    assert.deepEqual(oldest.messages.map((m) => m.seq), [1, 2, 3, 4, 5]);
    const after = await ben.history(room, { after: 20, limit: 3 });
    assert.deepEqual(after.messages.map((m) => m.seq), [21, 22, 23]);

    const edited = next(ben, 'edited', { filter: (m) => m.id === acks[0].id });
    const msg = await ada.edit(room, acks[0].id, 'line one');
    assert.equal(msg.text, 'line one');
    assert.equal(typeof msg.editedTs, 'number');
    assert.equal((await edited).text, 'line one');

    const deleted = next(ben, 'deleted', { filter: (m) => m.id === acks[1].id });
    const gone = await ada.remove(room, acks[1].id);
    assert.equal(gone.deleted, true);
    assert.equal(gone.text, '');
    assert.equal((await deleted).deleted, true);

    const firstTwo = await ben.history(room, { after: 0, limit: 2 });
    assert.equal(firstTwo.messages[0].text, 'line one');
    assert.equal(firstTwo.messages[1].deleted, true);
  });

  test('sending the same clientId twice stores one message', async () => {
    const ada = await guest(server.url, 'Ada');
    const room = (await ada.createRoom(unique('Once'))).id;
    const a = await ada.send(room, 'only once', { clientId: 'same-id' });
    const b = await ada.send(room, 'only once', { clientId: 'same-id' });
    assert.deepEqual(b, a);
    const { messages } = await ada.history(room);
    assert.equal(messages.length, 1);
  });

  test('presence, typing and read marks', async () => {
    const ada = await guest(server.url, 'Ada');
    const room = (await ada.createRoom(unique('Live'))).id;
    const ben = await guest(server.url, 'Ben');

    const arrived = next(ada, 'presence', { filter: (p) => p.room === room && p.user.userId === ben.session.userId });
    const joined = await ben.join(room);
    assert.ok(joined.online.some((u) => u.userId === ada.session.userId), 'Ada is online in the join answer');
    assert.equal((await arrived).online, true);
    const { online } = await ada.presence(room);
    assert.deepEqual(online.map((u) => u.name).sort(), ['Ada', 'Ben']);

    const typing = next(ada, 'typing', { filter: (p) => p.room === room && p.typing });
    assert.deepEqual(await ben.setTyping(room, true), {});
    assert.equal((await typing).user.name, 'Ben');
    const stopped = next(ada, 'typing', { filter: (p) => p.room === room && !p.typing });
    await ben.setTyping(room, false);
    await stopped;

    const sent = await ada.send(room, 'read me');
    const read = next(ada, 'read', { filter: (p) => p.room === room && p.userId === ben.session.userId });
    assert.deepEqual(await ben.markRead(room, sent.seq), { seq: sent.seq });
    assert.equal((await read).seq, sent.seq);
    const info = (await ben.listRooms()).find((r) => r.id === room);
    assert.equal(info.readSeq, sent.seq);
    assert.equal(info.unread, 0);

    const left = next(ada, 'presence', { filter: (p) => p.room === room && !p.online });
    ben.disconnect();
    assert.equal((await left).user.name, 'Ben');
  });
});

describe('refusals carry the server code', () => {
  test('not_found, forbidden, bad_request, too_large', async () => {
    const ada = await guest(server.url, 'Ada');
    const ben = await guest(server.url, 'Ben');
    const room = (await ada.createRoom(unique('Rules'))).id;
    const mine = await ada.send(room, 'mine');

    await assert.rejects(ada.join('no-such-room'), (e) => e instanceof ChatError && e.code === 'not_found' && e.event === 'join');
    await assert.rejects(ben.history(room, { limit: 101 }), { code: 'bad_request' });
    await ben.join(room);
    await assert.rejects(ben.edit(room, mine.id, 'not yours'), { code: 'forbidden' });
    await assert.rejects(ben.call('send', { room: 'general', text: 'not a member', clientId: 'x' }), { code: 'forbidden' });
    await assert.rejects(ada.call('send', { room, text: '' , clientId: 'empty' }), { code: 'bad_request' });

    // Through the outbox: a refusal for good rejects send() and leaves nothing queued.
    const failed = next(ada, 'sendFailed');
    await assert.rejects(ada.send(room, 'x'.repeat(5000)), (e) => e.code === 'too_large' && e.message.length > 0);
    assert.equal((await failed).error.code, 'too_large');
    assert.deepEqual(ada.pending(), []);
  });

  test('an event without an answer rejects with timeout', async () => {
    const ada = await guest(server.url, 'Ada');
    await assert.rejects(ada.call('no-such-event', {}, { timeout: 300 }), { code: 'timeout' });
  });

  test('rate_limited carries retryAfter; send() waits it out and delivers', async () => {
    const strict = await startServer({ args: ['--rate-limit-per-sec', '2', '--rate-limit-burst', '1'] });
    const ada = await guest(strict.url, 'Ada');
    const room = (await ada.createRoom(unique('Slow'))).id;
    await ada.call('send', { room, text: 'first', clientId: 'r1' });
    const err = await ada.call('send', { room, text: 'second', clientId: 'r2' }).then(
      () => assert.fail('the second message was not rate limited'),
      (e) => e,
    );
    assert.equal(err.code, 'rate_limited');
    assert.ok(err.retryAfter > 0, `retryAfter ${err.retryAfter}`);

    const sent = await ada.send(room, 'second', { clientId: 'r2' });
    assert.equal(sent.seq, 2);
    ada.disconnect();
    await strict.stop();
  });
});
