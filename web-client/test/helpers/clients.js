// Chat clients for tests: in-memory storage, quick reconnection, all closed by `closeAll()`.
import { ChatClient, memoryStorage } from '../../src/client.js';

const open = new Set();

/**
 * @param {string} url
 * @param {import('../../src/client.js').ClientOptions & { transports?: string[] }} [opts]
 */
export function makeClient(url, opts = {}) {
  const { transports, ioOptions, ...rest } = opts;
  const client = new ChatClient({
    url,
    storage: memoryStorage(),
    ackTimeout: 8000,
    ioOptions: {
      reconnectionDelay: 50,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
      ...(transports ? { transports } : {}),
      ...ioOptions,
    },
    ...rest,
  });
  open.add(client);
  return client;
}

/** A connected guest. */
export async function guest(url, name, opts = {}) {
  const client = makeClient(url, { name, ...opts });
  await client.connect();
  return client;
}

export function closeAll() {
  for (const c of open) c.disconnect();
  open.clear();
}

/** A name unlikely to collide with another test's. */
export function unique(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
