// Identity: guests, tokens (guest tokens, `server token`, hand-made JWTs), refusals at connect,
// and user ids that are never socket ids.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  backends, chatServer, refused, ok, send, cid, unique, makeJwt, jwtClaims, mintToken,
  assertNoSocketIds, psql, roomFeed, expectEvent,
} from '../support/chat.js';

const SECRET = `secret-${crypto.randomBytes(8).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

function assertRefused(err, code) {
  assert.ok(err instanceof Error, `expected a connect_error, got ${err}`);
  assert.ok(err.message.startsWith(`${code}:`) || err.message === code,
    `connect_error message should start with "${code}:", got ${JSON.stringify(err.message)}`);
}

for (const backend of backends()) {
  describe(`${backend.name}: guests allowed`, () => {
    const chat = chatServer(backend, ['--jwt-secret', SECRET]);

    test('a guest gets a session with a user id that is not its socket id, and a token', async () => {
      const ada = await chat.guest('Ada');
      const { session } = ada;
      assert.equal(typeof session.userId, 'string');
      assert.ok(session.userId.length > 0);
      assert.notEqual(session.userId, ada.id, 'the user id must not be the socket id');
      assert.notEqual(session.userId, ada.io.engine.id, 'the user id must not be the Engine.IO session id');
      assert.equal(session.name, 'Ada');
      assert.equal(session.guest, true);
      assert.equal(typeof session.token, 'string');
      const claims = jwtClaims(session.token);
      assert.equal(claims.sub, session.userId, 'the guest token names the guest id');

      // Another guest, even with the same name, is another user.
      const other = await chat.guest('Ada');
      assert.notEqual(other.session.userId, session.userId);
    });

    test('reconnecting with the guest token keeps the user id, name and memberships', async () => {
      const ada = await chat.guest('Ada');
      const room = await ok(ada, 'create', { name: unique('ada-private'), private: true });
      const token = ada.session.token;
      ada.disconnect();

      const again = await chat.connect({ token });
      assert.equal(again.session.userId, ada.session.userId);
      assert.equal(again.session.name, 'Ada');
      assert.equal(again.session.guest, true);
      assert.notEqual(again.id, ada.id);
      const rooms = await ok(again, 'rooms', {});
      const mine = rooms.find((r) => r.id === room.id);
      assert.ok(mine, `the private room made before the reload is listed: ${JSON.stringify(rooms)}`);
      assert.equal(mine.member, true);
      // and the socket is subscribed to it again
      const feed = roomFeed(again, room.id);
      const ack = await send(again, room.id, 'after reload');
      await feed.untilSeq(ack.seq);
    });

    test('a token minted by `server token` connects as that user', async () => {
      const user = unique('alice');
      const token = await mintToken({ user, name: 'Alice', secret: SECRET, ttlSecs: 3600 });
      const claims = jwtClaims(token);
      assert.equal(claims.sub, user);
      assert.ok(claims.exp > now() + 3000 && claims.exp <= now() + 3700, `exp should be about an hour away: ${claims.exp}`);
      const alice = await chat.connect({ token });
      assert.equal(alice.session.userId, user);
      assert.equal(alice.session.name, 'Alice');
      assert.equal(alice.session.guest, false);
      assert.notEqual(alice.session.userId, alice.id);

      // Signed for another server (another secret): refused.
      const foreign = await mintToken({ user, name: 'Alice', secret: `${SECRET}-other` });
      assertRefused(await refused(chat.clients, chat.url, { token: foreign }), 'unauthorized');
    });

    test('a hand-made HS256 token with the right secret connects; sub and name are used', async () => {
      const user = unique('bob');
      const token = makeJwt({ sub: user, name: 'Bob', exp: now() + 600 }, SECRET);
      const bob = await chat.connect({ token });
      assert.equal(bob.session.userId, user);
      assert.equal(bob.session.name, 'Bob');
      assert.equal(bob.session.guest, false);
    });

    test('an expired token is refused with unauthorized', async () => {
      const token = makeJwt({ sub: unique('carol'), name: 'Carol', exp: now() - 3600 }, SECRET);
      assertRefused(await refused(chat.clients, chat.url, { token }), 'unauthorized');
      // even with a guest name next to it: a bad token is not a guest
      assertRefused(await refused(chat.clients, chat.url, { token, name: 'Carol' }), 'unauthorized');
    });

    test('a badly signed, unsigned or malformed token is refused with unauthorized', async () => {
      const claims = { sub: unique('mallory'), name: 'Mallory', exp: now() + 600 };
      const cases = {
        'wrong secret': makeJwt(claims, 'not-the-secret'),
        'alg none': makeJwt(claims, null, { alg: 'none' }),
        'tampered claims': (() => {
          const [h, , s] = makeJwt(claims, SECRET).split('.');
          const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
          return `${h}.${forged}.${s}`;
        })(),
        malformed: 'not-a-jwt',
        'three dots of garbage': 'a.b.c',
      };
      for (const [what, token] of Object.entries(cases)) {
        const err = await refused(chat.clients, chat.url, { token, name: 'Mallory' });
        assert.ok(err.message.startsWith('unauthorized'), `${what}: expected unauthorized, got ${JSON.stringify(err.message)}`);
      }
    });

    test('a bad guest name is refused with bad_request; 64 characters are fine', async () => {
      const cases = {
        empty: '',
        '200 characters': 'x'.repeat(200),
        '65 characters': 'y'.repeat(65),
        'control character': 'Ada\u0007',
        newline: 'Ada\nLovelace',
      };
      for (const [what, name] of Object.entries(cases)) {
        const err = await refused(chat.clients, chat.url, { name });
        assert.ok(err.message.startsWith('bad_request'), `${what}: expected bad_request, got ${JSON.stringify(err.message)}`);
      }
      const long = await chat.guest('z'.repeat(64));
      assert.equal(long.session.name, 'z'.repeat(64));
      const unicode = await chat.guest('Zoë 🚀');
      assert.equal(unicode.session.name, 'Zoë 🚀');
    });

    test('no payload ever carries a socket id', async () => {
      // Exercise most server events between two users, then look at everything received in
      // this file (events and acks of every client).
      const a = await chat.guest('Ann');
      const b = await chat.guest('Ben');
      const room = await ok(a, 'create', { name: unique('leak') });
      const bJoined = expectEvent(b, 'joined', { filter: (r) => r.id === room.id });
      await ok(b, 'join', { room: room.id });
      await bJoined;
      const feed = roomFeed(b, room.id);
      const ack = await send(a, room.id, 'hello', cid());
      await feed.untilSeq(ack.seq);
      const edited = expectEvent(b, 'edited');
      await ok(a, 'edit', { room: room.id, id: ack.id, text: 'hello!' });
      await edited;
      const typing = expectEvent(b, 'typing');
      await ok(a, 'typing', { room: room.id, typing: true });
      await typing;
      const read = expectEvent(a, 'read');
      await ok(b, 'read', { room: room.id, seq: ack.seq });
      await read;
      await ok(a, 'presence', { room: room.id });
      await ok(a, 'history', { room: room.id });
      const gone = expectEvent(b, 'presence', { filter: (p) => p.online === false });
      a.disconnect();
      await gone;
      const counted = assertNoSocketIds();
      assert.ok(counted.payloads > 10, `too few payloads recorded: ${counted.payloads}`);
    });

    if (backend.name === 'postgres') {
      test('the server keeps its tables in the schema it was given', async () => {
        const out = await psql(`select count(*) from information_schema.tables where table_schema = '${chat.db.schema}'`);
        assert.ok(Number(out.trim()) > 0, `no table in schema ${chat.db.schema}`);
      });
    }
  });

  describe(`${backend.name}: --allow-guests false`, () => {
    const chat = chatServer(backend, ['--allow-guests', 'false', '--jwt-secret', SECRET]);

    test('a name alone, or nothing, is refused with unauthorized; a valid token connects', async () => {
      assertRefused(await refused(chat.clients, chat.url, { name: 'Ada' }), 'unauthorized');
      assertRefused(await refused(chat.clients, chat.url, {}), 'unauthorized');
      assertRefused(await refused(chat.clients, chat.url, undefined), 'unauthorized');
      const user = unique('dora');
      const token = await mintToken({ user, name: 'Dora', secret: SECRET });
      const dora = await chat.connect({ token });
      assert.equal(dora.session.userId, user);
      assert.equal(dora.session.guest, false);
    });
  });
}
