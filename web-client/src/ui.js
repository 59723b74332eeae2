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

/**
 * The receipt line: known names first (up to three shown), everyone else counted, never
 * "someone" (a reader whose name this page has not seen yet is one of the others).
 * @param {string[]} known
 * @param {number} unknown
 */
export function receiptText(known, unknown) {
  const shown = known.length + unknown > 3 ? known.slice(0, 2) : known.slice(0, 3);
  const others = known.length - shown.length + unknown;
  const parts = [...shown];
  if (others) parts.push(`${others} ${others === 1 ? (shown.length ? 'other' : 'person') : (shown.length ? 'others' : 'people')}`);
  if (parts.length === 1) return `Read by ${parts[0]}`;
  return `Read by ${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/**
 * Who is in the room besides the caller, for a header: "Only you are here", "Ada and you",
 * "Ada, Ben and you", "Ada, Ben, 3 others and you".
 * @param {string[]} others
 */
export function presenceLine(others) {
  if (!others.length) return 'Only you are here';
  if (others.length <= 2) return `${others.join(', ')} and you`;
  const rest = others.length - 2;
  return `${others.slice(0, 2).join(', ')}, ${rest} ${rest === 1 ? 'other' : 'others'} and you`;
}

/** Show a short notice at the bottom of the screen. */
export function toast(text, kind = 'info', ms = 4000) {
  const box = $('toasts');
  const el = h('div', { class: `toast ${kind}` }, text);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}
