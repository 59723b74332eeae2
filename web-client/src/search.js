// Search: a box above the room list; results (best first, with their room and time) replace
// the list until the box is cleared; a result opens its room at that message, in context.
import { client, els, state } from './page-state.js';
import { renderMarkdown } from './markdown.js';
import { roomLabel, showMessage } from './room.js';
import { $, clock, day, h, toast } from './ui.js';

const form = /** @type {HTMLFormElement} */ ($('search-form'));
const input = /** @type {HTMLInputElement} */ ($('search-query'));
const results = $('search-results');
/** @type {{ query: string, next?: string }} */
let last = { query: '' };

function close() {
  results.hidden = true;
  results.replaceChildren();
  els.roomList.hidden = false;
  last = { query: '' };
}

function item(m) {
  const info = state.rooms.get(m.room);
  const where = info ? roomLabel(info) : 'a room';
  return h('li', null, h('button', {
    type: 'button',
    class: 'result',
    'aria-label': `${m.name} in ${where}, ${day(m.ts)} ${clock(m.ts)}: ${m.text}`,
    onclick: () => {
      els.app.dataset.view = 'chat';
      showMessage(m.room, m.seq);
    },
  },
  h('span', { class: 'result-meta' }, `${m.name} · ${where} · ${day(m.ts)} ${clock(m.ts)}`),
  h('span', { class: 'result-text' }, renderMarkdown(m.text ?? ''))));
}

async function run(more = false) {
  const query = more ? last.query : input.value.trim();
  if (!query) return close();
  try {
    const page = await client.search(query, more && last.next ? { before: last.next } : {});
    if (!more) results.replaceChildren();
    results.querySelector('.more')?.remove();
    const found = page?.messages ?? [];
    last = { query, next: page?.next };
    if (!found.length && !more) results.append(h('li', { class: 'no-results' }, `Nothing matches “${query}”.`));
    results.append(...found.map(item));
    if (page?.next) {
      results.append(h('li', { class: 'more' },
        h('button', { type: 'button', class: 'btn ghost small', onclick: () => run(true) }, 'More results')));
    }
    results.hidden = false;
    els.roomList.hidden = true;
  } catch (err) {
    toast(`Could not search: ${err.message}`, 'error');
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  run();
});
input.addEventListener('input', () => {
  if (!input.value.trim()) close();
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    input.value = '';
    close();
  }
});
