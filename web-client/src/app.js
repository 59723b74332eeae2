// The demo page: a guest picks a name, sees the rooms with unread counts, chats, pages through
// history, sees who is online, typing and how far others have read, and talks to the assistant.
// Everything about the connection (recovery, ordering, the outbox) is the client library's job.
import { ChatClient, newClientId } from './client.js';
import { $, h, avatar, clock, day, names, toast } from './ui.js';

const PAGE = 50;
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;
const UI_KEY = 'chat:ui:room';

const client = new ChatClient({});
/** For tests and curious people: the client behind the page. */
window.chat = client;

const state = {
  /** @type {import('./client.js').Session | null} */
  me: null,
  /** @type {Map<string, import('./client.js').RoomInfo>} */
  rooms: new Map(),
  /** @type {string | null} */
  current: localStorage.getItem(UI_KEY),
  /** The open room's view: rendered messages by seq, the range loaded, what is known of it. */
  view: newView(null),
  /** @type {Map<string, string>} user id → display name, from everything seen */
  names: new Map(),
  typingSentAt: 0,
  typingTimer: 0,
  /** @type {Map<string, import('./client.js').Outgoing>} acknowledged, but not yet seen as a message */
  unconfirmed: new Map(),
};

function newView(room) {
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
    /** @type {Map<string, { name: string, timer: number }>} */
    typing: new Map(),
  };
}

const els = {
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
  typing: $('typing'),
  composer: /** @type {HTMLFormElement} */ ($('composer')),
  text: /** @type {HTMLTextAreaElement} */ ($('composer-text')),
  send: /** @type {HTMLButtonElement} */ ($('send')),
  stop: /** @type {HTMLButtonElement} */ ($('stop')),
  addBot: $('add-bot'),
  invite: $('invite'),
  leave: $('leave'),
  welcome: /** @type {HTMLDialogElement} */ ($('welcome')),
};

// ---------------------------------------------------------------------------------------------
// Connection state at a glance

const TRANSPORT_LABEL = { websocket: 'WebSocket', polling: 'long-polling' };

client.on('state', ({ state: s, transport, attempt }) => {
  els.conn.dataset.state = s;
  let text;
  if (s === 'connected') text = `Connected · ${TRANSPORT_LABEL[transport] ?? transport ?? ''}`;
  else if (s === 'reconnecting') text = `Reconnecting${attempt ? ` (attempt ${attempt})` : ''}…`;
  else if (s === 'offline') text = 'Offline';
  else text = 'Connecting…';
  els.connText.textContent = text;
  els.conn.title = s === 'offline' || s === 'reconnecting' ? 'Messages you send now go out when the connection is back.' : '';
  renderPending();
  renderHeader();
});

client.on('error', (err) => {
  if (!client.session && err.code === 'bad_request') {
    showWelcome(err.message);
    return;
  }
  toast(`Cannot connect: ${err.message}`, 'error', 8000);
});

client.on('session', async (session) => {
  state.me = session;
  els.app.dataset.ready = 'true';
  state.names.set(session.userId, session.name);
  els.me.hidden = false;
  els.me.querySelector('.me-name').textContent = session.name;
  els.me.querySelector('.avatar').replaceWith(avatar(session.userId, session.name, 'small'));
  els.me.setAttribute('aria-label', `You are ${session.name}. Show your user id`);
  $('me-name').textContent = session.name;
  $('me-id').textContent = session.userId;
  await refreshRooms();
  if (state.current && state.rooms.has(state.current)) {
    if (state.view.room === state.current && state.view.loaded) resync();
    else openRoom(state.current, { focus: false });
  } else if (state.current) {
    state.current = null;
    localStorage.removeItem(UI_KEY);
    renderRoom();
  } else {
    renderRoom();
  }
});

// ---------------------------------------------------------------------------------------------
// Rooms

async function refreshRooms() {
  try {
    const list = await client.listRooms();
    const seen = new Set();
    for (const info of list) {
      state.rooms.set(info.id, { ...state.rooms.get(info.id), ...info });
      seen.add(info.id);
    }
    for (const id of [...state.rooms.keys()]) if (!seen.has(id)) state.rooms.delete(id);
    renderRooms();
  } catch (err) {
    toast(`Could not list the rooms: ${err.message}`, 'error');
  }
}

