// The wasm Recognizer reads drawings exactly like the native one: the same probabilities (to
// 1e-4) as `digits recognize --json` for fixture strokes, in digit and number mode, with Grad-CAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const wasmJs = process.env.DIGITS_WASM_NODE;
const dataDir = process.env.DIGITS_TEST_DATA;
const nativeCli = process.env.DIGITS_NATIVE_CLI;
const modelPath = process.env.DIGITS_MODEL;
assert.ok(wasmJs && dataDir && nativeCli && modelPath, 'run through ctest (env not set)');

async function loadRecognizer() {
  const createDigitsModule = createRequire(import.meta.url)(wasmJs);
  const Module = await createDigitsModule({ wasmBinary: readFileSync(wasmJs.replace(/\.js$/, '.wasm')) });
  const recognizer = new Module.Recognizer(new Uint8Array(readFileSync(modelPath)));
  assert.equal(recognizer.error(), '');
  return recognizer;
}

function pack(strokes) {
  const lengths = new Uint32Array(strokes.map((s) => s.length));
  const points = new Float32Array(strokes.flat(2));
  return [points, lengths];
}

function native(strokes, args) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'digits-wasm-'));
  const file = path.join(dir, 'strokes.json');
  writeFileSync(file, JSON.stringify({ strokes }));
  const out = execFileSync(nativeCli, ['recognize', '--model', modelPath, '--strokes', file,
    '--backend', 'builtin', '--json', ...args]);
  return JSON.parse(out.toString());
}

const fixture = JSON.parse(readFileSync(path.join(dataDir, 'strokes/mnist_test_strokes.json'), 'utf8'));

test('letters: wasm and native agree, not_a_digit and "?" included', async () => {
  const recognizer = await loadRecognizer();
  const letters = JSON.parse(readFileSync(path.join(dataDir, 'handwriting/letters_test.json'), 'utf8')).samples;
  let refused = 0;
  for (const l of letters.slice(0, 30)) {
    const result = recognizer.recognize(...pack(l.strokes), { mode: 'digit', gradcam: false });
    assert.equal(result.error, undefined, result.error);
    const expected = native(l.strokes, []);
    assert.equal(result.text, expected.text, l.char);
    const got = result.digits[0];
    const want = expected.digits[0];
    assert.equal(typeof got.not_a_digit, 'boolean');
    assert.equal(got.not_a_digit, want.not_a_digit, l.char);
    assert.equal(got.unsure, want.unsure, l.char);
    assert.equal(got.probabilities.length, want.probabilities.length);
    for (let i = 0; i < want.probabilities.length; i++) {
      assert.ok(Math.abs(got.probabilities[i] - want.probabilities[i]) <= 1e-4, `${l.char} class ${i}`);
    }
    if (got.not_a_digit) {
      assert.equal(result.text, '?');
      refused++;
    }
  }
  assert.ok(refused >= 20, `only ${refused} of 30 letters are "not a digit"`);
  const info = recognizer.info();
  assert.equal(info.labels.length, 11);
  assert.equal(info.notADigitClass, 10);
  assert.ok(info.notADigitThreshold > 0 && info.notADigitThreshold < 1);
  recognizer.delete();
});

test('wasm and native give the same probabilities for fixture digits', async () => {
  const recognizer = await loadRecognizer();
  for (const d of fixture.digits.slice(0, 20)) {
    const result = recognizer.recognize(...pack(d.strokes), { mode: 'digit', gradcam: true });
    assert.equal(result.error, undefined, result.error);
    const expected = native(d.strokes, ['--gradcam', path.join(os.tmpdir(), 'digits-wasm-cam.png')]);
    assert.equal(result.text, expected.text);
    const got = result.digits[0];
    const want = expected.digits[0];
    for (let i = 0; i < 10; i++) {
      assert.ok(Math.abs(got.probabilities[i] - want.probabilities[i]) <= 1e-4,
        `digit ${d.index} class ${i}: wasm ${got.probabilities[i]} native ${want.probabilities[i]}`);
    }
    assert.equal(got.input.length, 28 * 28);
    assert.equal(got.gradcam.map.length, 28 * 28);
    assert.equal(got.gradcam.class, got.digit);
    const heat = want.gradcam.map;
    for (let i = 0; i < heat.length; i++) assert.ok(Math.abs(got.gradcam.map[i] - heat[i]) <= 1e-4);
  }
  recognizer.delete();
});

