// The chat client: one function per protocol event (docs/PROTOCOL.md), plus what every client
// of this server needs and should not have to write again:
//  - recovery: the last seq seen per room travels as `auth.since` on every (re)connection, and
//    the last change position (`rev`) as `auth.rev`, so that edits, deletions and the ends of bot
//    replies missed meanwhile are replayed too; a replayed change the client already has is
//    ignored;
//  - ordering: each room's messages are handed out once, in seq order, with no gap (a gap is
//    fetched with `history`);
//  - an outbox: a message sent while offline waits with its clientId and goes out once the
//    connection is back (the server de-duplicates by clientId, so a resend is harmless);
//  - identity: the session token is kept, so a guest stays the same user across reloads;
//  - the bot's streamed replies, assembled into text that grows;
//  - the connection's state as events.
import { io } from 'socket.io-client';
import { Emitter } from './emitter.js';
import { ChatError, TRANSIENT } from './errors.js';
import { Sequencer } from './sequencer.js';
import { ChangeTracker } from './changes.js';
import { ReplyAssembler } from './replies.js';
import { Store, defaultStorage, memoryStorage } from './storage.js';

export { ChatError, Sequencer, ChangeTracker, ReplyAssembler, memoryStorage, defaultStorage };

/**
 * @typedef {{ userId: string, name: string }} User
 * @typedef {{ name: string, kind: 'embedded'|'openai', model: string }} BotInfo
 * @typedef {{ userId: string, name: string, guest: boolean, token: string, bot?: BotInfo }} Session
 * @typedef {{ emoji: string, count: number, users: User[] }} Reaction
 * @typedef {{ room: string, systemPrompt: string, model: string, temperature: number | null,
 *   replyMode: 'mention'|'every' }} BotSettings
 * @typedef {{ promptTokens: number, completionTokens: number, replies: number }} Usage
 * @typedef {{ id: string, name: string, private: boolean, bot?: boolean, lastSeq: number, readSeq: number, unread: number, mentions?: number, member: boolean }} RoomInfo
 * @typedef {{ finishReason: string, usage?: { promptTokens: number, completionTokens: number },
 *   error?: { code: string, message: string } }} ReplyMeta
 * @typedef {{ room: string, id: string, seq: number, rev?: number, userId: string, name: string, text: string,
 *   ts: number, clientId?: string, editedTs?: number, deleted?: boolean, status?: string, meta?: ReplyMeta,
 *   reactions?: Reaction[], mentions?: string[], replyTo?: string, replaces?: string, continues?: string }} Message
 *   `rev`: the room's change position of this message's latest change (its insertion, an edit, its
 *   deletion, the end of a bot reply)
 * @typedef {{ userId: string, seq: number }} Read
 * @typedef {{ id: string, seq: number, ts: number }} Sent
 * @typedef {{ room: string, text: string, clientId: string, queuedAt: number }} Outgoing
 * @typedef {import('./replies.js').Reply} Reply
 * @typedef {'idle'|'connecting'|'connected'|'reconnecting'|'offline'} ConnectionState
 * @typedef {'polling'|'websocket'} Transport
 */

