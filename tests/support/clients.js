// socket.io-client helpers shared by the tests.
import { io } from 'socket.io-client';
import { waitFor } from './wait.js';

/**
 * Tracks sockets so a test can close them all at the end.
 * Usage: const clients = clientPool(); t.after(() => clients.closeAll());
 */
export function clientPool() {
  const sockets = new Set();
  return {
    /** Create a socket (own Manager, no reconnection) without waiting. */
    create(url, opts = {}) {
      const socket = io(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
      sockets.add(socket);
      return socket;
    },
    /** Create a socket and wait for `connect` (rejects on `connect_error`). */
    async connect(url, opts = {}, { timeout = 5000 } = {}) {
      const socket = this.create(url, opts);
      await waitFor(socket, 'connect', { timeout, failOn: ['connect_error'] });
      return socket;
    },
    /** Register a socket made elsewhere so it is closed at the end. */
    track(socket) {
      sockets.add(socket);
      return socket;
    },
    closeAll() {
      for (const s of sockets) {
        s.disconnect();
        // close the Manager's engine too (it may be shared by several sockets)
        s.io?.engine?.close?.();
      }
      sockets.clear();
    },
  };
}

/** Emit `message` with args and resolve with the args of the next `message-back`. */
export async function echo(socket, args, { timeout = 5000 } = {}) {
  const back = waitFor(socket, 'message-back', { timeout, all: true, failOn: ['disconnect'] });
  socket.emit('message', ...args);
  return back;
}

/**
 * Emit with an ack (socket.io-client's timeout flag) and resolve with the
 * first ack argument.
 */
export function ask(socket, event, payload, { timeout = 5000 } = {}) {
  return socket.timeout(timeout).emitWithAck(event, payload);
}

/** A round trip on the /harness namespace: anything the server queued for
 * this socket before the call is delivered before the ack arrives. */
export async function settle(socket) {
  const res = await ask(socket, 'leave', '__settle__');
  if (!res || res.ok !== true) throw new Error(`settle round trip failed: ${JSON.stringify(res)}`);
}

/** Resolve with `promise`, but reject early if `socket` disconnects first. */
export function unlessDisconnected(socket, promise) {
  let onDisconnect;
  const dropped = new Promise((_, reject) => {
    onDisconnect = (reason) => reject(new Error(`socket disconnected (${reason}) while waiting`));
    socket.on('disconnect', onDisconnect);
  });
  return Promise.race([promise, dropped]).finally(() => socket.off('disconnect', onDisconnect));
}
