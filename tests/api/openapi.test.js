// GET /api/v1/openapi.json: a well-formed OpenAPI 3 document, and true: every operation it
// lists is served (a wrong method on its paths is a 405, an unknown path a 404), and every
// route the server answers is in it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiServer, call } from '../support/api.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every `$ref` in `node`. */
function refs(node, out = []) {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('api openapi.json', () => {
  const chat = apiServer();

  test('a well-formed OpenAPI 3 document, served without a key', async () => {
    const res = await call(chat.url, undefined, 'GET', '/api/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    const doc = res.json;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http', scheme: 'bearer', description: 'One of the server\'s --api-key values',
    });
    const ops = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      assert.ok(path.startsWith('/api/v1/'), path);
      for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) {
        const op = item[method];
        ops.push(`${method.toUpperCase()} ${path}`);
        assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path} has responses`);
        for (const param of path.match(/\{(\w+)\}/g) ?? []) {
          const name = param.slice(1, -1);
          assert.ok(op.parameters?.some((p) => p.name === name && p.in === 'path' && p.required), `${method} ${path}: path parameter ${name}`);
        }
        if (path !== '/api/v1/openapi.json') {
          assert.deepEqual(op.security, [{ bearer: [] }], `${method} ${path} needs the key`);
          assert.ok(op.responses['401'], `${method} ${path} documents its 401`);
        }
      }
    }
    // Every reference points at a schema that exists.
    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      assert.ok(doc.components.schemas[name], `dangling ${ref}`);
    }
    assert.deepEqual(ops.sort(), [
      'DELETE /api/v1/users/{user}/sessions',
      'GET /api/v1/openapi.json',
      'GET /api/v1/rooms',
      'GET /api/v1/rooms/{room}',
      'GET /api/v1/rooms/{room}/history',
      'POST /api/v1/emit',
      'POST /api/v1/rooms/{room}/messages',
    ]);
  });

  test('the document and the routes agree: listed operations are served, others are not', async () => {
    const doc = (await call(chat.url, undefined, 'GET', '/api/v1/openapi.json')).json;
    for (const [path, item] of Object.entries(doc.paths)) {
      const concrete = path.replace(/\{\w+\}/g, 'x-probe');
      for (const method of METHODS) {
        const res = await call(chat.url, chat.key, method.toUpperCase(), concrete);
        if (item[method]) {
          // Served: whatever it answers for a probe, it is not "no such route" or "no such method".
          assert.notEqual(res.status, 405, `${method} ${path}`);
          assert.ok(res.status !== 404 || res.json.error.message !== 'no such API route', `${method} ${path}`);
        } else {
          assert.equal(res.status, 405, `${method} ${path} is not documented, so not served`);
        }
      }
    }
    // Paths beside the documented ones are not routes.
    for (const probe of ['/api/v1/users', '/api/v1/users/x', '/api/v1/rooms/x/messages/y', '/api/v1/messages', '/api/v1/openapi.yaml']) {
      for (const method of METHODS) {
        const res = await call(chat.url, chat.key, method.toUpperCase(), probe);
        assert.equal(res.status, 404, `${method} ${probe}`);
        assert.equal(res.json.error.message, 'no such API route', `${method} ${probe}`);
      }
    }
  });
});
