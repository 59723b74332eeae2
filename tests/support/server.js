// Spawns the release binaries on an ephemeral port and waits until they listen.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');

const BUILD_HINT = 'run `cargo build --release --bin server --examples` from the repository root';

export function binaryPath(kind) {
  if (kind === 'server') {
    return process.env.SERVER_BIN || path.join(repoRoot, 'target', 'release', 'server');
  }
  if (kind === 'conformance') {
    return process.env.CONFORMANCE_BIN || path.join(repoRoot, 'target', 'release', 'examples', 'conformance');
  }
  throw new Error(`unknown binary kind: ${kind}`);
}

/**
 * The conformance profile pings every 300 ms and gives up after 200 ms
 * without a pong: on a loaded 2-core machine a busy test process can miss
 * that. Tests that are not about heartbeats pass these flags to stay calm;
 * transports.test.js keeps the profile's own values and checks them.
 */
export const RELAXED_HEARTBEAT = ['--ping-interval-ms', '5000', '--ping-timeout-ms', '5000', '--connect-timeout-ms', '5000'];

const LISTENING = /^listening on (https?):\/\/([^\s:]+):(\d+)\s*$/;

/**
 * Start a binary ('server' or 'conformance') with `--port 0` plus `args`.
 * Resolves with { url, port, proc, exited, stderr(), stop() } once the
 * process printed its `listening on ...` line.
 */
export function startServer(kind = 'conformance', args = [], { timeout = 10000, env } = {}) {
  const bin = binaryPath(kind);
  if (!existsSync(bin)) {
    return Promise.reject(new Error(`binary not found: ${bin} — ${BUILD_HINT} (or set ${kind === 'server' ? 'SERVER_BIN' : 'CONFORMANCE_BIN'})`));
  }
  // The real server keeps its data in ./data by default: tests that don't choose a database
  // get an in-memory one, so no run leaves files behind.
  const storage = kind === 'server' && !args.some((a) => a === '--database-url' || a === '--data-dir')
    ? ['--database-url', 'sqlite::memory:']
    : [];
  const proc = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...storage, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...env },
  });

  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });

  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };

  return new Promise((resolve, reject) => {
    let stdout = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop().finally(() => {
        reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
      });
    };
    const timer = setTimeout(() => fail(`no "listening on" line within ${timeout} ms`), timeout);
    proc.once('error', (err) => fail(`failed to spawn: ${err.message}`));
    proc.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      // Kept after the listening line too: the metrics line follows it (support/metrics.js).
      if (stdout.length < 100_000) stdout += chunk;
      if (settled) return;
      for (const line of stdout.split('\n')) {
        const m = LISTENING.exec(line);
        if (!m) continue;
        settled = true;
        clearTimeout(timer);
        const [, scheme, host, port] = m;
        resolve({
          url: `${scheme}://${host}:${port}`,
          scheme,
          host,
          port: Number(port),
          proc,
          exited,
          stdout: () => stdout,
          stderr: () => stderr,
          alive: () => proc.exitCode === null && proc.signalCode === null,
          stop,
        });
        return;
      }
    });
  });
}
