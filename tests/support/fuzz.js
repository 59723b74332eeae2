// A deterministic generator of hostile inputs for the chat server (tests/hostile/), and the few
// encoders it needs: a seeded PRNG and a hand-made msgpack writer that can also write what no
// correct encoder would (invalid UTF-8, lengths that lie, reserved bytes).
//
// A case is data: { n, cat, stage, steps, expect }.
//  - stage: 'http' (a request of its own), 'engine' (after the Engine.IO handshake, no namespace
//    yet) or 'nsp' (connected to "/" as a guest, `session` received).
//  - steps: { text } an Engine.IO text message (type char included), { textBytes } a text message
//    made of raw bytes (maybe invalid UTF-8), { bin } a binary message, { body } a raw long-polling
//    POST body, { sio } a Socket.IO packet the parser of the run encodes, { call, payload, expect }
//    a chat event with an acknowledgement ('error': answered ok:false with a known code, 'ok',
//    'envelope': any answer of the documented shape, 'maybe': an answer is optional).
//  - expect: 'any' (the server may close the connection; if it does not, it must still answer)
//    or 'closed' (the server must end the connection or refuse the request).
// '$ROOM' anywhere in a step stands for the shared room's id, filled in when the case runs.

/** mulberry32: a small PRNG with a fixed seed, so every run sends the same inputs. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
    ascii: (n) => Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(next() * 95))).join(''),
    unicode: (n) => Array.from({ length: n }, () => r.pick(['é', '😀', '\u202e', '\u200b', 'ß', '中', '\u0301', 'a', '"', '\\', '\n', '\u2028'])).join(''),
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// msgpack

/** Bytes written as they are, inside a value given to `msgpack`. */
export const raw = (bytes) => ({ [RAW]: Buffer.from(bytes) });
const RAW = Symbol('raw msgpack bytes');
/** A msgpack str whose bytes are given (so they may be invalid UTF-8). */
export const strBytes = (bytes) => {
  const b = Buffer.from(bytes);
  return raw(Buffer.concat([b.length < 32 ? Buffer.from([0xa0 | b.length]) : Buffer.from([0xd9, b.length]), b]));
};

function uint(prefix, size, value) {
  const b = Buffer.alloc(1 + size);
  b[0] = prefix;
  if (size === 1) b.writeUInt8(value, 1);
  else if (size === 2) b.writeUInt16BE(value, 1);
  else if (size === 4) b.writeUInt32BE(value, 1);
  else b.writeBigUInt64BE(BigInt(value), 1);
  return b;
}

function lengthPrefixed(fix, fixMax, codes, n) {
  if (fix !== null && n <= fixMax) return Buffer.from([fix | n]);
  if (codes[0] !== null && n < 0x100) return uint(codes[0], 1, n);
  if (n < 0x10000) return uint(codes[1], 2, n);
  return uint(codes[2], 4, n);
}

/** msgpack encoding of a JS value (Buffers as bin, bigints as 64-bit ints, `raw` as is). */
export function msgpack(value) {
  const out = [];
  const put = (v) => {
    if (v === null || v === undefined) out.push(Buffer.from([0xc0]));
    else if (v === true || v === false) out.push(Buffer.from([v ? 0xc3 : 0xc2]));
    else if (typeof v === 'bigint') {
      const b = Buffer.alloc(9);
      if (v < 0n) { b[0] = 0xd3; b.writeBigInt64BE(v, 1); } else { b[0] = 0xcf; b.writeBigUInt64BE(v, 1); }
      out.push(b);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
        out.push(v < 128 ? Buffer.from([v]) : v < 0x100 ? uint(0xcc, 1, v) : v < 0x10000 ? uint(0xcd, 2, v) : uint(0xce, 4, v));
      } else if (Number.isInteger(v) && v < 0 && v >= -32) {
        out.push(Buffer.from([0xe0 | (v + 32)]));
      } else if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) {
        const b = Buffer.alloc(5);
        b[0] = 0xd2;
        b.writeInt32BE(v, 1);
        out.push(b);
      } else {
        const b = Buffer.alloc(9);
        b[0] = 0xcb;
        b.writeDoubleBE(v, 1);
        out.push(b);
      }
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      out.push(lengthPrefixed(0xa0, 31, [0xd9, 0xda, 0xdb], b.length), b);
    } else if (Buffer.isBuffer(v)) {
      out.push(lengthPrefixed(null, 0, [0xc4, 0xc5, 0xc6], v.length), v);
    } else if (Array.isArray(v)) {
      out.push(lengthPrefixed(0x90, 15, [null, 0xdc, 0xdd], v.length));
      for (const item of v) put(item);
    } else if (v[RAW]) {
      out.push(v[RAW]);
    } else {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      out.push(lengthPrefixed(0x80, 15, [null, 0xde, 0xdf], entries.length));
      for (const [k, x] of entries) { put(k); put(x); }
    }
  };
  put(value);
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------------------------
// Chat events of the wrong shape (valid JSON and msgpack, so the chat's handlers see them).