function unread(info) {
  if (!info.member) return 0;
  // The room on screen, scrolled to its newest message, is being read right now.
  if (info.id === state.view.room && state.view.loaded && document.visibilityState === 'visible' && nearBottom()) return 0;
  return Math.max(0, info.lastSeq - info.readSeq);
}

function roomLabel(info) {
  if (info.bot) return 'Assistant';
  return info.name;
}

function renderRooms() {
  const rooms = [...state.rooms.values()].sort((a, b) => {
    if (!!a.bot !== !!b.bot) return a.bot ? -1 : 1;
    if (a.member !== b.member) return a.member ? -1 : 1;
    return roomLabel(a).localeCompare(roomLabel(b));
  });
  const items = rooms.map((info) => {
    const count = unread(info);
    const current = info.id === state.current;
    const icon = info.bot ? '✦' : info.private ? '🔒' : '#';
    const label = [
      roomLabel(info),
      info.private && !info.bot ? 'private' : '',
      !info.member ? 'not joined' : '',
      count ? `${count} unread` : '',
    ].filter(Boolean).join(', ');
    return h('li', null,
      h('button', {
        type: 'button',
        class: `room${current ? ' current' : ''}${info.member ? '' : ' outside'}${count ? ' has-unread' : ''}`,
        'aria-current': current ? 'true' : null,
        'aria-label': label,
        dataset: { room: info.id },
        onclick: () => openRoom(info.id),
      },
      h('span', { class: `room-icon${info.bot ? ' bot' : ''}`, 'aria-hidden': 'true' }, icon),
      h('span', { class: 'room-name' }, roomLabel(info)),
      !info.member ? h('span', { class: 'join-hint', 'aria-hidden': 'true' }, 'Join') : null,
      count ? h('span', { class: 'badge', 'aria-hidden': 'true' }, count > 99 ? '99+' : String(count)) : null));
  });
  els.roomList.replaceChildren(...items);
  const total = rooms.reduce((n, r) => n + unread(r), 0);
  document.title = total ? `(${total}) Chat` : 'Chat';
}

// Nothing announces rooms made by others: look again now and then, and on demand.
$('refresh-rooms').addEventListener('click', () => refreshRooms());
window.addEventListener('focus', () => client.ready && refreshRooms());
setInterval(() => {
  if (client.ready && document.visibilityState === 'visible') refreshRooms();
}, 30_000);

client.on('joined', (info) => {
  state.rooms.set(info.id, { ...state.rooms.get(info.id), ...info });
  renderRooms();
});

client.on('left', ({ room }) => {
  const info = state.rooms.get(room);
  if (info) {
    if (info.private) state.rooms.delete(room);
    else Object.assign(info, { member: false, unread: 0 });
  }
  if (state.current === room) {
    state.current = null;
    localStorage.removeItem(UI_KEY);
    state.view = newView(null);
    renderRoom();
  }
  renderRooms();
});

$('create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('create-name'));
  const priv = /** @type {HTMLInputElement} */ ($('create-private'));
  const name = input.value.trim();
  if (!name) return;
  try {
    const info = await client.createRoom(name, { private: priv.checked });
    state.rooms.set(info.id, info);
    input.value = '';
    priv.checked = false;
    renderRooms();
    openRoom(info.id);
  } catch (err) {
    toast(`Could not create the room: ${err.message}`, 'error');
  }
});

$('open-bot').addEventListener('click', async () => {
  try {
    const info = await client.openBotRoom();
    state.rooms.set(info.id, { ...info, bot: true });
    renderRooms();
    openRoom(info.id);
  } catch (err) {
    toast(`The assistant is not available: ${err.message}`, 'error');
  }
});

els.addBot.addEventListener('click', async () => {
  const room = state.current;
  if (!room) return;
  try {
    await client.addMember(room, 'bot');
    toast('The assistant joined. Mention @bot in a message to ask it.');
  } catch (err) {
    toast(`Could not add the assistant: ${err.message}`, 'error');
  }
});

