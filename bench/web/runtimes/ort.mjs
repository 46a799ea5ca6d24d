// Runtime 2: onnxruntime-web, the wasm execution provider (the SIMD build; 1 thread, no proxy
// worker), on the ONNX export of the same model (input N x 1 x 28 x 28 raw pixels in [0, 1],
// normalization inside the graph, logits out). Graph optimizations at their default ('all').
import * as ort from '../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

export async function load({ onnxUrl }) {
  const t0 = performance.now();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url).href;
  const session = await ort.InferenceSession.create(onnxUrl, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const t1 = performance.now();
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  return {
    async: true,
    version: `onnxruntime-web ${ort.env.versions.web} (wasm EP, ${ort.env.wasm.numThreads} thread, SIMD)`,
    phases: { wasmAndSession: t1 - t0 },
    infer: async (x) => {
      const result = await session.run({ [input]: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
      return result[output].data;
    },
  };
}