/**
 * The events a ChatClient emits (listen with `client.on(name, fn)`).
 * @typedef {object} ClientEvents
 * @property {void} connecting the first connection attempt started
 * @property {{ transport: Transport }} connected ready for calls (again on a transport upgrade)
 * @property {{ attempt: number }} reconnecting an automatic reconnection attempt
 * @property {{ reason: string }} offline the connection is down
 * @property {{ state: ConnectionState, transport?: Transport, attempt?: number, reason?: string }} state any of the four above
 * @property {Session} session who the server says we are (after each connection)
 * @property {Message} message a room's next message: once each, in seq order, no gap
 * @property {Message} edited a message's new text (`rev`: the change's position); once per change, in
 *   order: a change repeated by a replay, or not newer than the state already handed out, is not emitted
 * @property {Message} deleted a message deleted (`deleted: true`, empty text); as `edited`
 * @property {Message} reacted a message's reactions changed; as `edited`
 * @property {{ room: string, user: User, online: boolean }} presence
 * @property {{ room: string, user: User, typing: boolean }} typing
 * @property {{ room: string, userId: string, seq: number }} read
 * @property {RoomInfo} joined
 * @property {{ room: string }} left
 * @property {Reply} reply a bot reply started, grew or ended (also the end of a reply this client never
 *   saw streaming, e.g. one that ended while it was away)
 * @property {{ room: string, requestId: string, position: number }} botQueued
 * @property {Outgoing[]} outbox the messages waiting to go out changed
 * @property {Outgoing & Sent} sent a queued message was stored by the server
 * @property {{ message: Outgoing, error: ChatError }} sendFailed the server refused a queued message for good
 * @property {{ message: Outgoing, error: ChatError }} retry a queued message goes out again on the same connection
 *   (no answer in time, `rate_limited`, or `internal`); the same clientId keeps it from being stored twice
 * @property {BotSettings} botSettings a room's bot settings changed
 * @property {ChatError} error a connection refusal that automatic reconnection will not cure
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [url] the server (default: the page's own origin)
 * @property {string} [name] a guest's display name (used when there is no token)
 * @property {string} [token] a JWT; default: the one kept from an earlier session
 * @property {import('./storage.js').StorageLike} [storage] default: localStorage in a browser, memory elsewhere
 * @property {string} [storageKey] prefix of the stored keys (default `chat`)
 * @property {number} [ackTimeout] ms to wait for an acknowledgement (default 10000)
 * @property {import('socket.io-client').ManagerOptions & import('socket.io-client').SocketOptions} [ioOptions]
 *   passed to socket.io-client (transports, reconnectionDelay, …)
 */

/** A fresh clientId for `send`. */
export function newClientId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** How often a queued message refused with `internal` is tried again (with backoff). */
const MAX_INTERNAL_RETRIES = 4;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @extends {Emitter<ClientEvents>}
 */
export class ChatClient extends Emitter {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    super();
    this.url = options.url;
    this.ackTimeout = options.ackTimeout ?? 10000;
    this.ioOptions = options.ioOptions ?? {};
    this.store = new Store(options.storage ?? defaultStorage(), options.storageKey ?? 'chat');

    const saved = this.store.get('session', null);
    /** @type {Session | null} the last session the server announced */
    this.session = saved && typeof saved.token === 'string' ? saved : null;
    /** @type {string | undefined} */
    this.token = options.token ?? this.session?.token;
    /** @type {string | undefined} */
    this.name = options.name ?? this.session?.name;
    if (options.token && this.session && options.token !== this.session.token) this.session = null;

    this.seqs = new Sequencer(this.session ? this.store.get('since', {}) : {});
    this.changes = new ChangeTracker(this.session ? this.store.get('rev', {}) : {});
    /** @type {Outgoing[]} */
    this.outbox = this.session ? this.store.get('outbox', []).filter(validOutgoing) : [];
    /** @type {Map<string, { resolve: (s: Sent) => void, reject: (e: Error) => void }>} */
    this.waiters = new Map();
    this.replies = new ReplyAssembler();

    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {Transport | undefined} */
    this.transport = undefined;
    /** True between `session` and the next disconnection: calls may go out. */
    this.ready = false;
    /** @type {import('socket.io-client').Socket | null} */
    this.socket = null;
    this._filling = new Set();
    this._pumping = false;
    this._pumpAgain = false;
    this._saveQueued = false;
    /** @type {Map<string, number>} `internal` refusals per queued clientId */
    this._internalTries = new Map();
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  /** Open the connection (idempotent). Resolves with the session once the server accepted us. */
  connect() {
    if (!this.socket) this._createSocket();
    const socket = /** @type {import('socket.io-client').Socket} */ (this.socket);
    const session = this.ready
      ? Promise.resolve(/** @type {Session} */ (this.session))
      : new Promise((resolve, reject) => {
        const offs = [
          this.on('session', (s) => {
            offs.forEach((f) => f());
            resolve(s);
          }),
          this.on('error', (e) => {
            offs.forEach((f) => f());
            reject(e);
          }),
        ];
      });
    if (!socket.connected && !socket.active) {
      this._setState('connecting');
      socket.connect();
    }
    return session;
  }

