// socket.io 2.x clients (Engine.IO v3) are served only when the server runs with --allow-eio3.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import ioV2 from 'socket.io-client-v2';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, unlessDisconnected } from '../support/clients.js';
import { request } from '../support/raw.js';
import { waitFor, firstEvent, withTimeout } from '../support/wait.js';

const clients = clientPool();

function v2(url, opts = {}) {
  return clients.track(ioV2(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts }));
}

after(() => clients.closeAll());

describe('with --allow-eio3', () => {
  let server;
  before(async () => {
    server = await startServer('conformance', [...RELAXED_HEARTBEAT, '--allow-eio3']);
  });
  after(async () => {
    await server?.stop();
  });

  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    const label = transports.join('+');

    async function connectV2() {
      const socket = v2(server.url, { transports });
      const upgraded = transports.length > 1 ? waitFor(socket.io.engine, 'upgrade', { failOn: ['upgradeError'] }) : null;
      await waitFor(socket, 'connect', { failOn: ['connect_error', 'error'] });
      assert.equal(socket.connected, true);
      if (upgraded) await upgraded;
      assert.equal(socket.io.engine.transport.name, transports.at(-1));
      return socket;
    }

    test(`2.x client (${label}) connects, echoes and gets acks`, async () => {
      const socket = await connectV2();
      const back = waitFor(socket, 'message-back', { all: true, failOn: ['disconnect'] });
      socket.emit('message', 'v2', 3, { deep: [true] }, null);
      assert.deepEqual(await back, ['v2', 3, { deep: [true] }, null]);

      const acked = new Promise((resolve) => socket.emit('message-with-ack', 'a', { b: 2 }, (...ackArgs) => resolve(ackArgs)));
      assert.deepEqual(await unlessDisconnected(socket, withTimeout(acked, 5000, 'ack')), ['a', { b: 2 }]);
    });

    // Known upstream limitation: engineioxide 0.17.9 frames server->client binary attachments
    // in the v4 form over v3 long-polling (`Permit::emit_many`), so a 2.x client that stays on
    // polling never decodes them. Reported in docs/COMPATIBILITY.md; kept visible as a todo.
    const todo = label === 'polling'
      ? 'engineioxide 0.17.9 sends v4-framed binary to Engine.IO v3 polling clients'
      : false;
    test(`2.x client (${label}) gets binary arguments echoed back`, { todo }, async () => {
      const socket = await connectV2();
      const bin = Buffer.from([1, 2, 3, 255]);
      const back = waitFor(socket, 'message-back', { all: true, failOn: ['disconnect'] });
      socket.emit('message', 'with binary', { file: bin });
      const args = await back;
      assert.equal(args[0], 'with binary');
      assert.ok(Buffer.isBuffer(args[1]?.file) && args[1].file.equals(bin), `binary came back as ${args[1]?.file?.constructor?.name}`);
    });
  }

  test('2.x client on /custom gets server -> client acks', async () => {
    const socket = v2(`${server.url}/custom`, { transports: ['websocket'] });
    await waitFor(socket, 'connect', { failOn: ['connect_error', 'error'] });
    const second = new Promise((resolve) => {
      socket.on('emit-with-ack', (...args) => {
        const last = args[args.length - 1];
        if (typeof last === 'function') last('from v2', 2);
        else resolve(args);
      });
    });
    socket.emit('emit-with-ack', 'go');
    assert.deepEqual(await unlessDisconnected(socket, withTimeout(second, 5000, 'second emit-with-ack')), ['from v2', 2]);
  });

  test('a 4.x client still works next to 2.x clients', async () => {
    const socket = await clients.connect(server.url, { transports: ['websocket'] });
    const back = waitFor(socket, 'message-back', { failOn: ['disconnect'] });
    socket.emit('message', 'v4 here');
    assert.equal(await back, 'v4 here');
  });
});

describe('without --allow-eio3', () => {
  let server;
  before(async () => {
    server = await startServer('conformance', RELAXED_HEARTBEAT);
  });
  after(async () => {
    await server?.stop();
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`2.x client (${transports[0]}) is refused: connect_error, never connect`, async (t) => {
      const socket = v2(server.url, { transports });
      const outcome = await firstEvent([
        [socket, 'connect'],
        [socket, 'connect_error'],
        [socket, 'error'],
      ]);
      assert.equal(outcome.event, 'connect_error', `got ${outcome.event}`);
      const err = outcome.args[0];
      assert.ok(err instanceof Error, `connect_error carries ${err}`);
      t.diagnostic(`2.x ${transports[0]} client without --allow-eio3: connect_error "${err.message}"${err.description ? ` (description: ${err.description?.message ?? err.description})` : ''}`);
      assert.equal(socket.connected, false);
      // the handshake itself is refused with HTTP 400
      const status = transports[0] === 'polling' ? err.description : err.description?.message;
      assert.match(String(status), /400/);
    });
  }

  test('an Engine.IO v3 handshake gets HTTP 400 "Unsupported protocol version"', async () => {
    const res = await request(`${server.url}/socket.io/?EIO=3&transport=polling`);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body.toString()), { code: 5, message: 'Unsupported protocol version' });
  });
});
