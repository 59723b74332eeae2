// Reactions: the chips under a message ("👍 3", pressed when one of them is ours) and the small
// picker behind a message's React action. A chip or a pick toggles our reaction; the server's
// answer (the message with its reactions) is drawn, and everyone else gets it as `reacted`.
import { client, state } from './page-state.js';
import { h, names, toast } from './ui.js';

/** The emoji the server accepts (docs/PROTOCOL.md). */
export const EMOJI = ['👍', '👎', '❤️', '😂', '🎉', '😮', '😢', '🙏'];

const mine = (r) => !!state.me && (r.users ?? []).some((u) => u.userId === state.me.userId);

async function toggle(m, emoji, on, apply) {
  try {
    apply(await client.react(m.room, m.id, emoji, on));
  } catch (err) {
    toast(`Could not react: ${err.message}`, 'error');
  }
}

/**
 * The chips of a message's reactions, or null when it has none.
 * @param {import('./client.js').Message} m
 * @param {(m: import('./client.js').Message) => void} apply draws the answer
 */
export function reactionsRow(m, apply) {
  const list = (m.reactions ?? []).filter((r) => r.count > 0);
  if (!list.length) return null;
  return h('div', { class: 'reactions' }, ...list.map((r) => {
    const who = (r.users ?? []).map((u) => (u.userId === state.me?.userId ? 'you' : u.name));
    const rest = r.count - who.length;
    const label = `${r.emoji} ${r.count}: ${names(rest > 0 ? [...who, `${rest} more`] : who, 10)}`;
    const on = mine(r);
    return h('button', {
      type: 'button',
      class: `reaction${on ? ' on' : ''}`,
      'aria-pressed': on ? 'true' : 'false',
      'aria-label': `${label}. ${on ? 'Remove your reaction' : 'React with this too'}`,
      title: label,
      onclick: () => toggle(m, r.emoji, !on, apply),
    }, h('span', { 'aria-hidden': 'true' }, r.emoji), h('span', { class: 'count' }, String(r.count)));
  }));
}

/** The React action: opens a row of the allowed emoji beside the message. */
export function reactButton(m, apply) {
  return h('button', {
    type: 'button',
    class: 'link',
    'aria-label': 'React to this message',
    'aria-expanded': 'false',
    onclick: (e) => {
      const button = /** @type {HTMLElement} */ (e.currentTarget);
      const open = button.parentElement?.querySelector('.picker');
      if (open) {
        open.remove();
        button.setAttribute('aria-expanded', 'false');
        return;
      }
      const taken = new Set((m.reactions ?? []).filter(mine).map((r) => r.emoji));
      const picker = h('div', { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction' },
        ...EMOJI.map((emoji) => h('button', {
          type: 'button',
          class: 'link',
          'aria-label': `React with ${emoji}`,
          'aria-pressed': taken.has(emoji) ? 'true' : 'false',
          onclick: () => toggle(m, emoji, !taken.has(emoji), apply),
        }, emoji)));
      picker.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') {
          picker.remove();
          button.setAttribute('aria-expanded', 'false');
          button.focus();
        }
      });
      button.setAttribute('aria-expanded', 'true');
      button.after(picker);
      /** @type {HTMLElement} */ (picker.firstElementChild)?.focus();
    },
  }, 'React');
}