els.leave.addEventListener('click', async () => {
  const room = state.current;
  if (!room) return;
  try {
    await client.leave(room);
  } catch (err) {
    toast(`Could not leave: ${err.message}`, 'error');
  }
});

const inviteDialog = /** @type {HTMLDialogElement} */ ($('invite-dialog'));
els.invite.addEventListener('click', () => {
  $('invite-error').textContent = '';
  /** @type {HTMLInputElement} */ ($('invite-user')).value = '';
  inviteDialog.showModal();
});
inviteDialog.querySelector('[data-close]').addEventListener('click', () => inviteDialog.close());
$('invite-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = /** @type {HTMLInputElement} */ ($('invite-user')).value.trim();
  if (!user || !state.current) return;
  try {
    await client.addMember(state.current, user);
    inviteDialog.close();
    toast('Invited.');
  } catch (err) {
    $('invite-error').textContent = err.code === 'not_found' ? 'No user has that id.' : err.message;
  }
});

const meDialog = /** @type {HTMLDialogElement} */ ($('me-dialog'));
els.me.addEventListener('click', () => meDialog.showModal());
$('sign-out').addEventListener('click', () => {
  meDialog.close();
  client.resetIdentity();
  state.rooms.clear();
  state.current = null;
  localStorage.removeItem(UI_KEY);
  state.view = newView(null);
  state.me = null;
  els.me.hidden = true;
  renderRooms();
  renderRoom();
  showWelcome();
});

// ---------------------------------------------------------------------------------------------
// The open room

async function openRoom(room, { focus = true } = {}) {
  const info = state.rooms.get(room);
  if (!info) return;
  state.current = room;
  localStorage.setItem(UI_KEY, room);
  els.app.dataset.view = 'chat';
  state.view = newView(room);
  renderRoom();
  renderRooms();
  try {
    const joined = await client.join(room);
    if (state.current !== room) return;
    state.rooms.set(room, { ...state.rooms.get(room), ...joined.room });
    for (const u of joined.online) {
      state.view.online.set(u.userId, u.name);
      state.names.set(u.userId, u.name);
    }
    for (const r of joined.reads) state.view.reads.set(r.userId, r.seq);
    const { messages } = await client.history(room, { limit: PAGE });
    if (state.current !== room) return;
    state.view.hasOlder = messages.length === PAGE && messages[0].seq > 1;
    state.view.loaded = true;
    for (const m of [...messages, ...state.view.early]) putMessage(m);
    state.view.early = [];
    renderRoom();
    renderReads();
    scrollToBottom();
    renderRooms();
    markRead();
    if (focus && matchMedia('(min-width: 760px)').matches) els.text.focus();
  } catch (err) {
    toast(`Could not open the room: ${err.message}`, 'error');
  }
}

/** After a reconnection: who is online and how far people read may have changed. */
async function resync() {
  const room = state.view.room;
  try {
    const joined = await client.join(room);
    if (state.view.room !== room) return;
    state.view.online = new Map(joined.online.map((u) => [u.userId, u.name]));
    for (const r of joined.reads) state.view.reads.set(r.userId, Math.max(r.seq, state.view.reads.get(r.userId) ?? 0));
    state.view.typing.clear();
    renderHeader();
    renderReads();
    renderTyping();
    markRead();
  } catch {
    // the next connection tries again
  }
}

function renderRoom() {
  const info = state.current ? state.rooms.get(state.current) : null;
  const ready = !!info && state.view.loaded;
  els.empty.hidden = !!info;
  els.text.disabled = !info;
  els.send.disabled = !info;
  els.addBot.hidden = !info || !!info.bot || !info.member;
  els.invite.hidden = !info || !!info.bot || !info.private || !info.member;
  els.leave.hidden = !info || !!info.bot || !info.member;
  els.text.placeholder = !info ? 'Pick a room first' : info.bot ? 'Ask the assistant…' : `Message ${roomLabel(info)}`;
  els.loadOlder.hidden = !ready || !state.view.hasOlder;
  els.startOfRoom.hidden = !ready || state.view.hasOlder;
  if (!ready) {
    els.list.replaceChildren();
  }
  renderHeader();
  renderTyping();
  renderPending();
  renderStop();
}

