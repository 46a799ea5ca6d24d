// The browser benchmark page's harness. Query parameters (set by run.mjs):
//   mode=startup&runtime=core|ort|tfjs|naive&model=URL&onnx=URL
//       a cold page: fetch the input, then load one runtime and run one inference; reports the
//       time from navigation start to that first result (performance.now() counts from
//       navigation start) and from asking for the runtime to it ("own").
//   mode=full&n=500&warmup=200&check=200&recognize=500&model=URL&onnx=URL
//       loads all four runtimes in one page and
//       1. checks that they return the same top class (and close logits) for the same inputs:
//          `check` MNIST test digits and the core's own 28x28 inputs of fixture drawings;
//       2. times n single-digit inferences per runtime after `warmup` untimed ones, each call
//          timed alone around the whole call (input in, logits back in JS); the runtimes take
//          turns in blocks of n/10 so slow drift of the machine hits all of them alike;
//       3. times the core's recognize (strokes -> digit; with and without Grad-CAM) against JS
//          canvas preprocessing + each peer's inference, over fixture drawings.
// With the int8 files (run.mjs --model-int8, --onnx-int8), runtimes 'core-int8' (the core on the
// int8 model) and 'ort-int8' (onnxruntime-web on its ONNX QDQ export) join: they are checked
// against each other (the same int8 network), not against the float runtimes.
// The result (or {error}) is put in window.__bench.
const params = new URLSearchParams(location.search);
const cfg = {
  siteUrl: new URL(params.get('site') || '/site/', location.href).href,
  modelUrl: new URL(params.get('model') || '/model/model.safetensors', location.href).href,
  onnxUrl: new URL(params.get('onnx') || '/model/model.onnx', location.href).href,
  modelInt8Url: new URL(params.get('model-int8') || '/model/model_int8.safetensors', location.href).href,
  onnxInt8Url: new URL(params.get('onnx-int8') || '/model/model_int8.onnx', location.href).href,
};
const isInt8 = (name) => name.endsWith('-int8');
// core2: a second build of the core (another site folder, served as /site2/) for A/B
// comparisons of kernel changes in the same page.
const RUNTIMES = (params.get('runtimes') || 'core,ort,tfjs,naive').split(',');

async function loadRuntime(name, config = cfg) {
  const t0 = performance.now();
  const variants = {
    core2: ['core', { siteUrl: new URL('/site2/', location.href).href }],
    'core-int8': ['core', { modelUrl: config.modelInt8Url }],
    'ort-int8': ['ort', { onnxUrl: config.onnxInt8Url }],
  };
  const [module, override] = variants[name] || [name, {}];
  const mod = await import(`./runtimes/${module}.mjs`);
  const rt = await mod.load({ ...config, ...override });
  rt.name = name;
  rt.loadMs = performance.now() - t0;
  return rt;
}

async function mnistInputs(count) {
  const bytes = new Uint8Array(await (await fetch(`/data/mnist.bin?n=${count}`)).arrayBuffer());
  const n = Math.min(count, bytes.length / 784);
  const out = [];
  for (let k = 0; k < n; k++) {
    const x = new Float32Array(784);
    for (let i = 0; i < 784; i++) x[i] = bytes[k * 784 + i] / 255;
    out.push(x);
  }
  return out;
}

const argmax = (v) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

function summary(times) {
  const s = Float64Array.from(times).sort();
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const median = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: q(0.9), min: s[0], max: s[s.length - 1],
    mean: times.reduce((a, b) => a + b, 0) / s.length };
}

// Runs `fn(i)` for i in [0, n), each call timed alone; sync or async (awaited only if async).
async function timeCalls(fn, n, isAsync, times) {
  const t0 = performance.now();
  if (isAsync) {
    for (let i = 0; i < n; i++) {
      const a = performance.now();
      await fn(i);
      times.push(performance.now() - a);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const a = performance.now();
      fn(i);
      times.push(performance.now() - a);
    }
  }
  return performance.now() - t0;
}

