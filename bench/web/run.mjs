// Drives the browser benchmark: serves the bench page, the site (build/site), the model files,
// MNIST test digits and the stroke fixture on 127.0.0.1 with COOP/COEP headers (cross-origin
// isolated: fine-grained performance.now()), and runs Debian's Chromium headless through
// playwright-core, a fresh browser (fresh profile) per run.
//
//   node bench/web/run.mjs --model M.safetensors --onnx M.onnx [--model-f16 M_f16.safetensors]
//                          [--model-int8 M_int8.safetensors --onnx-int8 M_int8.onnx]
//        [--runs 3] [--startup-repeats 3] [--n 500] [--warmup 200] [--out results.json]
//   node bench/web/run.mjs --startup-only ...  cold starts only, medians printed (no report)
//   node bench/web/run.mjs --smoke ...   one short run: asserts only that every runtime returned
//                                        the same top class for the same inputs (exit 1 if not)
//
// Per run: cold start of each runtime (a new browser context per load: empty HTTP cache; the
// order rotates between repeats), then the full page (agreement check, inference, recognize).
// Payload: every response a runtime's cold start fetched, raw and gzip -9.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');

function parseArgs(argv) {
  const a = {
    model: path.join(REPO, 'model/digits.safetensors'), modelF16: null, onnx: path.join(REPO, 'model/digits.onnx'),
    modelInt8: null, onnxInt8: null,
    site: path.join(REPO, 'build/site'), mnist: process.env.DIGITS_MNIST_DIR || path.join(process.env.DIGITS_DATA || path.join(REPO, '../shared/data'), 'mnist'),
    strokes: path.join(REPO, 'tests/data/strokes/mnist_test_strokes.json'),
    runs: 3, startupRepeats: 3, n: 500, warmup: 200, check: 200, out: null, smoke: false,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--smoke') a.smoke = true;
    else if (k === '--model') a.model = path.resolve(v());
    else if (k === '--model-f16') a.modelF16 = path.resolve(v());
    else if (k === '--onnx') a.onnx = path.resolve(v());
    else if (k === '--model-int8') a.modelInt8 = path.resolve(v());
    else if (k === '--onnx-int8') a.onnxInt8 = path.resolve(v());
    else if (k === '--site') a.site = path.resolve(v());
    else if (k === '--mnist') a.mnist = path.resolve(v());
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--startup-repeats') a.startupRepeats = Number(v());
    else if (k === '--n') a.n = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--check') a.check = Number(v());
    else if (k === '--out') a.out = path.resolve(v());
    else if (k === '--site2') a.site2 = path.resolve(v());
    else if (k === '--runtimes') a.runtimes = v();
    else if (k === '--no-startup') a.noStartup = true;
    else if (k === '--startup-only') a.startupOnly = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (a.smoke) Object.assign(a, { runs: 1, n: 20, warmup: 5, check: 20 });
  if (!a.modelInt8 !== !a.onnxInt8) throw new Error('--model-int8 and --onnx-int8 go together');
  return a;
}

const args = parseArgs(process.argv);
for (const [what, file] of [['model', args.model], ['ONNX file', args.onnx], ['site', path.join(args.site, 'digits.wasm')],
  ...(args.modelInt8 ? [['int8 model', args.modelInt8], ['int8 ONNX file', args.onnxInt8]] : []),
  ['stroke fixture', args.strokes], ['MNIST test images', path.join(args.mnist, 't10k-images-idx3-ubyte.gz')]]) {
  if (!existsSync(file)) {
    console.error(`run.mjs: the ${what} ${file} is missing`);
    process.exit(2);
  }
}

// The first 500 MNIST test images, raw bytes (784 per image).
const mnist = (() => {
  const idx = gunzipSync(readFileSync(path.join(args.mnist, 't10k-images-idx3-ubyte.gz')));
  return idx.subarray(16, 16 + 500 * 784);
})();

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png',
};
const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-store',
};
// URL prefix -> folder; exact paths -> files.
const MOUNTS = [['/bench/', HERE], ['/site/', args.site]];
if (args.site2) MOUNTS.push(['/site2/', args.site2]);
// Cold-start label -> the files that runtime fetched in its plain cold load (preload hints).
const hints = new Map();
const FILES = {
  '/model/model.safetensors': args.model, '/model/model.onnx': args.onnx, '/data/strokes.json': args.strokes,
};
if (args.modelF16) FILES['/model/model_f16.safetensors'] = args.modelF16;
if (args.modelInt8) Object.assign(FILES, { '/model/model_int8.safetensors': args.modelInt8, '/model/model_int8.onnx': args.onnxInt8 });
// The full page's runtimes: the int8 pair joins when its files are given.
const fullRuntimes = args.runtimes || (args.modelInt8 ? 'core,ort,tfjs,naive,core-int8,ort-int8' : null);

