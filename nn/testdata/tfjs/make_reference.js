#!/usr/bin/env node
// make_reference.js — independent TensorFlow.js reference for papscope's network.
//
// Builds the papscope classifier with pure @tensorflow/tfjs (cpu backend),
// fills every weight from a seeded PRNG (mulberry32, not tfjs initialisers),
// writes it in the tensorflowjs_converter "layers-model" layout
// (model.json + groupN-shardMofK.bin), writes K synthetic RGB PNG inputs and
// records the model's outputs for them in expected.json.
//
// Usage:
//   node make_reference.js [--seed N] [--out DIR] [--height H] [--width W]
//                          [--inputs K] [--shard-bytes B]
//                          [--weight-order converter|tfjs] [--stats]
//
// Defaults: seed 1, height 299, width 299, 3 inputs, shard bytes 4194304,
// out = <script dir>/out/seed<N>_<H> (square) or out/seed<N>_<W>x<H> (non-square).
//
// Everything is deterministic: weights depend only on --seed; images depend on
// --seed, the image index and H×W.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const tf = require('@tensorflow/tfjs');

const CLASSES = ['HSIL', 'LSIL', 'NILM', 'SCC'];
const NUM_BLOCKS = 8;
const EXPECT_TOTAL = 402756;
const EXPECT_TRAINABLE = 398532;
const EXPECT_NON_TRAINABLE = 4224;

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const o = {
    seed: 1, out: null, height: 299, width: 299, inputs: 3,
    shardBytes: 4194304, weightOrder: 'converter', stats: false,
  };
  const intArg = (name, v) => {
    if (v === undefined || !/^-?\d+$/.test(v)) {
      throw new Error(`${name} needs an integer argument, got ${v}`);
    }
    return parseInt(v, 10);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seed': o.seed = intArg(a, argv[++i]); break;
      case '--out': o.out = argv[++i]; break;
      case '--height': o.height = intArg(a, argv[++i]); break;
      case '--width': o.width = intArg(a, argv[++i]); break;
      case '--inputs': o.inputs = intArg(a, argv[++i]); break;
      case '--shard-bytes': o.shardBytes = intArg(a, argv[++i]); break;
      case '--weight-order': o.weightOrder = argv[++i]; break;
      case '--stats': o.stats = true; break;
      case '-h': case '--help':
        console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 19)
          .map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (o.height < 7 || o.width < 7) throw new Error('height/width must be >= 7');
  if (o.inputs < 1) throw new Error('--inputs must be >= 1');
  if (o.shardBytes < 4) throw new Error('--shard-bytes must be >= 4');
  if (!['converter', 'tfjs'].includes(o.weightOrder)) {
    throw new Error('--weight-order must be converter or tfjs');
  }
  if (o.out === null) {
    const dims = o.height === o.width ? `${o.height}` : `${o.width}x${o.height}`;
    // Scratch location (git-ignored) so a bare run never overwrites the
    // committed fixtures, which regen.sh writes with explicit --out.
    o.out = path.join(__dirname, 'out', `seed${o.seed}_${dims}`);
  }
  return o;
}

// ---------------------------------------------------------------- PRNG

// mulberry32: 32-bit state, returns uniform doubles in [0, 1).
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Derive an independent stream seed from (seed, tag, index).
function deriveSeed(seed, tag, index) {
  let h = (0x811C9DC5 ^ (seed >>> 0)) >>> 0;
  const mix = (x) => {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 13;
  };
  for (const ch of tag) mix(ch.charCodeAt(0));
  mix(index);
  mix(0x9E3779B9);
  return h >>> 0;
}

function uniform(rng, lo, hi) { return lo + (hi - lo) * rng(); }

// ---------------------------------------------------------------- model

