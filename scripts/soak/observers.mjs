// The soak's observers and its verdict. Observers are long-lived chat clients (WebSocket) that
// create the rooms, stay the whole run and record every seq they receive per room, live
// (`message`) or replayed (`messages`). At the end: presence of every room must list only its
// observer (no ghost of a churned client), each room's history must be 1..last without gaps,
// the observer must have received exactly 1..last (nothing lost, nothing twice), and every send
// acked ok to a churn client must be in the history under its seq with its clientId.
import { io, ok, sleep } from './lib.mjs';

function observer(cfg, k) {
  const o = { k, userId: null, token: null, sessions: 0, disconnects: {}, feeds: new Map(), events: { live: 0, replayed: 0, batches: 0 } };
  const feed = (room) => {
    let f = o.feeds.get(room);
    if (!f) o.feeds.set(room, (f = { seqs: [], max: 0 }));
    return f;
  };
  const take = (m) => {
    const f = feed(m.room);
    f.seqs.push(m.seq);
    if (m.seq > f.max) f.max = m.seq;
  };
  const since = () => Object.fromEntries([...o.feeds].map(([room, f]) => [room, f.max]));
  o.socket = io(cfg.url, {
    forceNew: true,
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
    timeout: 20000,
    auth: (cb) => cb(o.token ? { token: o.token, since: since() } : { name: `observer-${k}` }),
  });
  o.socket.on('message', (m) => {
    o.events.live++;
    take(m);
  });
  o.socket.on('messages', (b) => {
    o.events.batches++;
    for (const m of b?.messages || []) {
      o.events.replayed++;
      take(m);
    }
  });
  o.socket.on('disconnect', (reason) => {
    o.disconnects[reason] = (o.disconnects[reason] || 0) + 1;
  });
  o.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`observer ${k}: no session within 20 s`)), 20000);
    o.socket.on('session', (s) => {
      o.sessions++;
      o.userId = s.userId;
      o.token = s.token;
      clearTimeout(timer);
      resolve();
    });
  });
  return o;
}

/** Connect the observers; observer i % O creates room i. Resolves with { observers, roomIds, owner }. */
export async function startObservers(cfg) {
  const observers = Array.from({ length: cfg.observers }, (_, k) => observer(cfg, k));
  await Promise.all(observers.map((o) => o.ready));
  const roomIds = [];
  const owner = [];
  for (let i = 0; i < cfg.rooms; i++) {
    const o = observers[i % observers.length];
    const info = await ok(o.socket, 'create', { name: `soak-${i}` });
    roomIds.push(info.id);
    owner.push(o);
  }
  return { observers, roomIds, owner };
}

export function closeObservers(observers) {
  for (const o of observers) o.socket.disconnect();
}

/** Every message of a room, paging `history` forward 100 at a time (bounded). */
async function fullHistory(socket, room, maxPages = 100000) {
  const all = [];
  let after = 0;
  for (let page = 0; page < maxPages; page++) {
    const { messages } = await ok(socket, 'history', { room, after, limit: 100 }, 30000);
    all.push(...messages);
    if (messages.length < 100) break;
    after = messages[messages.length - 1].seq;
  }
  return all;
}

/** Presence of every room until only observers are online, or `settleSeconds` passed. */
export async function settlePresence(cfg, { roomIds, owner }, log) {
  const t0 = Date.now();
  let checks = 0;
  let last = null;
  for (;;) {
    checks++;
    const ghosts = [];
    const missingObservers = [];
    for (let i = 0; i < roomIds.length; i++) {
      const o = owner[i];
      const { online } = await ok(o.socket, 'presence', { room: roomIds[i] });
      for (const u of online) if (u.userId !== o.userId) ghosts.push({ room: roomIds[i], ...u });
      if (!online.some((u) => u.userId === o.userId)) missingObservers.push(roomIds[i]);
    }
    last = { ghosts, missingObservers };
    const elapsed = (Date.now() - t0) / 1000;
    if (checks === 1 || ghosts.length === 0 || checks % 5 === 0) {
      log(`presence check ${checks} at +${elapsed.toFixed(0)} s: ${ghosts.length} non-observers online, ${missingObservers.length} rooms without their observer`);
    }
    if ((ghosts.length === 0 && missingObservers.length === 0) || elapsed >= cfg.settleSeconds) {
      return {
        ghosts: ghosts.length,
        ghostExamples: ghosts.slice(0, 10),
        roomsWithoutObserver: missingObservers.length,
        cleanAfterSeconds: ghosts.length === 0 ? Math.round(elapsed) : null,
        checks,
      };
    }
    await sleep(3000);
  }
}

