// The open room's messages: drawing one (markdown, actions, receipts kept across redraws), keeping
// them in seq order, editing and deleting one's own, the "new messages" divider and the
// "jump to latest" button.
import { renderMarkdown } from './markdown.js';
import { botActions, offerResend } from './bot-ui.js';
import { reactButton, reactionsRow } from './reactions.js';
import { client, els, pendingId, state } from './page-state.js';
import { avatar, clock, day, h, toast } from './ui.js';

/** Insert or update one message in the open room's list. */
export function putMessage(m) {
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
    // A receipt under a growing reply stays where it is through every delta.
    const reads = old.querySelector(':scope > .reads');
    if (reads) el.append(reads);
    old.replaceWith(el);
  } else {
    // Keep seq order: find the first rendered message with a larger seq.
    let before = null;
    for (const child of els.list.querySelectorAll(':scope > .msg')) {
      if (Number(/** @type {HTMLElement} */ (child).dataset.seq) > m.seq) {
        before = child;
        break;
      }
    }
    els.list.insertBefore(el, before);
  }
  view.els.set(m.seq, el);
  if (view.resend.has(merged.id)) offerResend(el, merged);
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
  const mentionsMe = !!state.me && Array.isArray(m.mentions) && m.mentions.includes(state.me.userId);
  const cls = ['msg', mine && 'mine', bot && 'bot', streaming && 'streaming', m.deleted && 'deleted', mentionsMe && 'mentions-me']
    .filter(Boolean).join(' ');
  const text = h('div', { class: 'text', 'aria-busy': streaming ? 'true' : null },
    m.deleted ? 'This message was deleted.' : renderMarkdown(m.text ?? ''));
  // The cursor ends the text's last line, inside its last paragraph, item or code block.
  if (streaming) lastLine(text).append(h('span', { class: 'cursor', 'aria-hidden': 'true' }));
  // The actions sit beside the bubble, in its own row, so showing them covers nothing.
  const actions = m.deleted || streaming ? null : h('div', { class: 'actions' },
    reactButton(m, putMessage),
    mine ? h('button', { type: 'button', class: 'link', onclick: () => startEdit(m), 'aria-label': 'Edit your message' }, 'Edit') : null,
    mine ? h('button', { type: 'button', class: 'link', onclick: () => removeMessage(m), 'aria-label': 'Delete your message' }, 'Delete') : null,
    ...botActions(m));
  const body = h('div', { class: 'body' },
    h('div', { class: 'meta' },
      h('span', { class: 'author' }, mine ? 'You' : m.name),
      h('time', { datetime: new Date(m.ts).toISOString(), title: new Date(m.ts).toLocaleString() }, clock(m.ts)),
      m.editedTs && !m.deleted ? h('span', { class: 'edited' }, '(edited)') : null),
    h('div', { class: 'bubble-row' }, text, actions),
    m.deleted ? null : reactionsRow(m, putMessage));
  if (m.meta?.finishReason === 'cancelled' || m.finishReason === 'cancelled') {
    body.append(h('div', { class: 'note' }, 'Stopped'));
  }
  return h('li', { class: cls, id: `msg-${m.seq}`, dataset: { seq: m.seq, id: m.id } }, avatar(m.userId, m.name), body);
}

/** The innermost last block of a rendered text (the element itself when it has none). */
function lastLine(el) {
  let at = el;
  for (let last = at.lastElementChild; last && /^(P|UL|OL|LI|BLOCKQUOTE|DIV|PRE|CODE)$/.test(last.tagName); last = at.lastElementChild) {
    at = last;
  }
  return at;
}

function startEdit(m) {
  const el = state.view.els.get(m.seq);
  if (!el) return;
  const row = el.querySelector('.bubble-row');
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
        const edited = await client.edit(m.room, m.id, text);
        putMessage(edited);
        const shown = state.view.els.get(m.seq);
        if (shown) offerResend(shown, edited);
      } catch (err) {
        toast(`Could not edit: ${err.message}`, 'error');
        finish();
      }
    }
  });
  row.replaceWith(area, h('p', { class: 'hint' }, 'Enter to save · Escape to cancel'));
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

for (const ev of ['edited', 'deleted', 'reacted']) {
  client.on(ev, (m) => {
    if (m.room === state.view.room && state.view.messages.has(m.seq)) putMessage(m);
  });
}

/**
 * The "new messages" line before the first message after the read mark the room opened with
 * (not before one's own). It stays while the room is open, as in Slack.
 */
export function renderDivider() {
  els.list.querySelector(':scope > .new-divider')?.remove();
  const view = state.view;
  if (view.readAtOpen < 0) return;
  const first = [...view.messages.values()]
    .filter((m) => m.seq > view.readAtOpen && m.userId !== state.me?.userId)
    .sort((a, b) => a.seq - b.seq)[0];
  if (!first) return;
  const el = view.els.get(first.seq);
  el?.before(h('li', { class: 'new-divider', role: 'separator', 'aria-label': 'New messages' }, h('span', null, 'New messages')));
}

/** Scroll so the divider is near the top; false when there is none. */
export function scrollToDivider() {
  const divider = els.list.querySelector(':scope > .new-divider');
  if (!divider) return false;
  els.messages.scrollTop = Math.max(0, divider.offsetTop - els.messages.offsetTop - 40);
  renderJump();
  return true;
}

export function nearBottom() {
  const box = els.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

export function scrollToBottom() {
  els.messages.scrollTop = els.messages.scrollHeight;
  renderJump();
}

/** "Jump to latest" shows while the newest messages are out of sight. */
export function renderJump() {
  els.jump.hidden = !state.view.loaded || nearBottom();
}
els.jump.addEventListener('click', () => {
  scrollToBottom();
  els.text.focus();
});
els.messages.addEventListener('scroll', renderJump, { passive: true });
