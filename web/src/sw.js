// The scanning page's service worker: the page and its scripts load without a network.
// The page itself is asked of the network first (it carries the session's token and the
// reader's language) and taken from the cache when there is none; the built scripts
// change only with a release (RELEASE names the cache), so they come from the cache.
// Scans are not this worker's business: the page keeps them in IndexedDB and sends them.

const CACHE = `serah-scan-${RELEASE}`;
const PAGE = "/pindai";
const BUILD = "/static/web/build/";

async function keepPage(cache) {
  const r = await fetch(PAGE, { credentials: "same-origin", redirect: "manual" });
  // Only the scanning page itself: not a sign-in page a signed-out browser is sent to.
  if (r.status === 200 && r.type === "basic") await cache.put(PAGE, r);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then(async (cache) => {
      await cache.add(`${BUILD}scan.js`);
      await keepPage(cache).catch(() => {});
    }),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("serah-scan-") && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  const ours = urls.filter((u) => new URL(u, self.location.href).pathname.startsWith(BUILD));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ours)).catch(() => {}));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          const r = await fetch(request);
          if (r.status === 200 && !r.redirected) await cache.put(PAGE, r.clone());
          return r;
        } catch {
          return (await cache.match(PAGE)) || Response.error();
        }
      })(),
    );
  } else if (url.pathname.startsWith(BUILD)) {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        const kept = await cache.match(request, { ignoreSearch: true });
        if (kept) return kept;
        const r = await fetch(request);
        if (r.ok) await cache.put(request, r.clone());
        return r;
      })(),
    );
  }
});