/**
 * The verdict on messages: histories, observers' seqs, acked sends.
 * `acked` is [[roomIndex, seq, clientId], ...] from every worker.
 */
export async function verifyMessages(cfg, { observers, roomIds, owner }, acked, log) {
  const res = {
    rooms: roomIds.length,
    stored: 0,
    historyGaps: 0,
    observed: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    firstSeqNot1: 0,
    ackedMissing: 0,
    ackedWrongSeq: 0,
    storedWithoutAck: 0,
    observerReconnects: 0,
    examples: [],
  };
  const ex = (s) => res.examples.length < 20 && res.examples.push(s);
  const ackedByRoom = roomIds.map(() => new Map());
  for (const [ri, seq, clientId] of acked) ackedByRoom[ri].set(clientId, seq);

  const histories = [];
  for (let i = 0; i < roomIds.length; i++) histories.push(await fullHistory(owner[i].socket, roomIds[i]));

  // Give the observers time to receive the last messages (bounded).
  const catchUpBy = Date.now() + 30000;
  const behind = () => roomIds.filter((r, i) => (owner[i].feeds.get(r)?.max || 0) < (histories[i].at(-1)?.seq || 0));
  while (behind().length && Date.now() < catchUpBy) await sleep(200);

  for (let i = 0; i < roomIds.length; i++) {
    const room = roomIds[i];
    const hist = histories[i];
    const last = hist.at(-1)?.seq || 0;
    res.stored += hist.length;
    hist.forEach((m, j) => {
      if (m.seq !== j + 1) {
        res.historyGaps++;
        ex(`room ${room}: history position ${j + 1} holds seq ${m.seq}`);
      }
    });
    const bySeq = new Map(hist.map((m) => [m.seq, m]));
    // Observer: exactly 1..last, in order, each once.
    const seqs = owner[i].feeds.get(room)?.seqs || [];
    res.observed += seqs.length;
    const seen = new Map();
    let prev = 0;
    let first = Infinity;
    for (const s of seqs) {
      seen.set(s, (seen.get(s) || 0) + 1);
      if (s < prev) res.outOfOrder++;
      prev = Math.max(prev, s);
      first = Math.min(first, s);
    }
    if (seqs.length && first !== 1) {
      res.firstSeqNot1++;
      ex(`room ${room}: the observer's first seq is ${first}`);
    }
    for (const [s, n] of seen) {
      if (n > 1) {
        res.duplicates += n - 1;
        ex(`room ${room}: seq ${s} received ${n} times by the observer`);
      }
    }
    for (let s = 1; s <= last; s++) {
      if (!seen.has(s)) {
        res.lost++;
        ex(`room ${room}: seq ${s} (of 1..${last}) never reached the observer`);
      }
    }
    // Acked sends are stored under their seq with their clientId.
    const ackedHere = ackedByRoom[i];
    for (const [clientId, seq] of ackedHere) {
      const m = bySeq.get(seq);
      if (!m) {
        res.ackedMissing++;
        ex(`room ${room}: acked ${clientId} as seq ${seq}, not in history (last ${last})`);
      } else if (m.clientId !== clientId) {
        res.ackedWrongSeq++;
        ex(`room ${room}: acked ${clientId} as seq ${seq}, history has ${m.clientId} there`);
      }
    }
    for (const m of hist) if (!ackedHere.has(m.clientId)) res.storedWithoutAck++;
  }
  for (const o of observers) res.observerReconnects += Math.max(0, o.sessions - 1);
  log(`verified ${res.stored} stored messages in ${roomIds.length} rooms`);
  return res;
}
