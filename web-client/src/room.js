// The open room: opening it (join, first page, divider), its header (title, who is here), paging
// back through history, and moving our read mark when its newest message is on screen.
import { renderPending, renderStop, renderTyping } from './composer.js';
import { nearBottom, putMessage, renderDivider, renderJump, scrollToBottom, scrollToDivider } from './messages.js';
import { client, els, hooks, newView, state, UI_KEY } from './page-state.js';
import { renderReads } from './receipts.js';
import { h, presenceLine, toast } from './ui.js';

const PAGE = 50;

export function roomLabel(info) {
  if (info.bot) return 'Assistant';
  return info.name;
}

export async function openRoom(room, { focus = true } = {}) {
  const info = state.rooms.get(room);
  if (!info) return;
  // A room one just joins has nothing "new" in it: the divider is for members coming back.
  const wasMember = !!info.member;
  state.current = room;
  localStorage.setItem(UI_KEY, room);
  els.app.dataset.view = 'chat';
  state.view = newView(room);
  renderRoom();
  hooks.renderRooms();
  try {
    const joined = await client.join(room);
    if (state.current !== room) return;
    state.rooms.set(room, { ...state.rooms.get(room), ...joined.room });
    const now = state.rooms.get(room);
    if (wasMember && now.member && now.lastSeq > now.readSeq) state.view.readAtOpen = now.readSeq;
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
    renderDivider();
    if (!scrollToDivider()) scrollToBottom();
    hooks.renderRooms();
    markRead();
    if (focus && matchMedia('(min-width: 760px)').matches) els.text.focus();
  } catch (err) {
    toast(`Could not open the room: ${err.message}`, 'error');
  }
}

/** After a reconnection: who is online and how far people read may have changed. */
export async function resync() {
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

export function renderRoom() {
  const info = state.current ? state.rooms.get(state.current) : null;
  const ready = !!info && state.view.loaded;
  els.empty.hidden = !!info;
  els.text.disabled = !info;
  els.send.disabled = !info;
  els.addBot.hidden = !info || !!info.bot || !info.member;
  // Bot settings: in the bot's room, and in a room where the bot has spoken.
  els.botSettings.hidden = !info || !info.member || !(info.bot || [...state.view.messages.values()].some((m) => m.userId === 'bot'));
  els.invite.hidden = !info || !!info.bot || !info.private || !info.member;
  els.leave.hidden = !info || !!info.bot || !info.member;
  els.text.placeholder = !info ? 'Pick a room first' : info.bot ? 'Ask the assistant…' : `Message ${roomLabel(info)}`;
  els.loadOlder.hidden = !ready || !state.view.hasOlder;
  els.startOfRoom.hidden = !ready || state.view.hasOlder;
  if (!ready) els.list.replaceChildren();
  renderHeader();
  renderTyping();
  renderPending();
  renderStop();
  renderJump();
}

export function renderHeader() {
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
    els.roomOnline.textContent = botLine(state.me?.bot);
    return;
  }
  const others = [...state.view.online].filter(([id]) => id !== state.me?.userId).map(([, name]) => name);
  const line = presenceLine(others);
  els.roomOnline.title = others.length > 2 ? `${others.join(', ')} and you` : '';
  els.roomOnline.replaceChildren(h('span', { class: 'online-dot', 'aria-hidden': 'true' }), h('span', { class: 'online-text' }, line));
}

/** Which bot answers, from the session: the offline one says what it is and how to get a model. */
function botLine(bot) {
  if (bot?.kind === 'embedded') return 'The embedded offline bot, no model: start the server with --llm-base-url to connect one';
  if (bot?.kind === 'openai') return `Answers with ${bot.model}`;
  return 'Your private room with the assistant';
}

client.on('presence', ({ room, user, online }) => {
  state.names.set(user.userId, user.name);
  if (room !== state.view.room) return;
  if (online) state.view.online.set(user.userId, user.name);
  else state.view.online.delete(user.userId);
  renderHeader();
});

/**
 * Open a room at one message, in context: earlier pages load until it is there, then it is
 * scrolled to the middle and marked for a moment. Used by search results.
 */
export async function showMessage(room, seq) {
  if (state.view.room !== room || !state.view.loaded) await openRoom(room, { focus: false });
  for (let pages = 0; state.view.room === room && !state.view.els.has(seq) && state.view.hasOlder && pages < 40; pages++) {
    await loadOlder();
  }
  const el = state.view.els.get(seq);
  if (!el) {
    toast('That message is no longer there.', 'error');
    return;
  }
  el.scrollIntoView({ block: 'center' });
  el.classList.add('found');
  setTimeout(() => el.classList.remove('found'), 3000);
  renderJump();
}

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
    renderDivider();
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

// Our read mark moves when the newest message is on screen.
let readTimer = 0;
export function markRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const view = state.view;
    const info = view.room ? state.rooms.get(view.room) : null;
    if (!info || !info.member || !view.loaded || document.visibilityState !== 'visible' || !nearBottom()) return;
    const seq = view.newest;
    if (!seq || seq <= (info.readSeq ?? 0)) return;
    try {
      const res = await client.markRead(view.room, seq);
      readUpTo(info, res.seq);
      hooks.renderRooms();
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
  if (userId !== state.me?.userId) return;
  const info = state.rooms.get(room);
  if (info) readUpTo(info, seq);
  hooks.renderRooms();
});

/** Our read mark in a room moved to `seq`; having read everything clears its mentions. */
function readUpTo(info, seq) {
  info.readSeq = Math.max(info.readSeq ?? 0, seq);
  if (info.readSeq >= (info.lastSeq ?? 0)) info.mentions = 0;
}
