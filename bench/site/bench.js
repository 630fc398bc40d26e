// papscope benchmark page (bench.html, or bench.html?wasm=scalar for the
// scalar build): drives papscope's Web Worker (the site's own
// worker.js, which also answers a memory probe) with the page's message protocol
// (wasm/main.go) and times it from the page, the way the real page waits for
// it. bench/main.go calls the functions of window.papBench through the
// DevTools protocol and reads their results.
'use strict';
(() => {
  const H = 299;
  const W = 299;
  const NUM_INPUTS = 3; // model/input_K.rgba: the TF.js reference inputs as raw RGBA
  // The site's SIMD build, or its scalar build with ?wasm=scalar (as on the site's page).
  const BUILD = new URLSearchParams(location.search).get('wasm') === 'scalar' ? 'scalar' : 'simd';
  const WASM_FILE = BUILD === 'scalar' ? 'papscope-scalar.wasm' : 'papscope.wasm';
  let module = null;
  let weights = null; // model/papscope299.safetensors
  const inputs = [];
  let nextID = 1;

  // Client is one worker running papscope.wasm with the 299×299 weights.
  class Client {
    constructor() {
      this.worker = new Worker('../worker.js');
      this.pending = new Map();
      this.worker.onmessage = (e) => this.receive(e.data);
      this.worker.postMessage({ boot: module });
    }

    receive(data) {
      if (data.probe) {
        const done = this.pending.get('probe');
        this.pending.delete('probe');
        done(data);
        return;
      }
      const resp = JSON.parse(data.msg);
      const at = performance.now();
      if (resp.kind === 'fatal') { // bridge.Fatal: the worker cannot go on (web/worker.js's FATAL)
        for (const done of this.pending.values()) done({ resp, at });
        this.pending.clear();
        return;
      }
      const done = this.pending.get(resp.id);
      this.pending.delete(resp.id);
      done({ resp, at });
    }

    // request posts req with buffers (transferred) and resolves to the response
    // and the milliseconds from posting to the parsed response.
    async request(req, buffers) {
      req.id = nextID++;
      const got = new Promise((resolve) => this.pending.set(req.id, resolve));
      const t0 = performance.now();
      this.worker.postMessage({ msg: JSON.stringify(req), buffers }, buffers);
      const { resp, at } = await got;
      if (resp.error) throw new Error(resp.kind + ': ' + resp.error);
      return { resp, ms: at - t0 };
    }

    async load() {
      const buf = weights.slice(0);
      return this.request({ kind: 'load', files: ['papscope299.safetensors'] }, [buf]);
    }

    // classify sends a fresh copy of input k (the copy is made before the clock starts).
    classify(k, cam) {
      const pix = inputs[k % NUM_INPUTS].slice(0);
      return this.request({ kind: 'classify', name: 'input_' + (k % NUM_INPUTS), width: W, height: H, cam }, [pix]);
    }

    memory() {
      const got = new Promise((resolve) => this.pending.set('probe', resolve));
      this.worker.postMessage({ probe: 'memory' });
      return got;
    }

    close() { this.worker.terminate(); }
  }

  async function fetchBytes(url) {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(url + ': HTTP ' + resp.status);
    return resp.arrayBuffer();
  }

  async function newClient() {
    const c = new Client();
    await c.load();
    return c;
  }

  let main = null; // the worker the single-image figures use

  // latency classifies warm + runs images one at a time with the Grad-CAM map,
  // as the page does, and returns the round trips and the worker's phases of the timed runs.
  async function latency(warm, runs) {
    const ms = [];
    const timing = [];
    for (let i = 0; i < warm + runs; i++) {
      const r = await main.classify(i, true);
      if (i >= warm) {
        ms.push(r.ms);
        timing.push(r.resp.timing);
      }
    }
    return { ms, timing };
  }

  // throughput classifies count images (no Grad-CAM) on a pool of n workers,
  // each warmed with one image first, and returns images per second.
  async function throughput(n, count) {
    const pool = await Promise.all(Array.from({ length: n }, newClient));
    try {
      await Promise.all(pool.map((c) => c.classify(0, false)));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(pool.map(async (c) => {
        while (next < count) {
          const k = next++;
          await c.classify(k, false);
        }
      }));
      const ms = performance.now() - t0;
      return { workers: n, images: count, ms, images_per_s: count / (ms / 1000) };
    } finally {
      pool.forEach((c) => c.close());
    }
  }

  // The memory run, in steps so that bench/main.go can read the JS heaps of
  // the page and its workers between them: memStart classifies one image with
  // the map on a fresh worker, memMore classifies n more, and both return the
  // worker's linear memory; memEnd stops the worker.
  let memClient = null;
  let memCount = 0;
  async function memStart() {
    memClient = await newClient();
    await memClient.classify(0, true);
    memCount = 1;
    return (await memClient.memory()).wasm;
  }
  async function memMore(n) {
    for (let i = 0; i < n; i++) await memClient.classify(memCount++, true);
    return (await memClient.memory()).wasm;
  }
  // close stops every worker of the page, before bench/main.go leaves it.
  function close() {
    if (memClient) memEnd();
    if (main) main.close();
    main = null;
  }
  function memEnd() {
    memClient.close();
    memClient = null;
    return memCount;
  }

  // probs classifies every input and returns the probabilities.
  async function probs() {
    const out = [];
    for (let k = 0; k < NUM_INPUTS; k++) out.push((await main.classify(k, false)).resp.probs);
    return out;
  }

  (async () => {
    try {
      const [wasm, w, ...pix] = await Promise.all([
        fetchBytes('../' + WASM_FILE), fetchBytes('model/papscope299.safetensors'),
        ...Array.from({ length: NUM_INPUTS }, (_, k) => fetchBytes('model/input_' + k + '.rgba')),
      ]);
      module = await WebAssembly.compile(wasm);
      weights = w;
      inputs.push(...pix);
      const loaded = await (main = new Client()).load();
      window.papBench = {
        latency, throughput, memStart, memMore, memEnd, probs, close,
        cores: navigator.hardwareConcurrency,
        build: BUILD,
        file: WASM_FILE,
        input: loaded.resp.input,
      };
      document.body.dataset.state = 'ready';
    } catch (e) {
      window.papBenchError = String(e && e.stack ? e.stack : e);
      document.body.dataset.state = 'error';
    }
  })();
})();
