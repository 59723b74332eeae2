// Where the client keeps what must outlive a page load: the session token, the last seq seen
// per room and the messages still waiting to go out.

/**
 * The subset of the Web Storage API the client uses.
 * @typedef {{ getItem(key: string): string | null, setItem(key: string, value: string): void, removeItem(key: string): void }} StorageLike
 */

/** A storage object that lives as long as the process (the default outside browsers). */
export function memoryStorage() {
  const map = new Map();
  return {
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => void map.set(key, String(value)),
    removeItem: (key) => void map.delete(key),
    /** For tests: every key and value. */
    dump: () => Object.fromEntries(map),
  };
}

/**
 * `localStorage` in a browser (when it works: private modes may refuse it), memory elsewhere.
 * @returns {StorageLike}
 */
export function defaultStorage() {
  try {
    const ls = globalThis.localStorage;
    if (ls) {
      const probe = '__chat_probe__';
      ls.setItem(probe, '1');
      ls.removeItem(probe);
      return ls;
    }
  } catch {
    // fall through
  }
  return memoryStorage();
}

/**
 * JSON values under one key prefix.
 */
export class Store {
  /**
   * @param {StorageLike} storage
   * @param {string} prefix
   */
  constructor(storage, prefix) {
    this.storage = storage;
    this.prefix = prefix;
  }

  /**
   * @param {string} key
   * @param {any} fallback
   */
  get(key, fallback) {
    try {
      const raw = this.storage.getItem(`${this.prefix}:${key}`);
      return raw == null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  }

  /**
   * @param {string} key
   * @param {any} value `undefined` removes the key
   */
  set(key, value) {
    try {
      if (value === undefined) this.storage.removeItem(`${this.prefix}:${key}`);
      else this.storage.setItem(`${this.prefix}:${key}`, JSON.stringify(value));
    } catch {
      // A full or refused storage costs persistence across reloads, nothing else.
    }
  }
}