// Files are read once and then served from memory: the server's own latency stays small and
// steady (the machine is shared), the same for every runtime.
const fileCache = new Map();
function cachedRead(file) {
  if (!fileCache.has(file)) fileCache.set(file, readFile(file));
  return fileCache.get(file);
}

async function startServer() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = decodeURIComponent(url.pathname);
    const send = (status, body, type) => {
      res.writeHead(status, { 'content-type': type, ...ISOLATION });
      res.end(body);
    };
    try {
      if (p === '/data/mnist.bin') {
        const n = Math.max(1, Math.min(500, Number(url.searchParams.get('n')) || 500));
        send(200, mnist.subarray(0, n * 784), 'application/octet-stream');
        return;
      }
      if (p === '/bench/index.html' && url.searchParams.get('preload')) {
        // The same page with preload hints for every file the runtime fetched in a plain cold
        // load (found by a discovery load, see below): what a page using that runtime can do to
        // request them all at once instead of one after another (a module, then what it imports,
        // then what that fetches). Module scripts as modulepreload, the rest as fetch preloads.
        const files = hints.get(url.searchParams.get('preload'));
        if (!files) throw new Error(`no preload hints for ${url.searchParams.get('preload')}`);
        const links = files.map((f) => (/\.m?js$/.test(f)
          ? `<link rel="modulepreload" href="${f}">`
          : `<link rel="preload" href="${f}" as="fetch" crossorigin>`)).join('\n');
        const html = (await cachedRead(path.join(HERE, 'index.html'))).toString().replace('<script type="importmap">', `${links}\n<script type="importmap">`);
        send(200, html, MIME['.html']);
        return;
      }
      let file = FILES[p];
      for (const [prefix, dir] of MOUNTS) {
        if (!file && p.startsWith(prefix)) {
          file = path.join(dir, path.normalize(p.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
          if (!file.startsWith(dir)) file = null;
        }
      }
      if (file && (await stat(file).catch(() => null))?.isDirectory()) file = path.join(file, 'index.html');
      if (!file) {
        send(404, 'not found', 'text/plain');
        return;
      }
      send(200, await cachedRead(file), MIME[path.extname(file)] || 'application/octet-stream');
    } catch {
      send(404, 'not found', 'text/plain');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

async function launch() {
  return chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
}

// Opens url in a new context and waits for window.__bench; returns {result, responses}.
async function runPage(browser, url, timeout) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const responses = new Map();
  const pending = [];
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const fetches = new Map(); // path -> number of responses (more than 1: a preload went unused)
  page.on('response', (r) => {
    const p = new URL(r.url()).pathname;
    fetches.set(p, (fetches.get(p) || 0) + 1);
    pending.push(r.body().then((b) => responses.set(p, b.length ? b : Buffer.alloc(0)), () => {}));
  });
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__bench, null, { timeout, polling: 100 });
    const out = await page.evaluate(() => window.__bench);
    await Promise.all(pending);
    if (out.error) throw new Error(`${url}: ${out.error}\n${errors.join('\n')}`);
    const refetched = [...fetches].filter(([, n]) => n > 1).map(([p]) => p);
    return { result: out.result, responses, refetched };
  } finally {
    await context.close();
  }
}

