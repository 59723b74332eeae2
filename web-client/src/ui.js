// Small DOM and formatting helpers for the demo page.

/**
 * Create an element: h('li', { class: 'x', dataset: { seq: 1 }, onclick }, child, 'text').
 * Text children become text nodes (never HTML).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** A stable hue for a user id, for avatars. */
export function hue(id) {
  let x = 0;
  for (let i = 0; i < id.length; i++) x = (x * 31 + id.charCodeAt(i)) >>> 0;
  return x % 360;
}

/** One or two letters for an avatar. */
export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] ?? '?').slice(0, 2);
  return letters.toUpperCase();
}

/** An avatar element for a user. */
export function avatar(userId, name, extra = '') {
  const el = h('span', { class: `avatar ${extra}`.trim(), 'aria-hidden': 'true' }, userId === 'bot' ? '✦' : initials(name));
  el.style.setProperty('--hue', String(userId === 'bot' ? 262 : hue(userId)));
  return el;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });

/** 14:05 */
export function clock(ts) {
  return timeFmt.format(new Date(ts));
}

/** "Today", "Yesterday" or "Monday, March 3". */
export function day(ts) {
  const d = new Date(ts);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  const same = (a, b) => a.toDateString() === b.toDateString();
  if (same(d, today)) return 'Today';
  if (same(d, yesterday)) return 'Yesterday';
  return dayFmt.format(d);
}

/** "Ada", "Ada and Ben", "Ada, Ben and Cy", "Ada, Ben and 3 others". */
export function names(list, max = 3) {
  if (list.length <= 1) return list.join('');
  if (list.length <= max) return `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
  const rest = list.length - (max - 1);
  return `${list.slice(0, max - 1).join(', ')} and ${rest} others`;
}

/** Show a short notice at the bottom of the screen. */
export function toast(text, kind = 'info', ms = 4000) {
  const box = $('toasts');
  const el = h('div', { class: `toast ${kind}` }, text);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}
