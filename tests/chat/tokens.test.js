// JWT time claims at connect (issue 10, defect 12): a token not valid yet (`nbf` in the future,
// beyond the same small leeway as `exp`, at most 60 s) is refused with `unauthorized`; one whose `nbf`
// has passed connects. Tokens are checked before storage is touched, so one backend is enough.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  backends, chatServer, refused, ok, unique, makeJwt,
} from '../support/chat.js';
import { firstEvent } from '../support/wait.js';

const SECRET = `secret-${crypto.randomBytes(8).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

function assertUnauthorized(err, what) {
  assert.ok(err instanceof Error, `${what}: expected a connect_error, got ${err}`);
  assert.ok(err.message.startsWith('unauthorized:') || err.message === 'unauthorized',
    `${what}: connect_error should say unauthorized, got ${JSON.stringify(err.message)}`);
}

/** The connect_error for `auth`; fails the test with `what` if the server let the socket in. */
async function refusal(chat, auth, what) {
  try {
    return await refused(chat.clients, chat.url, auth);
  } catch (err) {
    throw new Error(`${what}: the token should be refused at connect, but ${err.message}`);
  }
}

const [sqlite] = backends();

describe(`${sqlite.name}: token time claims`, () => {
  const chat = chatServer(sqlite, ['--jwt-secret', SECRET]);

  test('nbf in the future is refused with unauthorized, even with a guest name next to it', async () => {
    for (const ahead of [3600, 600, 120]) {
      const token = makeJwt({ sub: unique('early'), name: 'Early', nbf: now() + ahead, exp: now() + 7200 }, SECRET);
      assertUnauthorized(await refusal(chat, { token }, `nbf ${ahead} s ahead`), `nbf ${ahead} s ahead`);
      assertUnauthorized(await refusal(chat, { token, name: 'Early' }, `nbf ${ahead} s ahead, with a name`), `nbf ${ahead} s ahead, with a name`);
    }
  });

  test('nbf in the past, or now, connects as the token\'s user', async () => {
    for (const ago of [3600, 1, 0]) {
      const user = unique('ready');
      const token = makeJwt({ sub: user, name: 'Ready', nbf: now() - ago, exp: now() + 600 }, SECRET);
      const socket = await chat.connect({ token });
      assert.equal(socket.session.userId, user, `nbf ${ago} s ago`);
      assert.equal(socket.session.guest, false);
      await ok(socket, 'rooms', {});
    }
  });

  test('nbf a few seconds ahead gets the same leeway as exp a few seconds past', async () => {
    // Whatever the leeway (at most 60 s), clock skew is forgiven alike both ways: a token that
    // expired 10 s ago and one that starts in 10 s are both let in, or both refused.
    const connects = async (claims) => {
      const socket = chat.clients.create(chat.url, { transports: ['websocket'], auth: { token: makeJwt(claims, SECRET) } });
      const how = await firstEvent([[socket, 'session'], [socket, 'connect_error']], { timeout: 10000 });
      socket.disconnect();
      if (how.event === 'connect_error') assertUnauthorized(how.args[0], JSON.stringify(claims));
      return how.event === 'session';
    };
    const expiredLately = await connects({ sub: unique('late'), name: 'Late', exp: now() - 10 });
    const startsSoon = await connects({ sub: unique('soon'), name: 'Soon', nbf: now() + 10, exp: now() + 600 });
    assert.equal(startsSoon, expiredLately,
      `a token expired 10 s ago is ${expiredLately ? 'accepted' : 'refused'}, one valid in 10 s is ${startsSoon ? 'accepted' : 'refused'}`);
  });
});
