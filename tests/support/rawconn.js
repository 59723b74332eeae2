// A raw Socket.IO v5 connection over Engine.IO v4, by hand, on either transport (long-polling or
// WebSocket) and either parser (the default JSON one or msgpack), for hostile tests: it sends
// whatever it is told, byte for byte, and records everything it receives.
//
//   const conn = await RawConn.open(url, { transport: 'polling', parser: 'json' });
//   await conn.connect({ name: 'Eve' });            // CONNECT "/" and wait for `session`
//   const res = await conn.call('rooms', {});       // an event with an ack: the envelope
//   conn.sendText('42["x"');                         // an Engine.IO message, as is
//   await conn.closedOrAnswered();                   // 'closed' | 'alive' (see probe)
//   conn.destroy();
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import msgpackParser from 'socket.io-msgpack-parser';
import { msgpack } from './fuzz.js';
import { request } from './raw.js';

const RS = '\x1e';

/** One HTTP request; resolves with { status, headers, body: Buffer }; `signal` aborts it. */
export function httpRequest(url, options = {}) {
  return request(url, { timeout: 10000, ...options });
}

/** Every socket id (Engine.IO and Socket.IO) any connection of this process was given. */
export const knownIds = new Map(); // id -> owner label

/** Encode a Socket.IO packet { type, nsp, id, data } as the default parser would (text, no '4'). */
export function encodeJson({ type, nsp = '/', id, data }) {
  return `${type}${nsp && nsp !== '/' ? `${nsp},` : ''}${id ?? ''}${data === undefined ? '' : JSON.stringify(data)}`;
}

/** Decode a text Socket.IO packet of the default parser (the server's own output only). */
export function decodeJson(text) {
  const m = /^(\d)(?:(\d+)-)?(?:(\/[^,]*),)?(\d+)?([\s\S]*)$/.exec(text);
  if (!m) return null;
  let data;
  try {
    data = m[5] ? JSON.parse(m[5]) : undefined;
  } catch {
    return null;
  }
  return { type: Number(m[1]), nsp: m[3] ?? '/', id: m[4] === undefined ? undefined : Number(m[4]), data };
}

export class RawConn extends EventEmitter {
  /** Engine.IO handshake over `transport`; resolves once the open packet arrived. */
  static async open(baseUrl, { transport = 'websocket', parser = 'json', query = 'EIO=4', label = 'raw', timeout = 5000 } = {}) {
    const conn = new RawConn(baseUrl, transport, parser, label);
    if (transport === 'websocket') await conn.#openWs(query, timeout);
    else await conn.#openPolling(query, timeout);
    return conn;
  }

  constructor(baseUrl, transport, parser, label) {
    super();
    this.setMaxListeners(0);
    this.baseUrl = baseUrl;
    this.transport = transport;
    this.parser = parser;
    this.label = label;
    this.closed = null; // why, once closed
    this.received = []; // every message as text (binary as latin1), for the leak check
    this.receivedBytes = 0;
    this.ownIds = new Set();
    this.pending = new Map(); // ack id -> resolve
    this.nextAck = 1;
    this.events = [];
    this.decoder = parser === 'msgpack' ? new msgpackParser.Decoder() : null;
    this.decoder?.on('decoded', (p) => this.#onPacket(p));
  }

  #remember(text) {
    if (this.receivedBytes < 1_000_000) {
      this.received.push(text);
      this.receivedBytes += text.length;
    }
  }