function buildModel(H, W, finalActivation) {
  const L = tf.layers;
  const input = tf.input({ shape: [H, W, 3], name: 'input_1', dtype: 'float32' });
  let x = L.conv2d({
    name: 'conv2d', filters: 64, kernelSize: 3, strides: 2, padding: 'valid',
    useBias: true, activation: 'relu',
  }).apply(input);
  x = L.batchNormalization({ name: 'batch_normalization', epsilon: 1e-3 }).apply(x);
  x = L.separableConv2d({
    name: 'separable_conv2d', filters: 128, kernelSize: 3, padding: 'same',
    depthMultiplier: 1, useBias: true, activation: 'relu',
  }).apply(x);
  x = L.maxPooling2d({ name: 'max_pooling2d', poolSize: 3, strides: 2, padding: 'valid' }).apply(x);
  for (let i = 0; i < NUM_BLOCKS; i++) {
    const xin = x;
    let y = L.separableConv2d({
      name: `separable_conv2d_${1 + 2 * i}`, filters: 128, kernelSize: 3, padding: 'same',
      depthMultiplier: 1, useBias: true, activation: 'relu',
    }).apply(xin);
    y = L.batchNormalization({ name: `batch_normalization_${1 + 2 * i}`, epsilon: 1e-3 }).apply(y);
    y = L.separableConv2d({
      name: `separable_conv2d_${2 + 2 * i}`, filters: 128, kernelSize: 3, padding: 'same',
      depthMultiplier: 1, useBias: true, activation: 'relu',
    }).apply(y);
    y = L.batchNormalization({ name: `batch_normalization_${2 + 2 * i}`, epsilon: 1e-3 }).apply(y);
    x = L.add({ name: i === 0 ? 'add' : `add_${i}` }).apply([y, xin]);
  }
  x = L.separableConv2d({
    name: 'separable_conv2d_17', filters: 256, kernelSize: 3, padding: 'same',
    depthMultiplier: 1, useBias: true, activation: 'relu',
  }).apply(x);
  x = L.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  x = L.dense({ name: 'dense', units: 256, activation: 'relu', useBias: true }).apply(x);
  x = L.dense({ name: 'dense_1', units: 4, activation: finalActivation, useBias: true }).apply(x);
  return tf.model({ inputs: input, outputs: x, name: 'model' });
}

// ---------------------------------------------------------------- weights

// Magnitudes (chosen so activations stay O(1) through the 8 residual blocks
// and the final softmax is neither saturated nor flat):
//   conv / pointwise / dense kernels: U(-a, a), a = gain*sqrt(6/fan_in)
//     (He-uniform; fan_in = kh*kw*cin for conv, cin for pointwise/dense)
//   depthwise kernels: U(-a, a), a = sqrt(3/9)  (variance preserving)
//   biases: U(-0.1, 0.1)
//   BatchNormalization: gamma U(0.5,1.5), beta U(-0.5,0.5),
//     moving_mean U(-1,1)*MEAN_SCALE, moving_variance U(0.5,3)
const GAIN = {
  conv2d: 1.0,
  stem_pointwise: 1.0,
  block_pw_a: 1.0,      // first separable conv of a residual block
  block_pw_b: 0.5,      // second separable conv of a residual block
  head_pointwise: 1.0,  // separable_conv2d_17
  dense: 1.0,
  dense_1: 0.3,
};
const MEAN_SCALE = 0.5;

function gainFor(layerName) {
  if (layerName === 'conv2d') return GAIN.conv2d;
  if (layerName === 'separable_conv2d') return GAIN.stem_pointwise;
  if (layerName === 'separable_conv2d_17') return GAIN.head_pointwise;
  if (layerName === 'dense') return GAIN.dense;
  if (layerName === 'dense_1') return GAIN.dense_1;
  const m = /^separable_conv2d_(\d+)$/.exec(layerName);
  if (m) return (parseInt(m[1], 10) % 2 === 1) ? GAIN.block_pw_a : GAIN.block_pw_b;
  throw new Error(`no gain for ${layerName}`);
}

function fillWeight(rng, layerName, weightName, shape) {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  let lo; let hi;
  if (weightName === 'kernel' || weightName === 'pointwise_kernel') {
    // conv2d kernel [kh,kw,cin,cout]; pointwise [1,1,cin,cout]; dense [in,out]
    const fanIn = shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const a = gainFor(layerName) * Math.sqrt(6 / fanIn);
    lo = -a; hi = a;
  } else if (weightName === 'depthwise_kernel') {
    const a = Math.sqrt(3 / (shape[0] * shape[1]));
    lo = -a; hi = a;
  } else if (weightName === 'bias') {
    lo = -0.1; hi = 0.1;
  } else if (weightName === 'gamma') {
    lo = 0.5; hi = 1.5;
  } else if (weightName === 'beta') {
    lo = -0.5; hi = 0.5;
  } else if (weightName === 'moving_mean') {
    lo = -MEAN_SCALE; hi = MEAN_SCALE;
  } else if (weightName === 'moving_variance') {
    lo = 0.5; hi = 3.0;
  } else {
    throw new Error(`unexpected weight ${layerName}/${weightName}`);
  }
  for (let i = 0; i < n; i++) out[i] = uniform(rng, lo, hi);
  return out;
}

