// Awaiting events with a deadline (tests never sleep).

/** Subscribe; returns the unsubscribe function (ChatClient returns one, Node emitters don't). */
function listen(emitter, event, handler) {
  const ret = emitter.on(event, handler);
  return typeof ret === 'function' ? ret : () => emitter.off(event, handler);
}

/**
 * Resolve with the payload of the next `event` from `emitter` (a ChatClient or any emitter with
 * on/off) that passes `filter`; reject after `timeout` ms.
 */
export function next(emitter, event, { filter = () => true, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    const handler = (payload) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    };
    const off = listen(emitter, event, handler);
  });
}

/** Resolve once `predicate()` is true, checking after every `event`; reject after `timeout`. */
export function until(emitter, event, predicate, { timeout = 10000, what = 'condition' } = {}) {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${what} not met within ${timeout} ms`));
    }, timeout);
    const off = listen(emitter, event, () => {
      if (!predicate()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Collect every payload of `event` from now on. */
export function collect(emitter, event, filter = () => true) {
  const items = [];
  emitter.on(event, (p) => {
    if (filter(p)) items.push(p);
  });
  return items;
}
