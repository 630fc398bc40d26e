// papscope loader: glue only. It fetches papscope.wasm with a progress bar,
// compiles it once, starts the worker with the compiled module, and runs the
// same module on the page, where Go takes over (see wasm/main.go). The page
// starts more workers from the same module for batches (papscopeModule).
'use strict';
(async () => {
  const status = document.getElementById('status');
  const bar = document.getElementById('load-progress');
  const fail = (msg) => {
    document.body.dataset.state = 'error';
    status.textContent = msg;
    bar.hidden = true;
  };
  if (location.protocol === 'file:') {
    // Browsers do not let a page opened from a file fetch its own files or start workers.
    fail('papscope must be served over HTTP, not opened as a file. In the papscope folder run "make run" ' +
      '(or "bin/papscope serve -dir web", where web is this folder) and open http://127.0.0.1:8080/ — ' +
      'or put this folder on any static web host.');
    return;
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch(() => {}); // offline use is a bonus, never a blocker
  }
  if (typeof WebAssembly !== 'object' || typeof Worker !== 'function') {
    fail('This browser cannot run papscope: it needs WebAssembly and Web Workers.');
    return;
  }
  try {
    const resp = await fetch('papscope.wasm');
    if (!resp.ok) throw new Error('papscope.wasm: HTTP ' + resp.status);
    // Content-Length is the compressed size when the server compresses: then the bar is indeterminate.
    const total = Number(resp.headers.get('Content-Length')) || 0;
    const encoded = (resp.headers.get('Content-Encoding') || 'identity') !== 'identity';
    const reader = resp.body.getReader();
    const chunks = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
      if (total && !encoded && got <= total) bar.value = got / total; else bar.removeAttribute('value');
      status.textContent = 'Loading model code ' + (got / 1e6).toFixed(1) + (total && !encoded ? ' of ' + (total / 1e6).toFixed(1) : '') + ' MB…';
    }
    const bytes = new Uint8Array(got);
    let off = 0;
    for (const c of chunks) { bytes.set(c, off); off += c.length; }
    status.textContent = 'Starting…';
    const module = await WebAssembly.compile(bytes);
    const worker = new Worker('worker.js');
    worker.postMessage({ boot: module });
    self.papscopeWorker = worker;
    self.papscopeModule = module;
    self.papscopeWasmBytes = got;
    const go = new Go();
    const instance = await WebAssembly.instantiate(module, go.importObject);
    go.run(instance);
  } catch (e) {
    fail('papscope could not start: ' + (e && e.message ? e.message : e));
  }
})();
