// Writing: the message box, typing notices (ours out, others' in), the outbox shown while
// messages wait for the connection, and the assistant's Stop button.
import { scrollToBottom } from './messages.js';
import { client, els, pendingId, state } from './page-state.js';
import { avatar, h, names, toast } from './ui.js';
import { newClientId } from './client.js';

const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

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

export function renderTyping() {
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

export function renderPending() {
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

/** The assistant's Stop button: shown while a reply is being written in the open room. */
export function renderStop() {
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
