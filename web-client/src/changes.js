// Change positions (`rev`): every room has a gapless change log (a new message, an edit, a
// delete, the end of a bot reply each take the room's next `rev`). The client keeps, per room,
// the highest `rev` it has seen in `message`, `edited`, `deleted` and `bot:end` events (sent as
// `auth.rev` next to `auth.since`, so the server also replays the changes missed to older
// messages), and per message the `rev` of the state it holds, so that a change repeated by a
// replay, or older than what a batch or `history` already showed, is ignored.

/** How many messages' positions are kept; past that the oldest are forgotten (a change to one of
 * them is then applied again, which repeats a state and harms nothing). */
const MAX_MESSAGES = 10000;

export class ChangeTracker {
  /**
   * @param {Record<string, number>} [known] highest rev seen per room
   * @param {{ maxMessages?: number }} [opts]
   */
  constructor(known = {}, { maxMessages = MAX_MESSAGES } = {}) {
    /** @type {Map<string, number>} room -> highest rev seen in change events */
    this.rooms = new Map();
    /** @type {Map<string, number>} message id -> rev of the state the client holds */
    this.messages = new Map();
    this.maxMessages = maxMessages;
    for (const [room, rev] of Object.entries(known ?? {})) {
      if (isRev(rev)) this.rooms.set(room, rev);
    }
  }

  /** The highest rev seen in a room's change events; undefined when unknown. @param {string} room */
  last(room) {
    return this.rooms.get(room);
  }

  /**
   * Every room's rev, for `auth.rev`; with `rooms`, only those (the server counts a room's rev
   * only together with its `since`).
   * @param {Iterable<string>} [rooms]
   */
  snapshot(rooms) {
    /** @type {Record<string, number>} */
    const out = {};
    if (rooms === undefined) {
      for (const [room, rev] of this.rooms) out[room] = rev;
    } else {
      for (const room of rooms) {
        const rev = this.rooms.get(room);
        if (rev !== undefined) out[room] = rev;
      }
    }
    return out;
  }

  /**
   * A change event (`message`, `edited`, `deleted`, `bot:end`) arrived: the room's position
   * moves up to its rev. Messages inside a `messages` batch or a `history` page must not come
   * here: their rev may be ahead of changes not replayed yet.
   * @param {string} room
   * @param {unknown} rev
   */
  seeRoom(room, rev) {
    if (typeof room !== 'string' || !isRev(rev)) return;
    const cur = this.rooms.get(room);
    if (cur === undefined || rev > cur) this.rooms.set(room, rev);
  }

  /** The rev of the state held for message `id`; undefined when unknown. @param {string} id */
  held(id) {
    return this.messages.get(id);
  }

  /**
   * The client now holds message `id` at `rev` (from any source: live, batch, history, a
   * change). Positions only move forward.
   * @param {string} id
   * @param {unknown} rev
   */
  hold(id, rev) {
    if (typeof id !== 'string' || !isRev(rev)) return;
    const cur = this.messages.get(id);
    if (cur !== undefined && rev <= cur) return;
    this.messages.delete(id); // re-inserted last: the map's order is the order of last change
    this.messages.set(id, rev);
    if (this.messages.size > this.maxMessages) this.messages.delete(this.messages.keys().next().value);
  }

  /**
   * Whether a change to message `id` at `rev` is news: true unless the client already holds
   * that message at this rev or a later one. A change without a rev (an older server) is news.
   * @param {string} id
   * @param {unknown} rev
   */
  isNew(id, rev) {
    if (!isRev(rev)) return true;
    const cur = this.messages.get(id);
    return cur === undefined || rev > cur;
  }

  /** Forget a room (left it); its messages' positions go with it lazily. @param {string} room */
  forget(room) {
    this.rooms.delete(room);
  }
}

/** @param {unknown} rev */
function isRev(rev) {
  return Number.isInteger(rev) && /** @type {number} */ (rev) >= 0;
}
