// Runs every *.test.js under this folder (node_modules excluded) with
// `node --test`. Node 20's test runner does not expand globs itself.
// Extra arguments are passed on: `npm test -- --test-name-pattern=tls`,
// or file/folder paths to run only those.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

const flags = [];
const targets = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith('-')) flags.push(arg);
  else targets.push(path.resolve(arg));
}

const files = targets.length === 0
  ? findTests(root)
  : targets.flatMap((t) => (statSync(t).isDirectory() ? findTests(t) : [t]));

if (files.length === 0) {
  console.error('no *.test.js files found');
  process.exit(1);
}

const hasConcurrency = flags.some((f) => f.startsWith('--test-concurrency'));
const child = spawn(
  process.execPath,
  ['--test', ...(hasConcurrency ? [] : ['--test-concurrency=2']), ...flags, ...files.map((f) => path.relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : code));