/** Field kinds of every chat event that takes a payload (docs/PROTOCOL.md). */
const SHAPES = {
  create: { name: 'str', private: 'bool?' },
  join: { room: 'room', since: 'int?' },
  leave: { room: 'room' },
  add: { room: 'room', user: 'str' },
  send: { room: 'room', text: 'text', clientId: 'cid' },
  edit: { room: 'room', id: 'str', text: 'text' },
  delete: { room: 'room', id: 'str' },
  history: { room: 'room', before: 'int?', after: 'int?', limit: 'int?' },
  presence: { room: 'room' },
  typing: { room: 'room', typing: 'bool' },
  read: { room: 'room', seq: 'int' },
  cancel: { room: 'room', id: 'str' },
};
const EVENTS = Object.keys(SHAPES);
const ERROR_CODES = ['bad_request', 'too_large', 'forbidden', 'not_found', 'rate_limited', 'queue_full'];
export { ERROR_CODES };

const good = (kind, r) => ({
  room: '$ROOM', str: `x${r.int(1000)}`, text: `hi ${r.int(1000)}`, cid: `c${r.int(1e9)}`,
  int: 1, 'int?': 1, bool: true, 'bool?': false,
})[kind];

/** A value of the wrong type for a field of `kind` (never a valid one, also not null for `?`). */
function wrongValue(kind, r) {
  const strings = ['room', 'str', 'text', 'cid'];
  if (strings.includes(kind)) return r.pick([42, -1, 1.5, true, null, [], ['$ROOM'], {}, { room: '$ROOM' }, 1e300]);
  if (kind.startsWith('int')) return r.pick(['1', 'x', 1.5, true, [], {}, [1], 1e300, -1e300, ...(kind === 'int' ? [null] : [])]);
  return r.pick(['true', 1, 0, [], {}, 'yes', ...(kind === 'bool' ? [null] : [])]);
}

/** A payload that is not an object (arrays hold no strings, so no field can be read from them). */
const notAnObject = (r) => r.pick([0, -1, 42, 1.5, 1e300, true, false, null, '', 'str', '$ROOM', [], [1, 2, 3], [null], [[[]]], [{}], 'x'.repeat(2000)]);

/** Type-correct payloads the protocol refuses (docs/PROTOCOL.md: Errors). */
function refusedPayload(r) {
  return r.pick([
    ['send', { room: '$ROOM', text: '', clientId: 'c1' }],
    ['send', { room: '$ROOM', text: '   \n\t ', clientId: 'c1' }],
    ['send', { room: '$ROOM', text: 'é'.repeat(2100 + r.int(3000)), clientId: 'c1' }],
    ['send', { room: '$ROOM', text: 'x'.repeat(4097 + r.int(50000)), clientId: 'c1' }],
    ['send', { room: '$ROOM', text: 'hi', clientId: '' }],
    ['send', { room: '$ROOM', text: 'hi', clientId: 'k'.repeat(65 + r.int(500)) }],
    ['send', { room: `no-such-room-${r.int(1e6)}`, text: 'hi', clientId: 'c1' }],
    ['send', { room: 'x'.repeat(20000 + r.int(20000)), text: 'hi', clientId: 'c1' }],
    ['send', { room: '$ROOM', text: 'not a member yet', clientId: `c${r.int(1e9)}` }],
    ['history', { room: '$ROOM', limit: 101 + r.int(1e6) }],
    ['history', { room: `no-such-room-${r.int(1e6)}` }],
    ['join', { room: `no-such-room-${r.int(1e6)}` }],
    ['join', { room: '' }],
    ['leave', { room: `no-such-room-${r.int(1e6)}` }],
    ['presence', { room: `no-such-room-${r.int(1e6)}` }],
    ['typing', { room: '$ROOM', typing: true }],
    ['edit', { room: '$ROOM', id: `m_nope${r.int(1e6)}`, text: 'x' }],
    ['delete', { room: '$ROOM', id: `m_nope${r.int(1e6)}` }],
    ['add', { room: '$ROOM', user: `nobody-${r.int(1e6)}` }],
    ['create', { name: '' }],
    ['cancel', { room: '$ROOM', id: `m_nope${r.int(1e6)}` }],
  ]);
}

