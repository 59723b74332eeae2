// `npm test`: every test of the web client (library, dev server, browser), against the real
// server binary. Builds dist/ first when it is missing. Arguments narrow the files:
//   npm test -- test/client.test.js      npm test -- test/browser
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build, root } from './build.js';

const repo = path.resolve(root, '..');
const bin = process.env.SERVER_BIN || path.join(repo, 'target', 'release', 'server');
if (!existsSync(bin)) {
  console.log(`${bin} is missing: cargo build --release --bin server`);
  const r = spawnSync('cargo', ['build', '--release', '--bin', 'server'], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync(path.join(root, 'dist', 'index.html'))) {
  console.log('dist/ is missing: building it');
  await build();
}

function collect(p, out = []) {
  const full = path.resolve(root, p);
  if (statSync(full).isDirectory()) {
    for (const name of readdirSync(full).sort()) {
      if (name === 'node_modules' || name === 'artifacts' || name === 'helpers') continue;
      collect(path.join(full, name), out);
    }
  } else if (full.endsWith('.test.js')) {
    out.push(path.relative(root, full));
  }
  return out;
}

const args = process.argv.slice(2);
const targets = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(t));
const child = spawn(process.execPath, ['--test', '--test-timeout=180000', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
