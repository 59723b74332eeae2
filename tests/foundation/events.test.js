// Events, binary payloads and acknowledgements in both directions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, RELAXED_HEARTBEAT } from '../support/server.js';
import { clientPool, echo, unlessDisconnected } from '../support/clients.js';
import { withTimeout } from '../support/wait.js';

let server;
const clients = clientPool();

before(async () => {
  server = await startServer('conformance', RELAXED_HEARTBEAT);
});

after(async () => {
  clients.closeAll();
  await server?.stop();
});

for (const transport of ['websocket', 'polling']) {
  const opts = { transports: [transport] };

  test(`${transport}: an event with several arguments comes back with all of them, in order`, async () => {
    const socket = await clients.connect(server.url, opts);
    const args = [1, 'two', { three: [3, 3, 3] }, [4, { four: 4 }], true, false, null, 6.5, ''];
    assert.deepEqual(await echo(socket, args), args);
    assert.deepEqual(await echo(socket, []), []);
  });

  test(`${transport}: binary arguments travel both ways, also nested in objects and arrays`, async () => {
    const socket = await clients.connect(server.url, opts);
    const small = Buffer.from([0, 1, 2, 253, 254, 255]);
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
    const args = [
      small,
      'text between',
      { file: { name: 'a.bin', data: Buffer.from('hello binary') }, list: [Buffer.from([9]), 2] },
      [Buffer.alloc(0), { deep: { deeper: big } }],
    ];
    const back = await echo(socket, args);
    assert.equal(back.length, 4);
    assert.ok(Buffer.isBuffer(back[0]), `expected a Buffer, got ${back[0]?.constructor?.name}`);
    assert.ok(back[0].equals(small));
    assert.equal(back[1], 'text between');
    assert.equal(back[2].file.name, 'a.bin');
    assert.ok(Buffer.isBuffer(back[2].file.data));
    assert.equal(back[2].file.data.toString(), 'hello binary');
    assert.ok(Buffer.from([9]).equals(back[2].list[0]));
    assert.equal(back[2].list[1], 2);
    assert.equal(back[3][0].length, 0);
    assert.ok(Buffer.isBuffer(back[3][1].deep.deeper));
    assert.ok(back[3][1].deep.deeper.equals(big));
  });

  test(`${transport}: client -> server ack returns the same arguments (callback and emitWithAck)`, async () => {
    const socket = await clients.connect(server.url, opts);
    const args = ['a', 2, { c: [Buffer.from([7, 8, 9])] }];
    const acked = await new Promise((resolve, reject) => {
      socket.timeout(5000).emit('message-with-ack', ...args, (err, ...ackArgs) => {
        if (err) reject(err);
        else resolve(ackArgs);
      });
    });
    assert.equal(acked.length, 3);
    assert.equal(acked[0], 'a');
    assert.equal(acked[1], 2);
    assert.ok(Buffer.from([7, 8, 9]).equals(acked[2].c[0]));

    // emitWithAck resolves with the first ack argument
    assert.deepEqual(await socket.timeout(5000).emitWithAck('message-with-ack', { only: 'one' }), { only: 'one' });

    // many acks in flight at once are each matched to their own call
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => socket.timeout(5000).emitWithAck('message-with-ack', i)),
    );
    assert.deepEqual(many, Array.from({ length: 20 }, (_, i) => i));
  });

  test(`${transport}: server -> client ack: the server gets the client's ack arguments`, async () => {
    const socket = await clients.connect(server.url, opts);
    const received = [];
    const gotAckBack = new Promise((resolve) => {
      socket.on('emit-with-ack', (...args) => {
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          received.push({ withAck: true, args: args.slice(0, -1) });
          last('answer', { from: 'client' }, Buffer.from([1, 2, 3]));
        } else {
          received.push({ withAck: false, args });
          resolve(args);
        }
      });
    });
    socket.emit('emit-with-ack', 'question', { n: 1 }, Buffer.from('bin'));
    const ackArgs = await unlessDisconnected(socket, withTimeout(gotAckBack, 5000, 'second emit-with-ack'));

    assert.equal(received.length, 2);
    assert.equal(received[0].withAck, true, 'the first emit-with-ack must request an ack');
    assert.equal(received[0].args[0], 'question');
    assert.deepEqual(received[0].args[1], { n: 1 });
    assert.equal(received[0].args[2].toString(), 'bin');
    assert.equal(ackArgs[0], 'answer');
    assert.deepEqual(ackArgs[1], { from: 'client' });
    assert.ok(Buffer.from([1, 2, 3]).equals(ackArgs[2]));
  });
}

test('events from one client are handled in the order sent: 100 echoes come back in order', async () => {
  const socket = await clients.connect(server.url, { transports: ['websocket'] });
  const seen = [];
  const done = new Promise((resolve) => {
    socket.on('message-back', (i) => {
      seen.push(i);
      if (seen.length === 100) resolve();
    });
  });
  for (let i = 0; i < 100; i++) socket.emit('message', i);
  await unlessDisconnected(socket, withTimeout(done, 10000, '100 message-back events'));
  assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
});