// Returns Map "layer/weight" -> Float32Array, generated in topology order
// (layer order of model.layers, Keras weight order within a layer), one PRNG
// stream for the whole model so values depend only on the seed.
function makeWeights(model, seed) {
  const rng = mulberry32(deriveSeed(seed, 'weights', 0));
  const values = new Map();
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = w.originalName;
      const slash = name.indexOf('/');
      const layerName = name.slice(0, slash);
      const weightName = name.slice(slash + 1);
      if (layerName !== layer.name) throw new Error(`weight ${name} in layer ${layer.name}`);
      values.set(name, { shape: w.shape.slice(), data: fillWeight(rng, layerName, weightName, w.shape) });
    }
  }
  return values;
}

function applyWeights(model, values) {
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const ts = layer.weights.map((w) => {
      const v = values.get(w.originalName);
      if (!v) throw new Error(`no value for ${w.originalName}`);
      return tf.tensor(v.data, v.shape, 'float32');
    });
    layer.setWeights(ts);
    ts.forEach((t) => t.dispose());
  }
}

function countParams(model) {
  const sz = (ws) => ws.reduce((s, w) => s + w.shape.reduce((p, d) => p * d, 1), 0);
  return {
    total: model.countParams(),
    trainable: sz(model.trainableWeights),
    nonTrainable: sz(model.nonTrainableWeights),
  };
}

// ---------------------------------------------------------------- model.json

async function saveArtifacts(model) {
  let artifacts = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return artifacts;
}

// Keras-layer order of weights within a layer is what layer.weights gives.
// tensorflowjs_converter (keras_h5_conversion.h5_merged_saved_model_to_tfjs_format)
// walks the HDF5 "model_weights" group, whose keys h5py yields sorted by
// name, so the manifest lists layers in byte-wise name order (add..., batch_
// normalization, batch_normalization_1, batch_normalization_10, ..., conv2d,
// dense, dense_1, separable_conv2d, separable_conv2d_1, separable_conv2d_10,
// ...), each layer's weights in Keras order, all in one group.
function orderSpecs(model, weightSpecs, order) {
  const byName = new Map(weightSpecs.map((s) => [s.name, s]));
  if (byName.size !== weightSpecs.length) throw new Error('duplicate weight names');
  if (order === 'tfjs') return weightSpecs.slice();
  const layers = model.layers.filter((l) => l.weights.length > 0).map((l) => l.name);
  layers.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const out = [];
  for (const ln of layers) {
    for (const w of model.getLayer(ln).weights) {
      const s = byName.get(w.originalName);
      if (!s) throw new Error(`weight spec for ${w.originalName} missing`);
      out.push(s);
    }
  }
  if (out.length !== weightSpecs.length) throw new Error('weight spec count mismatch');
  return out;
}

