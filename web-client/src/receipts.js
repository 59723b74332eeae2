// Read receipts: under the newest message each person has read, "Read by Alice, Bob and 2 others".
import { client, els, state } from './page-state.js';
import { h, receiptText } from './ui.js';

/** Put every receipt under its message again. */
export function renderReads() {
  for (const el of els.list.querySelectorAll('.reads')) el.remove();
  const view = state.view;
  /** @type {Map<number, { known: string[], unknown: number }>} */
  const at = new Map();
  for (const [userId, seq] of view.reads) {
    if (userId === state.me?.userId || userId === 'bot' || seq <= 0) continue;
    // The newest rendered message at or before the mark.
    let s = Math.min(seq, view.newest);
    while (s >= view.oldest && !view.els.has(s)) s--;
    if (!view.els.has(s)) continue;
    if (!at.has(s)) at.set(s, { known: [], unknown: 0 });
    const name = state.names.get(userId) ?? view.online.get(userId);
    if (name) at.get(s).known.push(name);
    else at.get(s).unknown++;
  }
  for (const [s, who] of at) {
    const text = receiptText(who.known, who.unknown);
    const full = who.known.length ? `Read by ${who.known.join(', ')}${who.unknown ? ` and ${who.unknown} more` : ''}` : text;
    view.els.get(s).append(h('div', { class: 'reads', title: full, 'aria-label': full },
      h('span', { 'aria-hidden': 'true' }, '✓✓ '), text));
  }
}

client.on('read', ({ room, userId, seq }) => {
  if (room !== state.view.room) return;
  state.view.reads.set(userId, Math.max(seq, state.view.reads.get(userId) ?? 0));
  renderReads();
});
