// Small helpers to await events without sleeping.

const DEFAULT_TIMEOUT = 5000;

function addListener(emitter, event, fn) {
  if (typeof emitter.on === 'function') emitter.on(event, fn);
  else if (typeof emitter.addEventListener === 'function') emitter.addEventListener(event, fn);
  else throw new TypeError(`cannot listen to ${event}: not an emitter`);
}

function removeListener(emitter, event, fn) {
  if (typeof emitter.off === 'function') emitter.off(event, fn);
  else if (typeof emitter.removeListener === 'function') emitter.removeListener(event, fn);
  else if (typeof emitter.removeEventListener === 'function') emitter.removeEventListener(event, fn);
}

/**
 * Resolve with the arguments of the next `event` emitted by `emitter`
 * (the first argument, or all of them as an array with `all: true`).
 *
 * Options:
 *  - timeout: reject after this many milliseconds (default 5000)
 *  - failOn: event names that reject the promise when emitted first
 *  - filter: (...args) => boolean; only matching emissions resolve
 *  - all: resolve with the array of all arguments
 */
export function waitFor(emitter, event, { timeout = DEFAULT_TIMEOUT, failOn = [], filter, all = false } = {}) {
  return new Promise((resolve, reject) => {
    const cleanups = [];
    const finish = (fn, value) => {
      clearTimeout(timer);
      for (const c of cleanups) c();
      fn(value);
    };
    const onEvent = (...args) => {
      if (filter && !filter(...args)) return;
      finish(resolve, all ? args : args[0]);
    };
    addListener(emitter, event, onEvent);
    cleanups.push(() => removeListener(emitter, event, onEvent));
    for (const bad of failOn) {
      const onBad = (arg) => {
        const detail = arg instanceof Error ? arg.message : JSON.stringify(arg);
        const err = new Error(`got "${bad}" (${detail}) while waiting for "${event}"`);
        err.cause = arg;
        finish(reject, err);
      };
      addListener(emitter, bad, onBad);
      cleanups.push(() => removeListener(emitter, bad, onBad));
    }
    const timer = setTimeout(() => {
      finish(reject, new Error(`timed out after ${timeout} ms waiting for "${event}"`));
    }, timeout);
  });
}

/** Reject if `promise` does not settle within `ms`. */
export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Collects every emission of `event` into an array; `next(n)` resolves once
 * at least n have arrived (or rejects on timeout).
 */
export function collect(emitter, event) {
  const items = [];
  const waiters = [];
  const onEvent = (...args) => {
    items.push(args.length === 1 ? args[0] : args);
    for (const w of [...waiters]) {
      if (items.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(items.slice());
      }
    }
  };
  addListener(emitter, event, onEvent);
  return {
    items,
    until(count, { timeout = DEFAULT_TIMEOUT } = {}) {
      if (items.length >= count) return Promise.resolve(items.slice());
      return new Promise((resolve, reject) => {
        const w = { count, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeout} ms: got ${items.length}/${count} "${event}" events`));
        }, timeout);
        waiters.push(w);
      });
    },
    stop() {
      removeListener(emitter, event, onEvent);
    },
  };
}

/**
 * Resolve with { emitter, event, args } for whichever of the given
 * [emitter, event] pairs fires first; reject on timeout.
 */
export function firstEvent(pairs, { timeout = DEFAULT_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    const cleanups = [];
    const finish = (fn, value) => {
      clearTimeout(timer);
      for (const c of cleanups) c();
      fn(value);
    };
    for (const [emitter, event] of pairs) {
      const fn = (...args) => finish(resolve, { emitter, event, args });
      addListener(emitter, event, fn);
      cleanups.push(() => removeListener(emitter, event, fn));
    }
    const names = pairs.map(([, e]) => e).join(', ');
    const timer = setTimeout(() => finish(reject, new Error(`timed out after ${timeout} ms waiting for any of: ${names}`)), timeout);
  });
}