function renderHeader() {
  const info = state.current ? state.rooms.get(state.current) : null;
  els.roomTitle.textContent = info ? (info.bot ? 'Assistant' : `${info.private ? '🔒 ' : '# '}${info.name}`) : 'Pick a room';
  if (!info) {
    els.roomOnline.textContent = '';
    return;
  }
  if (client.state !== 'connected') {
    els.roomOnline.replaceChildren(
      h('span', { class: 'online-dot off', 'aria-hidden': 'true' }),
      'Offline: what you write is sent when the connection is back',
    );
    return;
  }
  if (info.bot) {
    els.roomOnline.textContent = 'Your private room with the assistant';
    return;
  }
  const others = [...state.view.online].filter(([id]) => id !== state.me?.userId).map(([, name]) => name);
  els.roomOnline.replaceChildren(
    h('span', { class: 'online-dot', 'aria-hidden': 'true' }),
    others.length ? `${names(others)} and you online` : 'Only you are here',
  );
}

/** Insert or update one message in the open room's list. */
function putMessage(m) {
  const view = state.view;
  if (m.room !== view.room) return;
  state.names.set(m.userId, m.name);
  const prev = view.messages.get(m.seq);
  // A state older than the one shown (say, a history page that was answered before a change
  // arrived) changes nothing.
  if (prev && Number.isInteger(prev.rev) && Number.isInteger(m.rev) && m.rev < prev.rev) return;
  const reply = m.status === 'streaming' ? client.streaming(m.room).find((r) => r.id === m.id) : null;
  const merged = { ...prev, ...m };
  if (reply && reply.text.length > (merged.text ?? '').length) merged.text = reply.text;
  view.messages.set(m.seq, merged);
  view.oldest = Math.min(view.oldest, m.seq);
  view.newest = Math.max(view.newest, m.seq);
  const el = renderMessage(merged);
  const old = view.els.get(m.seq);
  if (old) {
    old.replaceWith(el);
  } else {
    // Keep seq order: find the first rendered message with a larger seq.
    let before = null;
    for (const child of els.list.children) {
      const s = Number(/** @type {HTMLElement} */ (child).dataset.seq);
      if (s > m.seq) {
        before = child;
        break;
      }
    }
    els.list.insertBefore(el, before);
  }
  view.els.set(m.seq, el);
  restyleNeighbours(m.seq);
  // A message that appeared is no longer pending.
  if (m.clientId) {
    state.unconfirmed.delete(m.clientId);
    document.getElementById(pendingId(m.clientId))?.remove();
  }
}

/** Consecutive messages of one author within five minutes share a header. */
function restyleNeighbours(seq) {
  const view = state.view;
  for (const s of [seq, seq + 1]) {
    const el = view.els.get(s);
    const m = view.messages.get(s);
    if (!el || !m) continue;
    const p = view.messages.get(s - 1);
    const cont = !!p && p.userId === m.userId && m.ts - p.ts < 5 * 60_000 && !p.deleted && day(p.ts) === day(m.ts);
    el.classList.toggle('cont', cont);
    const newDay = !p ? s === view.oldest : day(p.ts) !== day(m.ts);
    el.querySelector('.day')?.remove();
    if (newDay) el.prepend(h('div', { class: 'day', role: 'separator' }, h('span', null, day(m.ts))));
  }
}