  /** Close the connection; queued messages stay queued (and stored) for the next connect(). */
  disconnect() {
    this.socket?.disconnect();
  }

  /**
   * Forget who we are (token, positions, queued messages): the next connect() is a new guest.
   * @param {string} [name] the new guest name
   */
  resetIdentity(name) {
    this.disconnect();
    this.session = null;
    this.token = undefined;
    if (name !== undefined) this.name = name;
    this.seqs = new Sequencer();
    this.changes = new ChangeTracker();
    for (const w of this.waiters.values()) w.reject(new ChatError('cancelled', 'identity was reset'));
    this.waiters.clear();
    this.outbox = [];
    this.store.set('session', undefined);
    this.store.set('since', undefined);
    this.store.set('rev', undefined);
    this.store.set('outbox', undefined);
    this.emit('outbox', []);
  }

  /**
   * The handshake's auth payload; socket.io-client asks again on every (re)connection. `rev`
   * holds only rooms that are in `since` (the server uses a room's rev only with its since).
   */
  authPayload() {
    const since = this.seqs.snapshot();
    /** @type {{ token?: string, name?: string, since: Record<string, number>, rev: Record<string, number> }} */
    const auth = { since, rev: this.changes.snapshot(Object.keys(since)) };
    if (this.token) auth.token = this.token;
    else if (this.name) auth.name = this.name;
    return auth;
  }

  _createSocket() {
    const opts = {
      autoConnect: false,
      ...this.ioOptions,
      auth: (cb) => cb(this.authPayload()),
    };
    const socket = this.url === undefined ? io(opts) : io(this.url, opts);
    this.socket = socket;
    const manager = socket.io;

    manager.on('open', () => {
      const engine = manager.engine;
      this.transport = engine?.transport?.name;
      engine?.on('upgrade', (transport) => {
        this.transport = transport?.name ?? engine.transport?.name;
        if (this.ready) this._setState('connected');
      });
    });
    manager.on('reconnect_attempt', (attempt) => this._setState('reconnecting', { attempt }));

    socket.on('connect_error', (err) => this._onConnectError(err));
    socket.on('disconnect', (reason) => {
      this.ready = false;
      this._setState('offline', { reason });
    });
    socket.on('session', (s) => this._onSession(s));

    socket.on('message', (m) => m && this._ingest(m.room, [m], { live: true }));
    socket.on('messages', (b) => b && Array.isArray(b.messages) && this._ingest(b.room, b.messages));
    socket.on('edited', (m) => this._onChange('edited', m));
    socket.on('deleted', (m) => this._onChange('deleted', m));
    socket.on('reacted', (m) => this._onChange('reacted', m));
    socket.on('presence', (p) => this.emit('presence', p));
    socket.on('typing', (p) => this.emit('typing', p));
    socket.on('read', (p) => this.emit('read', p));
    socket.on('joined', (info) => this.emit('joined', info));
    socket.on('left', (p) => {
      if (p?.room) {
        this.seqs.forget(p.room);
        this.changes.forget(p.room);
        this._saveSince();
      }
      this.emit('left', p);
    });

    socket.on('bot:queued', (p) => this.emit('botQueued', p));
    socket.on('bot:start', (p) => this._reply(this.replies.start(p)));
    socket.on('bot:snapshot', (p) => this._reply(this.replies.snapshot(p)));
    socket.on('bot:delta', (p) => this._reply(this.replies.delta(p)));
    socket.on('bot:end', (p) => this._onBotEnd(p));
    socket.on('bot:settings', (p) => this.emit('botSettings', p));
  }

