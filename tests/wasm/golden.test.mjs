// The WebAssembly build (non-ES6 variant, under Node) reproduces PyTorch's golden logits, i.e. the
// same numbers as the native backends, and reports bad input as an error instead of aborting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const wasmJs = process.env.DIGITS_WASM_NODE;
const dataDir = process.env.DIGITS_TEST_DATA;
assert.ok(wasmJs && dataDir, 'DIGITS_WASM_NODE and DIGITS_TEST_DATA must be set (run through ctest)');

async function loadModule() {
  const createDigitsModule = createRequire(import.meta.url)(wasmJs);
  // Emscripten 3.1.6 fetches the .wasm with Node's global fetch, which cannot read file paths:
  // hand it the bytes instead.
  const wasmBinary = readFileSync(wasmJs.replace(/\.js$/, '.wasm'));
  return createDigitsModule({ wasmBinary });
}

// The int8 models (digits_int8 and the test models' int8 twins) too, held to 1e-5: their int8 part
// is exact (natively checked code by code, tests/golden_test.cpp) and only the float32 head
// differs from the reference's float64, by up to 1.5e-6 here; one int8 code off would move a
// logit by about scale * weight / 49, 1e-4 or more for the shipped model.
for (const name of ['tiny', 'tiny_gap', 'tiny_gap_f16', 'digits', 'digits_f16', 'tiny_int8', 'tiny_gap_int8',
  'digits_int8']) {
  test(`wasm logits match PyTorch golden (${name})`, async () => {
    const Module = await loadModule();
    const golden = JSON.parse(readFileSync(path.join(dataDir, `${name}.golden.json`), 'utf8'));
    // The test models live in tests/data, the shipped one in model/ (beside DIGITS_MODEL).
    const local = path.join(dataDir, golden.model);
    const model = readFileSync(existsSync(local) ? local : path.join(path.dirname(process.env.DIGITS_MODEL), golden.model));
    const recognizer = new Module.Recognizer(new Uint8Array(model));
    assert.equal(recognizer.error(), '');
    assert.ok(golden.cases.length >= 3);
    for (const c of golden.cases) {
      const out = recognizer.classify(new Float32Array(c.input));
      assert.equal(out.error, undefined, out.error);
      assert.equal(out.logits.length, c.logits.length);
      const tolerance = name.endsWith('_int8') ? 1e-5 : 1e-4;
      for (let i = 0; i < c.logits.length; i++) {
        assert.ok(Math.abs(out.logits[i] - c.logits[i]) <= tolerance,
          `${c.name} logit ${i}: wasm ${out.logits[i]} vs PyTorch ${c.logits[i]}`);
      }
      const sum = out.probabilities.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
    }
    recognizer.delete();
  });
}

test('wasm reports a corrupt model and a wrong-sized input as errors', async () => {
  const Module = await loadModule();
  const bad = new Module.Recognizer(new Uint8Array([1, 2, 3]));
  assert.match(bad.error(), /truncated/);
  assert.match(bad.classify(new Float32Array(784)).error, /truncated/);
  bad.delete();

  const model = readFileSync(path.join(dataDir, 'tiny.safetensors'));
  const good = new Module.Recognizer(new Uint8Array(model));
  assert.equal(good.error(), '');
  assert.match(good.classify(new Float32Array(10)).error, /input has 10 values, the model needs 28x28x1/);
  const nan = new Float32Array(784);
  nan[5] = NaN;
  assert.match(good.classify(nan).error, /pixel 5 is not a finite number/);
  // Still works after the errors.
  assert.equal(good.classify(new Float32Array(784)).logits.length, 10);
  good.delete();
});

// The lean entry digits.js's classify() uses (web/bindings.cpp: classifyBuffer, classifyInPlace):
// the same logits, probabilities and flags as classify(), bit for bit, on every golden input of
// the shipped models; a refused input returns 0; and the buffer stays valid after the memory grew.
test('the lean classify entry returns what classify() does', async () => {
  const Module = await loadModule();
  for (const name of ['digits', 'digits_int8']) {
    const golden = JSON.parse(readFileSync(path.join(dataDir, `${name}.golden.json`), 'utf8'));
    const model = readFileSync(path.join(path.dirname(process.env.DIGITS_MODEL), golden.model));
    const recognizer = new Module.Recognizer(new Uint8Array(model));
    const { inputSize, classes } = recognizer.info();
    const n = inputSize * inputSize;
    const at = recognizer.classifyBuffer() / 4;
    assert.ok(at > 0 && Number.isInteger(at));
    assert.equal(recognizer.classifyBuffer() / 4, at, 'one buffer per recognizer');
    const lean = (x) => {
      Module.HEAPF32.set(x, at);
      if (!recognizer.classifyInPlace()) return null;
      const h = Module.HEAPF32, o = at + n;
      return { digit: h[o + 2 * classes], not_a_digit: h[o + 2 * classes + 1] !== 0,
        unsure: h[o + 2 * classes + 2] !== 0, probabilities: h.slice(o + classes, o + 2 * classes),
        logits: h.slice(o, o + classes) };
    };
    for (const c of golden.cases) {
      const x = new Float32Array(c.input);
      assert.deepEqual(lean(x), recognizer.classify(x), `${name} ${c.name}`);
    }
    const nan = new Float32Array(n);
    nan[3] = NaN;
    assert.equal(lean(nan), null);
    // An RGBA image larger than the whole wasm memory makes it grow; the buffer stays valid.
    const before = Module.HEAP8.buffer.byteLength;
    const side = Math.ceil(Math.sqrt(before / 4)) + 64;
    recognizer.recognizeImage(new Uint8Array(side * side * 4), side, side, 4, {});
    assert.ok(Module.HEAP8.buffer.byteLength > before, 'the memory grew');
    const x = new Float32Array(golden.cases[0].input);
    assert.deepEqual(lean(x), recognizer.classify(x));
    recognizer.delete();
  }
});
