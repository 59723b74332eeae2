// POST /api/v1/rooms/{room}/messages and GET /api/v1/rooms/{room}/history: a posted message is
// stored and delivered like a socket's send (live to subscribers, in history, with the next seq,
// idempotent by clientId), under the same text rules; every malformed request is a JSON 400.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, send, unique, expectEvent } from '../support/chat.js';
import { apiServer, assertError } from '../support/api.js';

describe('api messages', () => {
  const chat = apiServer(['--max-message-bytes', '100', '--api-max-body-bytes', '2048']);
  const post = (room, body) => chat.api('POST', `/api/v1/rooms/${encodeURIComponent(room)}/messages`, { body });

  async function roomWith(...names) {
    const [owner, ...others] = await Promise.all(names.map((n) => chat.guest(n)));
    const room = await ok(owner, 'create', { name: unique('api') });
    for (const o of others) await ok(o, 'join', { room: room.id });
    return { room: room.id, sockets: [owner, ...others] };
  }

  test('a posted message reaches the subscribed sockets live, takes the next seq and is in history', async () => {
    const { room, sockets: [ada, ben] } = await roomWith('Ada', 'Ben');
    await send(ada, room, 'before');
    const live = expectEvent(ben, 'message', { filter: (m) => m.room === room && m.text === 'from the backend' });
    const res = await post(room, { text: 'from the backend', userId: 'billing', name: 'Billing', clientId: 'c-1' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.json).sort(), ['id', 'seq', 'ts']);
    assert.equal(res.json.seq, 2);
    const m = await live;
    assert.equal(m.id, res.json.id);
    assert.equal(m.seq, 2);
    assert.equal(m.userId, 'billing');
    assert.equal(m.name, 'Billing');
    assert.equal((await send(ada, room, 'after')).seq, 3);
    const page = await ok(ada, 'history', { room });
    assert.deepEqual(page.messages.map((x) => [x.seq, x.text]), [[1, 'before'], [2, 'from the backend'], [3, 'after']]);
    const viaApi = await chat.api('GET', `/api/v1/rooms/${room}/history`);
    assert.equal(viaApi.status, 200);
    assert.deepEqual(viaApi.json, page);
  });

  test('the same clientId again answers the first answer and stores nothing; another text is a 409', async () => {
    const { room, sockets: [ada] } = await roomWith('Ada');
    const first = await post(room, { text: 'once', clientId: 'dup-1' });
    assert.equal(first.status, 201);
    const again = await post(room, { text: 'once', clientId: 'dup-1' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, first.json);
    assertError(await post(room, { text: 'other text', clientId: 'dup-1' }), 409, 'conflict');
    // The same clientId by another author is another message.
    const other = await post(room, { text: 'once', clientId: 'dup-1', userId: 'crm' });
    assert.equal(other.status, 201);
    const page = await ok(ada, 'history', { room });
    assert.deepEqual(page.messages.map((x) => [x.text, x.userId]), [['once', 'api'], ['once', 'crm']]);
  });

  test('without userId the author is `api` named API; a userId is recorded and keeps its last name', async () => {
    const { room, sockets: [ada] } = await roomWith('Ada');
    await post(room, { text: 'anonymous' });
    await post(room, { text: 'named', userId: 'ops-bot', name: 'Ops' });
    await post(room, { text: 'nameless', userId: 'ops-bot' });
    await post(room, { text: 'unknown', userId: 'never-seen' });
    const page = await ok(ada, 'history', { room });
    assert.deepEqual(page.messages.map((x) => [x.userId, x.name]), [
      ['api', 'API'], ['ops-bot', 'Ops'], ['ops-bot', 'Ops'], ['never-seen', 'never-seen'],
    ]);
    // Recorded users exist for the rest of the API: their (zero) sessions can be ended.
    const ended = await chat.api('DELETE', '/api/v1/users/ops-bot/sessions');
    assert.equal(ended.status, 200);
    assert.deepEqual(ended.json, { disconnected: 0 });
  });

  test('a token user posted as through the API is the same user: her own socket gets the message', async () => {
    const { room, sockets: [ada] } = await roomWith('Ada');
    const live = expectEvent(ada, 'message', { filter: (m) => m.room === room });
    const res = await post(room, { text: 'on her behalf', userId: ada.session.userId });
    assert.equal(res.status, 201);
    const m = await live;
    assert.equal(m.userId, ada.session.userId);
    assert.equal(m.name, 'Ada');
  });

  test('the text follows the send rules: empty, blank, control characters (400), over the limit (413)', async () => {
    const { room, sockets: [ada] } = await roomWith('Ada');
    assertError(await post(room, { text: '' }), 400, 'bad_request', 'empty');
    assertError(await post(room, { text: '   \n' }), 400, 'bad_request', 'blank');
    assertError(await post(room, { text: 'bell \u0007' }), 400, 'bad_request', 'control');
    assertError(await post(room, { text: 'x'.repeat(101) }), 413, 'too_large', 'text over max-message-bytes');
    assert.equal((await post(room, { text: 'x'.repeat(100) })).status, 201);
    assertError(await post(room, { text: 'hi', clientId: '' }), 400, 'bad_request', 'empty clientId');
    assertError(await post(room, { text: 'hi', clientId: 'c'.repeat(65) }), 400, 'bad_request', 'long clientId');
    assertError(await post(room, { text: 'hi', userId: 'bot' }), 400, 'bad_request', 'the bot');
    assertError(await post(room, { text: 'hi', userId: '' }), 400, 'bad_request', 'empty userId');
    assertError(await post(room, { text: 'hi', name: ' ' }), 400, 'bad_request', 'blank name');
    assertError(await post(room, { text: 'hi', name: 'n'.repeat(65) }), 400, 'bad_request', 'long name');
    assertError(await post(room, { text: 'hi', userId: 'u'.repeat(129) }), 400, 'bad_request', 'long userId');
    const page = await ok(ada, 'history', { room });
    assert.equal(page.messages.length, 1, 'only the valid post is stored');
  });

  test('malformed bodies are JSON 400s, never 415 or 422; an oversized body is a 413', async () => {
    const { room } = await roomWith('Ada');
    const path = `/api/v1/rooms/${room}/messages`;
    const cases = [
      ['malformed JSON', { body: '{"text": "hi"' }],
      ['not an object', { body: '["hi"]' }],
      ['text of the wrong type', { body: { text: 42 } }],
      ['userId of the wrong type', { body: { text: 'hi', userId: 7 } }],
      ['missing text', { body: { userId: 'x' } }],
      ['an unknown field', { body: { text: 'hi', userID: 'x' } }],
      ['no body', {}],
      ['no content type', { body: '{"text":"hi"}', headers: { 'content-type': null } }],
      ['a wrong content type', { body: '{"text":"hi"}', headers: { 'content-type': 'text/plain' } }],
    ];
    for (const [what, opts] of cases) {
      if (!opts.body) opts.headers = { 'content-type': 'application/json' };
      assertError(await chat.api('POST', path, opts), 400, 'bad_request', what);
    }
    assertError(await chat.api('POST', path, { body: { text: 'y'.repeat(3000) } }), 413, 'too_large', 'body over 2048');
    // A path parameter that is not UTF-8 once decoded is a 400 too, on every route that has one.
    assertError(await chat.api('POST', '/api/v1/rooms/%FF/messages', { body: { text: 'hi' } }), 400, 'bad_request', 'room path');
    assertError(await chat.api('GET', '/api/v1/rooms/%C3%28/history'), 400, 'bad_request', 'history path');
    assertError(await chat.api('GET', '/api/v1/rooms/%FF'), 400, 'bad_request', 'room detail path');
    assertError(await chat.api('DELETE', '/api/v1/users/%FF/sessions'), 400, 'bad_request', 'user path');
  });

  test('an unknown room is a 404', async () => {
    assertError(await post(unique('nowhere'), { text: 'hi' }), 404, 'not_found');
    assertError(await chat.api('GET', `/api/v1/rooms/${unique('nowhere')}/history`), 404, 'not_found');
  });

  test('history pages like the socket event; bad query values are 400s', async () => {
    const { room, sockets: [ada] } = await roomWith('Ada');
    for (let i = 1; i <= 5; i += 1) await post(room, { text: `m${i}` });
    const seqs = async (q) => {
      const res = await chat.api('GET', `/api/v1/rooms/${room}/history${q}`);
      assert.equal(res.status, 200, res.text);
      return res.json.messages.map((m) => m.seq);
    };
    assert.deepEqual(await seqs(''), [1, 2, 3, 4, 5]);
    assert.deepEqual(await seqs('?limit=2'), [4, 5]);
    assert.deepEqual(await seqs('?before=4&limit=2'), [2, 3]);
    assert.deepEqual(await seqs('?after=1&limit=2'), [2, 3]);
    assert.deepEqual(await seqs('?after=1&before=4'), [2, 3]);
    const socketPage = await ok(ada, 'history', { room, after: 1, limit: 2 });
    assert.deepEqual(socketPage.messages.map((m) => m.seq), [2, 3]);
    for (const q of ['?limit=0', '?limit=101', '?limit=-1', '?limit=abc', '?limit=1.5', '?before=x', '?after=', '?page=2']) {
      assertError(await chat.api('GET', `/api/v1/rooms/${room}/history${q}`), 400, 'bad_request', q);
    }
  });
});
