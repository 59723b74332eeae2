// Per-room ordering: hands out each room's messages once, in seq order, with no gap. A message
// that arrives ahead of its turn is held until the ones before it arrive (or are fetched).

/**
 * @typedef {{ seq: number }} Sequenced
 */

export class Sequencer {
  /**
   * @param {Record<string, number>} [known] last seq seen per room
   */
  constructor(known = {}) {
    /** @type {Map<string, { last: number | undefined, held: Map<number, any> }>} */
    this.rooms = new Map();
    for (const [room, seq] of Object.entries(known)) {
      if (Number.isInteger(seq) && seq >= 0) this._room(room).last = seq;
    }
  }

  _room(room) {
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { last: undefined, held: new Map() }));
    return r;
  }

  /** The last seq handed out (or known seen) in a room; undefined when unknown. */
  last(room) {
    return this.rooms.get(room)?.last;
  }

  /** Every room's last seq, for `auth.since`. */
  snapshot() {
    /** @type {Record<string, number>} */
    const out = {};
    for (const [room, r] of this.rooms) if (r.last !== undefined) out[room] = r.last;
    return out;
  }

  /** Forget a room (left it). */
  forget(room) {
    this.rooms.delete(room);
  }

  /**
   * Take messages in (live or replayed, any order, possibly repeated).
   * In a room whose position is unknown, the first message sets it.
   * @template {Sequenced} M
   * @param {string} room
   * @param {M[]} messages
   * @returns {{ deliver: M[], gap: { after: number, before: number } | null }}
   *   what to hand out now, in order; and the range still missing, if any is held back
   */
  accept(room, messages) {
    const r = this._room(room);
    /** @type {M[]} */
    const deliver = [];
    const sorted = [...messages].sort((a, b) => a.seq - b.seq);
    for (const m of sorted) {
      if (!Number.isInteger(m?.seq)) continue;
      if (r.last === undefined) r.last = m.seq - 1;
      if (m.seq <= r.last) continue; // seen
      if (m.seq === r.last + 1) {
        deliver.push(m);
        r.last = m.seq;
        this._drain(r, deliver);
      } else {
        r.held.set(m.seq, m);
      }
    }
    return { deliver, gap: this.gap(room) };
  }

  /**
   * The caller has seen everything through `seq` by other means (a history page that reaches
   * the newest messages): move the position forward. Returns held messages now deliverable.
   * @param {string} room
   * @param {number} seq
   */
  advance(room, seq) {
    const r = this._room(room);
    /** @type {any[]} */
    const deliver = [];
    if (r.last !== undefined && seq <= r.last) return deliver;
    r.last = seq;
    for (const s of [...r.held.keys()]) if (s <= seq) r.held.delete(s);
    this._drain(r, deliver);
    return deliver;
  }

  /**
   * A message held back (ahead of a gap) that a later change concerns: the change replaces it,
   * so that it is handed out in its latest state. Returns the held message, or undefined when
   * message `id` at `seq` is not held.
   * @param {string} room
   * @param {number} seq
   * @param {string} id
   * @param {(held: any) => any} [replace] the new state of the held message
   */
  held(room, seq, id, replace) {
    const r = this.rooms.get(room);
    const m = r?.held.get(seq);
    if (!m || m.id !== id) return undefined;
    if (replace) r.held.set(seq, replace(m));
    return m;
  }

  /** The missing range of a room, if messages are held back: seqs in (after, before). */
  gap(room) {
    const r = this.rooms.get(room);
    if (!r || r.held.size === 0 || r.last === undefined) return null;
    return { after: r.last, before: Math.min(...r.held.keys()) };
  }

  _drain(r, deliver) {
    while (r.held.has(r.last + 1)) {
      const next = r.held.get(r.last + 1);
      r.held.delete(r.last + 1);
      deliver.push(next);
      r.last += 1;
    }
  }
}
