// The msgpack parser: a server started with --parser msgpack talks to socket.io-msgpack-parser clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import msgpackParser from 'socket.io-msgpack-parser';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, echo } from '../support/clients.js';
import { waitFor, firstEvent } from '../support/wait.js';

let server;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', [...RELAXED_HEARTBEAT, '--parser', 'msgpack']);
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

for (const transport of ['websocket', 'polling']) {
  const opts = { transports: [transport], parser: msgpackParser };

  test(`${transport}: msgpack client connects, gets its auth back and echoes text and binary`, async () => {
    const auth = { token: 'mp', list: [1, 2, 3] };
    const socket = clients.create(server.url, { ...opts, auth });
    assert.deepEqual(await waitFor(socket, 'auth', { failOn: ['connect_error'] }), auth);

    const bin = Buffer.from([0, 1, 2, 3, 250, 255]);
    const back = await echo(socket, ['text', 12.5, { nested: { bin } }, [true, null], bin]);
    assert.equal(back.length, 5);
    assert.equal(back[0], 'text');
    assert.equal(back[1], 12.5);
    assert.ok(bin.equals(Buffer.from(back[2].nested.bin)), 'nested binary must come back byte for byte');
    assert.deepEqual(back[3], [true, null]);
    assert.ok(bin.equals(Buffer.from(back[4])));
  });

  test(`${transport}: msgpack acks in both directions`, async () => {
    const socket = await clients.connect(`${server.url}/custom`, opts);
    const acked = await socket.timeout(5000).emitWithAck('message-with-ack', { n: 1, bin: Buffer.from('xyz') });
    assert.equal(acked.n, 1);
    assert.equal(Buffer.from(acked.bin).toString(), 'xyz');

    const second = new Promise((resolve) => {
      socket.on('emit-with-ack', (...args) => {
        const last = args[args.length - 1];
        if (typeof last === 'function') last('pong', 7);
        else resolve(args);
      });
    });
    socket.emit('emit-with-ack', 'ping');
    assert.deepEqual(await second, ['pong', 7]);
  });
}

test('a client using the default (JSON) parser cannot connect to a msgpack server', async () => {
  const socket = clients.create(server.url, { transports: ['websocket'] });
  const outcome = await firstEvent([
    [socket, 'connect'],
    [socket, 'connect_error'],
    [socket.io, 'close'],
  ]);
  assert.notEqual(outcome.event, 'connect');
  assert.equal(socket.connected, false);
});