function renderMessage(m) {
  const mine = m.userId === state.me?.userId;
  const bot = m.userId === 'bot';
  const streaming = m.status === 'streaming';
  const cls = ['msg', mine && 'mine', bot && 'bot', streaming && 'streaming', m.deleted && 'deleted'].filter(Boolean).join(' ');
  const body = h('div', { class: 'body' },
    h('div', { class: 'meta' },
      h('span', { class: 'author' }, mine ? 'You' : m.name),
      h('time', { datetime: new Date(m.ts).toISOString(), title: new Date(m.ts).toLocaleString() }, clock(m.ts)),
      m.editedTs && !m.deleted ? h('span', { class: 'edited' }, '(edited)') : null),
    h('div', { class: 'text', 'aria-busy': streaming ? 'true' : null },
      m.deleted ? 'This message was deleted.' : m.text,
      streaming ? h('span', { class: 'cursor', 'aria-hidden': 'true' }) : null));
  if (mine && !m.deleted) {
    body.append(h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'link', onclick: () => startEdit(m) , 'aria-label': 'Edit your message' }, 'Edit'),
      h('button', { type: 'button', class: 'link', onclick: () => removeMessage(m), 'aria-label': 'Delete your message' }, 'Delete')));
  }
  if (m.meta?.finishReason === 'cancelled' || m.finishReason === 'cancelled') {
    body.append(h('div', { class: 'note' }, 'Stopped'));
  }
  return h('li', { class: cls, id: `msg-${m.seq}`, dataset: { seq: m.seq, id: m.id } }, avatar(m.userId, m.name), body);
}

function startEdit(m) {
  const el = state.view.els.get(m.seq);
  if (!el) return;
  const textEl = el.querySelector('.text');
  const area = h('textarea', { class: 'edit-box', 'aria-label': 'Edit your message', rows: 2 });
  area.value = m.text;
  const finish = () => putMessage(state.view.messages.get(m.seq));
  area.addEventListener('keydown', async (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      finish();
    } else if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      const text = area.value.trim();
      if (!text || text === m.text) return finish();
      try {
        putMessage(await client.edit(m.room, m.id, text));
      } catch (err) {
        toast(`Could not edit: ${err.message}`, 'error');
        finish();
      }
    }
  });
  textEl.replaceWith(area, h('p', { class: 'hint' }, 'Enter to save · Escape to cancel'));
  el.querySelector('.actions')?.remove();
  area.focus();
}

async function removeMessage(m) {
  if (!confirm('Delete this message?')) return;
  try {
    putMessage(await client.remove(m.room, m.id));
  } catch (err) {
    toast(`Could not delete: ${err.message}`, 'error');
  }
}

client.on('message', (m) => {
  const info = state.rooms.get(m.room);
  if (info) info.lastSeq = Math.max(info.lastSeq ?? 0, m.seq);
  if (m.clientId && m.room !== state.view.room) state.unconfirmed.delete(m.clientId);
  if (m.room === state.view.room && !state.view.loaded) state.view.early.push(m);
  if (m.room === state.view.room && state.view.loaded) {
    const stick = nearBottom();
    state.view.typing.delete(m.userId);
    putMessage(m);
    renderTyping();
    if (stick || m.userId === state.me?.userId) scrollToBottom();
    markRead();
  }
  renderRooms();
});

for (const ev of ['edited', 'deleted']) {
  client.on(ev, (m) => {
    if (m.room === state.view.room && state.view.messages.has(m.seq)) putMessage(m);
  });
}

client.on('reply', (r) => {
  if (r.room !== state.view.room) return;
  const m = state.view.messages.get(r.seq);
  if (m) {
    const stick = nearBottom();
    putMessage({ ...m, text: r.text, status: r.done ? undefined : 'streaming', finishReason: r.finishReason, rev: r.rev ?? m.rev });
    if (stick) scrollToBottom();
  }
  renderStop();
});

// Paging: older messages load when the top comes into view (or on the button).
async function loadOlder() {
  const view = state.view;
  if (!view.loaded || !view.hasOlder || view.loadingOlder) return;
  view.loadingOlder = true;
  els.loadOlder.textContent = 'Loading…';
  const room = view.room;
  try {
    const { messages } = await client.history(room, { before: view.oldest, limit: PAGE });
    if (state.view !== view) return;
    const box = els.messages;
    const fromBottom = box.scrollHeight - box.scrollTop;
    for (const m of messages.slice().reverse()) putMessage(m);
    view.hasOlder = messages.length === PAGE && messages[0].seq > 1;
    els.loadOlder.hidden = !view.hasOlder;
    els.startOfRoom.hidden = view.hasOlder;
    renderReads();
    box.scrollTop = box.scrollHeight - fromBottom;
  } catch (err) {
    toast(`Could not load earlier messages: ${err.message}`, 'error');
  } finally {
    view.loadingOlder = false;
    els.loadOlder.textContent = 'Load earlier messages';
  }
}
els.loadOlder.addEventListener('click', loadOlder);
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting)) loadOlder();
}, { root: els.messages, rootMargin: '200px 0px 0px 0px' }).observe(els.loadOlder);

