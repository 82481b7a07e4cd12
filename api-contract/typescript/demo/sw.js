// Offline support for the demo board: network first, the cache when the network is away, so a
// reload while offline still opens the board (its queued edits live in IndexedDB). Tokens are
// never cached. It also shows the gateway's push notifications ({title, body, url?, tag?}).
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

self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data.text() };
  }
  const options = { body: data.body || '', data: { url: data.url } };
  if (data.tag) {
    options.tag = data.tag;
  }
  event.waitUntil(self.registration.showNotification(data.title || 'Tandem', options));
});

// a click focuses an open board, or opens the notification's url (the board by default)
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || './', self.registration.scope).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((open) => {
      const board = open.find((c) => c.url.startsWith(self.registration.scope));
      return board ? board.focus() : self.clients.openWindow(url);
    }),
  );
});
