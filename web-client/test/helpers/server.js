// Starts the real chat server binary for the web client's tests: on port 0 (or a given port, to
// restart on the same one), loopback only, with a temporary data folder; resolves once it
// printed its `listening on http://HOST:PORT` line.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webClientRoot = path.resolve(here, '..', '..');
export const repoRoot = path.resolve(webClientRoot, '..');
export const distDir = path.join(webClientRoot, 'dist');

export function serverBinary() {
  return process.env.SERVER_BIN || path.join(repoRoot, 'target', 'release', 'server');
}

const LISTENING = /^listening on (https?):\/\/([^\s:]+):(\d+)\s*$/m;

let helpText;
/** The server's `--help` text (to see which options this build has). */
export function serverHelp() {
  helpText ??= execFileSync(serverBinary(), ['--help'], { encoding: 'utf8', timeout: 10000 });
  return helpText;
}
export const supports = (flag) => serverHelp().includes(flag);

/** Generous limits: tests are about the client, not the server's rate limiter. */
export const CALM = ['--rate-limit-per-sec', '10000', '--rate-limit-burst', '10000'];

const dirs = new Set();
/** A temporary folder removed by `cleanup()`. */
export async function tempDir(prefix = 'web-client-test-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

const running = new Set();

/**
 * @param {object} [opts]
 * @param {string[]} [opts.args] more flags
 * @param {number} [opts.port] 0 (default) for a free port
 * @param {string} [opts.dataDir] a data folder (kept across restarts); default a new one
 * @param {boolean} [opts.file] a SQLite file in the data folder instead of memory
 * @param {number} [opts.timeout]
 */
export async function startServer({ args = CALM, port = 0, dataDir, file = false, timeout = 15000 } = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run \`cargo build --release --bin server\` in ${repoRoot} (or set SERVER_BIN)`);
  }
  dataDir ??= await tempDir();
  const db = file ? `sqlite://${path.join(dataDir, 'chat.db')}` : 'sqlite::memory:';
  const all = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--database-url', db, ...args];
  const proc = spawn(bin, all, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-100_000);
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const server = {
    proc,
    dataDir,
    args: all,
    exited,
    stderr: () => stderr,
    alive,
    /** SIGKILL and wait for the exit. */
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      await exited;
      running.delete(server);
    },
    stop() {
      return server.kill();
    },
    /** A new server on the same port and data folder (and database file). */
    restart(more = {}) {
      return startServer({ args, port: server.port, dataDir, file, timeout, ...more });
    },
  };
  running.add(server);

  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "listening on" line within ${timeout} ms`), timeout);
    const onError = (e) => fail(`failed to spawn: ${e.message}`);
    const onExit = (code, signal) => fail(`exited early (code ${code}, signal ${signal})`);
    function fail(why) {
      clearTimeout(timer);
      proc.off('error', onError);
      proc.off('exit', onExit);
      server.kill().finally(() => reject(new Error(`server ${all.join(' ')}: ${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`)));
    }
    proc.once('error', onError);
    proc.once('exit', onExit);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (c) => {
      stdout += c;
      const m = LISTENING.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      proc.off('error', onError);
      proc.off('exit', onExit);
      server.url = `${m[1]}://${m[2]}:${m[3]}`;
      server.port = Number(m[3]);
      resolve();
    });
  });
  return server;
}

/** Stop every server still running and remove the temporary folders. */
export async function cleanup() {
  for (const s of [...running]) await s.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs.clear();
}