function writeModel(outDir, model, artifacts, values, opts) {
  // Weight names as produced by TF.js must already be layer/weight.
  for (const s of artifacts.weightSpecs) {
    if (!/^[a-z0-9_]+\/[a-z_]+$/.test(s.name)) throw new Error(`odd weight name ${s.name}`);
    if (s.dtype !== 'float32') throw new Error(`unexpected dtype ${s.dtype}`);
  }
  // Cross-check TF.js's serialized weightData against the values we set.
  const src = new Float32Array(artifacts.weightData instanceof ArrayBuffer
    ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData));
  let off = 0;
  for (const s of artifacts.weightSpecs) {
    const v = values.get(s.name);
    const n = s.shape.reduce((p, d) => p * d, 1);
    if (n !== v.data.length) throw new Error(`size mismatch for ${s.name}`);
    for (let i = 0; i < n; i++) {
      if (src[off + i] !== v.data[i] && !(Number.isNaN(src[off + i]))) {
        throw new Error(`weightData mismatch for ${s.name}[${i}]`);
      }
    }
    off += n;
  }
  if (off !== src.length) throw new Error('weightData length mismatch');

  const specs = orderSpecs(model, artifacts.weightSpecs, opts.weightOrder)
    .map((s) => ({ name: s.name, shape: s.shape.slice(), dtype: 'float32' }));
  const total = specs.reduce((t, s) => t + 4 * s.shape.reduce((p, d) => p * d, 1), 0);
  const all = Buffer.alloc(total);
  let pos = 0;
  for (const s of specs) {
    const v = values.get(s.name).data;
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(all, pos);
    pos += v.byteLength;
  }
  const numShards = Math.ceil(total / opts.shardBytes);
  const paths = [];
  for (let i = 0; i < numShards; i++) {
    const name = `group1-shard${i + 1}of${numShards}.bin`;
    paths.push(name);
    fs.writeFileSync(path.join(outDir, name),
      all.subarray(i * opts.shardBytes, Math.min(total, (i + 1) * opts.shardBytes)));
  }

  // modelTopology in the converter's layout: {keras_version, backend,
  // model_config: {class_name, config}} (the converter copies the HDF5 file's
  // attributes). TF.js's own save gives {class_name, config, keras_version,
  // backend}; tf.loadLayersModel accepts both.
  const topo = artifacts.modelTopology;
  const modelTopology = {
    keras_version: topo.keras_version,
    backend: topo.backend,
    model_config: { class_name: topo.class_name, config: topo.config },
  };
  const modelJSON = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: `papscope nn/testdata/tfjs/make_reference.js (@tensorflow/tfjs ${tf.version.tfjs}, seed ${opts.seed})`,
    modelTopology,
    weightsManifest: [{ paths, weights: specs }],
  };
  fs.writeFileSync(path.join(outDir, 'model.json'), JSON.stringify(modelJSON));
  return { modelJSON, totalBytes: total, numShards, specs };
}

// Straddle report: which tensors cross a shard boundary.
function straddlers(specs, shardBytes) {
  const res = [];
  let off = 0;
  for (const s of specs) {
    const len = 4 * s.shape.reduce((p, d) => p * d, 1);
    const a = Math.floor(off / shardBytes);
    const b = Math.floor((off + len - 1) / shardBytes);
    if (a !== b) res.push(`${s.name} (bytes ${off}..${off + len}, shards ${a + 1}-${b + 1})`);
    off += len;
  }
  return res;
}

// Reload model.json + shards through TF.js's own loader (custom IOHandler)
// to prove the files are self-consistent.
async function reloadModel(outDir) {
  const mj = JSON.parse(fs.readFileSync(path.join(outDir, 'model.json'), 'utf8'));
  const handler = {
    load: async () => {
      const weightSpecs = [];
      const bufs = [];
      for (const g of mj.weightsManifest) {
        weightSpecs.push(...g.weights);
        for (const p of g.paths) bufs.push(fs.readFileSync(path.join(outDir, p)));
      }
      const all = Buffer.concat(bufs);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return { modelTopology: mj.modelTopology, weightSpecs, weightData, format: mj.format };
    },
  };
  return tf.loadLayersModel(handler);
}

// ---------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (0xEDB88320 ^ (c >>> 1)) : (c >>> 1);
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xFFFFFFFF;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length, 0);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td), 0);
  return Buffer.concat([len, td, crc]);
}

