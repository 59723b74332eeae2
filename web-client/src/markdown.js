// Markdown in messages: marked turns the text into HTML, DOMPurify keeps only the tags a chat
// message needs, and what comes out is a DOM fragment (never a string put into innerHTML).
// Raw HTML typed in a message shows as text, links open in a new tab, code blocks get a Copy button.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'ul', 'ol', 'li', 'a', 'blockquote', 'hr',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input',
];
const ALLOWED_ATTR = ['href', 'title', 'start', 'type', 'checked', 'disabled', 'align'];

const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s) => s.replace(/[&<>"']/g, (c) => escapes[c]);

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // A message's `<b>` or `<script>` is text someone typed: show it, do not interpret it.
    html: ({ text }) => escape(text),
    // Images would load from anywhere (a tracking pixel in a message): show the link instead.
    image: ({ href, text }) => `<a href="${escape(href ?? '')}">${escape(text || href || '')}</a>`,
  },
});

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  if (node.tagName === 'INPUT') node.setAttribute('disabled', '');
});

/**
 * A message's text as sanitized DOM. A reply that is still growing renders the same way on each
 * delta (an unclosed code fence is a code block up to the end), so nothing jumps when it ends.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const html = marked.parse(text, { async: false }).trim();
  const frag = purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const pre of frag.querySelectorAll('pre')) addCopyButton(pre);
  highlightMentions(frag);
  return frag;
}

const MENTION = /(^|[^\p{L}\p{N}_])(@[\p{L}\p{N}_][\p{L}\p{N}_.-]*)/gu;

/** `@name` outside code and links is marked, so a mention stands out as in Slack. */
function highlightMentions(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement?.closest('code, pre, a')) continue;
    if (node.nodeValue.includes('@')) hits.push(node);
  }
  for (const node of hits) {
    const parts = [];
    let last = 0;
    for (const match of node.nodeValue.matchAll(MENTION)) {
      const at = match.index + match[1].length;
      parts.push(document.createTextNode(node.nodeValue.slice(last, at)));
      const span = document.createElement('span');
      span.className = 'mention';
      span.textContent = match[2];
      parts.push(span);
      last = at + match[2].length;
    }
    if (!parts.length) continue;
    parts.push(document.createTextNode(node.nodeValue.slice(last)));
    node.replaceWith(...parts);
  }
}

function addCopyButton(pre) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy-code';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy the code');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(pre.querySelector('code')?.textContent ?? pre.textContent ?? '');
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
  const box = document.createElement('div');
  box.className = 'code-block';
  pre.replaceWith(box);
  box.append(button, pre);
}
