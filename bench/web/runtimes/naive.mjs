// Runtime 4: the baseline. The forward pass in straightforward plain JS: CHW activations in
// Float32Arrays, PyTorch-layout weights as read from the safetensors file, one loop nest per
// layer, no packing, no SIMD, no cleverness. Stable across browsers and machines, so every other
// runtime reads as a ratio against it.
import { parseModel, inferShapes } from '../lib/safetensors.mjs';

function conv2d(x, [c, h, w], l, weight, bias, [oc, oh, ow]) {
  const [kh, kw] = l.kernel, [sh, sw] = l.stride, [ph, pw] = l.padding;
  const y = new Float32Array(oc * oh * ow);
  for (let o = 0; o < oc; o++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let sum = bias[o];
        for (let i = 0; i < c; i++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - ph + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pw + kx;
              if (ix < 0 || ix >= w) continue;
              sum += weight[((o * c + i) * kh + ky) * kw + kx] * x[(i * h + iy) * w + ix];
            }
          }
        }
        y[(o * oh + oy) * ow + ox] = sum;
      }
    }
  }
  return y;
}

function maxpool2d(x, [c, h, w], l, [, oh, ow]) {
  const [kh, kw] = l.kernel, [sh, sw] = l.stride, [ph, pw] = l.padding;
  const y = new Float32Array(c * oh * ow);
  for (let i = 0; i < c; i++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) m = Math.max(m, x[(i * h + iy) * w + ix]);
          }
        y[(i * oh + oy) * ow + ox] = m;
      }
  return y;
}

export function makeForward(arch, tensors) {
  const shapes = inferShapes(arch);
  const { mean, std, channels, height, width } = arch.input;
  const last = arch.layers.at(-1).type === 'softmax' ? arch.layers.length - 1 : arch.layers.length;
  return (pixels) => {
    let x = new Float32Array(pixels.length);
    for (let i = 0; i < x.length; i++) x[i] = (pixels[i] - mean) / std;
    let s = [channels, height, width];
    for (let li = 0; li < last; li++) {
      const l = arch.layers[li];
      const out = shapes[li];
      if (l.type === 'conv2d') {
        x = conv2d(x, s, l, tensors.get(`${l.name}.weight`).data, tensors.get(`${l.name}.bias`).data, out);
      } else if (l.type === 'relu') {
        const y = new Float32Array(x.length);
        for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
        x = y;
      } else if (l.type === 'maxpool2d') {
        x = maxpool2d(x, s, l, out);
      } else if (l.type === 'global_avg_pool') {
        const [c, h, w] = s;
        const y = new Float32Array(c);
        for (let i = 0; i < c; i++) {
          let sum = 0;
          for (let p = 0; p < h * w; p++) sum += x[i * h * w + p];
          y[i] = sum / (h * w);
        }
        x = y;
      } else if (l.type === 'dense') {
        const weight = tensors.get(`${l.name}.weight`).data, bias = tensors.get(`${l.name}.bias`).data;
        const y = new Float32Array(l.out_features);
        for (let o = 0; o < l.out_features; o++) {
          let sum = bias[o];
          for (let i = 0; i < l.in_features; i++) sum += weight[o * l.in_features + i] * x[i];
          y[o] = sum;
        }
        x = y;
      } // flatten: CHW is already PyTorch's order
      s = out;
    }
    return x;
  };
}

export async function load({ modelUrl }) {
  const t0 = performance.now();
  const bytes = await (await fetch(modelUrl)).arrayBuffer();
  const { arch, tensors } = parseModel(bytes);
  const t1 = performance.now();
  return {
    async: false,
    version: 'naive plain JS (CHW, Float32Array, plain loops)',
    phases: { modelFetchParse: t1 - t0 },
    infer: makeForward(arch, tensors),
  };
}
