// Reads a digits model file (core/MODEL_FORMAT.md: safetensors with the architecture in
// __metadata__) in plain JS: the header, the architecture, and every tensor as a Float32Array in
// PyTorch layout (conv OIHW, dense [out][in]); F16 tensors are widened to F32.
// Used by the TensorFlow.js and naive plain-JS runtimes of the benchmark.

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** @returns {{arch: object, tensors: Map<string, {shape: number[], data: Float32Array}>}} */
export function parseModel(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const arch = JSON.parse(header.__metadata__.architecture);
  const base = 8 + n;
  const tensors = new Map();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    let data = new Float32Array(count);
    if (e.dtype === 'F32') {
      // Little-endian hosts (all browsers in practice): one copy of the bytes.
      const start = bytes.byteOffset + base + begin;
      data = new Float32Array(bytes.buffer.slice(start, start + 4 * count));
    } else if (e.dtype === 'F16') {
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(base + begin + 2 * i, true));
    } else {
      throw new Error(`${name}: unsupported dtype ${e.dtype}`);
    }
    if (end - begin !== count * (e.dtype === 'F32' ? 4 : 2)) throw new Error(`${name}: size mismatch`);
    tensors.set(name, { shape: e.shape, data });
  }
  return { arch, tensors };
}

/** Output shape [C, H, W] of every layer (and the input's), PyTorch floor-mode arithmetic. */
export function inferShapes(arch) {
  let s = [arch.input.channels, arch.input.height, arch.input.width];
  const shapes = [];
  for (const l of arch.layers) {
    if (l.type === 'conv2d' || l.type === 'maxpool2d') {
      const c = l.type === 'conv2d' ? l.out_channels : s[0];
      const h = Math.floor((s[1] + 2 * l.padding[0] - l.kernel[0]) / l.stride[0]) + 1;
      const w = Math.floor((s[2] + 2 * l.padding[1] - l.kernel[1]) / l.stride[1]) + 1;
      s = [c, h, w];
    } else if (l.type === 'global_avg_pool') {
      s = [s[0], 1, 1];
    } else if (l.type === 'flatten') {
      s = [s[0] * s[1] * s[2], 1, 1];
    } else if (l.type === 'dense') {
      s = [l.out_features, 1, 1];
    }
    shapes.push(s);
  }
  return shapes;
}

/** Multiply-adds of one forward pass (conv and dense layers). */
export function countMacs(arch) {
  const shapes = inferShapes(arch);
  let macs = 0;
  arch.layers.forEach((l, i) => {
    const [c, h, w] = shapes[i];
    if (l.type === 'conv2d') macs += c * h * w * l.in_channels * l.kernel[0] * l.kernel[1];
    if (l.type === 'dense') macs += l.in_features * l.out_features;
  });
  return macs;
}