function nearBottom() {
  const box = els.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToBottom() {
  els.messages.scrollTop = els.messages.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Read marks: ours moves when the newest message is on screen; others' show under messages.

let readTimer = 0;
function markRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const view = state.view;
    const info = view.room ? state.rooms.get(view.room) : null;
    if (!info || !info.member || !view.loaded || document.visibilityState !== 'visible' || !nearBottom()) return;
    const seq = view.newest;
    if (!seq || seq <= (info.readSeq ?? 0)) return;
    try {
      const res = await client.markRead(view.room, seq);
      info.readSeq = Math.max(info.readSeq ?? 0, res.seq);
      renderRooms();
    } catch {
      // retried on the next message or scroll
    }
  }, 250);
}
els.messages.addEventListener('scroll', () => {
  if (nearBottom()) markRead();
}, { passive: true });
document.addEventListener('visibilitychange', markRead);

client.on('read', ({ room, userId, seq }) => {
  const info = state.rooms.get(room);
  if (userId === state.me?.userId) {
    if (info) info.readSeq = Math.max(info.readSeq ?? 0, seq);
    renderRooms();
  }
  if (room === state.view.room) {
    state.view.reads.set(userId, Math.max(seq, state.view.reads.get(userId) ?? 0));
    renderReads();
  }
});

