// The error every failed call rejects with.

/**
 * A refusal from the server (`code` is the protocol's error code: `bad_request`, `forbidden`,
 * `rate_limited`, …) or a local failure (`timeout`, `offline`, `disconnected`).
 */
export class ChatError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ retryAfter?: number, event?: string }} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'ChatError';
    /** @type {string} */
    this.code = code;
    /** @type {number | undefined} milliseconds until a retry may succeed (`rate_limited`) */
    this.retryAfter = extra.retryAfter;
    /** @type {string | undefined} the event that failed */
    this.event = extra.event;
  }
}

/** Codes that a later retry of the same call can cure. */
export const TRANSIENT = new Set(['timeout', 'offline', 'disconnected']);
