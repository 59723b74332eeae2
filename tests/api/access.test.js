// Who may call the API: bearer keys from flags, the variable and a key file; 401 with
// WWW-Authenticate for a missing or wrong key; 404 JSON for unknown routes and for the whole API
// when no key is configured; 429 with Retry-After over a key's rate; keys never in the logs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { launch, tempDir, removeTempDirs } from '../support/chat.js';
import { apiServer, assertError, call, newKey } from '../support/api.js';

describe('api keys', () => {
  const [k1, k2, k3, k4] = [newKey(), newKey(), newKey(), newKey()];
  const servers = [];
  const start = async (args, opts) => {
    const s = await launch(args, opts);
    servers.push(s);
    return s;
  };
  test.after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await removeTempDirs();
  });

  test('keys from the flag, the variable and a file all work; anything else is a 401', async () => {
    const dir = await tempDir('api-keys-');
    const file = path.join(dir, 'keys');
    await writeFile(file, `# our backends\n\n${k3}\n  # retired: ${newKey()}\n${k4}\n`);
    const s = await start(['--api-key', k1, '--api-key-file', file, '--log-filter', 'debug'], { env: { CHAT_API_KEY: `${k2}` } });
    // The flag beats the variable: --api-key given means CHAT_API_KEY is not read.
    for (const key of [k1, k3, k4]) {
      const res = await call(s.url, key, 'GET', '/api/v1/rooms');
      assert.equal(res.status, 200, `${key}: ${res.text}`);
    }
    const wrongs = [
      ['the variable\'s key (the flag overrides the variable)', k2, {}],
      ['no header', undefined, {}],
      ['a wrong key', newKey(), {}],
      ['a key cut short', k1.slice(0, -1), {}],
      ['another scheme', undefined, { authorization: `Basic ${Buffer.from(`x:${k1}`).toString('base64')}` }],
      ['a bare key', undefined, { authorization: k1 }],
      ['an empty bearer', undefined, { authorization: 'Bearer ' }],
    ];
    for (const [what, key, headers] of wrongs) {
      const res = await call(s.url, key, 'GET', '/api/v1/rooms', { headers });
      if (what.startsWith('the variable')) {
        assertError(res, 401, 'unauthorized', what);
        continue;
      }
      assertError(res, 401, 'unauthorized', what);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', what);
    }
    // A wrong key on a POST is refused before the body is even looked at.
    assertError(await call(s.url, newKey(), 'POST', '/api/v1/emit', { body: '{oops' }), 401, 'unauthorized');
    // Nothing the server logged (at debug) holds a key.
    const logs = s.stderr();
    assert.ok(logs.length > 0, 'the server logged nothing at debug: the check would be empty');
    for (const key of [k1, k2, k3, k4]) assert.ok(!logs.includes(key), 'a key is in the logs');
  });

  test('several keys in CHAT_API_KEY, comma-separated', async () => {
    const s = await start([], { env: { CHAT_API_KEY: `${k1},${k2}` } });
    for (const key of [k1, k2]) assert.equal((await call(s.url, key, 'GET', '/api/v1/rooms')).status, 200);
    assertError(await call(s.url, `${k1},${k2}`, 'GET', '/api/v1/rooms'), 401, 'unauthorized');
  });

  test('without any key the API does not exist: JSON 404 everywhere under /api/v1/', async () => {
    const s = await start([]);
    for (const p of ['/api/v1/rooms', '/api/v1/openapi.json', '/api/v1/', '/api/v1', '/api/v1/emit']) {
      assertError(await call(s.url, k1, 'GET', p), 404, 'not_found', p);
    }
    assertError(await call(s.url, k1, 'POST', '/api/v1/emit', { body: { event: 'x', data: 1 } }), 404, 'not_found');
  });

  test('a key file that cannot be read stops start-up naming the option', async () => {
    await assert.rejects(start(['--api-key-file', '/nonexistent/api-keys']), /api_key_file/);
  });
});

describe('api routes and rate', () => {
  const chat = apiServer(['--api-rate-per-sec', '1', '--api-rate-burst', '3'], { keys: [newKey(), newKey()] });

  test('over a key\'s rate: 429 with Retry-After; another key has its own', async () => {
    const [a, b] = chat.keys;
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call(chat.url, a, 'GET', '/api/v1/rooms')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await call(chat.url, a, 'GET', '/api/v1/rooms');
    assertError(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    assert.ok(limited.json.error.retryAfter > 0, 'retryAfter in ms');
    assert.equal((await call(chat.url, b, 'GET', '/api/v1/rooms')).status, 200, 'the other key is not limited');
    // A wrong key is refused as such, and costs no key's allowance.
    assertError(await call(chat.url, newKey(), 'GET', '/api/v1/rooms'), 401, 'unauthorized');
  });

  test('unknown routes are JSON 404s, wrong methods JSON 405s', async () => {
    const key = chat.keys[1];
    for (const p of ['/api/v1/nothing', '/api/v1/rooms/x/y/z', '/api/v2/rooms']) {
      const res = await fetch(`${chat.url}${p}`, { headers: { authorization: `Bearer ${key}` } });
      if (p.startsWith('/api/v1/')) {
        assert.equal(res.status, 404, p);
        assert.equal((await res.json()).error.code, 'not_found', p);
      } else {
        assert.notEqual(res.status, 200, p);
      }
    }
    const res = await call(chat.url, key, 'PUT', '/api/v1/rooms');
    assert.equal(res.status, 405);
    assert.equal(typeof res.json.error.message, 'string');
  });
});