const gzipCache = new Map();
function payload(responses, runtime, all = false) {
  // The harness (page, its script, the inputs) is the same for every runtime: not counted.
  const files = [...responses].filter(([p]) => all || (!['/bench/', '/bench/index.html', '/bench/bench.mjs'].includes(p) &&
    !p.startsWith('/data/') && !(p.startsWith('/bench/runtimes/') && p !== `/bench/runtimes/${runtime}.mjs`)));
  let raw = 0, gzip = 0;
  const list = [];
  for (const [p, body] of files) {
    if (!gzipCache.has(p)) gzipCache.set(p, gzipSync(body, { level: 9 }).length);
    raw += body.length;
    gzip += gzipCache.get(p);
    list.push({ path: p, raw: body.length, gzip: gzipCache.get(p) });
  }
  list.sort((x, y) => y.raw - x.raw);
  return { raw, gzip, files: list };
}

// The site itself (build/site/index.html), cold: its whole download (every response until the
// network is idle) and the time from navigation start to its 'digits-ready' mark.
async function siteStartup(browser, origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const responses = new Map();
  const pending = [];
  page.on('response', (r) => pending.push(r.body().then((b) => responses.set(new URL(r.url()).pathname, b), () => {})));
  try {
    await page.goto(`${origin}/site/index.html`);
    await page.waitForSelector('html[data-state="ready"]', { timeout: 60_000 });
    const readyMs = await page.evaluate(() => performance.getEntriesByName('digits-ready')[0]?.startTime ?? null);
    await page.waitForLoadState('networkidle');
    await Promise.all(pending);
    return { readyMs, payload: payload(responses, null, true) };
  } finally {
    await context.close();
  }
}

function cpuModel() {
  const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
  return m ? m[1] : os.cpus()[0]?.model;
}

const server = await startServer();
const out = {
  date: new Date().toISOString(),
  machine: { nproc: os.cpus().length, cpu: cpuModel(), loadavgBefore: os.loadavg() },
  node: process.version,
  args: { ...args, model: path.relative(REPO, args.model), onnx: path.relative(REPO, args.onnx),
    modelInt8: args.modelInt8 && path.relative(REPO, args.modelInt8), onnxInt8: args.onnxInt8 && path.relative(REPO, args.onnxInt8),
    modelF16: args.modelF16 && path.relative(REPO, args.modelF16), site: path.relative(REPO, args.site) },
  runs: [],
};
const q = (o) => new URLSearchParams(o).toString();
try {
  for (let run = 0; run < args.runs; run++) {
    const browser = await launch();
    out.chromium = browser.version();
    const r = { startup: [], site: [], full: null };
    try {
      if (!args.smoke && !args.noStartup) {
        const f16 = args.modelF16 ? { model: '/model/model_f16.safetensors' } : {};
        const plain = [['core', { runtime: 'core' }], ['ort', { runtime: 'ort' }], ['tfjs', { runtime: 'tfjs' }],
          ['naive', { runtime: 'naive' }]];
        if (args.modelF16) plain.push(['core-f16', { runtime: 'core', ...f16 }]);
        if (args.modelInt8) plain.push(['core-int8', { runtime: 'core-int8' }], ['ort-int8', { runtime: 'ort-int8' }]);
        // Each runtime also with preload hints (the site's own page has them): the core with the
        // model the site ships, the peers with theirs. The hint lists come from one discovery
        // load per runtime (not counted).
        const base = (label) => (plain.find(([l]) => l === label) || plain[0])[1]; // core-f16, or core
        // The core with hints loads the model the site ships: int8 when given, else F16.
        const siteCore = args.modelInt8 ? 'core-int8' : 'core-f16';
        const hinted = [[siteCore, 'core-preload'], ['ort', 'ort-preload'], ['tfjs', 'tfjs-preload']]
          .map(([from, label]) => [label, { ...base(from), preload: label }]);
        for (const [label, p] of hinted) {
          if (hints.has(label)) continue;
          const { preload, ...discover } = p;
          const { responses } = await runPage(browser, `${server.origin}/bench/index.html?${q({ mode: 'startup', ...discover })}`, 120_000);
          hints.set(label, payload(responses, p.runtime).files.map((f) => f.path));
        }
        const kinds = [...plain, ...hinted, ['site', null]];
        for (let rep = 0; rep < args.startupRepeats; rep++) {
          for (let k = 0; k < kinds.length; k++) {
            const [label, p] = kinds[(k + rep + run) % kinds.length];
            if (label === 'site') {
              const site = await siteStartup(browser, server.origin);
              r.site.push(site);
              console.error(`run ${run + 1} startup site: ready at ${site.readyMs?.toFixed(1)} ms, ` +
                `${(site.payload.gzip / 1024).toFixed(0)} KB gzip`);
              continue;
            }
            const { result, responses, refetched } = await runPage(browser, `${server.origin}/bench/index.html?${q({ mode: 'startup', ...p })}`, 120_000);
            const size = payload(responses, p.runtime);
            if (refetched.length) console.error(`run ${run + 1} startup ${label}: fetched twice (unused preload?): ${refetched.join(', ')}`);
            r.startup.push({ label, ...result, payload: size, refetched });
            console.error(`run ${run + 1} startup ${label}: first result at ${result.firstResultMs.toFixed(1)} ms ` +
              `(harness ${result.harnessMs.toFixed(1)} + own ${result.ownMs.toFixed(1)}), ${(size.gzip / 1024).toFixed(0)} KB gzip`);
          }
        }
      }
      if (args.startupOnly) {
        out.runs.push(r);
        continue;
      }
      const { result } = await runPage(browser, `${server.origin}/bench/index.html?${q({
        mode: 'full', n: args.n, warmup: args.warmup, check: args.check, recognize: args.n,
        ...(fullRuntimes ? { runtimes: fullRuntimes } : {}), ...(process.env.BENCH_RAW ? { raw: 1 } : {}) })}`, 900_000);
      r.full = result;
      const inf = Object.entries(result.inference).map(([k, v]) => `${k} ${v.median.toFixed(3)}`).join(', ');
      console.error(`run ${run + 1} inference medians (ms): ${inf}`);
      console.error(`run ${run + 1} agreement: ${result.check.inputs} inputs, ${result.check.mismatches.length} top-class mismatches`);
    } finally {
      await browser.close();
    }
    out.runs.push(r);
  }
} finally {
  await server.close();
}
out.machine.loadavgAfter = os.loadavg();