  #markClosed(why) {
    if (this.closed) return;
    this.closed = why;
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
    this.emit('closed', why);
  }

  #ownId(id, what) {
    if (typeof id !== 'string') return;
    this.ownIds.add(id);
    knownIds.set(id, `${this.label} (${what})`);
  }

  #onOpen(text) {
    const handshake = JSON.parse(text.slice(1));
    this.sid = handshake.sid;
    this.handshake = handshake;
    this.#ownId(handshake.sid, 'engine sid');
  }

  /** An Engine.IO message arrived (text without its '4', or a Buffer). */
  #onMessage(msg) {
    if (typeof msg === 'string') {
      if (this.parser === 'json') {
        const packet = decodeJson(msg);
        if (packet) this.#onPacket(packet);
      }
      return;
    }
    if (this.decoder) {
      try {
        this.decoder.add(msg);
      } catch {
        // not from the server's encoder; recorded anyway
      }
    }
  }

  #onPacket(packet) {
    if (packet.type === 0 && packet.data && typeof packet.data.sid === 'string') this.#ownId(packet.data.sid, `socket sid ${packet.nsp}`);
    if ((packet.type === 3 || packet.type === 6) && this.pending.has(packet.id)) {
      const resolve = this.pending.get(packet.id);
      this.pending.delete(packet.id);
      resolve(packet.data?.[0]);
    }
    if (packet.type === 2 && Array.isArray(packet.data)) {
      this.events.push(packet.data);
      this.emit('event', packet.data[0], ...packet.data.slice(1));
    }
    this.emit('packet', packet);
  }

  // --- WebSocket --------------------------------------------------------------------------------

  async #openWs(query, timeout) {
    const ws = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/socket.io/?${query}&transport=websocket`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    this.ws = ws;
    const opened = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no open packet within ${timeout} ms`)), timeout);
      this.once('open-packet', () => { clearTimeout(timer); resolve(); });
      this.once('closed', (why) => { clearTimeout(timer); reject(new Error(`closed before the open packet: ${why}`)); });
    });
    opened.catch(() => {});
    ws.on('unexpected-response', (req, res) => {
      this.upgradeStatus = res.statusCode;
      res.resume();
      this.#markClosed(`upgrade refused: HTTP ${res.statusCode}`);
      req.destroy();
    });
    ws.on('error', (err) => this.#markClosed(`error: ${err.message}`));
    ws.on('close', (code) => this.#markClosed(`websocket close ${code}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#remember(data.toString('latin1'));
        this.#onMessage(data);
        return;
      }
      const text = data.toString('utf8');
      this.#remember(text);
      if (text === '2') ws.send('3');
      else if (text[0] === '0' && !this.handshake) { this.#onOpen(text); this.emit('open-packet'); }
      else if (text[0] === '4') this.#onMessage(text.slice(1));
      else if (text[0] === '1') this.#markClosed('close packet');
    });
    await opened;
  }

  // --- long-polling -----------------------------------------------------------------------------

  pollUrl(query = 'EIO=4') {
    return `${this.baseUrl}/socket.io/?${query}&transport=polling${this.sid ? `&sid=${encodeURIComponent(this.sid)}` : ''}`;
  }

  async #openPolling(query, timeout) {
    this.query = query;
    const res = await httpRequest(this.pollUrl(query), { timeout });
    const text = res.body.toString('utf8');
    this.#remember(text);
    if (res.status !== 200 || text[0] !== '0') throw new Error(`polling handshake: HTTP ${res.status} ${text.slice(0, 200)}`);
    this.#onOpen(text);
    this.abort = new AbortController();
    this.#pollLoop();
  }

  async #pollLoop() {
    // Bounded: each GET ends within the ping interval (the server then sends a ping), and the loop
    // ends with the session.
    for (let i = 0; i < 100_000 && !this.closed; i++) {
      let res;
      try {
        res = await httpRequest(this.pollUrl(this.query), { timeout: (this.handshake.pingInterval ?? 25000) + 10000, signal: this.abort.signal });
      } catch (err) {
        this.#markClosed(`GET failed: ${err.message}`);
        return;
      }
      const text = res.body.toString('utf8');
      this.#remember(text);
      if (res.status !== 200) {
        this.#markClosed(`GET: HTTP ${res.status} ${text.slice(0, 100)}`);
        return;
      }
      for (const p of text.length ? text.split(RS) : []) {
        if (p === '2') this.post('3').catch(() => {});
        else if (p === '1') this.#markClosed('close packet');
        else if (p[0] === '4') this.#onMessage(p.slice(1));
        else if (p[0] === 'b') this.#onMessage(Buffer.from(p.slice(1), 'base64'));
      }
    }
  }

  /** POST a raw body; a refusal (not 200) marks the session closed. Resolves with the response. */
  async post(body, { headers = {} } = {}) {
    let res;
    try {
      res = await httpRequest(this.pollUrl(this.query), { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers }, body });
    } catch (err) {
      this.#markClosed(`POST failed: ${err.message}`);
      throw err;
    }
    this.#remember(res.body.toString('utf8'));
    if (res.status !== 200) this.#markClosed(`POST: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 100)}`);
    return res;
  }

  // --- sending ----------------------------------------------------------------------------------

  /** One Engine.IO text message (type char included). */
  sendText(text) {
    if (this.closed) return Promise.resolve();
    if (this.ws) return new Promise((resolve) => this.ws.send(text, () => resolve()));
    return this.post(text).catch(() => {});
  }

  /** A text message made of raw bytes (a WebSocket text frame, or the POST body as is). */
  sendTextBytes(bytes) {
    if (this.closed) return Promise.resolve();
    if (this.ws) return new Promise((resolve) => this.ws.send(bytes, { binary: false }, () => resolve()));
    return this.post(bytes).catch(() => {});
  }

  /** One Engine.IO binary message. */
  sendBinary(buf) {
    if (this.closed) return Promise.resolve();
    if (this.ws) return new Promise((resolve) => this.ws.send(buf, { binary: true }, () => resolve()));
    return this.post(`b${Buffer.from(buf).toString('base64')}`).catch(() => {});
  }

  /** A raw long-polling body (over WebSocket: one text message). */
  sendBody(body) {
    if (this.ws) return typeof body === 'string' ? this.sendText(body) : this.sendTextBytes(body);
    if (this.closed) return Promise.resolve();
    return this.post(body).catch(() => {});
  }

  /** A Socket.IO packet encoded with this connection's parser (msgpack: any field values). */
  sendPacket(packet) {
    if (this.parser === 'msgpack') {
      const p = { type: packet.type, nsp: packet.nsp ?? '/', data: packet.data, id: packet.id };
      return this.sendBinary(msgpack(p));
    }
    return this.sendText(`4${encodeJson(packet)}`);
  }

  /** Emit `event` with an ack; resolves with the first ack argument, or undefined if the
   * connection closed or nothing came within `timeout`. `args` are further arguments. */
  call(event, payload, { timeout = 5000, args = [] } = {}) {
    const id = this.nextAck++;
    const answered = new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve(undefined); }, timeout);
      this.pending.set(id, (v) => { clearTimeout(timer); resolve(v); });
    });
    const data = payload === undefined ? [event, ...args] : [event, payload, ...args];
    this.sendPacket({ type: 2, nsp: '/', id, data });
    return answered;
  }

  /** Fire an event with an ack id without waiting (for floods): the ack lands in `onAck`. */
  fire(event, payload, onAck) {
    const id = this.nextAck++;
    this.pending.set(id, onAck);
    return this.sendPacket({ type: 2, nsp: '/', id, data: [event, payload] });
  }

  /** CONNECT to "/" with `auth` and wait for `session`; rejects on connect_error or close. */
  async connect(auth, { timeout = 5000 } = {}) {
    const session = new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(reject, new Error(`no session within ${timeout} ms`)), timeout);
      const onEvent = (name, value) => { if (name === 'session') done(resolve, value); };
      const onPacket = (p) => { if (p.type === 4 && p.nsp === '/') done(reject, new Error(`connect_error ${JSON.stringify(p.data)}`)); };
      const onClosed = (why) => done(reject, new Error(`closed while connecting: ${why}`));
      const done = (fn, v) => {
        clearTimeout(timer);
        this.off('event', onEvent).off('packet', onPacket).off('closed', onClosed);
        fn(v);
      };
      this.on('event', onEvent).on('packet', onPacket).on('closed', onClosed);
    });
    session.catch(() => {});
    await this.sendPacket({ type: 0, nsp: '/', data: auth });
    this.session = await session;
    return this.session;
  }

  /**
   * Whether the server still answers on this connection: CONNECT to an unknown namespace must be
   * refused with CONNECT_ERROR whatever state "/" is in. Resolves 'closed' (the server ended
   * the connection or refused a request), 'alive' (answered) or 'silent' (neither in time).
   */
  probe({ timeout = 3000 } = {}) {
    if (this.closed) return Promise.resolve('closed');
    const nsp = `/probe${this.nextAck++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done('silent'), timeout);
      const onPacket = (p) => { if (p.type === 4 && p.nsp === nsp) done('alive'); };
      const onClosed = () => done('closed');
      const done = (v) => {
        clearTimeout(timer);
        this.off('packet', onPacket).off('closed', onClosed);
        resolve(v);
      };
      this.on('packet', onPacket).on('closed', onClosed);
      this.sendPacket({ type: 0, nsp });
    });
  }

  /** Everything received, as one string (binary as latin1). */
  receivedText() {
    return this.received.join('\n');
  }

  /** End the connection from this side (a polite Engine.IO close for polling, then abort). */
  destroy() {
    if (this.ws) {
      this.ws.terminate();
    } else if (this.abort) {
      if (!this.closed) this.post('1').catch(() => {}).finally(() => this.abort.abort());
      else this.abort.abort();
    }
    this.#markClosed('destroyed by the client');
  }
}

/**
 * The ids in `text` that belong to someone other than `own`: any known Engine.IO or Socket.IO
 * id. Ids are alphanumeric (with - and _), so only such runs are looked at.
 */
export function foreignIds(text, own) {
  const lengths = new Set([...knownIds.keys()].map((id) => id.length));
  const found = new Set();
  for (const [run] of text.matchAll(/[A-Za-z0-9_-]{8,}/g)) {
    for (const len of lengths) {
      for (let i = 0; i + len <= run.length; i++) {
        const sub = run.slice(i, i + len);
        if (knownIds.has(sub) && !own.has(sub)) found.add(sub);
      }
    }
  }
  return [...found];
}
