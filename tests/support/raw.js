// Raw Engine.IO clients (no socket.io-client) for malformed-input and HTTP-level tests.
import http from 'node:http';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { waitFor } from './wait.js';

const RECORD_SEPARATOR = '\x1e';

/** One HTTP request to 127.0.0.1; resolves with { status, headers, body: Buffer }. */
export function request(url, { method = 'GET', headers = {}, body, timeout = 5000, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`${method} ${url}: no response within ${timeout} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Body of a response as text, gunzipped if it was gzip-encoded. */
export function bodyText(res) {
  const enc = res.headers['content-encoding'];
  if (enc === 'gzip') return zlib.gunzipSync(res.body).toString('utf8');
  if (enc === 'br') return zlib.brotliDecompressSync(res.body).toString('utf8');
  return res.body.toString('utf8');
}

function parseOpenPacket(text, where) {
  if (!text.startsWith('0')) throw new Error(`${where}: expected an Engine.IO open packet, got ${JSON.stringify(text.slice(0, 200))}`);
  return JSON.parse(text.slice(1));
}

/**
 * A hand-made Engine.IO v4 long-polling session.
 * `open()` does the handshake; `send(text)` POSTs a payload; `poll()` GETs
 * the next payload and answers server pings on its own.
 */
export class PollingSession {
  constructor(baseUrl, { headers = {} } = {}) {
    this.baseUrl = baseUrl;
    this.headers = headers;
    this.sid = null;
  }

  url() {
    const sid = this.sid ? `&sid=${encodeURIComponent(this.sid)}` : '';
    return `${this.baseUrl}/socket.io/?EIO=4&transport=polling${sid}`;
  }

  async open() {
    const res = await request(this.url(), { headers: this.headers });
    if (res.status !== 200) throw new Error(`handshake: HTTP ${res.status} ${bodyText(res)}`);
    this.handshake = parseOpenPacket(bodyText(res), 'handshake');
    this.sid = this.handshake.sid;
    return this.handshake;
  }

  /** POST a raw body (string or Buffer); resolves with the whole response. */
  send(body, { headers = {} } = {}) {
    return request(this.url(), {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...this.headers, ...headers },
      body,
    });
  }

  /** GET one payload; resolves with the response (text in res.text, packets in res.packets). */
  async get({ headers = {} } = {}) {
    const res = await request(this.url(), { headers: { ...this.headers, ...headers }, timeout: 10000 });
    res.text = res.status === 200 ? bodyText(res) : res.body.toString('utf8');
    res.packets = res.status === 200 && res.text.length > 0 ? res.text.split(RECORD_SEPARATOR) : [];
    return res;
  }

  /**
   * Keep polling until a packet satisfies `predicate`; pings ("2") are
   * answered with pongs. Resolves with { packet, response } for the
   * response that carried it.
   */
  async pollUntil(predicate, { headers = {}, maxPolls = 50 } = {}) {
    for (let i = 0; i < maxPolls; i++) {
      const res = await this.get({ headers });
      if (res.status !== 200) throw new Error(`poll: HTTP ${res.status} ${res.text}`);
      const found = res.packets.find(predicate);
      if (res.packets.includes('2')) await this.send('3');
      if (found !== undefined) return { packet: found, response: res };
      if (res.packets.includes('1')) throw new Error('poll: server closed the session');
    }
    throw new Error(`poll: no matching packet in ${maxPolls} polls`);
  }

  /** Connect the socket.io namespace `nsp` (default "/") and wait for its CONNECT reply. */
  async connectNamespace(nsp = '/', auth) {
    const prefix = nsp === '/' ? '' : `${nsp},`;
    const res = await this.send(`40${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`);
    if (res.status !== 200) throw new Error(`namespace connect: HTTP ${res.status} ${res.body}`);
    const { packet } = await this.pollUntil((p) => p.startsWith(`40${prefix}`) || p.startsWith(`44${prefix}`));
    if (packet.startsWith('44')) throw new Error(`namespace connect refused: ${packet}`);
    return packet;
  }
}

/**
 * A hand-made Engine.IO v4 WebSocket session. Resolves once the open
 * packet arrived. Answers pings; every other message is emitted as
 * `packet` (string or Buffer) on the returned ws.
 */
export async function rawWebSocket(baseUrl, { timeout = 5000 } = {}) {
  const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(wsUrl);
  ws.closeInfo = new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  ws.on('error', () => {}); // surfaced through `close`
  ws.on('message', (data, isBinary) => {
    const packet = isBinary ? data : data.toString('utf8');
    if (packet === '2') {
      ws.send('3');
      return;
    }
    ws.emit('packet', packet);
  });
  const first = await waitFor(ws, 'packet', { timeout, failOn: ['close'] });
  ws.handshake = parseOpenPacket(String(first), 'websocket handshake');
  return ws;
}

/** Connect the namespace `nsp` over a raw WebSocket and wait for the CONNECT reply. */
export async function rawConnectNamespace(ws, nsp = '/', auth) {
  const prefix = nsp === '/' ? '' : `${nsp},`;
  const reply = waitFor(ws, 'packet', {
    filter: (p) => typeof p === 'string' && (p.startsWith(`40${prefix}`) || p.startsWith(`44${prefix}`)),
    failOn: ['close'],
  });
  ws.send(`40${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`);
  const packet = await reply;
  if (packet.startsWith('44')) throw new Error(`namespace connect refused: ${packet}`);
  return packet;
}