// rgb: Uint8Array of H*W*3, row-major, RGB interleaved.
function encodePNG(rgb, W, H) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8;   // bit depth
  ihdr[9] = 2;   // colour type: truecolour RGB
  ihdr[10] = 0;  // compression
  ihdr[11] = 0;  // filter method
  ihdr[12] = 0;  // no interlace
  const stride = W * 3;
  const raw = Buffer.alloc(H * (stride + 1));
  for (let y = 0; y < H; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    Buffer.from(rgb.buffer, rgb.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  }
  const idat = zlib.deflateSync(raw, { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// Minimal decoder for our own output (filter 0 only), used as a self-check.
function decodeOwnPNG(buf) {
  let p = 8;
  let W = 0; let H = 0;
  const idat = [];
  while (p < buf.length) {
    const len = buf.readUInt32BE(p);
    const type = buf.toString('ascii', p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + len);
    if (buf.readUInt32BE(p + 8 + len) !== crc32(buf.subarray(p + 4, p + 8 + len))) {
      throw new Error(`bad CRC in ${type}`);
    }
    if (type === 'IHDR') { W = data.readUInt32BE(0); H = data.readUInt32BE(4); }
    if (type === 'IDAT') idat.push(data);
    p += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    if (raw[y * (W * 3 + 1)] !== 0) throw new Error('unexpected filter');
    out.set(raw.subarray(y * (W * 3 + 1) + 1, (y + 1) * (W * 3 + 1)), y * W * 3);
  }
  return { W, H, rgb: out };
}

// ---------------------------------------------------------------- images

// Smooth structure (colour gradient + Gaussian blobs, some dark "nuclei"-like,
// some bright) plus per-pixel noise, stretched to cover 0..255.
function makeImage(seed, index, H, W) {
  const rng = mulberry32(deriveSeed(seed, 'image', index));
  const f = new Float64Array(H * W * 3);
  // background gradient per channel
  const base = [uniform(rng, 0.3, 0.8), uniform(rng, 0.2, 0.7), uniform(rng, 0.3, 0.9)];
  const gx = [uniform(rng, -0.5, 0.5), uniform(rng, -0.5, 0.5), uniform(rng, -0.5, 0.5)];
  const gy = [uniform(rng, -0.5, 0.5), uniform(rng, -0.5, 0.5), uniform(rng, -0.5, 0.5)];
  // low-frequency waves
  const waves = [];
  for (let k = 0; k < 3; k++) {
    waves.push({
      fx: uniform(rng, 0.5, 4) * 2 * Math.PI, fy: uniform(rng, 0.5, 4) * 2 * Math.PI,
      ph: uniform(rng, 0, 2 * Math.PI), amp: [uniform(rng, -0.15, 0.15), uniform(rng, -0.15, 0.15), uniform(rng, -0.15, 0.15)],
    });
  }
  const nBlobs = 6 + Math.floor(rng() * 14);
  const blobs = [];
  const scale = Math.min(H, W);
  for (let k = 0; k < nBlobs; k++) {
    blobs.push({
      cx: rng() * W, cy: rng() * H,
      sx: uniform(rng, 0.02, 0.15) * scale, sy: uniform(rng, 0.02, 0.15) * scale,
      rot: uniform(rng, 0, Math.PI),
      col: [uniform(rng, -0.9, 0.6), uniform(rng, -0.9, 0.6), uniform(rng, -0.9, 0.6)],
    });
  }
  for (let y = 0; y < H; y++) {
    const v = y / (H - 1);
    for (let x = 0; x < W; x++) {
      const u = x / (W - 1);
      const o = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) f[o + c] = base[c] + gx[c] * (u - 0.5) + gy[c] * (v - 0.5);
      for (const w of waves) {
        const s = Math.sin(w.fx * u + w.fy * v + w.ph);
        for (let c = 0; c < 3; c++) f[o + c] += w.amp[c] * s;
      }
    }
  }
  for (const b of blobs) {
    const cr = Math.cos(b.rot); const sr = Math.sin(b.rot);
    const r = 3 * Math.max(b.sx, b.sy);
    const y0 = Math.max(0, Math.floor(b.cy - r)); const y1 = Math.min(H - 1, Math.ceil(b.cy + r));
    const x0 = Math.max(0, Math.floor(b.cx - r)); const x1 = Math.min(W - 1, Math.ceil(b.cx + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - b.cx; const dy = y - b.cy;
        const a = (cr * dx + sr * dy) / b.sx; const bb = (-sr * dx + cr * dy) / b.sy;
        const g = Math.exp(-0.5 * (a * a + bb * bb));
        const o = (y * W + x) * 3;
        for (let c = 0; c < 3; c++) f[o + c] += b.col[c] * g;
      }
    }
  }
  // stretch to [0, 1] overall, then noise, then quantise with clamping
  let mn = Infinity; let mx = -Infinity;
  for (let i = 0; i < f.length; i++) { if (f[i] < mn) mn = f[i]; if (f[i] > mx) mx = f[i]; }
  // per-channel gamma so brightness / colour balance differ between images
  const gamma = [0, 1, 2].map(() => Math.exp(uniform(rng, -1.0, 1.0)));
  const noise = uniform(rng, 4, 14);
  const out = new Uint8Array(H * W * 3);
  for (let i = 0; i < f.length; i++) {
    const val = 255 * Math.pow((f[i] - mn) / (mx - mn), gamma[i % 3]) + (rng() * 2 - 1) * noise;
    out[i] = Math.max(0, Math.min(255, Math.round(val)));
  }
  return out;
}

// ---------------------------------------------------------------- stats

function layerStats(model, input) {
  const names = model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name);
  const probe = tf.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output) });
  const outs = probe.predict(input);
  for (let i = 0; i < names.length; i++) {
    const d = outs[i].dataSync();
    let s = 0; let s2 = 0; let mx = -Infinity; let zeros = 0;
    for (let j = 0; j < d.length; j++) {
      s += d[j]; s2 += d[j] * d[j]; if (d[j] > mx) mx = d[j]; if (d[j] === 0) zeros++;
    }
    const m = s / d.length;
    console.log(`  ${names[i].padEnd(26)} mean ${m.toFixed(4).padStart(9)} rms ${Math.sqrt(s2 / d.length).toFixed(4).padStart(9)}` +
      ` max ${mx.toFixed(3).padStart(9)} zero% ${(100 * zeros / d.length).toFixed(1).padStart(5)}`);
  }
  outs.forEach((t) => t.dispose());
}

