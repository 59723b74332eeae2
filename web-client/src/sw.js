// The page's service worker: it keeps a copy of the page itself (index.html, app.js, style.css)
// so that a reload while the server is down still shows the page, which then says the server is
// not answering and keeps trying. Always network first: a running server's page is never stale.
// Nothing else passes through it (Socket.IO, the API and the Admin UI go straight out).
const CACHE = 'chat-page-v1';
const SHELL = ['./', './index.html', './app.js', './style.css'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  if (req.method !== 'GET' || url.origin !== scope.origin) return;
  const path = url.pathname.slice(scope.pathname.length - 1);
  if (!['/', '/index.html', '/app.js', '/style.css'].includes(path)) return;
  event.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.ok) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(req.mode === 'navigate' ? './' : req, copy));
      }
      return res;
    } catch (err) {
      const cached = await caches.match(req.mode === 'navigate' ? './' : req, { ignoreSearch: true });
      if (cached) return cached;
      throw err;
    }
  })());
});