/** One call step: a chat event of a wrong shape (answered ok:false) or a junk payload for an
 * event that takes none (`rooms`, `bot:open`: any envelope), or an unknown event (no answer needed). */
export function wrongShapeCall(r) {
  const mode = r.int(10);
  if (mode === 0) return { call: r.pick(['rooms', 'bot:open']), payload: notAnObject(r), expect: 'envelope' };
  if (mode === 1) {
    const event = r.pick(['', ' send', 'send ', 'SEND', '__proto__', 'constructor', 'message', 'x'.repeat(1000), 'bot:', 'bot:delta', 'session', 'presence\u0000']);
    return { call: event, payload: {}, expect: 'maybe' };
  }
  if (mode <= 3) {
    const [call, payload] = refusedPayload(r);
    return { call, payload, expect: 'error' };
  }
  const event = r.pick(EVENTS);
  if (mode <= 5) return { call: event, payload: notAnObject(r), expect: 'error' };
  const shape = SHAPES[event];
  const payload = Object.fromEntries(Object.entries(shape).map(([k, kind]) => [k, good(kind, r)]));
  const required = Object.keys(shape).filter((k) => !shape[k].endsWith('?'));
  if (mode === 6) {
    delete payload[r.pick(required)];
  } else {
    const field = r.pick(Object.keys(shape));
    payload[field] = wrongValue(shape[field], r);
  }
  if (r.chance(0.2)) payload.__proto__extra = { nested: [1, { deeper: null }] };
  return { call: event, payload, expect: 'error' };
}

/** Texts that are valid but unusual; sent by hostile sessions into the shared room. */
export function oddText(r) {
  return r.pick([
    () => r.unicode(1 + r.int(200)),
    () => `\u202e${r.ascii(20)}\u202c`,
    () => '😀'.repeat(1 + r.int(1000)),
    () => `<script>alert(${r.int(100)})</script>`,
    () => `{"_placeholder":true,"num":${r.int(5)}}`,
    () => `${r.ascii(1 + r.int(100))} @nobody`,
    () => 'x'.repeat(4096),
    () => `a\u0000b`,
    () => `line\x1eseparated\x1e42["send"]`,
  ])();
}

// ---------------------------------------------------------------------------------------------
// Protocol garbage

const deepJson = (d, obj) => (obj ? `${'{"a":'.repeat(d)}1${'}'.repeat(d)}` : `${'['.repeat(d)}${']'.repeat(d)}`);
const DEPTHS = [64, 127, 128, 129, 500, 5000, 20000];

/** Engine.IO-level garbage (text), for both parsers. */
function engineGarbage(r) {
  return { text: r.pick(['', '7', '8', '9', 'x', 'zzz', '0', '0{}', '1', '2', '2probe', '3', '3probe', '5', '6', '6extra', '4', '\u0000', '\uffff', '9'.repeat(500), r.ascii(1 + r.int(40)), r.unicode(1 + r.int(40))]) };
}

