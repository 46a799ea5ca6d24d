// Runtime 1: this project's core, as the site ships it (site/digits.js over the Embind build
// digits.mjs + digits.wasm, built-in SIMD128 kernels).
// infer() is Recognizer.classify (28x28 floats in, logits out as a Float32Array copy);
// recognize() is the product path: strokes in, preprocess + inference (+ Grad-CAM) in the core.

export async function load({ siteUrl, modelUrl }) {
  const t0 = performance.now();
  const digits = await import(new URL('digits.js', siteUrl).href);
  const t1 = performance.now();
  const recognizer = await digits.createRecognizer({
    moduleUrl: new URL('digits.mjs', siteUrl),
    wasmUrl: new URL('digits.wasm', siteUrl),
    modelUrl,
  });
  const t2 = performance.now();
  return {
    async: false,
    version: `digits core (${recognizer.info.backend} kernels, wasm SIMD128)`,
    macs: recognizer.info.macs,
    phases: { importJs: t1 - t0, wasmAndModel: t2 - t1 },
    infer: (x) => recognizer.classify(x).logits,
    /** strokes: [[[x, y], ...], ...] in canvas pixels. Returns the top class. */
    recognize: (strokes, gradcam) => {
      const r = recognizer.recognize(strokes, { mode: 'digit', gradcam });
      return r.digits.length ? r.digits[0].digit : -1;
    },
    /** The core's own 28x28 input for a drawing (to compare with the JS canvas preprocessing). */
    preprocessed: (strokes) => recognizer.recognize(strokes, { mode: 'digit' }).digits[0]?.input,
    stats: () => recognizer.stats(),
  };
}
