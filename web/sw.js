// papscope service worker: caches every asset of the site on install, so that
// papscope works offline after the first visit. The cache is named after the
// build's hash (version.js, written by `make site`): a new build installs a
// new cache and deletes the old one.
'use strict';
try {
  importScripts('version.js');
} catch (e) {
  // A site served without `make site`: cache under a development name.
}
const CACHE = 'papscope-' + (self.PAPSCOPE_VERSION || 'dev');
const ASSETS = [
  './', 'index.html', 'style.css', 'loader.js', 'worker.js', 'wasm_exec.js', 'version.js',
  'papscope.wasm', 'papscope.safetensors', 'manifest.webmanifest',
  'icons/icon-192.png', 'icons/icon-512.png', 'icons/icon-maskable-512.png',
  'samples/samples.json',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    const samples = await (await cache.match('samples/samples.json')).json();
    await cache.addAll(samples.map((s) => 'samples/' + s.file));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('papscope-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// Cache first for the site's own files; anything else goes to the network untouched.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    const resp = await fetch(req);
    if (resp.ok && resp.type === 'basic') cache.put(req, resp.clone());
    return resp;
  })());
});