/** Socket.IO packets as text with the default parser: each text is sent as the Engine.IO message '4' + text. */
function jsonGarbage(r, stage) {
  const valid = `2${1 + r.int(99)}["send",{"room":"$ROOM","text":"hi","clientId":"c${r.int(1e6)}"}]`;
  const placeholder = (num) => `{"_placeholder":true,"num":${num}}`;
  const kinds = [
    () => [`${r.pick(['7', '8', '9', 'a', '-', '+', ' ', 'é', '\u0000'])}${r.pick(['', '["x"]', '/,', '{}'])}`],
    () => [r.pick(['2/nope,["rooms",{}]', '0/nope,', '2/,["x"]', `0/${'a'.repeat(1 + r.int(5000))},`, '2/no-comma["x"]', '0/\u0000,', '0/😀,', '0//,', '0/../,', '2/ ,["rooms",{}]', `0${'/'.repeat(100)},`, '1/nope,', '0/,{"name":"slash"}', '2nsp,["x"]'])],
    () => [valid.slice(0, 1 + r.int(valid.length - 1))],
    () => [`2["x",${deepJson(r.pick(DEPTHS), r.chance(0.5))}]`],
    () => [`2${deepJson(r.pick(DEPTHS), r.chance(0.5))}`],
    () => [`0${deepJson(r.pick(DEPTHS), true)}`],
    () => [r.pick([
      `2${'9'.repeat(20 + r.int(400))}["rooms",{}]`, '2["history",{"room":"$ROOM","limit":1e999}]', '2["x",-1e400]',
      `5${'9'.repeat(30)}-["x"]`, `3${'9'.repeat(25)}[]`, '2-1["x"]', '2 1["x"]', '21.5["rooms",{}]',
      '2["x",123456789012345678901234567890123456789]', '2["read",{"room":"$ROOM","seq":99999999999999999999}]',
      '2["x",0.0000001e-400]', '2["x",-0]', '218446744073709551616["rooms",{}]', '29223372036854775808["rooms",{}]',
    ])],
    () => {
      const k = r.int(9);
      const bins = Array.from({ length: r.int(4) }, () => ({ bin: r.bytes(r.int(64)) }));
      const head = [
        '51-["x"]', `52-["x",${placeholder(0)}]`, `51-["x",${placeholder(5)}]`, `50-["x",${placeholder(0)}]`,
        '5-1-["x"]', '5abc-["x"]', `61-[${placeholder(0)}]`, `51-["x",{"_placeholder":true}]`, `51-["x",{"_placeholder":true,"num":"0"}]`,
      ][k];
      return [head, ...bins];
    },
    () => [r.pick(['3999["x"]', '3[]', '31', '3', '6', '61-', '4{"message":"from client"}', '4', '1', '1/nope,'])],
    () => [r.pick(['0"str"', '0[1,2]', '042', '0{"name":""}', `0{"name":"${'n'.repeat(65 + r.int(100))}"}`, '0{"token":"garbage"}', '0{"token":123}', '0{"name":"a\\u0000b"}', '0{"since":{"$ROOM":-5},"name":"s"}', '0{"name":"again"}', '0null'])],
    () => [r.pick(['2{"a":1}', '2"str"', '2null', '2[]', '2[1,2]', '2[null]', '2[{"a":1}]', '2["x",]', '2["x" "y"]', "2['x']", '2["x",NaN]', '2["x",Infinity]', '2["\\ud800"]', '2["\\u00"]', '2["x"]garbage', '2["x"]]', '2 ["rooms"]'])],
  ];
  const parts = r.pick(kinds)();
  return parts.map((p) => (typeof p === 'string' ? { text: `4${p}` } : p));
}