  _onConnectError(err) {
    const message = String(err?.message ?? err);
    const code = /^([a-z_]+):/.exec(message)?.[1];
    if (code === 'unauthorized' && this.token && this.name) {
      // The kept token is no longer good (expired, or the server's secret changed): start
      // over as a guest with the same name. Positions belonged to the old user.
      this.token = undefined;
      this.session = null;
      this.seqs = new Sequencer();
      this.changes = new ChangeTracker();
      this.store.set('session', undefined);
      this.store.set('since', undefined);
      this.store.set('rev', undefined);
      this.socket?.connect();
      return;
    }
    if (this.socket?.active) {
      // A transport failure: socket.io-client retries by itself ('reconnecting' follows).
      if (this.state !== 'reconnecting') this._setState('offline', { reason: message });
      return;
    }
    // Refused by the server: retrying the same handshake will not help.
    this._setState('offline', { reason: message });
    this.emit('error', new ChatError(code ?? 'unauthorized', message));
  }

  /** @param {Session} s */
  _onSession(s) {
    if (!s || typeof s.userId !== 'string') return;
    if (this.session && this.session.userId !== s.userId) {
      // Another user than the one whose positions we kept.
      this.seqs = new Sequencer();
      this.changes = new ChangeTracker();
      this._saveSince();
    }
    this.session = { userId: s.userId, name: s.name, guest: !!s.guest, token: s.token };
    if (s.bot && typeof s.bot === 'object') this.session.bot = s.bot;
    this.token = s.token || this.token;
    this.name = s.name;
    this.store.set('session', this.session);
    this.ready = true;
    this.transport = this.socket?.io.engine?.transport?.name ?? this.transport;
    this.emit('session', this.session);
    this._setState('connected');
    this._pump();
    for (const room of this.seqs.rooms.keys()) if (this.seqs.gap(room)) this._fillGap(room);
  }

  /**
   * @param {ConnectionState} state
   * @param {{ attempt?: number, reason?: string }} [extra]
   */
  _setState(state, extra = {}) {
    this.state = state;
    const payload = state === 'connected' ? { transport: this.transport } : extra;
    this.emit('state', { state, transport: this.transport, ...extra });
    this.emit(state, payload);
  }

  // -------------------------------------------------------------------------------------------
  // Calls