// Plain JSON values: typed arrays as arrays, so the wasm object compares with the CLI's JSON.
function plain(value) {
  if (ArrayBuffer.isView(value)) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

// Equal structure and values; numbers to `tolerance` (wasm and native builds round differently).
function assertSameDocument(got, want, where = 'result', tolerance = 1e-4) {
  if (typeof want === 'number') {
    assert.equal(typeof got, 'number', where);
    assert.ok(Math.abs(got - want) <= tolerance * Math.max(1, Math.abs(want)), `${where}: ${got} vs ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${where} is an array`);
    assert.equal(got.length, want.length, `${where}.length`);
    want.forEach((w, i) => assertSameDocument(got[i], w, `${where}[${i}]`, tolerance));
  } else if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: fields`);
    for (const k of Object.keys(want)) assertSameDocument(got[k], want[k], `${where}.${k}`, tolerance);
  } else {
    assert.equal(got, want, where);
  }
}

// The field paths of core/RESULT_FORMAT.md's table, and those present in a result.
function documentedFields() {
  const text = readFileSync(path.join(dataDir, '../../core/RESULT_FORMAT.md'), 'utf8');
  return [...text.matchAll(/^\| `([a-z_[\].]+)` \|/gm)].map((m) => m[1]).sort();
}
function fieldsOf(doc, prefix = '', out = new Set()) {
  for (const [k, v] of Object.entries(doc)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.add(p);
    if (Array.isArray(v)) v.forEach((e) => { if (e && typeof e === 'object') fieldsOf(e, `${p}[]`, out); });
    else if (v && typeof v === 'object') fieldsOf(v, p, out);
  }
  return out;
}

test('one schema: the wasm result is the CLI\'s --json object, with the documented fields', async () => {
  const recognizer = await loadRecognizer();
  const [a, b] = fixture.digits.slice(0, 2);
  // Two digits and a short tick far to their right: a stray mark, "not a digit" whatever the model,
  // so that its doubt and alternatives are in the document too.
  const strokes = [...a.strokes, ...b.strokes.map((s) => s.map(([x, y]) => [x + 300, y])), [[1200, 40], [1206, 47]]];
  const got = plain(recognizer.recognize(...pack(strokes), { mode: 'number', gradcam: true, gradcamClass: 3, gradcamVersus: 1 }));
  assert.equal(got.digits[2].doubt, 'not_a_digit');
  assert.ok(got.digits[2].alternatives.length >= 1);
  assert.equal(got.error, undefined, got.error);
  const want = native(strokes, ['--number', '--class', '3', '--versus', '1']);
  assert.equal(got.digits[0].gradcam.versus, 1);
  assertSameDocument(got, want);
  assert.deepEqual([...fieldsOf(got)].sort(), documentedFields());
  // Without Grad-CAM, a plain digit: gradcam is null in both.
  const single = plain(recognizer.recognize(...pack(a.strokes), { mode: 'digit' }));
  assertSameDocument(single, native(a.strokes, []));
  assert.equal(single.digits[0].gradcam, null);
  recognizer.delete();
});

test('info().limits are the library\'s, as core/include/digits/limits.h defines them', async () => {
  const recognizer = await loadRecognizer();
  const header = readFileSync(path.join(dataDir, '../../core/include/digits/limits.h'), 'utf8');
  const constant = (name) => {
    const m = header.match(new RegExp(`constexpr \\w+ ${name} = ([^;]+);`));
    assert.ok(m, name);
    return Function(`return ${m[1].replace(/f$/, '').replace(/u(?= )/g, '')}`)();
  };
  assert.deepEqual(recognizer.info().limits, {
    strokes: constant('kMaxStrokes'), pointsPerStroke: constant('kMaxPointsPerStroke'),
    points: constant('kMaxPoints'), coordinate: constant('kMaxCoordinate'),
    imageSide: constant('kMaxImageSide'), imagePixels: constant('kMaxImagePixels'),
    numberMarks: constant('kMaxNumberMarks'),
  });
  recognizer.delete();
});

test('wasm reads a number in number mode', async () => {
  const recognizer = await loadRecognizer();
  const [a, b, c] = fixture.digits.slice(0, 3);
  const strokes = [...a.strokes,
    ...b.strokes.map((s) => s.map(([x, y]) => [x + 300, y])),
    ...c.strokes.map((s) => s.map(([x, y]) => [x + 600, y]))];
  const result = recognizer.recognize(...pack(strokes), { mode: 'number' });
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.text, `${a.label}${b.label}${c.label}`);
  assert.equal(result.digits.length, 3);
  assert.equal(result.text, native(strokes, ['--number']).text);
  recognizer.delete();
});

test('wasm refuses bad drawings with the core message and keeps working', async () => {
  const recognizer = await loadRecognizer();
  const good = pack(fixture.digits[0].strokes);
  const before = recognizer.recognize(...good, {});
  assert.match(recognizer.recognize(new Float32Array([0, 0, NaN, 1]), new Uint32Array([2]), {}).error,
    /stroke 0, point 1: coordinate is not a finite number/);
  assert.match(recognizer.recognize(new Float32Array([0, 0, 1e30, 1]), new Uint32Array([2]), {}).error,
    /beyond/);
  assert.match(recognizer.recognize(new Float32Array([0, 0]), new Uint32Array([5]), {}).error,
    /stroke lengths add up to 5 points but 2 coordinates/);
  assert.match(recognizer.recognize(...good, { mode: 'sideways' }).error, /options.mode/);
  assert.match(recognizer.recognize(...good, { gradcam: true, gradcamClass: 12 }).error, /class 12 is out of range/);
  assert.match(recognizer.recognize(...good, { gradcam: true, gradcamClass: 2.5 }).error, /gradcamClass must be a whole number/);
  assert.match(recognizer.recognize(...good, { gradcam: true, gradcamVersus: 12 }).error, /versus class 12 is out of range/);
  assert.match(recognizer.recognize(...good, { gradcam: true, gradcamClass: 4, gradcamVersus: 4 }).error, /cannot be compared with itself/);
  const empty = recognizer.recognize(new Float32Array(0), new Uint32Array(0), {});
  assert.equal(empty.empty, true);
  assert.equal(empty.text, '');
  const after = recognizer.recognize(...good, {});
  assert.deepEqual(Array.from(after.digits[0].probabilities), Array.from(before.digits[0].probabilities));
  recognizer.delete();
});

// The Embind rows of the bad-input table (tests/bad_input_test.cpp has the C++ API's).
test('wasm bad-input table: every entry gets its error or an empty result, and nothing changes', async () => {
  const recognizer = await loadRecognizer();
  const good = pack(fixture.digits[0].strokes);
  const before = recognizer.recognize(...good, { gradcam: true });
  const million = new Float32Array(2_000_000).fill(1);
  // 65 short strokes far apart: 65 separate marks, one more than number mode reads.
  const marks = Array.from({ length: 65 }, (_, k) => [[400 * k, 0], [400 * k + 20, 200]]);
  const rows = [
    ['a million points', () => recognizer.recognize(million, new Uint32Array([1_000_000]), {}), /too many points/],
    ['Inf coordinate', () => recognizer.recognize(new Float32Array([0, 0, Infinity, 1]), new Uint32Array([2]), {}), /not a finite number/],
    ['too many strokes', () => recognizer.recognize(new Float32Array(0), new Uint32Array(1001), {}), /too many strokes/],
    ['0x0 image', () => recognizer.recognizeImage(new Uint8Array(0), 0, 0, 1, {}), /image is 0x0: it has no pixels/],
    // The wording of digits::CheckImageSize, as the CLI, the server and the C++ API say it.
    ['20000x20000 image', () => recognizer.recognizeImage(new Uint8Array(4), 20000, 20000, 1, {}),
      /^image is 20000x20000, beyond the limit \(8192 per side, 16777216 pixels in all\)$/],
    ['wrong image size', () => recognizer.recognizeImage(new Uint8Array(10), 4, 4, 1, {}), /image data has 10 bytes, 4x4x1 needs 16/],
    ['5 channels', () => recognizer.recognizeImage(new Uint8Array(5), 1, 1, 5, {}), /image has 5 channels \(1 to 4 expected\)/],
    ['number mode on an image', () => recognizer.recognizeImage(new Uint8Array(16), 4, 4, 1, { mode: 'number' }), /number mode needs strokes/],
    ['65 marks in number mode', () => recognizer.recognize(...pack(marks), { mode: 'number' }),
      /^too many separate marks for number mode: 65 \(at most 64\)$/],
  ];
  for (const [name, call, expected] of rows) {
    const out = call();
    assert.match(out.error ?? '', expected, name);
  }
  for (const [name, out] of [
    ['zero points', recognizer.recognize(new Float32Array(0), new Uint32Array(0), {})],
    ['empty strokes', recognizer.recognize(new Float32Array(0), new Uint32Array([0, 0]), {})],
    ['one point', recognizer.recognize(new Float32Array([5, 5]), new Uint32Array([1]), {})],
    ['1x1 image', recognizer.recognizeImage(new Uint8Array([255]), 1, 1, 1, {})],
  ]) {
    assert.equal(out.error, undefined, name);
    assert.equal(out.empty, true, name);
  }
  const after = recognizer.recognize(...good, { gradcam: true });
  assert.deepEqual(Array.from(after.digits[0].probabilities), Array.from(before.digits[0].probabilities));
  assert.deepEqual(Array.from(after.digits[0].gradcam.map), Array.from(before.digits[0].gradcam.map));
  recognizer.delete();
});
