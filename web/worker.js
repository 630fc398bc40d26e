// papscope worker: glue only. It runs the page's compiled module in this
// worker; Go then answers the page's messages (protocol: wasm/main.go, docs/DESIGN.md#browser).
'use strict';
// FATAL is the kind of the response that says this worker cannot run
// (bridge.Fatal in internal/bridge; TestWorkerFatalKind keeps them equal).
const FATAL = 'fatal';
importScripts('wasm_exec.js');
self.papscopeQueue = []; // messages that arrive before Go runs; Go drains them
self.onmessage = (e) => {
  if (e.data && e.data.boot) {
    start(e.data.boot);
    return;
  }
  self.papscopeQueue.push(e);
};
async function start(module) {
  try {
    const go = new Go();
    const instance = await WebAssembly.instantiate(module, go.importObject);
    go.run(instance); // Go installs its own onmessage before this returns
    // One probe besides Go's protocol, for the benchmark (bench/): the size
    // of the module's linear memory, after a garbage collection when the
    // browser exposes gc (Chromium with --js-flags=--expose-gc).
    const goHandler = self.onmessage;
    self.onmessage = (e) => {
      if (e.data && e.data.probe === 'memory') {
        if (typeof self.gc === 'function') self.gc();
        self.postMessage({ probe: 'memory', wasm: instance.exports.mem.buffer.byteLength });
        return;
      }
      goHandler(e);
    };
  } catch (err) {
    self.postMessage({ msg: JSON.stringify({ kind: FATAL, id: 0, error: 'worker: ' + (err && err.message ? err.message : err) }) });
  }
}