function renderReads() {
  for (const el of els.list.querySelectorAll('.reads')) el.remove();
  const view = state.view;
  /** @type {Map<number, string[]>} */
  const at = new Map();
  for (const [userId, seq] of view.reads) {
    if (userId === state.me?.userId || userId === 'bot' || seq <= 0) continue;
    // The newest rendered message at or before the mark.
    let s = Math.min(seq, view.newest);
    while (s >= view.oldest && !view.els.has(s)) s--;
    if (!view.els.has(s)) continue;
    if (!at.has(s)) at.set(s, []);
    at.get(s).push(state.names.get(userId) ?? 'someone');
  }
  for (const [s, who] of at) {
    view.els.get(s).append(h('div', { class: 'reads', 'aria-label': `Read by ${names(who, 10)}` },
      h('span', { 'aria-hidden': 'true' }, '✓✓ '), `Read by ${names(who)}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Presence and typing

client.on('presence', ({ room, user, online }) => {
  state.names.set(user.userId, user.name);
  if (room !== state.view.room) return;
  if (online) state.view.online.set(user.userId, user.name);
  else state.view.online.delete(user.userId);
  renderHeader();
});

client.on('typing', ({ room, user, typing }) => {
  if (room !== state.view.room || user.userId === state.me?.userId) return;
  const t = state.view.typing;
  clearTimeout(t.get(user.userId)?.timer);
  if (typing) {
    // The server's notice lasts five seconds unless repeated; be a little more patient.
    const timer = setTimeout(() => {
      t.delete(user.userId);
      renderTyping();
    }, 6000);
    t.set(user.userId, { name: user.name, timer });
  } else {
    t.delete(user.userId);
  }
  renderTyping();
});

function renderTyping() {
  const who = [...state.view.typing.values()].map((t) => t.name);
  if (!who.length) {
    els.typing.replaceChildren();
    return;
  }
  els.typing.replaceChildren(
    h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    `${names(who)} ${who.length === 1 ? 'is' : 'are'} typing…`,
  );
}

function typingStarted() {
  const room = state.current;
  if (!room || !client.ready) return;
  const now = Date.now();
  if (now - state.typingSentAt > TYPING_REPEAT_MS) {
    state.typingSentAt = now;
    client.setTyping(room, true).catch(() => {});
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(typingStopped, TYPING_IDLE_MS);
}

function typingStopped() {
  clearTimeout(state.typingTimer);
  if (!state.typingSentAt) return;
  state.typingSentAt = 0;
  const room = state.current;
  if (room && client.ready) client.setTyping(room, false).catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// Writing: the outbox shows what waits for the connection

function pendingId(clientId) {
  return `pending-${clientId}`;
}

function renderPending() {
  const room = state.view.room;
  const waiting = room ? client.pending(room) : [];
  for (const o of state.unconfirmed.values()) if (o.room === room && !waiting.some((w) => w.clientId === o.clientId)) waiting.push(o);
  const offline = client.state !== 'connected';
  const shown = new Set([...state.view.messages.values()].map((m) => m.clientId).filter(Boolean));
  const items = waiting
    .filter((o) => !shown.has(o.clientId))
    .map((o) => h('li', { class: 'msg mine pending', id: pendingId(o.clientId) },
      avatar(state.me?.userId ?? 'me', state.me?.name ?? ''),
      h('div', { class: 'body' },
        h('div', { class: 'meta' }, h('span', { class: 'author' }, 'You'),
          h('span', { class: 'status' }, offline ? 'Waiting for the connection…' : 'Sending…')),
        h('div', { class: 'text' }, o.text))));
  els.pending.replaceChildren(...items);
}
client.on('outbox', renderPending);
client.on('sent', (o) => {
  // Keep showing it until the message itself arrives, so it never blinks out.
  if (!state.view.messages.has(o.seq)) state.unconfirmed.set(o.clientId, o);
  renderPending();
});

els.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = els.text.value.trim();
  const room = state.current;
  if (!text || !room) return;
  els.text.value = '';
  autosize();
  typingStopped();
  const clientId = newClientId();
  client.send(room, text, { clientId }).catch((err) => {
    toast(err.code === 'too_large' ? 'That message is too long.' : `Not sent: ${err.message}`, 'error');
    renderPending();
  });
  scrollToBottom();
});

els.text.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.composer.requestSubmit();
  } else if (e.key === 'Escape' && !els.stop.hidden) {
    e.preventDefault();
    els.stop.click();
  }
});
els.text.addEventListener('input', () => {
  autosize();
  if (els.text.value.trim()) typingStarted();
  else typingStopped();
});
els.text.addEventListener('blur', typingStopped);

function autosize() {
  els.text.style.height = 'auto';
  els.text.style.height = `${Math.min(els.text.scrollHeight, 180)}px`;
}

// The assistant's Stop button: shown while a reply is being written in the open room.
function renderStop() {
  const room = state.view.room;
  const streaming = room ? client.streaming(room) : [];
  els.stop.hidden = streaming.length === 0;
}
els.stop.addEventListener('click', async () => {
  const room = state.view.room;
  if (!room) return;
  const replies = client.streaming(room);
  els.stop.disabled = true;
  try {
    await Promise.all(replies.map((r) => client.cancelReply(room, r.id)));
  } catch (err) {
    toast(`Could not stop: ${err.message}`, 'error');
  } finally {
    els.stop.disabled = false;
    renderStop();
  }
});

// ---------------------------------------------------------------------------------------------
// Narrow screens show the rooms or the chat; the back button returns to the rooms.

$('back').addEventListener('click', () => {
  els.app.dataset.view = 'rooms';
  els.roomList.querySelector('.current')?.focus();
});

// ---------------------------------------------------------------------------------------------
// Start: a stored session goes straight in; otherwise ask for a name.

function showWelcome(error = '') {
  $('welcome-error').textContent = error;
  if (!els.welcome.open) els.welcome.showModal();
  /** @type {HTMLInputElement} */ ($('welcome-name')).focus();
}

els.welcome.addEventListener('cancel', (e) => e.preventDefault()); // a name is needed
$('welcome-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('welcome-name')).value.trim();
  if (!name) return;
  els.welcome.close();
  client.name = name;
  client.connect().catch(() => {});
});

if (client.session) {
  client.connect().catch(() => {});
} else {
  els.conn.dataset.state = 'idle';
  els.connText.textContent = 'Not connected';
  renderRoom();
  showWelcome();
}
