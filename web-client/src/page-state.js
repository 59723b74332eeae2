// The page's shared state: the client, what is known of the rooms and of the open room, and the
// elements the page draws into. Every other page module reads and writes these.
import { ChatClient } from './client.js';
import { $ } from './ui.js';

export const UI_KEY = 'chat:ui:room';

export const client = new ChatClient({});
/** For tests and curious people: the client behind the page. */
window.chat = client;

/** The open room's view: rendered messages by seq, the range loaded, what is known of it. */
export function newView(room) {
  return {
    room,
    /** @type {Map<number, HTMLElement>} */
    els: new Map(),
    /** @type {Map<number, import('./client.js').Message>} */
    messages: new Map(),
    oldest: Infinity,
    newest: 0,
    hasOlder: false,
    loadingOlder: false,
    loaded: false,
    /** @type {import('./client.js').Message[]} live messages that arrived while the first page loaded */
    early: [],
    /** @type {Map<string, string>} */
    online: new Map(),
    /** @type {Map<string, number>} user id → read seq */
    reads: new Map(),
    /** @type {Set<string>} ids of edited messages offering "Ask again with the new text" */
    resend: new Set(),
    /** @type {Map<string, { name: string, timer: number }>} */
    typing: new Map(),
    /** The caller's read mark when the room opened with unread messages (the "new messages"
     * divider goes after it), else -1. */
    readAtOpen: -1,
  };
}

export const state = {
  /** @type {import('./client.js').Session | null} */
  me: null,
  /** @type {Map<string, import('./client.js').RoomInfo>} */
  rooms: new Map(),
  /** @type {string | null} */
  current: localStorage.getItem(UI_KEY),
  view: newView(null),
  /** @type {Map<string, string>} user id → display name, from everything seen */
  names: new Map(),
  typingSentAt: 0,
  typingTimer: 0,
  /** @type {Map<string, import('./client.js').Outgoing>} acknowledged, but not yet seen as a message */
  unconfirmed: new Map(),
};

/** Calls upward (a lower module asking the room list to redraw), set by the modules that own them. */
export const hooks = {
  renderRooms: () => {},
};

export const els = {
  app: $('app'),
  conn: $('conn'),
  connText: $('conn-text'),
  me: /** @type {HTMLButtonElement} */ ($('me')),
  roomList: $('room-list'),
  roomTitle: $('room-title'),
  roomOnline: $('room-online'),
  messages: $('messages'),
  list: $('message-list'),
  pending: $('pending-list'),
  loadOlder: /** @type {HTMLButtonElement} */ ($('load-older')),
  startOfRoom: $('start-of-room'),
  empty: $('empty'),
  jump: /** @type {HTMLButtonElement} */ ($('jump-latest')),
  typing: $('typing'),
  composer: /** @type {HTMLFormElement} */ ($('composer')),
  text: /** @type {HTMLTextAreaElement} */ ($('composer-text')),
  send: /** @type {HTMLButtonElement} */ ($('send')),
  stop: /** @type {HTMLButtonElement} */ ($('stop')),
  addBot: $('add-bot'),
  botSettings: $('bot-settings'),
  invite: $('invite'),
  leave: $('leave'),
  welcome: /** @type {HTMLDialogElement} */ ($('welcome')),
};

/** The element id of a message shown while it waits to be sent. */
export const pendingId = (clientId) => `pending-${clientId}`;
