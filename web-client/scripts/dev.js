// `npm run dev`: rebuilds dist/ on every change and serves it, forwarding /socket.io/ to the
// chat server (SERVER_URL, default http://127.0.0.1:3000). PORT (default 5173) and HOST choose
// where the page is served.
import * as esbuild from 'esbuild';
import { options, dist } from './build.js';
import { startDevServer } from './serve.js';

const target = process.env.SERVER_URL || 'http://127.0.0.1:3000';
const ctx = await esbuild.context({
  ...options({ dev: true }),
  plugins: [...options().plugins, {
    name: 'report',
    setup(build) {
      build.onEnd((r) => console.log(r.errors.length ? `build failed (${r.errors.length} errors)` : `built at ${new Date().toLocaleTimeString()}`));
    },
  }],
});
await ctx.watch();
const server = await startDevServer({
  root: dist,
  target,
  host: process.env.HOST || '127.0.0.1',
  port: Number(process.env.PORT ?? 5173),
});
console.log(`serving ${server.url} (socket.io → ${target})`);

const stop = async () => {
  await ctx.dispose();
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
