// Offline support for the demo board: network first, the cache when the network is away, so a
// reload while offline still opens the board (its queued edits live in IndexedDB). Tokens are
// never cached.
const CACHE = 'tandem-demo';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/demo/token')) {
    return;
  }
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(req.mode === 'navigate' ? url.pathname : req, copy));
        }
        return res;
      })
      .catch(async () => {
        const cached = await caches.match(req.mode === 'navigate' ? url.pathname : req, { ignoreSearch: req.mode === 'navigate' });
        return cached || Response.error();
      }),
  );
});
