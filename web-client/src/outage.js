// A page opened while the server is down (a reload during an outage, the page itself coming from
// the service worker's copy) says so plainly and keeps trying, with a button to try at once.
// Once the page has been connected, the connection pill and the header say the rest.
import { client } from './page-state.js';
import { $ } from './ui.js';

const box = $('outage');
const detail = $('outage-detail');
let connectedOnce = false;

client.on('session', () => {
  connectedOnce = true;
  box.hidden = true;
});

client.on('state', ({ state, attempt }) => {
  if (connectedOnce || state === 'connected') return;
  if (state !== 'offline' && state !== 'reconnecting') return;
  detail.textContent = attempt
    ? `It may be restarting. This page keeps trying (attempt ${attempt}).`
    : 'It may be restarting. This page keeps trying.';
  box.hidden = false;
});

$('outage-retry').addEventListener('click', () => {
  detail.textContent = 'Trying…';
  client.disconnect();
  client.connect().catch(() => {});
});

// Keep a copy of the page for the next reload during an outage (secure origins only).
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('sw.js').catch(() => {});
}