if (args.startupOnly) {
  // Cold starts only (for work on start-up time): medians per label, no report.
  if (args.out) writeFileSync(args.out, `${JSON.stringify(out, null, 1)}\n`);
  const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const labels = [...new Set(out.runs.flatMap((r) => r.startup.map((s) => s.label)))];
  for (const label of labels) {
    const all = out.runs.flatMap((r) => r.startup.filter((s) => s.label === label));
    console.error(`${label}: first result ${med(all.map((s) => s.firstResultMs)).toFixed(1)} ms, own ` +
      `${med(all.map((s) => s.ownMs)).toFixed(1)} ms, first inference ${med(all.map((s) => s.firstInferenceMs)).toFixed(1)} ms (${all.length} loads)`);
  }
  process.exit(0);
}

// The check: the same top class from every runtime for every input; and, so that a wrong model
// file cannot pass by predicting one class for everything, logits within a loose 1e-2 of the
// naive JS forward pass (correct runtimes differ by ~1e-6).
const mismatches = out.runs.flatMap((r) => r.full.check.mismatches);
// The int8 runtimes are held to their own reference, the core's int8 path: onnxruntime-web
// computes the same int8 network but may round an activation the other way where the exact
// value sits on a rounding boundary, which moves a logit by up to ~1e-2; 5e-2 still catches a
// wrong file.
const far = out.runs.flatMap((r) => Object.entries(r.full.check.maxAbsLogitDiffVsNaive)
  .filter(([k, v]) => !(v <= (k.endsWith('-int8') ? 5e-2 : 1e-2))));
if (args.out) writeFileSync(args.out, `${JSON.stringify(out, null, 1)}\n`);
const c = out.runs[0].full.check;
const diffs = Object.entries(c.maxAbsLogitDiffVsNaive).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
if (mismatches.length || far.length) {
  console.error(`run.mjs: FAILED: ${mismatches.length} top-class disagreement(s) between the runtimes; max |logit - naive| (must be <= 1e-2): ${diffs}`);
  for (const m of mismatches.slice(0, 10)) console.error(`  ${m.what}: ${JSON.stringify(m.tops)}`);
  process.exit(1);
}
console.error(`run.mjs: ${Object.keys(c.maxAbsLogitDiffVsNaive).join(', ')} agree on the top class for all ${c.inputs} inputs ` +
  `(${c.classesSeen} different classes; max |logit - naive|: ${diffs})`);
