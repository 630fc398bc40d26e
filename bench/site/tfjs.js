// papscope benchmark, TensorFlow.js side: the same network with the same
// weights (model/model.json, the TF.js reference model of nn/testdata/tfjs) on
// the wasm and cpu backends, in this page's main thread. bench/main.go calls
// the functions of window.tfBench through the DevTools protocol.
'use strict';
(() => {
  const H = 299;
  const W = 299;
  const NUM_INPUTS = 3;
  const inputs = []; // model/input_K.rgba as float32 RGB in [0,1], NHWC
  let model = null;
  let current = ''; // the backend model was loaded on (tf.getBackend() would start the default one)

  async function fetchBytes(url) {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(url + ': HTTP ' + resp.status);
    return resp.arrayBuffer();
  }

  // toInput is papscope's preprocessing at the model's own size: float32(pixel)/255, RGB.
  function toInput(rgba) {
    const px = new Uint8Array(rgba);
    const f = new Float32Array(H * W * 3);
    for (let i = 0, j = 0; i < px.length; i += 4, j += 3) {
      f[j] = px[i] / 255;
      f[j + 1] = px[i + 1] / 255;
      f[j + 2] = px[i + 2] / 255;
    }
    return f;
  }

  async function loadInputs() {
    if (inputs.length) return;
    for (let k = 0; k < NUM_INPUTS; k++) inputs.push(await fetchBytes('model/input_' + k + '.rgba'));
  }

  async function useBackend(name) {
    if (current !== name) {
      if (!(await tf.setBackend(name))) throw new Error('TF.js backend ' + name + ' failed to start');
      await tf.ready();
      current = name;
      if (model) model.dispose();
      model = await tf.loadLayersModel('model/model.json');
    }
  }

  // predict classifies input k, converting its pixels inside the clock as papscope does.
  async function predict(k) {
    const t0 = performance.now();
    const y = tf.tidy(() => model.predict(tf.tensor4d(toInput(inputs[k % NUM_INPUTS]), [1, H, W, 3])));
    const probs = Array.from(await y.data());
    y.dispose();
    return { ms: performance.now() - t0, probs };
  }

  // latency runs warm + runs single images on backend and returns the timed
  // milliseconds and the probabilities of every input.
  async function latency(backend, warm, runs) {
    await loadInputs();
    await useBackend(backend);
    const ms = [];
    const probs = [];
    for (let i = 0; i < warm + runs; i++) {
      const r = await predict(i);
      if (i >= warm) ms.push(r.ms);
      if (probs.length < NUM_INPUTS && i % NUM_INPUTS === probs.length) probs.push(r.probs);
    }
    return { backend: tf.getBackend(), ms, probs };
  }

  // batch times one predict of a batch of n images (after one untimed batch).
  async function batch(backend, n) {
    await loadInputs();
    await useBackend(backend);
    const run = async () => {
      const t0 = performance.now();
      const y = tf.tidy(() => {
        const f = new Float32Array(n * H * W * 3);
        for (let i = 0; i < n; i++) f.set(toInput(inputs[i % NUM_INPUTS]), i * H * W * 3);
        return model.predict(tf.tensor4d(f, [n, H, W, 3]));
      });
      await y.data();
      y.dispose();
      return performance.now() - t0;
    };
    await run();
    const ms = await run();
    return { backend: tf.getBackend(), images: n, ms, images_per_s: n / (ms / 1000) };
  }

  async function info() {
    const env = tf.env();
    return {
      version: tf.version.tfjs,
      backend: tf.getBackend(),
      simd: await env.getAsync('WASM_HAS_SIMD_SUPPORT'),
      threads: await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      cross_origin_isolated: self.crossOriginIsolated === true,
      wasm_files: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm')),
    };
  }

  (async () => {
    try {
      tf.wasm.setWasmPaths(new URL('tfjs/', location.href).href);
      await useBackend('wasm');
      window.tfBench = { latency, batch, info };
      document.body.dataset.state = 'ready';
    } catch (e) {
      window.tfBenchError = String(e && e.stack ? e.stack : e);
      document.body.dataset.state = 'error';
    }
  })();
})();