// ---------------------------------------------------------------- main

function softmax64(z) {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}, want cpu`);
  const H = opts.height; const W = opts.width;

  fs.mkdirSync(opts.out, { recursive: true });
  for (const f of fs.readdirSync(opts.out)) {
    if (/^(model\.json|expected\.json|group\d+-shard\d+of\d+\.bin|input_\d+\.png)$/.test(f)) {
      fs.unlinkSync(path.join(opts.out, f));
    }
  }

  const model = buildModel(H, W, 'softmax');
  const pc = countParams(model);
  if (pc.total !== EXPECT_TOTAL || pc.trainable !== EXPECT_TRAINABLE || pc.nonTrainable !== EXPECT_NON_TRAINABLE) {
    throw new Error(`param count ${JSON.stringify(pc)} != ${EXPECT_TOTAL}/${EXPECT_TRAINABLE}/${EXPECT_NON_TRAINABLE}`);
  }
  const values = makeWeights(model, opts.seed);
  applyWeights(model, values);

  // Twin with identical layer names/weights but linear dense_1 -> logits.
  const twin = buildModel(H, W, 'linear');
  applyWeights(twin, values);
  const twinProbe = tf.model({
    inputs: twin.inputs,
    outputs: [
      twin.getLayer('separable_conv2d_17').output,
      twin.getLayer('global_average_pooling2d').output,
      twin.outputs[0],
    ],
  });
  const mainProbe = tf.model({
    inputs: model.inputs,
    outputs: [model.getLayer('global_average_pooling2d').output, model.outputs[0]],
  });

  const artifacts = await saveArtifacts(model);
  const written = writeModel(opts.out, model, artifacts, values, opts);
  const straddle = straddlers(written.specs, opts.shardBytes);

  const reloaded = await reloadModel(opts.out);

  const expected = {
    tfjs_version: tf.version.tfjs,
    backend: tf.getBackend(),
    seed: opts.seed,
    height: H,
    width: W,
    classes: CLASSES,
    input_scaling: 'float32(pixel)/255, NHWC, RGB',
    params: { total: pc.total, trainable: pc.trainable, non_trainable: pc.nonTrainable },
    features_layer: 'separable_conv2d_17',
    features_shape: twin.getLayer('separable_conv2d_17').outputShape.slice(1),
    inputs: [],
  };

  console.log(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()}  seed ${opts.seed}  input ${H}x${W}x3  out ${opts.out}`);
  console.log(`params total ${pc.total} trainable ${pc.trainable} non-trainable ${pc.nonTrainable}`);
  console.log(`weights ${written.specs.length} tensors, ${written.totalBytes} bytes in ${written.numShards} shard(s) of <= ${opts.shardBytes}` +
    (straddle.length ? `; straddling: ${straddle.join(', ')}` : ''));

  for (let k = 0; k < opts.inputs; k++) {
    const tk = Date.now();
    const rgb = makeImage(opts.seed, k, H, W);
    const png = encodePNG(rgb, W, H);
    const file = `input_${k}.png`;
    fs.writeFileSync(path.join(opts.out, file), png);
    const dec = decodeOwnPNG(fs.readFileSync(path.join(opts.out, file)));
    if (dec.W !== W || dec.H !== H || Buffer.compare(Buffer.from(dec.rgb), Buffer.from(rgb)) !== 0) {
      throw new Error('PNG round trip failed');
    }
    const px = new Float32Array(H * W * 3);
    for (let i = 0; i < px.length; i++) px[i] = rgb[i] / 255;
    const x = tf.tensor4d(px, [1, H, W, 3], 'float32');

    const probs = Array.from(model.predict(x).dataSync());
    const [featT, pooledT, logitsT] = twinProbe.predict(x);
    const feat = featT.dataSync();
    const pooled = Array.from(pooledT.dataSync());
    const logits = Array.from(logitsT.dataSync());
    const [pooledMainT, probsMainT] = mainProbe.predict(x);
    const pooledMain = pooledMainT.dataSync();
    const probsMain = probsMainT.dataSync();
    const probsReload = reloaded.predict(x).dataSync();

    let fs1 = 0; let fs2 = 0;
    for (let i = 0; i < feat.length; i++) { fs1 += feat[i]; fs2 += feat[i] * feat[i]; }

    // Consistency checks.
    for (let i = 0; i < 256; i++) {
      if (pooled[i] !== pooledMain[i]) throw new Error('pooled differs between model and twin');
    }
    for (let i = 0; i < 4; i++) {
      if (probs[i] !== probsMain[i]) throw new Error('probs differ between predict calls');
      if (probs[i] !== probsReload[i]) throw new Error(`reloaded model differs: ${probs} vs ${probsReload}`);
    }
    const sm = softmax64(logits);
    for (let i = 0; i < 4; i++) {
      if (Math.abs(sm[i] - probs[i]) > 1e-6) throw new Error(`softmax(logits) ${sm} != probs ${probs}`);
    }
    if (opts.stats) {
      console.log(`layer statistics, input ${k}:`);
      layerStats(model, x);
    }
    tf.dispose([x, featT, pooledT, logitsT, pooledMainT, probsMainT]);

    let mn = 255; let mx = 0;
    for (let i = 0; i < rgb.length; i++) { if (rgb[i] < mn) mn = rgb[i]; if (rgb[i] > mx) mx = rgb[i]; }
    expected.inputs.push({
      file, probs, logits, pooled, features_sum: fs1, features_sumsq: fs2,
    });
    console.log(`${file}: pixels ${mn}..${mx}  probs [${probs.map((p) => p.toFixed(5)).join(', ')}]` +
      `  argmax ${CLASSES[probs.indexOf(Math.max(...probs))]}  logits [${logits.map((p) => p.toFixed(4)).join(', ')}]` +
      `  (${((Date.now() - tk) / 1000).toFixed(1)} s)`);
  }

  // Non-degeneracy checks on the reference outputs.
  const allP = expected.inputs.map((r) => r.probs);
  for (const p of allP) {
    if (Math.max(...p) >= 0.999) throw new Error(`degenerate (saturated) probabilities ${p}`);
    if (Math.max(...p.map((v) => Math.abs(v - 0.25))) < 0.02) throw new Error(`degenerate (flat) probabilities ${p}`);
  }
  if (allP.length > 1) {
    let spread = 0;
    for (let c = 0; c < 4; c++) {
      const col = allP.map((p) => p[c]);
      spread = Math.max(spread, Math.max(...col) - Math.min(...col));
    }
    if (spread < 0.005) throw new Error(`probabilities do not vary across inputs (spread ${spread})`);
  }

  fs.writeFileSync(path.join(opts.out, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
