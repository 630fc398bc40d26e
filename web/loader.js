// papscope loader: glue only. It picks the build of the model code this
// browser can run (papscope.wasm with WebAssembly SIMD128 instructions, else
// papscope-scalar.wasm), compiles it while it downloads with a progress bar,
// starts the worker with the compiled module, and runs the same module on the
// page, where Go takes over (see wasm/main.go). The page starts more workers
// from the same module for batches (papscopeModule).
//
// What it leaves on self for the page, the tests (e2e/) and the benchmark (bench/):
//   papscopeBuild     'simd' or 'scalar': the build chosen
//   papscopeWasmFile  the file fetched: 'papscope.wasm' or 'papscope-scalar.wasm'
//   papscopeCompile   'streaming' (compiled while downloading) or 'buffer' (downloaded, then compiled)
//   papscopeWasmBytes the bytes of the module downloaded (after any Content-Encoding)
//   papscopeModule, papscopeWorker: the compiled module and the model's worker
//   papscopeWeights   the request for papscope.safetensors, started beside the module's (the page takes it)
//
// ?wasm=scalar in the page's address forces the scalar build (to test it, or
// to compare both builds in a browser that has SIMD128).
'use strict';

// SIMD_PROBE is the smallest module that uses a SIMD128 instruction: browsers
// without SIMD128 (Safari before 16.4, old Chromium and Firefox) reject it,
// and those that validate it can compile papscope.wasm. Its text:
//   (module
//     (func (result i32)
//       (i32x4.extract_lane 2 (i32x4.splat (i32.const 7)))))
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, //       type section: one type, func [] -> [i32]
  0x03, 0x02, 0x01, 0x00, //                         function section: one function of type 0
  0x0a, 0x0b, 0x01, 0x09, 0x00, //                   code section: one body of 9 bytes, no locals
  0x41, 0x07, //                                       i32.const 7
  0xfd, 0x11, //                                       i32x4.splat
  0xfd, 0x1b, 0x02, //                                 i32x4.extract_lane 2
  0x0b, //                                             end
]);

// wasmBuild says which build to fetch: the scalar one when the address asks
// for it (?wasm=scalar) or when this browser cannot validate SIMD128 code.
function wasmBuild() {
  if (new URLSearchParams(location.search).get('wasm') === 'scalar') return { build: 'scalar', forced: true };
  let simd = false;
  try {
    simd = WebAssembly.validate(SIMD_PROBE);
  } catch (e) {
    simd = false;
  }
  return { build: simd ? 'simd' : 'scalar', forced: false };
}

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
  const hasWasm = typeof WebAssembly === 'object';
  const choice = hasWasm ? wasmBuild() : { build: 'scalar', forced: false };
  const file = choice.build === 'simd' ? 'papscope.wasm' : 'papscope-scalar.wasm';
  if ('serviceWorker' in navigator) {
    // The service worker caches the build this page runs (its ?wasm= says which; see sw.js).
    // Offline use is a bonus, never a blocker.
    navigator.serviceWorker.register(hasWasm ? 'sw.js?wasm=' + choice.build : 'sw.js').catch(() => {});
  }
  if (!hasWasm || typeof Worker !== 'function') {
    fail('This browser cannot run papscope: it needs WebAssembly and Web Workers.');
    return;
  }
  self.papscopeBuild = choice.build;
  self.papscopeWasmFile = file;
  const note = document.getElementById('wasm-build');
  if (note) {
    note.dataset.build = choice.build;
    note.textContent = choice.build === 'simd'
      ? ' This browser runs its SIMD build (WebAssembly SIMD128).'
      : choice.forced
        ? ' This page runs its scalar build (without SIMD), as ?wasm=scalar in the address asks.'
        : ' This browser runs its scalar build: it has no WebAssembly SIMD128, which makes the SIMD build faster.';
  }
  // The weights download beside the model code (the page's Go takes this request, wasm/page.go):
  // start-up then waits for the longer of the two, not for both one after the other.
  self.papscopeWeights = fetch('papscope.safetensors');
  self.papscopeWeights.catch(() => {}); // a failure is reported by the page, which awaits it
  // The worker starts now too: its scripts load while the model code downloads, and it
  // runs the module as soon as it is compiled (worker.js queues what comes before).
  const worker = new Worker('worker.js');
  try {
    performance.mark('papscope:wasm-request');
    const { module, bytes, streamed } = await compile(file, status, bar);
    performance.mark('papscope:wasm-compiled');
    worker.postMessage({ boot: module });
    self.papscopeWorker = worker;
    self.papscopeModule = module;
    self.papscopeWasmBytes = bytes;
    self.papscopeCompile = streamed ? 'streaming' : 'buffer';
    const go = new Go();
    const instance = await WebAssembly.instantiate(module, go.importObject);
    go.run(instance);
  } catch (e) {
    worker.terminate();
    fail('papscope could not start: ' + (e && e.message ? e.message : e));
  }
})();