// Each entry: {name, fn, async}. Warm-up, then n timed calls per entry in 10 interleaved rounds.
// Warm-up: `warmup` calls, but at most ~3 s worth of them (and at least 10) for slow runtimes.
async function interleaved(entries, n, warmup) {
  for (const e of entries) {
    const t0 = performance.now();
    for (let done = 0; done < warmup && (done < 10 || performance.now() - t0 < 3000); done += 10) {
      await timeCalls((i) => e.fn(done + i), 10, e.async, []);
    }
  }
  const rounds = Math.min(10, n);
  const res = entries.map(() => ({ times: [], loopMs: 0 }));
  for (let r = 0; r < rounds; r++) {
    const count = Math.floor(n / rounds) + (r < n % rounds ? 1 : 0);
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      const offset = res[k].times.length;
      res[k].loopMs += await timeCalls((i) => e.fn(offset + i), count, e.async, res[k].times);
    }
  }
  const out = {};
  entries.forEach((e, k) => {
    out[e.name] = { ...summary(res[k].times), loopMeanMs: res[k].loopMs / res[k].times.length,
      ...(params.get('raw') ? { raw: res[k].times } : {}) };
  });
  return out;
}

async function startup() {
  const name = params.get('runtime');
  // The input first: it is the harness's, not the runtime's. Fetched alongside the runtime, it
  // was queued behind the runtime's preloaded files and, with preload hints, arrived after the
  // core was ready (measured: input at 50 ms, the core at 33 ms after the request), so "own"
  // timed the harness's fetch.
  const inputs = await mnistInputs(1);
  // Page start (navigation) -> here is the harness, the same for every runtime.
  const harnessMs = performance.now();
  const rt = await loadRuntime(name);
  const t = performance.now();
  let logits = rt.infer(inputs[0]);
  if (rt.async) logits = await logits;
  const firstResultMs = performance.now();
  // The next few calls, still in cold code (what a user's first strokes would meet without a
  // warm-up): V8 runs new wasm in its baseline tier until a function has run enough.
  const next = [];
  await timeCalls(() => rt.infer(inputs[0]), 5, rt.async, next);
  const [nav] = performance.getEntriesByType('navigation');
  const resources = performance.getEntriesByType('resource').map((r) => ({
    path: new URL(r.name).pathname, start: r.startTime, responseEnd: r.responseEnd,
  }));
  return {
    runtime: name, firstResultMs, harnessMs, ownMs: firstResultMs - harnessMs, loadMs: rt.loadMs,
    firstInferenceMs: firstResultMs - t, nextInferencesMs: summary(next).median, phases: rt.phases, version: rt.version,
    top: argmax(logits), crossOriginIsolated, navigation: nav ? { responseEnd: nav.responseEnd } : null, resources,
  };
}

