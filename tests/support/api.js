// The HTTP API for backends (docs/API.md): a server with keys, and calls that always read the
// answer as JSON (an answer that is not JSON fails the test).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before } from 'node:test';
import { clientPool } from './clients.js';
import { connectUser, launch } from './chat.js';

/** A fresh random API key. */
export const newKey = () => `k_${crypto.randomBytes(16).toString('hex')}`;

/**
 * `fetch` against `base` + `path` with `key` as bearer. `body`: an object sent as JSON, or a
 * string sent as it is; `headers` replace the defaults (`null` drops one). Resolves with
 * { status, headers, json, text }; `json` is the parsed body (the test fails if it is not JSON).
 */
export async function call(base, key, method, path, { body, headers = {} } = {}) {
  const h = { 'content-type': 'application/json' };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === null) delete h[name];
    else h[name] = value;
  }
  if (body === undefined) delete h['content-type'];
  const res = await fetch(`${base}${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`${method} ${path} -> ${res.status}: the body is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Assert an error answer: `status`, a JSON `{ error: { code, message } }` with `code`. */
export function assertError(res, status, code, what = '') {
  assert.equal(res.status, status, `${what} status (body ${res.text.slice(0, 300)})`);
  assert.equal(typeof res.json?.error?.message, 'string', `${what} error body: ${res.text}`);
  assert.equal(res.json.error.code, code, `${what} code: ${res.text}`);
}

/**
 * A chat server with the API enabled by `keys` (one fresh key unless given), started in
 * `before`, stopped in `after`. Returns { key, keys, server, url, clients, api(method, path,
 * opts), guest(name), connect(auth) } (filled in once `before` ran).
 */
export function apiServer(args = [], { keys = [newKey()] } = {}) {
  const fx = {
    keys,
    key: keys[0],
    server: null,
    clients: clientPool(),
    get url() {
      return fx.server.url;
    },
    api(method, path, opts) {
      return call(fx.url, fx.key, method, path, opts);
    },
    guest(name, opts) {
      return connectUser(fx.clients, fx.url, { name }, opts);
    },
    connect(auth, opts) {
      return connectUser(fx.clients, fx.url, auth, opts);
    },
  };
  before(async () => {
    const keyArgs = keys.flatMap((k) => ['--api-key', k]);
    fx.server = await launch([...keyArgs, ...args]);
  });
  after(async () => {
    fx.clients.closeAll();
    await fx.server?.stop();
  });
  return fx;
}
