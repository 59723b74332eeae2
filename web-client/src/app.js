// The demo page: a guest picks a name, sees the rooms with unread counts, chats, pages through
// history, sees who is online, typing and how far others have read, and talks to the assistant.
// Everything about the connection (recovery, ordering, the outbox) is the client library's job;
// this file wires the connection to the page's parts (rooms.js, room.js, messages.js,
// receipts.js, composer.js, outage.js, search.js) and starts it.
import { renderPending, renderStop, renderTyping } from './composer.js';
import { nearBottom, putMessage, renderJump, scrollToBottom } from './messages.js';
import { client, els, newView, state, UI_KEY } from './page-state.js';
import { markRead, openRoom, renderHeader, renderRoom, resync } from './room.js';
import { refreshRooms, renderRooms } from './rooms.js';
import './outage.js';
import './search.js';
import './bot-ui.js';
import { $, avatar, toast } from './ui.js';

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
// What arrives in rooms

client.on('message', (m) => {
  const info = state.rooms.get(m.room);
  if (info) {
    // A new message that names us adds to the room's mention count (RoomInfo.mentions).
    const fresh = m.seq > (info.lastSeq ?? 0) && m.seq > (info.readSeq ?? 0);
    if (fresh && m.userId !== state.me?.userId && m.mentions?.includes(state.me?.userId ?? '')) {
      info.mentions = (info.mentions ?? 0) + 1;
    }
    info.lastSeq = Math.max(info.lastSeq ?? 0, m.seq);
  }
  if (m.clientId && m.room !== state.view.room) state.unconfirmed.delete(m.clientId);
  if (m.room === state.view.room && !state.view.loaded) state.view.early.push(m);
  if (m.room === state.view.room && state.view.loaded) {
    const stick = nearBottom();
    state.view.typing.delete(m.userId);
    putMessage(m);
    if (m.userId === 'bot' && state.rooms.get(m.room)?.member) els.botSettings.hidden = false;
    renderTyping();
    if (stick || m.userId === state.me?.userId) scrollToBottom();
    else renderJump();
    markRead();
  }
  renderRooms();
});

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

// ---------------------------------------------------------------------------------------------
// Who one is, and starting over

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