async function full() {
  const n = Number(params.get('n') || 500);
  const warmup = Number(params.get('warmup') || 200);
  const checkCount = Number(params.get('check') || 200);
  const recognizeN = Number(params.get('recognize') || n);
  const runtimes = [];
  for (const name of RUNTIMES) runtimes.push(await loadRuntime(name));
  const byName = Object.fromEntries(runtimes.map((r) => [r.name, r]));
  const core = byName.core;
  const fixture = await (await fetch('/data/strokes.json')).json();
  const drawings = fixture.digits.slice(0, Math.max(checkCount, 1)).map((d) => d.strokes);
  const [cw, ch] = fixture.canvas || [280, 280];

  // 1. Agreement on the same inputs: MNIST test digits and the core's inputs for fixture drawings.
  const images = await mnistInputs(Math.max(checkCount, 100));
  const checkInputs = [...images.slice(0, checkCount).map((x, i) => ({ what: `mnist ${i}`, x })),
    ...drawings.map((s, i) => ({ what: `fixture ${i}`, x: core.preprocessed(s) })).filter((c) => c.x)];
  const mismatches = [];
  const maxDiff = Object.fromEntries(RUNTIMES.map((r) => [r, 0]));
  const classes = new Set();
  const floats = RUNTIMES.filter((r) => !isInt8(r)), int8s = RUNTIMES.filter(isInt8);
  let int8VsFloat = 0;
  for (const { what, x } of checkInputs) {
    const logits = {};
    for (const rt of runtimes) logits[rt.name] = Float32Array.from(await rt.infer(x));
    // Float runtimes against the naive float network, int8 ones against the core's int8 path.
    const ref = logits.naive || logits.core, ref8 = logits['core-int8'];
    const tops = Object.fromEntries(RUNTIMES.map((r) => [r, argmax(logits[r])]));
    for (const r of RUNTIMES) {
      const base = isInt8(r) && ref8 ? ref8 : ref;
      for (let i = 0; i < base.length; i++) maxDiff[r] = Math.max(maxDiff[r], Math.abs(logits[r][i] - base[i]));
    }
    const disagree = (names) => new Set(names.map((r) => tops[r])).size > 1;
    if (disagree(floats) || disagree(int8s)) mismatches.push({ what, tops });
    if (int8s.length && tops[int8s[0]] !== tops[floats[0]]) int8VsFloat++;
    classes.add(tops.core);
  }
  // Info: how often canvas preprocessing + inference reads a drawing like the core does.
  const { makeCanvasPreprocess } = await import('./lib/canvas_preprocess.mjs');
  const preprocess = makeCanvasPreprocess(cw, ch);
  let canvasAgrees = 0;
  for (const s of drawings) {
    let l = (byName.naive || byName.tfjs || core).infer(preprocess(s));
    if (l instanceof Promise) l = await l;
    if (argmax(l) === core.recognize(s, false)) canvasAgrees++;
  }

  // 2. Inference.
  const inputs = images.slice(0, 100);
  const inference = await interleaved(runtimes.map((rt) => ({
    name: rt.name, async: rt.async, fn: (i) => rt.infer(inputs[i % inputs.length]),
  })), n, warmup);

  // 3. Recognition from strokes.
  const d = (i) => drawings[i % drawings.length];
  const recognizeEntries = [
    { name: 'core recognize', fn: (i) => core.recognize(d(i), false) },
    { name: 'core recognize + Grad-CAM', fn: (i) => core.recognize(d(i), true) },
    { name: 'JS canvas preprocess', fn: (i) => preprocess(d(i)) },
  ];
  if (byName.core2) {
    recognizeEntries.push({ name: 'core2 recognize', fn: (i) => byName.core2.recognize(d(i), false) });
    recognizeEntries.push({ name: 'core2 recognize + Grad-CAM', fn: (i) => byName.core2.recognize(d(i), true) });
  }
  for (const peer of ['ort', 'tfjs']) {
    const rt = byName[peer];
    if (!rt) continue;
    recognizeEntries.push(rt.async
      ? { name: `JS canvas preprocess + ${peer}`, async: true, fn: (i) => rt.infer(preprocess(d(i))) }
      : { name: `JS canvas preprocess + ${peer}`, fn: (i) => rt.infer(preprocess(d(i))) });
  }
  const recognize = await interleaved(recognizeEntries, recognizeN, Math.min(warmup, 100));

  return {
    crossOriginIsolated,
    userAgent: navigator.userAgent,
    macs: core.macs,
    versions: Object.fromEntries(runtimes.map((r) => [r.name, r.version])),
    warmLoadMs: Object.fromEntries(runtimes.map((r) => [r.name, r.loadMs])),
    check: { inputs: checkInputs.length, mismatches, maxAbsLogitDiffVsNaive: maxDiff, classesSeen: classes.size,
      int8DiffsAreVs: 'core-int8', int8VsFloatTopDisagreements: int8VsFloat,
      canvasPreprocessAgreesWithCore: `${canvasAgrees}/${drawings.length}` },
    inference,
    recognize,
    coreStats: core.stats(),
  };
}

(async () => {
  try {
    const mode = params.get('mode') || 'full';
    const result = mode === 'startup' ? await startup() : await full();
    window.__bench = { result };
  } catch (e) {
    window.__bench = { error: `${e && e.stack || e}` };
  }
  document.getElementById('out').textContent = JSON.stringify(window.__bench, null, 1);
})();