// compile fetches the module file and compiles it, showing the bytes received
// on the status line and the bar. When the server sends it as application/wasm
// (papscope serve does) and the browser has WebAssembly.compileStreaming, the
// module compiles while it downloads, from the response itself (so that the
// browser may cache the compiled code by its URL); a clone of the response,
// read alongside, counts the bytes for the bar. Otherwise it downloads the
// whole file, then compiles it. It resolves to the module, the bytes received
// and whether it streamed; errors name the file.
async function compile(file, status, bar) {
  let resp;
  try {
    resp = await fetch(file);
  } catch (e) {
    throw new Error(file + ': ' + (e && e.message ? e.message : e));
  }
  if (!resp.ok) throw new Error(file + ': HTTP ' + resp.status + (resp.statusText ? ' ' + resp.statusText : ''));
  // Content-Length is the compressed size when the server compresses: then the bar is indeterminate.
  const total = Number(resp.headers.get('Content-Length')) || 0;
  const encoded = (resp.headers.get('Content-Encoding') || 'identity') !== 'identity';
  let got = 0;
  const progress = (n) => {
    got += n;
    if (total && !encoded && got <= total) bar.value = got / total; else bar.removeAttribute('value');
    status.textContent = 'Loading model code ' + (got / 1e6).toFixed(1) + (total && !encoded ? ' of ' + (total / 1e6).toFixed(1) : '') + ' MB…';
  };
  const type = (resp.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function' && resp.body) {
    const counted = count(resp.clone(), progress);
    let module;
    try {
      module = await WebAssembly.compileStreaming(resp);
    } catch (e) {
      throw new Error(file + ' could not be compiled: ' + (e && e.message ? e.message : e));
    }
    await counted; // the clone ends with the response: this only waits for its last chunk's count
    status.textContent = 'Starting…';
    return { module, bytes: got, streamed: true };
  }
  // Another content type (a static host that sends .wasm as application/octet-stream) or no streaming compile.
  const chunks = [];
  if (resp.body) {
    const reader = resp.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      progress(value.length);
    }
  } else {
    const buf = new Uint8Array(await resp.arrayBuffer());
    chunks.push(buf);
    progress(buf.length);
  }
  const bytes = new Uint8Array(got);
  let off = 0;
  for (const c of chunks) { bytes.set(c, off); off += c.length; }
  status.textContent = 'Starting…';
  try {
    return { module: await WebAssembly.compile(bytes), bytes: got, streamed: false };
  } catch (e) {
    throw new Error(file + ' could not be compiled: ' + (e && e.message ? e.message : e));
  }
}

// count reads a response's body to its end, calling progress with each
// chunk's length; a read error leaves the count where it is (the compile,
// reading the same bytes, reports it).
async function count(resp, progress) {
  try {
    const reader = resp.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      progress(value.length);
    }
  } catch (e) {
    // The compile fails too and says why.
  }
}
