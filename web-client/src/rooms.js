// The room list: unread counts, creating and joining rooms, the assistant's room, inviting,
// leaving, and who one is.
import { nearBottom } from './messages.js';
import { client, els, hooks, newView, state, UI_KEY } from './page-state.js';
import { openRoom, renderRoom, roomLabel } from './room.js';
import { $, h, toast } from './ui.js';

export async function refreshRooms() {
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

export function renderRooms() {
  const rooms = [...state.rooms.values()].sort((a, b) => {
    if (!!a.bot !== !!b.bot) return a.bot ? -1 : 1;
    if (a.member !== b.member) return a.member ? -1 : 1;
    return roomLabel(a).localeCompare(roomLabel(b));
  });
  const items = rooms.map((info) => {
    const count = unread(info);
    // Mentions of us after our read mark (RoomInfo.mentions), cleared with the unread count.
    const mentions = count && Number.isInteger(info.mentions) ? info.mentions : 0;
    const current = info.id === state.current;
    const icon = info.bot ? '✦' : info.private ? '🔒' : '#';
    const label = [
      roomLabel(info),
      info.private && !info.bot ? 'private' : '',
      !info.member ? 'not joined' : '',
      count ? `${count} unread` : '',
      mentions ? `${mentions} ${mentions === 1 ? 'mention' : 'mentions'} of you` : '',
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
      mentions ? h('span', { class: 'badge mention-badge', 'aria-hidden': 'true' }, `@${mentions > 99 ? '99+' : mentions}`) : null,
      count ? h('span', { class: 'badge', 'aria-hidden': 'true' }, count > 99 ? '99+' : String(count)) : null));
  });
  els.roomList.replaceChildren(...items);
  const total = rooms.reduce((n, r) => n + unread(r), 0);
  document.title = total ? `(${total}) Chat` : 'Chat';
}
hooks.renderRooms = renderRooms;

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
