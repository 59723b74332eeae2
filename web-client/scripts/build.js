// Builds the demo page into dist/: index.html, app.js (the page and socket.io-client, bundled by
// esbuild) and style.css. `node scripts/build.js` or `npm run build`.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const dist = path.join(root, 'dist');

/** esbuild's options, shared with the dev server. */
export function options({ dev = false } = {}) {
  return {
    absWorkingDir: root,
    entryPoints: { app: 'src/app.js', style: 'src/style.css' },
    outdir: dist,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: !dev,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [copyIndexHtml],
  };
}

/** index.html and the service worker go to dist/ as they are, after every build. */
const copyIndexHtml = {
  name: 'copy-index-html',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length) return;
      await mkdir(dist, { recursive: true });
      await copyFile(path.join(root, 'index.html'), path.join(dist, 'index.html'));
      await copyFile(path.join(root, 'src', 'sw.js'), path.join(dist, 'sw.js'));
    });
  },
};

export async function build() {
  await rm(dist, { recursive: true, force: true });
  const result = await esbuild.build(options());
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await build();
  console.log(`built ${path.relative(process.cwd(), dist) || 'dist'}/ in ${Date.now() - started} ms`);
}
