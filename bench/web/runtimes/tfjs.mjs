// Runtime 3: TensorFlow.js (@tensorflow/tfjs) with @tensorflow/tfjs-backend-wasm (the SIMD build,
// 1 thread), running the same network with the same weights: the layer list and the tensors come
// from the digits safetensors file, conv weights transposed OIHW -> HWIO, activations NHWC.
// Each conv + ReLU pair is one tf.fused.conv2d (what the tfjs converter would produce), bias
// folded in. The page maps the bare specifiers to the packages' ES module builds (import map).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { parseModel, inferShapes } from '../lib/safetensors.mjs';

function ohwiFromOihw({ shape: [o, i, kh, kw], data }) {
  const out = new Float32Array(data.length); // HWIO: [kh][kw][i][o]
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
  return tf.tensor4d(out, [kh, kw, i, o]);
}

export async function load({ modelUrl }) {
  const t0 = performance.now();
  const modelBytes = fetch(modelUrl).then((r) => r.arrayBuffer());
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // 1 thread, like the other runtimes
  setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).href);
  await tf.setBackend('wasm');
  await tf.ready();
  const t1 = performance.now();
  const { arch, tensors } = parseModel(await modelBytes);
  const shapes = inferShapes(arch);
  // The layer list as closures over tf tensors.
  const steps = [];
  const layers = arch.layers;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    if (l.type === 'conv2d') {
      const filter = ohwiFromOihw(tensors.get(`${l.name}.weight`));
      const bias = tf.tensor1d(tensors.get(`${l.name}.bias`).data);
      const relu = layers[i + 1]?.type === 'relu';
      if (relu) i++;
      const [ph, pw] = l.padding;
      const pad = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      steps.push((x) => tf.fused.conv2d({ x, filter, strides: l.stride, pad, bias, activation: relu ? 'relu' : 'linear' }));
    } else if (l.type === 'relu') {
      steps.push((x) => tf.relu(x));
    } else if (l.type === 'maxpool2d') {
      const [ph, pw] = l.padding;
      const pad = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      steps.push((x) => tf.maxPool(ph || pw ? tf.pad(x, pad, -Infinity) : x, l.kernel, l.stride, 'valid'));
    } else if (l.type === 'global_avg_pool') {
      steps.push((x) => tf.mean(x, [1, 2], true));
    } else if (l.type === 'flatten') {
      // PyTorch flattens C, H, W: NHWC -> NCHW first (a no-op reshape when H = W = 1).
      const [c] = shapes[i];
      steps.push((x) => (x.shape[1] * x.shape[2] === 1 ? tf.reshape(x, [1, c])
        : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [1, c])));
    } else if (l.type === 'dense') {
      const w = tensors.get(`${l.name}.weight`);
      const weight = tf.transpose(tf.tensor2d(w.data, w.shape)); // [in][out]
      const bias = tf.tensor1d(tensors.get(`${l.name}.bias`).data);
      steps.push((x) => tf.add(tf.matMul(x, weight), bias));
    } else if (l.type === 'softmax') {
      break; // logits out
    }
  }
  const { mean, std, height, width, channels } = arch.input;
  const forward = (x) => {
    const y = tf.tidy(() => {
      let t = tf.div(tf.sub(tf.tensor4d(x, [1, height, width, channels]), mean), std);
      for (const step of steps) t = step(t);
      return t;
    });
    const logits = y.dataSync();
    y.dispose();
    return logits;
  };
  const t2 = performance.now();
  return {
    async: false,
    version: `@tensorflow/tfjs ${tf.version.tfjs} + tfjs-backend-wasm (${tf.getBackend()}, ` +
      `${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, 1 thread)`,
    phases: { backend: t1 - t0, modelBuild: t2 - t1 },
    infer: forward,
    stats: () => tf.memory(),
  };
}
