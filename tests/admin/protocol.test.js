// The /admin namespace against @socket.io/admin-ui 0.5.1's protocol, driven with socket.io-client:
// login, config, server_stats, the socket and room events of chat clients, the commands, the
// read-only and production modes, and no /admin at all without credentials.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clientPool } from '../support/clients.js';
import { assertNoSocketIds, connectUser, launch, ok, unique } from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import { metricsUrl, scrapeUntil } from '../support/metrics.js';
import {
  ADMIN_PASSWORD, ADMIN_USER, ALL_FEATURES, UI_DIR, adminRefused, adminServer, command, connectAdmin,
  passwordHash, received, until,
} from '../support/admin.js';

const pool = clientPool();
after(() => pool.closeAll());

const isSocket = (id) => (s) => s.id === id;

describe('development mode (the default)', () => {
  let server;
  before(async () => {
    server = await adminServer();
  });
  after(() => server?.stop());

  test('a wrong user or password, or none, gets connect_error "invalid credentials"', async () => {
    for (const auth of [
      { username: ADMIN_USER, password: 'wrong' },
      { username: 'root', password: ADMIN_PASSWORD },
      { username: ADMIN_USER },
      { sessionId: 'made-up' },
      {},
    ]) {
      const err = await adminRefused(pool, server.url, auth);
      assert.equal(err.message, 'invalid credentials', JSON.stringify(auth));
    }
  });

  test('a good login gets a session, config with every feature, then every socket; the session lets it in again', async () => {
    const admin = await connectAdmin(pool, server.url);
    const [session] = await until(admin, 'session');
    assert.match(session, /^[0-9a-z]{16,}$/);
    const [config] = await until(admin, 'config');
    assert.deepEqual(config, { supportedFeatures: ALL_FEATURES });
    const [sockets] = await until(admin, 'all_sockets');
    const me = sockets.find(isSocket(admin.id));
    assert.ok(me, 'the admin socket itself is listed');
    assert.equal(me.nsp, '/admin');
    assert.equal(me.handshake.auth.password, undefined, 'the admin password is not shown');
    assert.ok(!JSON.stringify(sockets).includes(ADMIN_PASSWORD));
    admin.disconnect();

    const again = await connectAdmin(pool, server.url, { sessionId: session });
    assert.deepEqual(received(again, 'session'), [], 'a resumed session gets no new one');
    again.disconnect();
  });

  test('server_stats every 2 s, shaped as the package shapes it, counting the chat clients', async () => {
    const admin = await connectAdmin(pool, server.url);
    const [first] = await until(admin, 'server_stats');
    const ann = await connectUser(pool, server.url, { name: 'Ann' });
    const [later] = await until(admin, 'server_stats', (s) => s.uptime > first.uptime
      && s.namespaces.some((n) => n.name === '/' && n.socketsCount >= 1));
    for (const stats of [first, later]) {
      assert.deepEqual(Object.keys(stats).sort(), [
        'aggregatedEvents', 'clientsCount', 'hostname', 'namespaces', 'pid', 'pollingClientsCount', 'serverId', 'uptime',
      ]);
      assert.equal(stats.serverId, 'local');
      assert.equal(typeof stats.hostname, 'string');
      assert.ok(Number.isInteger(stats.pid) && stats.pid > 0);
      assert.ok(Array.isArray(stats.aggregatedEvents));
      assert.deepEqual(stats.namespaces.map((n) => n.name), ['/', '/admin']);
    }
    assert.ok(later.clientsCount >= 2, 'the chat client and the admin');
    // Two in a row are 2 s apart (by the server's own uptime, not the test's clock).
    const stats = received(admin, 'server_stats').map(([s]) => s);
    for (let i = 1; i < stats.length; i++) {
      const gap = stats[i].uptime - stats[i - 1].uptime;
      assert.ok(gap >= 1.9, `server_stats ${gap.toFixed(3)} s after the one before`);
    }
    const counted = received(admin, 'server_stats').flatMap(([s]) => s.aggregatedEvents);
    assert.ok(counted.some((e) => e.type === 'rawConnection' && e.count >= 1 && e.timestamp % 1000 === 0), JSON.stringify(counted));
    ann.disconnect();
    admin.disconnect();
  });

  test('chat clients as they connect, join, leave and go: their handshake with the token redacted', async () => {
    const admin = await connectAdmin(pool, server.url);
    const guest = await connectUser(pool, server.url, { name: 'Bea' });
    const { token, userId } = guest.session;
    guest.disconnect();
    const bea = await connectUser(pool, server.url, { token }, {
      extraHeaders: { authorization: 'Bearer header-secret', 'x-trace': 'trace-1' },
      query: { token: 'query-secret', lang: 'en' },
    });
    const [shown, at] = await until(admin, 'socket_connected', isSocket(bea.id));
    assert.ok(!Number.isNaN(Date.parse(at)));
    assert.equal(shown.nsp, '/');
    assert.equal(shown.clientId, bea.id.slice(0, 12));
    assert.ok(['websocket', 'polling'].includes(shown.transport));
    assert.deepEqual(shown.data, { userId, name: 'Bea', guest: true });
    assert.equal(shown.handshake.auth.token, '[redacted]');
    assert.equal(shown.handshake.headers.authorization, '[redacted]');
    assert.equal(shown.handshake.headers['x-trace'], 'trace-1');
    assert.equal(shown.handshake.query.token, '[redacted]');
    assert.equal(shown.handshake.query.lang, 'en');
    assert.equal(shown.handshake.address, '127.0.0.1');
    assert.equal(typeof shown.handshake.issued, 'number');
    assert.ok(shown.rooms.includes(`u:${userId}`), JSON.stringify(shown.rooms));

    const room = (await ok(bea, 'create', { name: unique('admin') })).id;
    await until(admin, 'room_joined', (nsp, r, id) => nsp === '/' && r === `r:${room}` && id === bea.id);
    const [listed] = (await until((await connectAdmin(pool, server.url)), 'all_sockets'));
    assert.ok(listed.find(isSocket(bea.id)).rooms.includes(`r:${room}`), 'a later admin sees the room in all_sockets');
    await ok(bea, 'leave', { room });
    await until(admin, 'room_left', (nsp, r, id) => nsp === '/' && r === `r:${room}` && id === bea.id);

    const beaId = bea.id; // socket.io-client forgets it on disconnect
    bea.disconnect();
    const [, , reason] = await until(admin, 'socket_disconnected', (nsp, id) => nsp === '/' && id === beaId);
    assert.equal(reason, 'client namespace disconnect');
    await until(admin, 'room_left', (nsp, r, id) => r === `u:${userId}` && id === beaId);

    const everything = JSON.stringify(admin.inbox);
    for (const secret of [token, 'header-secret', 'query-secret']) {
      assert.ok(!everything.includes(secret), `${secret.slice(0, 12)}… reached the Admin UI`);
    }
    admin.disconnect();
  });

  test('the commands: emit, join, leave and _disconnect act on chat clients and are acked', async () => {
    const admin = await connectAdmin(pool, server.url);
    const cal = await connectUser(pool, server.url, { name: 'Cal' });
    const userRoom = `u:${cal.session.userId}`;
    await until(admin, 'socket_connected', isSocket(cal.id));

    let got = waitFor(cal, 'notice', { all: true });
    assert.deepEqual(await command(admin, 'emit', '/', cal.id, 'notice', 'hello', { n: 1 }), { ok: true, data: {} });
    assert.deepEqual(await got, ['hello', { n: 1 }]);
    got = waitFor(cal, 'notice');
    await command(admin, 'emit', '/', userRoom, 'notice', 'to the user room');
    assert.equal(await got, 'to the user room');

    assert.deepEqual(await command(admin, 'join', '/', 'ops', cal.id), { ok: true, data: {} });
    await until(admin, 'room_joined', (nsp, r, id) => r === 'ops' && id === cal.id);
    got = waitFor(cal, 'notice');
    await command(admin, 'emit', '/', 'ops', 'notice', 'to ops');
    assert.equal(await got, 'to ops');
    await command(admin, 'leave', '/', 'ops', cal.id);
    await until(admin, 'room_left', (nsp, r, id) => r === 'ops' && id === cal.id);

    const bad = await command(admin, 'join', '/', 42);
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'bad_request');
    const none = await command(admin, '_disconnect', '/nowhere', false);
    assert.equal(none.error.code, 'not_found');

    const gone = waitFor(cal, 'disconnect');
    const calId = cal.id;
    assert.deepEqual(await command(admin, '_disconnect', '/', false, calId), { ok: true, data: {} });
    assert.equal(await gone, 'io server disconnect');
    const [, , reason] = await until(admin, 'socket_disconnected', (nsp, id) => id === calId);
    assert.equal(reason, 'server namespace disconnect');
    admin.disconnect();
  });

  test('the page is served at /admin-ui/ (and /admin-ui redirects there)', async () => {
    const bare = await fetch(`${server.url}/admin-ui`, { redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/admin-ui/');
    const page = await fetch(`${server.url}/admin-ui/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Socket.IO Admin UI<\/title>/);
    const script = html.match(/src="(js\/app\.[0-9a-f]+\.js)"/)[1];
    const js = await fetch(`${server.url}/admin-ui/${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
  });

  test('no socket id ever reached a chat client', () => {
    assertNoSocketIds();
  });
});

describe('--admin-readonly', () => {
  let server;
  before(async () => {
    server = await adminServer(['--admin-readonly']);
  });
  after(() => server?.stop());

  test('offers no command and obeys none', async () => {
    const admin = await connectAdmin(pool, server.url);
    const [config] = await until(admin, 'config');
    assert.deepEqual(config, { supportedFeatures: ['AGGREGATED_EVENTS', 'ALL_EVENTS'] });
    const dan = await connectUser(pool, server.url, { name: 'Dan' });
    await until(admin, 'socket_connected', isSocket(dan.id));
    for (const args of [
      ['emit', '/', dan.id, 'notice', 'x'],
      ['join', '/', 'ops', dan.id],
      ['leave', '/', `u:${dan.session.userId}`, dan.id],
      ['_disconnect', '/', false, dan.id],
    ]) {
      const answer = await command(admin, ...args);
      assert.equal(answer.ok, false, args[0]);
      assert.equal(answer.error.code, 'forbidden', args[0]);
    }
    // Still connected, in its rooms, and told nothing.
    assert.ok(Array.isArray(await ok(dan, 'rooms')));
    assert.equal(dan.connected, true);
    assert.deepEqual(dan.log.filter((e) => e.event === 'notice'), []);
    assert.deepEqual(received(admin, 'room_joined').filter(([, r]) => r === 'ops'), []);
    admin.disconnect();
  });
});

describe('--admin-mode production', () => {
  let server;
  before(async () => {
    server = await adminServer(['--admin-mode', 'production']);
  });
  after(() => server?.stop());

  test('sends config and server_stats only', async () => {
    const admin = await connectAdmin(pool, server.url);
    const [config] = await until(admin, 'config');
    assert.deepEqual(config, { supportedFeatures: ALL_FEATURES.filter((f) => f !== 'ALL_EVENTS') });
    const eve = await connectUser(pool, server.url, { name: 'Eve' });
    await ok(eve, 'create', { name: unique('prod') });
    // A stats tick after Eve is in: by then a development server would have told of her.
    await until(admin, 'server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount === 1));
    eve.disconnect();
    await until(admin, 'server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount === 0));
    const names = new Set(admin.inbox.map((e) => e.event));
    assert.deepEqual([...names].sort(), ['config', 'server_stats', 'session']);
    admin.disconnect();
  });
});

describe('with --metrics-listen', () => {
  test('the connections gauge counts the admin sockets under namespace "/admin"', async (t) => {
    const server = await adminServer(['--metrics-listen', '127.0.0.1:0']);
    t.after(() => server.stop());
    const base = await metricsUrl(server);
    const admin = await connectAdmin(pool, server.url, undefined, { transports: ['websocket'] });
    const ws = { transport: 'websocket', namespace: '/admin' };
    await scrapeUntil(base, (m) => m.value('chat_connections', ws) === 1, 'one admin socket on /admin');
    admin.disconnect();
    await scrapeUntil(base, (m) => m.value('chat_connections', ws) === 0, 'no admin socket on /admin');
  });
});

describe('without both credential flags', () => {
  test('there is no /admin namespace and no page', async () => {
    const server = await launch(['--admin-ui-dir', UI_DIR]);
    try {
      const err = await adminRefused(pool, server.url, { username: ADMIN_USER, password: ADMIN_PASSWORD });
      assert.equal(err.message, 'Invalid namespace');
      assert.equal((await fetch(`${server.url}/admin-ui/`)).status, 404);
    } finally {
      await server.stop();
    }
  });

  test('one without the other stops start-up naming the missing one', async () => {
    await assert.rejects(launch(['--admin-user', ADMIN_USER]), /admin_password_hash/);
    await assert.rejects(launch(['--admin-password-hash', await passwordHash()]), /admin_user/);
    await assert.rejects(launch(['--admin-user', ADMIN_USER, '--admin-password-hash', 'not-a-hash']), /bcrypt/);
  });

  test('a missing page folder is a warning naming npm ci, and /admin still works', async () => {
    const server = await adminServer(['--admin-ui-dir', '/nonexistent/admin-ui'], { env: { RUST_LOG: 'warn' } });
    try {
      assert.match(server.stderr(), /npm ci/);
      assert.equal((await fetch(`${server.url}/admin-ui/`)).status, 404);
      const admin = await connectAdmin(pool, server.url);
      admin.disconnect();
    } finally {
      await server.stop();
    }
  });
});