  /** Resolves once calls may go out, or rejects with `offline` after `timeout` ms. */
  _whenReady(timeout) {
    if (this.ready && this.socket?.connected) return Promise.resolve();
    if (!this.socket) return Promise.reject(new ChatError('offline', 'not connected: call connect() first'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new ChatError('offline', `not connected within ${timeout} ms`));
      }, timeout);
      const off = this.on('session', () => {
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /**
   * Emit one event now (the connection must be ready) and await its acknowledgement.
   * @param {string} event
   * @param {object} payload
   * @param {number} timeout
   */
  _emit(event, payload, timeout) {
    const socket = this.socket;
    if (!this.ready || !socket?.connected) return Promise.reject(new ChatError('offline', 'not connected', { event }));
    return new Promise((resolve, reject) => {
      // Never let socket.io-client buffer a packet while disconnected (it would send it again
      // on reconnect by itself); we are connected here, so it goes out now.
      socket.timeout(timeout).emit(event, payload, (err, res) => {
        if (err) {
          const code = socket.connected ? 'timeout' : 'disconnected';
          reject(new ChatError(code, `${event}: ${err.message}`, { event }));
        } else if (res && res.ok === true) {
          resolve(res.data);
        } else if (res && res.ok === false) {
          const e = res.error ?? {};
          reject(new ChatError(e.code ?? 'internal', e.message ?? 'refused', { retryAfter: e.retryAfter, event }));
        } else {
          reject(new ChatError('bad_response', `${event}: unexpected acknowledgement ${JSON.stringify(res)}`, { event }));
        }
      });
    });
  }

  /**
   * Wait for the connection (up to the timeout), emit, await the acknowledgement.
   * @template T
   * @param {string} event
   * @param {object} payload
   * @param {{ timeout?: number }} [opts]
   * @returns {Promise<T>}
   */
  async call(event, payload, { timeout = this.ackTimeout } = {}) {
    const started = Date.now();
    await this._whenReady(timeout);
    return this._emit(event, payload, Math.max(1, timeout - (Date.now() - started)));
  }

  /** Public rooms and the caller's private rooms. @returns {Promise<RoomInfo[]>} */
  listRooms() {
    return this.call('rooms', {});
  }

  /**
   * Create a room; the caller becomes a member.
   * @param {string} name
   * @param {{ private?: boolean }} [opts]
   * @returns {Promise<RoomInfo>}
   */
  createRoom(name, opts = {}) {
    return this.call('create', { name, private: !!opts.private });
  }

  /**
   * Join a room (become a member, receive its messages).
   * @param {string} room
   * @param {{ since?: number, rev?: number }} [opts] replay the messages after seq `since` (in their
   *   latest state); with `rev` as well, then the changes after that position to the older
   *   messages (`edited`, `deleted`, the ends of bot replies). `lastSeq(room)` and
   *   `lastRev(room)` are what this client has seen.
   * @returns {Promise<{ room: RoomInfo, online: User[], reads: Read[] }>}
   */
  join(room, opts = {}) {
    const payload = { room };
    if (opts.since !== undefined) payload.since = opts.since;
    if (opts.rev !== undefined) payload.rev = opts.rev;
    return this.call('join', payload);
  }

  /** @param {string} room @returns {Promise<{}>} */
  leave(room) {
    return this.call('leave', { room });
  }

  /**
   * Add a user to a room the caller is a member of.
   * @param {string} room
   * @param {string} user a user id (`bot` for the bot)
   * @returns {Promise<{}>}
   */
  addMember(room, user) {
    return this.call('add', { room, user });
  }

  /**
   * Send a message. It goes into the outbox first and out as soon as the connection is ready,
   * in order, and again with the same clientId after a reconnection if it was not acknowledged.
   * Resolves once the server stored it (however long that takes); rejects if the server refuses
   * it for good (`forbidden`, `too_large`, …). `rate_limited` is retried after `retryAfter`.
   * @param {string} room
   * @param {string} text
   * @param {{ clientId?: string }} [opts]
   * @returns {Promise<Sent>}
   */
  send(room, text, opts = {}) {
    const clientId = opts.clientId ?? newClientId();
    if (typeof room !== 'string' || typeof text !== 'string') {
      return Promise.reject(new ChatError('bad_request', 'room and text must be strings', { event: 'send' }));
    }
    const promise = new Promise((resolve, reject) => {
      const prev = this.waiters.get(clientId);
      this.waiters.set(clientId, {
        resolve: (s) => {
          prev?.resolve(s);
          resolve(s);
        },
        reject: (e) => {
          prev?.reject(e);
          reject(e);
        },
      });
    });
    if (!this.outbox.some((o) => o.clientId === clientId)) {
      this.outbox.push({ room, text, clientId, queuedAt: Date.now() });
      this._saveOutbox();
    }
    this._pump();
    return promise;
  }

  /** Messages not yet acknowledged, oldest first (optionally of one room). */
  pending(room) {
    return this.outbox.filter((o) => room === undefined || o.room === room).map((o) => ({ ...o }));
  }

  /**
   * @param {string} room
   * @param {string} id
   * @param {string} text
   * @returns {Promise<Message>}
   */
  edit(room, id, text) {
    return this.call('edit', { room, id, text });
  }

  /**
   * Delete a message (`delete` on the wire).
   * @param {string} room
   * @param {string} id
   * @returns {Promise<Message>}
   */
  remove(room, id) {
    return this.call('delete', { room, id });
  }

  /**
   * Add (`on: true`) or remove one's reaction to a message; idempotent, so retries are safe.
   * @param {string} room
   * @param {string} id
   * @param {string} emoji one of 👍 👎 ❤️ 😂 🎉 😮 😢 🙏
   * @param {boolean} on
   * @returns {Promise<Message>} the message with its reactions
   */
  react(room, id, emoji, on) {
    return this.call('react', { room, id, emoji, on });
  }

  /**
   * Full-text search over what the caller can read: one room, or all of theirs plus public
   * rooms. Best rank first, up to 20; pass `next` back as `before` for the next page.
   * @param {string} query
   * @param {{ room?: string, before?: string }} [opts]
   * @returns {Promise<{ messages: Message[], next?: string }>}
   */
  search(query, opts = {}) {
    const payload = { query };
    if (opts.room) payload.room = opts.room;
    if (opts.before) payload.before = opts.before;
    return this.call('search', payload);
  }

  /**
   * A page of a room's messages, in seq order: with `after`, the oldest after it; otherwise the
   * newest before `before` (or the newest of all). A page that reaches the newest messages
   * counts as seen: its messages are not handed out again as `message` events.
   * @param {string} room
   * @param {{ before?: number, after?: number, limit?: number }} [opts]
   * @returns {Promise<{ messages: Message[] }>}
   */
  async history(room, opts = {}) {
    const payload = { room };
    for (const k of ['before', 'after', 'limit']) if (opts[k] !== undefined) payload[k] = opts[k];
    const res = await this.call('history', payload);
    const messages = Array.isArray(res?.messages) ? res.messages : [];
    // The caller holds these now, in their latest state: a replayed change as old is not news.
    this._hold(messages);
    if (messages.length && opts.before === undefined) {
      const last = this.seqs.last(room);
      const contiguous = opts.after === undefined || (last !== undefined && opts.after <= last);
      if (contiguous) {
        const max = messages[messages.length - 1].seq;
        this._deliver(this.seqs.advance(room, max));
        this._saveSince();
      }
    }
    return { messages };
  }

  /** @param {string} room @returns {Promise<{ online: User[] }>} */
  presence(room) {
    return this.call('presence', { room });
  }

  /**
   * Tell the room we are typing (lasts a few seconds unless repeated) or stopped.
   * @param {string} room
   * @param {boolean} typing
   * @returns {Promise<{}>}
   */
  setTyping(room, typing) {
    return this.call('typing', { room, typing: !!typing });
  }

  /**
   * Move our read mark forward.
   * @param {string} room
   * @param {number} seq
   * @returns {Promise<{ seq: number }>} the mark now in force
   */
  markRead(room, seq) {
    return this.call('read', { room, seq });
  }

  /** Our private room with the bot (created on first use). @returns {Promise<RoomInfo>} */
  openBotRoom() {
    return this.call('bot:open', {});
  }

  /**
   * Stop a bot reply that is being written.
   * @param {string} room
   * @param {string} id the reply's message id
   * @returns {Promise<{}>}
   */
  cancelReply(room, id) {
    return this.call('cancel', { room, id });
  }

  /**
   * A room's bot settings; with changes (the room's creator only), sets them.
   * @param {string} room
   * @param {Partial<Omit<BotSettings, 'room'>>} [changes]
   * @returns {Promise<BotSettings>}
   */
  botSettings(room, changes = {}) {
    return this.call('bot:settings', { room, ...changes });
  }

  /**
   * A new reply to the request a bot reply answered, as that request reads now.
   * @param {string} room
   * @param {string} id the reply to replace (it is kept)
   * @returns {Promise<{ requestId: string }>}
   */
  regenerate(room, id) {
    return this.call('bot:regenerate', { room, id });
  }

  /**
   * A new reply that goes on from one that ended at its length limit or was stopped.
   * @param {string} room
   * @param {string} id
   * @returns {Promise<{ requestId: string }>}
   */
  continueReply(room, id) {
    return this.call('bot:continue', { room, id });
  }

  /**
   * The caller's bot usage today and this month (UTC), in one room or all.
   * @param {string} [room]
   * @returns {Promise<{ today: Usage, month: Usage }>}
   */
  usage(room) {
    return this.call('bot:usage', room ? { room } : {});
  }

  /** Bot replies still being written in a room. @param {string} room @returns {Reply[]} */
  streaming(room) {
    return this.replies.streaming(room);
  }

  /** The last seq seen in a room (undefined if unknown). @param {string} room */
  lastSeq(room) {
    return this.seqs.last(room);
  }

  /**
   * The highest change position (`rev`) seen in a room's `message`, `edited`, `deleted` and
   * `bot:end` events (undefined if unknown). @param {string} room
   */
  lastRev(room) {
    return this.changes.last(room);
  }

  // -------------------------------------------------------------------------------------------
  // Ordering and recovery

  /**
   * @param {string} room
   * @param {Message[]} messages
   * @param {{ live?: boolean }} [opts] live: a `message` event, whose rev is the room's position;
   *   otherwise a `messages` batch or a history page, whose revs may be ahead of changes to older
   *   messages not replayed yet, so they do not move it
   */
  _ingest(room, messages, { live = false } = {}) {
    if (typeof room !== 'string') return;
    if (live) {
      for (const m of messages) this.changes.seeRoom(room, m?.rev);
      this._saveSince();
    }
    const { deliver, gap } = this.seqs.accept(room, messages);
    this._deliver(deliver);
    if (gap) this._fillGap(room);
  }

  _deliver(messages) {
    if (!messages.length) return;
    this._saveSince();
    this._hold(messages);
    for (const m of messages) this.emit('message', m);
  }

  /**
   * Messages handed to the application (delivered, or a history page): remember the rev of the
   * state it now has, and finish a reply still streaming here that they show finished.
   * @param {Message[]} messages
   */
  _hold(messages) {
    for (const m of messages) {
      if (!m || typeof m.id !== 'string') continue;
      this.changes.hold(m.id, m.rev);
      if (m.status !== 'streaming' && this.replies.replies.has(m.id)) {
        this._reply(this.replies.end({
          room: m.room,
          id: m.id,
          seq: m.seq,
          rev: m.rev,
          text: m.text,
          finishReason: m.meta?.finishReason,
          usage: m.meta?.usage,
          error: m.meta?.error,
        }));
      }
    }
  }

  /**
   * `edited` or `deleted`, live or replayed: moves the room's position; emitted unless the
   * client already holds that message at this rev or a later one. A change to a message held
   * back (ahead of a gap) updates it instead, and it is handed out in that state.
   * @param {'edited'|'deleted'|'reacted'} kind
   * @param {Message} m
   */
  _onChange(kind, m) {
    if (!m || typeof m.room !== 'string' || typeof m.id !== 'string') return;
    this.changes.seeRoom(m.room, m.rev);
    this._saveSince();
    const held = this.seqs.held(m.room, m.seq, m.id);
    if (held) {
      if (isNewer(m.rev, held.rev)) this.seqs.held(m.room, m.seq, m.id, () => m);
      return;
    }
    if (!this.changes.isNew(m.id, m.rev)) return;
    this.changes.hold(m.id, m.rev);
    this.emit(kind, m);
  }

  /**
   * `bot:end`, live or replayed (`{ room, id, seq, rev, text, finishReason, usage?, error? }`).
   * It always finishes a reply this client is assembling; otherwise (a reply never seen
   * streaming, e.g. one that ended while the client was away) it is applied unless the client
   * already holds that message at this rev or a later one.
   */
  _onBotEnd(p) {
    if (!p || typeof p.id !== 'string') return;
    let held;
    if (typeof p.room === 'string') {
      this.changes.seeRoom(p.room, p.rev);
      this._saveSince();
      held = this.seqs.held(p.room, p.seq, p.id, (m) => (isNewer(p.rev, m.rev) ? {
        ...m,
        text: p.text ?? m.text,
        status: undefined,
        rev: p.rev ?? m.rev,
        meta: { finishReason: p.finishReason, usage: p.usage, error: p.error },
      } : m));
    }
    const inProgress = this.replies.replies.has(p.id);
    if (!inProgress && (held || !this.changes.isNew(p.id, p.rev))) return;
    this.changes.hold(p.id, p.rev);
    this._reply(this.replies.end(p));
  }

  /** Fetch what is missing before held-back messages, with `history` after the position. */
  async _fillGap(room) {
    if (this._filling.has(room)) return;
    this._filling.add(room);
    try {
      for (let round = 0; round < 1000; round++) {
        const gap = this.seqs.gap(room);
        if (!gap || !this.ready) break;
        const res = await this._emit('history', { room, after: gap.after, limit: 100 }, this.ackTimeout);
        const before = this.seqs.last(room);
        const { deliver } = this.seqs.accept(room, res?.messages ?? []);
        this._deliver(deliver);
        if (this.seqs.last(room) === before) break; // nothing new: the next connection's replay repairs it
      }
    } catch {
      // Lost the connection or the room: `auth.since` on the next connection replays the rest.
    } finally {
      this._filling.delete(room);
    }
  }

  _saveSince() {
    if (this._saveQueued) return;
    this._saveQueued = true;
    queueMicrotask(() => {
      this._saveQueued = false;
      this.store.set('since', this.seqs.snapshot());
      this.store.set('rev', this.changes.snapshot());
    });
  }

  _saveOutbox() {
    this.store.set('outbox', this.outbox);
    this.emit('outbox', this.pending());
  }

  _reply(reply) {
    if (reply) this.emit('reply', reply);
  }

  // -------------------------------------------------------------------------------------------
  // The outbox: one message in flight at a time, so the server stores them in the order sent.

  async _pump() {
    if (this._pumping) {
      this._pumpAgain = true;
      return;
    }
    this._pumping = true;
    try {
      do {
        this._pumpAgain = false;
        while (this.outbox.length && this.ready) {
          const item = this.outbox[0];
          let sent;
          try {
            sent = await this._emit('send', { room: item.room, text: item.text, clientId: item.clientId }, this.ackTimeout);
          } catch (err) {
            if (err.code === 'timeout' && this.ready) {
              this.emit('retry', { message: item, error: err });
              continue; // same clientId: no duplicate
            }
            if (TRANSIENT.has(err.code)) break; // the next session resumes
            if (err.code === 'rate_limited') {
              this.emit('retry', { message: item, error: err });
              await delay(Math.min(Math.max(err.retryAfter ?? 1000, 50), 60000));
              continue;
            }
            // The server failed (say, a busy database): the same clientId makes a retry safe.
            const tries = (this._internalTries.get(item.clientId) ?? 0) + 1;
            if (err.code === 'internal' && tries <= MAX_INTERNAL_RETRIES) {
              this._internalTries.set(item.clientId, tries);
              this.emit('retry', { message: item, error: err });
              await delay(100 * 2 ** (tries - 1));
              continue;
            }
            this._internalTries.delete(item.clientId);
            this._dequeue(item);
            this.waiters.get(item.clientId)?.reject(err);
            this.waiters.delete(item.clientId);
            this.emit('sendFailed', { message: item, error: err });
            continue;
          }
          this._internalTries.delete(item.clientId);
          this._dequeue(item);
          this.waiters.get(item.clientId)?.resolve(sent);
          this.waiters.delete(item.clientId);
          this.emit('sent', { ...item, ...sent });
        }
      } while (this._pumpAgain && this.ready);
    } finally {
      this._pumping = false;
    }
  }

  _dequeue(item) {
    const i = this.outbox.indexOf(item);
    if (i >= 0) this.outbox.splice(i, 1);
    this._saveOutbox();
  }
}

/** Whether rev `a` is after rev `b` (a missing rev counts as newer: an older server sent it). */
function isNewer(a, b) {
  return !Number.isInteger(a) || !Number.isInteger(b) || a > b;
}

function validOutgoing(o) {
  return o && typeof o.room === 'string' && typeof o.text === 'string' && typeof o.clientId === 'string';
}

/**
 * Make a client (not yet connected: call `connect()`).
 * @param {ClientOptions} [options]
 */
export function createClient(options) {
  return new ChatClient(options);
}
