// A small event emitter that works the same in browsers and Node.

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * Listen to an event; returns a function that stops listening.
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} fn
   * @returns {() => void}
   */
  on(event, fn) {
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /**
   * Listen to the next occurrence only.
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} fn
   * @returns {() => void}
   */
  once(event, fn) {
    const off = this.on(event, (payload) => {
      off();
      fn(payload);
    });
    return off;
  }

  /**
   * @param {string} event
   * @param {Function} fn
   */
  off(event, fn) {
    this._listeners.get(event)?.delete(fn);
  }

  /**
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {Events[K]} [payload]
   */
  emit(event, payload) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        // One listener's failure must not starve the others; surface it asynchronously.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
