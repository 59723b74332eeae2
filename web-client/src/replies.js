// Assembles the bot's streamed replies (bot:start, bot:snapshot, bot:delta, bot:end) into text
// that grows, whatever the order in which a late joiner sees them.

/**
 * @typedef {object} Reply
 * @property {string} id the reply's message id
 * @property {string} room
 * @property {number | undefined} seq its seq in the room
 * @property {number} [rev] once done: the room's change position of the reply's end (from `bot:end`)
 * @property {string} [requestId]
 * @property {string} [userId] the bot's user id
 * @property {string} [name] the bot's display name
 * @property {number} [ts]
 * @property {string} text the text so far (the final text once `done`)
 * @property {number} n the last delta applied
 * @property {boolean} done
 * @property {'stop'|'length'|'cancelled'|'error'|undefined} finishReason
 * @property {{ promptTokens: number, completionTokens: number }} [usage]
 * @property {{ code: string, message: string }} [error]
 */

export class ReplyAssembler {
  constructor() {
    /** @type {Map<string, Reply>} */
    this.replies = new Map();
    /** Ids of finished replies (the most recent ones), so a late event cannot revive one. */
    this.finished = new Set();
  }

  /** @returns {Reply} */
  _get(room, id) {
    if (this.finished.has(id)) return null;
    let r = this.replies.get(id);
    if (!r) {
      r = { id, room, seq: undefined, text: '', n: 0, done: false, finishReason: undefined };
      this.replies.set(id, r);
    }
    return r;
  }

  /** @returns {Reply | null} the reply, changed; null when nothing changed */
  start(p) {
    if (!p?.id) return null;
    const r = this._get(p.room, p.id);
    if (!r) return null;
    Object.assign(r, { seq: p.seq, requestId: p.requestId, userId: p.userId, name: p.name, ts: p.ts });
    return { ...r };
  }

  snapshot(p) {
    if (!p?.id) return null;
    const r = this._get(p.room, p.id);
    if (!r) return null;
    Object.assign(r, { seq: p.seq, requestId: p.requestId, userId: p.userId, name: p.name, ts: p.ts });
    if (!r.done && (p.n ?? 0) >= r.n) {
      r.text = p.text ?? '';
      r.n = p.n ?? 0;
    }
    return { ...r };
  }

  delta(p) {
    if (!p?.id) return null;
    const r = this._get(p.room, p.id);
    if (!r || r.done) return null;
    // Deltas come in order from 1; one at or below what we have is a repeat. A delta past a
    // hole (only possible if a snapshot has not arrived yet) is kept, since bot:end repairs it.
    if (p.n <= r.n) return null;
    r.text += p.text ?? '';
    r.n = p.n;
    return { ...r };
  }

  end(p) {
    if (!p?.id) return null;
    const r = this._get(p.room, p.id);
    if (!r) return null;
    Object.assign(r, {
      seq: p.seq ?? r.seq,
      rev: p.rev ?? r.rev,
      text: p.text ?? r.text,
      done: true,
      finishReason: p.finishReason,
      usage: p.usage,
      error: p.error,
    });
    const out = { ...r };
    // Finished replies are part of history now; keep the map small.
    this.replies.delete(p.id);
    this.finished.add(p.id);
    if (this.finished.size > 500) this.finished.delete(this.finished.values().next().value);
    return out;
  }

  /** Replies still being written in a room. */
  streaming(room) {
    return [...this.replies.values()].filter((r) => r.room === room && !r.done).map((r) => ({ ...r }));
  }

  /** Forget a reply (e.g. history says it is finished). */
  drop(id) {
    this.replies.delete(id);
  }
}
