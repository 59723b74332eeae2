// Helpers for the Admin UI tests (tests/admin/): a bcrypt hash made by the server itself, a
// chat server with the /admin namespace on, and admin clients whose every event is kept so a
// test can look for one that came before it started waiting.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { binaryPath, repoRoot } from './server.js';
import { launch } from './chat.js';

export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'correct horse battery staple';
export const UI_DIR = path.join(repoRoot, 'web-client', 'node_modules', '@socket.io', 'admin-ui', 'ui', 'dist');
export const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS'];

let hashed;
/** The bcrypt hash of ADMIN_PASSWORD, from `server hash-password` (cost 4: tests need no strength). */
export function passwordHash() {
  hashed ??= new Promise((resolve, reject) => {
    const child = execFile(binaryPath('server'), ['hash-password', '--cost', '4'], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`server hash-password: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
    child.stdin.end(`${ADMIN_PASSWORD}\n`);
  });
  return hashed;
}

/** A chat server (SQLite in memory) with /admin on, the UI from web-client's node_modules. */
export async function adminServer(args = [], opts) {
  const hash = await passwordHash();
  const ui = args.includes('--admin-ui-dir') ? [] : ['--admin-ui-dir', UI_DIR];
  return launch(['--admin-user', ADMIN_USER, '--admin-password-hash', hash, ...ui, ...args], opts);
}

/**
 * Keep every event `socket` receives: `socket.inbox` is the list of { event, args, at };
 * `until(socket, event, filter)` resolves with the args of the first one matching, received
 * already or later.
 */
export function keep(socket) {
  socket.inbox = [];
  socket.waiters = new Set();
  socket.onAny((event, ...args) => {
    const entry = { event, args, at: Date.now() };
    socket.inbox.push(entry);
    for (const w of socket.waiters) w(entry);
  });
  return socket;
}

export function until(socket, event, filter = () => true, { timeout = 10000 } = {}) {
  const found = socket.inbox.find((e) => e.event === event && filter(...e.args));
  if (found) return Promise.resolve(found.args);
  return new Promise((resolve, reject) => {
    const waiter = (e) => {
      if (e.event !== event || !filter(...e.args)) return;
      clearTimeout(timer);
      socket.waiters.delete(waiter);
      resolve(e.args);
    };
    const timer = setTimeout(() => {
      socket.waiters.delete(waiter);
      reject(new Error(`timed out after ${timeout} ms waiting for admin event "${event}"; got: ${socket.inbox.map((e) => e.event).join(', ')}`));
    }, timeout);
    socket.waiters.add(waiter);
  });
}

/** The events of one name received so far (their argument lists). */
export function received(socket, event) {
  return socket.inbox.filter((e) => e.event === event).map((e) => e.args);
}

/** An admin client on `url`/admin with `auth`, connected and given its `config`. */
export async function connectAdmin(pool, url, auth = { username: ADMIN_USER, password: ADMIN_PASSWORD }, opts = {}) {
  const socket = keep(pool.create(`${url}/admin`, { auth, ...opts }));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  await until(socket, 'config');
  return socket;
}

/** Connect to /admin expecting a refusal; resolves with the connect_error. */
export function adminRefused(pool, url, auth, opts = {}) {
  const socket = pool.create(`${url}/admin`, { auth, ...opts });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('/admin let the client in')));
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve(err);
    });
  });
}

/** Emit an admin command with an ack; resolves with the envelope. */
export function command(admin, event, ...args) {
  return admin.timeout(10000).emitWithAck(event, ...args);
}
