// papscope service worker: caches every asset of the site on install, so that
// papscope works offline after the first visit. The cache is named after the
// build's hash (version.js, written by `make site` over every file of the site,
// both wasm builds included): a new build installs a new cache and deletes the
// old one.
//
// The model code comes in two builds (see loader.js): papscope.wasm (SIMD128)
// and papscope-scalar.wasm. The install caches only the one this browser runs,
// which the loader names in the worker's address (sw.js?wasm=simd or
// sw.js?wasm=scalar), so that a SIMD browser never downloads the scalar file,
// nor the other way round. The other build is cached only if the page ever
// fetches it (the fetch handler caches what it fetches), e.g. with ?wasm=scalar;
// a page that switches builds registers the worker under its other address,
// which installs it again with that build.
'use strict';
try {
  importScripts('version.js');
} catch (e) {
  // A site served without `make site`: cache under a development name.
}
const CACHE = 'papscope-' + (self.PAPSCOPE_VERSION || 'dev');
const WASM = new URL(self.location).searchParams.get('wasm') === 'scalar' ? 'papscope-scalar.wasm' : 'papscope.wasm';
const ASSETS = [
  './', 'index.html', 'style.css', 'loader.js', 'worker.js', 'wasm_exec.js', 'version.js',
  WASM, 'papscope.safetensors', 'manifest.webmanifest',
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
