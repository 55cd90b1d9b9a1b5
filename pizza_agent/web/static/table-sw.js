// The food table's service worker: the page, its scripts and style sheet from a cache when the
// network is gone, so a reload while offline still shows the table (the snapshot and the queue are
// in IndexedDB). The network first whenever it answers; the API is never cached.
"use strict";
const CACHE = "pizza-table-v1";
const SHELL = ["/table", "/static/table.js", "/static/offline.js", "/static/app.css", "/static/jsQR.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !SHELL.includes(url.pathname)) return;  // the API goes to the network
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request)),
  );
});
