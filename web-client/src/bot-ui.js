// The assistant's controls: Regenerate and Continue on its replies, "ask again" after editing a
// message it answered, and the room's bot settings with one's usage (the room's creator may
// change the settings; everyone may read them).
import { client, els, state } from './page-state.js';
import { $, h, toast } from './ui.js';

const finish = (m) => m.meta?.finishReason ?? m.finishReason;

async function ask(what, call) {
  try {
    await call();
  } catch (err) {
    toast(`Could not ${what}: ${err.message}`, 'error');
  }
}

/** Regenerate (any finished or stopped reply) and Continue (one cut at its length or stopped). */
export function botActions(m) {
  if (m.userId !== 'bot' || m.status === 'streaming' || m.deleted || !m.replyTo) return [];
  const out = [h('button', {
    type: 'button', class: 'link', 'aria-label': 'Regenerate this reply',
    onclick: () => ask('regenerate', () => client.regenerate(m.room, m.id)),
  }, 'Regenerate')];
  if (finish(m) === 'length' || finish(m) === 'cancelled') {
    out.push(h('button', {
      type: 'button', class: 'link', 'aria-label': 'Continue this reply',
      onclick: () => ask('continue', () => client.continueReply(m.room, m.id)),
    }, 'Continue'));
  }
  return out;
}

/** The newest bot reply to a message in the open room, if any. */
export function replyTo(id) {
  let found = null;
  for (const m of state.view.messages.values()) if (m.userId === 'bot' && m.replyTo === id && (!found || m.seq > found.seq)) found = m;
  return found;
}

/**
 * After an edit of a message the bot answered: offer to ask again with the new text (a new
 * reply replacing the old one, which is kept).
 * @param {HTMLElement} el the edited message's element
 * @param {import('./client.js').Message} m
 */
export function offerResend(el, m) {
  const reply = replyTo(m.id);
  if (!reply || el.querySelector('.resend')) return;
  // Kept in the view, so that a redraw of the message (its own `edited` event, which follows
  // the edit's answer) draws the offer again.
  state.view.resend.add(m.id);
  const box = h('div', { class: 'note resend' }, 'The assistant answered the earlier text. ',
    h('button', {
      type: 'button', class: 'link',
      onclick: () => {
        state.view.resend.delete(m.id);
        box.remove();
        ask('ask again', () => client.regenerate(m.room, reply.id));
      },
    }, 'Ask again with the new text'));
  el.querySelector('.body')?.append(box);
}

// ---------------------------------------------------------------------------------------------
// Settings and usage

const dialog = /** @type {HTMLDialogElement} */ ($('bot-dialog'));
const form = /** @type {HTMLFormElement} */ ($('bot-form'));
const field = (id) => /** @type {HTMLInputElement} */ ($(id));

const usageText = (u) => `${u.replies} ${u.replies === 1 ? 'reply' : 'replies'}, ${u.promptTokens + u.completionTokens} tokens`;

function fill(s) {
  field('bot-prompt').value = s.systemPrompt ?? '';
  field('bot-model').value = s.model ?? '';
  field('bot-temperature').value = s.temperature === null || s.temperature === undefined ? '' : String(s.temperature);
  field('bot-mode').value = s.replyMode ?? 'mention';
}

els.botSettings.addEventListener('click', async () => {
  const room = state.current;
  if (!room) return;
  $('bot-error').textContent = '';
  $('bot-usage').textContent = '';
  try {
    fill(await client.botSettings(room));
  } catch (err) {
    toast(`Could not read the bot settings: ${err.message}`, 'error');
    return;
  }
  dialog.showModal();
  client.usage(room).then((u) => {
    $('bot-usage').textContent = `Your use of the assistant here: today ${usageText(u.today)}; this month ${usageText(u.month)}.`;
  }).catch(() => {});
});
dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = state.current;
  if (!room) return;
  const temperature = field('bot-temperature').value.trim();
  try {
    fill(await client.botSettings(room, {
      systemPrompt: field('bot-prompt').value,
      model: field('bot-model').value.trim(),
      temperature: temperature === '' ? null : Number(temperature),
      replyMode: /** @type {'mention'|'every'} */ (field('bot-mode').value),
    }));
    dialog.close();
    toast('Saved: the next reply uses these settings.');
  } catch (err) {
    $('bot-error').textContent = err.code === 'forbidden' ? 'Only the room\u2019s creator can change these.' : err.message;
  }
});

client.on('botSettings', (s) => {
  if (dialog.open && s.room === state.current) fill(s);
});