/** Socket.IO packets for the msgpack parser: binary messages, well-formed or not. */
function msgpackGarbage(r) {
  const deep = (d) => raw(Buffer.concat([Buffer.alloc(d, 0x91), Buffer.from([0xc0])]));
  const deepMap = (d) => raw(Buffer.concat([...Array.from({ length: d }, () => Buffer.from([0x81, 0xa1, 0x61])), Buffer.from([0x01])]));
  const valid = msgpack({ type: 2, nsp: '/', data: ['send', { room: '$ROOM', text: 'hi', clientId: `c${r.int(1e6)}` }], id: 5 });
  const kinds = [
    () => msgpack(r.pick([
      { type: 7, nsp: '/', data: ['x'] }, { type: -1, nsp: '/' }, { type: 'x', nsp: '/' }, { type: 2.5, nsp: '/', data: ['x'] },
      { type: null }, {}, { type: 2 }, { type: 2, nsp: 5, data: ['x'] }, { type: 2, nsp: '/', data: 'x' }, { type: 2, nsp: '/', data: [] },
      { type: 2, nsp: '/', data: [1, 2] }, { type: 2, nsp: '/', data: [null] }, { type: 2, nsp: '/', data: ['rooms', {}], id: -1 },
      { type: 2, nsp: '/', data: ['rooms', {}], id: 2n ** 64n - 1n }, { type: 2, nsp: '/', data: ['rooms', {}], id: 'x' },
      { type: 2, nsp: '/', data: ['rooms', {}], id: 1.5 }, { type: 0, nsp: '/nope' }, { type: 0, nsp: '/', data: 'str' },
      { type: 0, nsp: '/', data: [1] }, { type: 1, nsp: '/' }, { type: 3, nsp: '/', id: 999, data: [] }, { type: 4, nsp: '/', data: 'x' },
      { type: 5, nsp: '/', data: ['x'], attachments: 1 }, { type: 6, nsp: '/', data: [], id: 1 }, { type: 2, nsp: '/', data: ['x'], attachments: 3 },
      { type: 2, nsp: '/nope', data: ['rooms', {}], id: 3 }, { type: 0, nsp: '', data: { name: 'empty nsp' } },
    ])),
    () => msgpack(r.pick([5, 'str', [1, 2], null, true, Buffer.from('bin'), 1.5, -1n])),
    () => msgpack({ type: 2, nsp: '/', data: ['x', r.chance(0.5) ? deep(r.pick(DEPTHS)) : deepMap(r.pick(DEPTHS.slice(0, 6)))] }),
    () => msgpack(r.chance(0.5) ? deep(r.pick(DEPTHS)) : { type: 0, nsp: '/', data: deepMap(r.pick(DEPTHS.slice(0, 6))) }),
    () => msgpack({ type: 2, nsp: '/', data: [r.pick(['history', 'read', 'join']), { room: '$ROOM', limit: r.pick([2n ** 64n - 1n, -(2n ** 63n), NaN, Infinity, -0]), seq: 2n ** 63n, since: NaN }], id: 4 }),
    () => msgpack({ type: 2, nsp: r.pick(['/', strBytes([0x2f, 0xff])]), data: [strBytes(r.pick([[0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x73, 0x65, 0x6e, 0x64, 0xc3]])), { room: '$ROOM' }], id: 6 }),
    () => valid.subarray(0, 1 + r.int(valid.length - 1)),
    () => Buffer.concat([Buffer.from(r.pick([[0xdd], [0xdf], [0xdb], [0xc6], [0xdc], [0xda]])), Buffer.from([0xff, 0xff, 0xff, 0xff]).subarray(0, r.pick([2, 4])), r.bytes(r.int(16))]),
    () => Buffer.from(r.pick([[0xd4, 0x05, 0x01], [0xc7, 0x03, 0x07, 1, 2, 3], [0xd6, 0xff, 0, 0, 0, 1], [0xc1], [0xc1, 0xc1], [0x82, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xc1]])),
    () => Buffer.concat([valid, r.bytes(1 + r.int(8))]),
    () => msgpack({ type: 2, nsp: '/', data: ['rooms', {}], id: 1, extra: { deep: [1, [2, [3]]] }, attachments: 'x' }),
    () => r.bytes(r.int(200)),
  ];
  const parts = [{ bin: r.pick(kinds)() }];
  if (r.chance(0.1)) parts.unshift({ text: `4${r.pick(['2["rooms",{}]', '0{"name":"text"}', '0', 'garbage'])}` });
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Cases

/** Raw long-polling bodies with misplaced record separators (\x1e). */
function separatorBody(r, parser) {
  const b = parser === 'msgpack' ? `b${msgpack({ type: 2, nsp: '/', data: ['rooms', {}] }).toString('base64')}` : '42["rooms",{}]';
  return r.pick(['\x1e', '\x1e\x1e', '6\x1e', '\x1e6', '6\x1e\x1e6', '42["x"\x1e]', '\x1e'.repeat(1000), 'b\x1e', `b!!!notbase64\x1e${b}`,
    `6\x1eb`, '42["send",{"room":"$ROOM","text":"a\x1eb","clientId":"rs"}]', `${b}\x1e`, `\x1e${b}`, `${b}\x1e\x1e${b}`, `${b}\x1e7`, `${b}\x1e${'6\x1e'.repeat(300)}6`]);
}

const INVALID_UTF8 = [[0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3]];

const HTTP_POLLING = [
  () => ({ kind: 'unknown-sid' }), () => ({ kind: 'bad-sid' }), () => ({ kind: 'reused-sid' }), () => ({ kind: 'bad-query' }),
  () => ({ kind: 'post-handshake' }), () => ({ kind: 'bad-method' }), () => ({ kind: 'overlapping-get' }),
];
const HTTP_WEBSOCKET = [
  () => ({ kind: 'ws-unknown-sid' }), () => ({ kind: 'ws-bad-sid' }), () => ({ kind: 'ws-reused-sid' }), () => ({ kind: 'ws-bad-query' }),
  () => ({ kind: 'ws-second-upgrade' }),
];

/**
 * `count` cases for one parser ('json' | 'msgpack') and transport ('websocket' | 'polling'),
 * generated from `seed`. `maxPayload` is the server's --max-payload-bytes.
 */
export function generateCases({ parser, transport, seed, count, maxPayload }) {
  const r = prng(seed);
  const polling = transport === 'polling';
  const cases = [];
  const categories = [
    ['chat-shape', 26, () => ({ stage: 'nsp', steps: Array.from({ length: 1 + r.int(6) }, () => wrongShapeCall(r)), expect: 'any' })],
    ['valid-send', 5, () => ({
      stage: 'nsp',
      steps: [{ call: 'join', payload: { room: '$ROOM' }, expect: 'ok' },
        ...Array.from({ length: 1 + r.int(3) }, () => ({ call: 'send', payload: { room: '$ROOM', text: oddText(r), clientId: `h${r.int(1e12)}` }, expect: 'envelope', record: true }))],
      expect: 'any',
    })],
    ['engine-garbage', 9, () => ({ stage: r.pick(['engine', 'nsp']), steps: [engineGarbage(r)], expect: 'any' })],
    ['binary-garbage', 5, () => ({ stage: r.pick(['engine', 'nsp']), steps: [{ bin: r.bytes(r.int(300)) }], expect: 'any' })],
    ['invalid-utf8', 5, () => {
      const bytes = Buffer.concat([Buffer.from('42["send",{"room":"$ROOM","text":"'), Buffer.from(r.pick(INVALID_UTF8)), Buffer.from('","clientId":"u"}]')]);
      // RFC 6455: a text frame that is not UTF-8 fails the connection.
      return { stage: r.pick(['engine', 'nsp']), steps: [{ textBytes: bytes }], expect: polling ? 'any' : 'closed' };
    }],
    ['oversized', 3, () => {
      const size = maxPayload + 1 + r.int(maxPayload * 2);
      const big = parser === 'msgpack' ? { bin: msgpack({ type: 2, nsp: '/', data: ['x', 'a'.repeat(size)] }) } : { text: `42["x","${'a'.repeat(size)}"]` };
      return { stage: r.pick(['engine', 'nsp']), steps: [big], expect: 'closed' };
    }],
    ['protocol-garbage', 30, () => ({ stage: r.pick(['engine', 'nsp', 'nsp']), steps: parser === 'msgpack' ? msgpackGarbage(r) : jsonGarbage(r), expect: 'any' })],
    ['record-separator', polling ? 6 : 0, () => ({ stage: r.pick(['engine', 'nsp']), steps: [{ body: separatorBody(r, parser) }], expect: 'any' })],
    ['http', 8, () => ({ stage: 'http', http: r.pick(polling ? HTTP_POLLING : HTTP_WEBSOCKET)(), seed: r.int(1e9), expect: 'closed' })],
  ];
  const total = categories.reduce((s, [, w]) => s + w, 0);
  for (let n = 0; n < count; n++) {
    let x = r.int(total);
    const [cat, , make] = categories.find(([, w]) => (x -= w) < 0);
    cases.push({ n, cat, parser, transport, ...make() });
  }
  return cases;
}

/** '$ROOM' replaced by `room` in strings, Buffers (same length is not kept) and nested values. */
export function fillRoom(value, room) {
  if (typeof value === 'string') return value.replaceAll('$ROOM', room);
  if (Array.isArray(value)) return value.map((v) => fillRoom(v, room));
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !value[RAW]) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [fillRoom(k, room), fillRoom(v, room)]));
  }
  return value;
}

/** A short, printable description of a case's steps, for failure messages. */
export function describeCase(c) {
  const show = (s) => {
    if (s.call !== undefined) return `call ${JSON.stringify(s.call).slice(0, 40)} ${JSON.stringify(s.payload)?.slice(0, 120)} (expect ${s.expect})`;
    if (s.text !== undefined) return `text ${JSON.stringify(s.text.slice(0, 120))}${s.text.length > 120 ? `…(${s.text.length})` : ''}`;
    if (s.textBytes) return `textBytes ${s.textBytes.toString('hex').slice(0, 120)}`;
    if (s.bin) return `bin ${s.bin.toString('hex').slice(0, 120)}${s.bin.length > 60 ? `…(${s.bin.length})` : ''}`;
    if (s.body !== undefined) return `body ${JSON.stringify(String(s.body).slice(0, 120))}`;
    return JSON.stringify(s).slice(0, 120);
  };
  const what = c.stage === 'http' ? JSON.stringify(c.http) : c.steps.map(show).join(' | ');
  return `#${c.n} ${c.parser}/${c.transport} ${c.cat} [${c.stage}] ${what}`;
}
