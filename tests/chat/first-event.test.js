// The first events of a connection (issue 10, defect 1). socket.io-client sends what was emitted
// before the connection was up right after the CONNECT packet arrives, and a `connect` listener
// emits in the same tick: those events must always be answered, and must already find the socket
// subscribed to its user's rooms (a `send` there comes back to this very socket as `message`).
//
// Many tries per transport: FIRST_EVENT_TRIES (default 200; the closing figures use 10000) with
// FIRST_EVENT_PARALLEL connections at a time (default 8).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { backends, chatServer, ok, cid, unique } from '../support/chat.js';

const TRIES = Number(process.env.FIRST_EVENT_TRIES || 200);
const PARALLEL = Number(process.env.FIRST_EVENT_PARALLEL || 8);
/** Rooms the user is in besides the one the first events go to. */
const PAD_ROOMS = 8;
/** How long an ack may take, counted from the emit (so it includes the handshake). */
const ACK_MS = 5000;
/** How long the `message` of an acked send may take to reach the sender's socket. */
const DELIVERY_MS = 3000;

/**
 * One connection as a client would make it: `send` emitted before the connection is up (buffered
 * by socket.io-client, sent right after CONNECT), `rooms` emitted from the `connect` listener.
 * Resolves with what came back; never rejects.
 */
function oneTry(url, transport, token, room) {
  return new Promise((resolve) => {
    const socket = io(url, {
      forceNew: true, reconnection: false, timeout: ACK_MS, transports: [transport], auth: { token },
    });
    const clientId = cid();
    const out = { connectError: null, send: undefined, rooms: undefined, delivered: false };
    let finished = false;
    let deliveryTimer = null;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      clearTimeout(deliveryTimer);
      socket.disconnect();
      socket.io.engine?.close();
      resolve(out);
    };
    const maybeDone = () => {
      if (out.send === undefined || out.rooms === undefined) return;
      if (out.send?.ok !== true || out.delivered) finish();
      else deliveryTimer ??= setTimeout(finish, DELIVERY_MS);
    };
    const guard = setTimeout(finish, ACK_MS + DELIVERY_MS + 2000);
    socket.on('message', (m) => {
      if (m?.room === room && m?.clientId === clientId) {
        out.delivered = true;
        maybeDone();
      }
    });
    socket.on('connect_error', (err) => {
      out.connectError = err.message;
      finish();
    });
    socket.on('connect', () => {
      socket.timeout(ACK_MS).emit('rooms', {}, (err, res) => {
        out.rooms = err ? null : res;
        maybeDone();
      });
    });
    // Emitted before `connect`: socket.io-client buffers it and sends it right after CONNECT.
    socket.timeout(ACK_MS).emit('send', { room, text: `first ${clientId}`, clientId }, (err, res) => {
      out.send = err ? null : res;
      maybeDone();
    });
  });
}

/** TRIES connections, PARALLEL at a time; resolves with the tally and a few examples of each fault. */
async function tally(url, transport, token, room) {
  const faults = {
    'connect refused': [],
    'send unanswered': [],
    'send refused': [],
    'rooms unanswered': [],
    'rooms without the member room': [],
    'message not delivered to the sending socket': [],
  };
  let next = 0;
  const worker = async () => {
    while (next < TRIES) {
      const n = next++;
      const r = await oneTry(url, transport, token, room);
      const note = (kind, detail) => faults[kind].push(`#${n}${detail ? ` ${detail}` : ''}`);
      if (r.connectError !== null) {
        note('connect refused', r.connectError);
        continue;
      }
      if (r.send === null) note('send unanswered');
      else if (r.send?.ok !== true) note('send refused', JSON.stringify(r.send));
      else if (!r.delivered) note('message not delivered to the sending socket', `seq ${r.send.data?.seq}`);
      if (r.rooms === null) note('rooms unanswered');
      else if (!(r.rooms?.ok === true && r.rooms.data.some((info) => info.id === room && info.member === true))) {
        note('rooms without the member room', JSON.stringify(r.rooms).slice(0, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, TRIES) }, worker));
  return faults;
}

function report(faults) {
  return Object.entries(faults)
    .filter(([, list]) => list.length > 0)
    .map(([kind, list]) => `${kind}: ${list.length} (${list.slice(0, 3).join('; ')})`)
    .join(' | ');
}

// The member rooms a socket is subscribed to at connect come from storage: both backends.
for (const backend of backends()) {
  describe(backend.name, () => {
    // SQLite as deployed by default: a file, synchronous=full.
    const chat = chatServer(backend, ['--rate-limit-per-sec', '1000000', '--rate-limit-burst', '1000000'], { file: true });

    for (const transport of ['websocket', 'polling']) {
      test(`${transport}: ${TRIES} connections, each answered at once and already subscribed to its rooms`, { timeout: 60000 + TRIES * 60 }, async (t) => {
        // A user in PAD_ROOMS public rooms and a private one of their own whose id sorts last:
        // the connect setup subscribes rooms one after the other, so that one comes last.
        const pad = await chat.guest('Pad');
        const ada = await chat.guest('Ada');
        for (let k = 0; k < PAD_ROOMS; k++) {
          const padded = (await ok(pad, 'create', { name: unique('aa-pad') })).id;
          await ok(ada, 'join', { room: padded });
        }
        const room = (await ok(ada, 'create', { name: unique('zz-first'), private: true })).id;
        const { token } = ada.session;
        const started = Date.now();
        const faults = await tally(chat.url, transport, token, room);
        const lost = Object.values(faults).reduce((n, list) => n + list.length, 0);
        t.diagnostic(`${TRIES} connections over ${transport} in ${Date.now() - started} ms, ${lost} faults`);
        assert.equal(lost, 0, `of ${TRIES} connections over ${transport}: ${report(faults)}`);
        // Every try's message is stored, once.
        const history = await ok(ada, 'history', { room, limit: 1 });
        assert.equal(history.messages[0]?.seq, TRIES, `the room should hold ${TRIES} messages: ${JSON.stringify(history)}`);
      });
    }
  });
}
