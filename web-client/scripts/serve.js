// A small static file server that forwards /socket.io/ (long-polling and WebSocket) to the chat
// server: what `npm run dev` runs, and what tests use when the server cannot serve the page.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const isProxied = (url) => url === '/socket.io' || url.startsWith('/socket.io/') || url.startsWith('/socket.io?');

/**
 * @param {{ root: string, target: string, host?: string, port?: number }} opts
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startDevServer({ root, target, host = '127.0.0.1', port = 0 }) {
  const upstream = new URL(target);
  const secure = upstream.protocol === 'https:';
  const upstreamPort = Number(upstream.port) || (secure ? 443 : 80);
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    if (isProxied(req.url)) return proxyHttp(req, res);
    serveFile(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err?.message ?? err));
    });
  });

  function proxyHttp(req, res) {
    const headers = { ...req.headers, host: upstream.host };
    const out = (secure ? https : http).request({
      host: upstream.hostname,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`chat server unreachable at ${target}: ${err.message}`);
    });
    req.pipe(out);
  }

  async function serveFile(req, res) {
    const { pathname } = new URL(req.url, 'http://x');
    let file = path.normalize(path.join(root, decodeURIComponent(pathname)));
    if (!file.startsWith(path.resolve(root))) {
      res.writeHead(403).end();
      return;
    }
    let info = await stat(file).catch(() => null);
    if (info?.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!info) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  }

  // WebSocket: replay the upgrade request upstream and splice the two sockets together.
  server.on('upgrade', (req, socket, head) => {
    if (!isProxied(req.url)) {
      socket.destroy();
      return;
    }
    const connect = secure
      ? (cb) => tls.connect({ host: upstream.hostname, port: upstreamPort, servername: upstream.hostname }, cb)
      : (cb) => net.connect({ host: upstream.hostname, port: upstreamPort }, cb);
    const up = connect(() => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? upstream.host : req.rawHeaders[i + 1]}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    sockets.add(socket);
    const end = () => {
      up.destroy();
      socket.destroy();
      sockets.delete(up);
      sockets.delete(socket);
    };
    up.on('error', end);
    up.on('close', end);
    socket.on('error', end);
    socket.on('close', end);
  });

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actual = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
