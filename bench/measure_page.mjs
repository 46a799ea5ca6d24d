// Measures the page in headless Chromium and prints (or, with --write, puts into web/README.md)
// the page's numbers:
//   - total download of the page (every response of a cold load: HTML, CSS, JS, wasm, model),
//     raw and gzip -9 (what a static host would send compressed);
//   - time from navigation to the first possible prediction (the page's `digits-ready` mark:
//     wasm compiled, model loaded), cold cache, median of 7 loads; and in those loads the first
//     recognition after the page's idle-time warm-up;
//   - per-recognition time in the page (preprocess + inference + Grad-CAM, one digit), median
//     of 200 different fixture digits, each timed alone. The page is served cross-origin isolated
//     (COOP/COEP) so performance.now() has 5 us resolution instead of 100 us.
//
//   node bench/measure_page.mjs            # print
//   node bench/measure_page.mjs --write    # also update the numbers section of web/README.md
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve } from '../tests/web/server.mjs';
import { REPO, SITE, fixtureDigits, launch, requireSite } from '../tests/web/helpers.mjs';

const RUNS = 7;
const N = 200;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function modelInfo(file) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const dtypes = new Set(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.dtype));
  return { bytes: bytes.length, dtypes: [...dtypes].join('+') };
}

requireSite();
const server = await serve({
  root: SITE,
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
});
const browser = await launch();
const result = {};
try {
  // 1. Download: what a cold load of the page fetches.
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const files = new Map();
    page.on('response', async (r) => {
      if (!r.url().startsWith(server.origin)) return;
      try {
        const body = await r.body();
        files.set(new URL(r.url()).pathname, body);
      } catch { /* preflight or redirect */ }
    });
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('html[data-state="ready"]');
    await page.waitForLoadState('networkidle');
    const rows = [...files].map(([name, body]) => ({
      // The site build's content-hashed names (name.<10 hex>.ext) shown as the source's names.
      name: name === '/' ? '/index.html' : name.replace(/\.[0-9a-f]{10}\./, '.'), raw: body.length, gzip: gzipSync(body, { level: 9 }).length,
    })).sort((a, b) => b.raw - a.raw);
    result.download = {
      files: rows,
      raw: rows.reduce((s, r) => s + r.raw, 0),
      gzip: rows.reduce((s, r) => s + r.gzip, 0),
    };
    result.chromium = browser.version();
    await ctx.close();
  }
  // 2. Navigation -> first possible prediction, cold cache each time.
  {
    const times = [];
    const first = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${server.origin}/`);
      await page.waitForSelector('html[data-state="ready"]');
      times.push(await page.evaluate(() => performance.getEntriesByName('digits-ready')[0].startTime));
      // The user's first drawing, once the page has warmed the recognizer up in idle time.
      first.push(await page.evaluate(async (strokes) => {
        const { pad } = window.digitsApp;
        await new Promise((resolve) => {
          const poll = () => (pad.recognizer.warmUpCalls >= 100 ? resolve() : setTimeout(poll, 5));
          poll();
        });
        const t0 = performance.now();
        pad.recognizer.recognize(strokes, { gradcam: true });
        return performance.now() - t0;
      }, fixtureDigits()[i].strokes.map((s) => s.map(([x, y]) => ({ x, y })))));
      await ctx.close();
    }
    result.ready = { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), runs: RUNS };
    result.firstRecognition = { medianMs: median(first), maxMs: Math.max(...first) };
  }
  // 3. Per recognition, in the page: 200 different fixture digits, each timed alone.
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('html[data-state="ready"]');
    const digits = fixtureDigits().slice(0, N).map((d) => d.strokes);
    result.recognition = await page.evaluate((all) => {
      const r = window.digitsApp.pad.recognizer;
      const strokes = all.map((s) => s.map((st) => st.map(([x, y]) => ({ x, y }))));
      const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
      const time = (options) => {
        for (let i = 0; i < 20; i++) r.recognize(strokes[i], options); // warm up
        const each = strokes.map((s) => {
          const t0 = performance.now();
          r.recognize(s, options);
          return performance.now() - t0;
        });
        const t0 = performance.now();
        for (const s of strokes) r.recognize(s, options);
        return { medianMs: median(each), meanMs: (performance.now() - t0) / strokes.length };
      };
      // The page's whole update (recognize + heatmap + the card's bars and 28x28 views), as on every frame.
      const { pad } = window.digitsApp;
      const frame = strokes.map((s) => {
        pad.strokes = s;
        const t0 = performance.now();
        pad.recognize();
        return performance.now() - t0;
      });
      return {
        isolated: crossOriginIsolated,
        gradcam: time({ gradcam: true }),
        noGradcam: time({ gradcam: false }),
        pageUpdateMedianMs: median(frame),
        count: strokes.length,
      };
    }, digits);
    await ctx.close();
  }
} finally {
  await browser.close();
  await server.close();
}

result.model = modelInfo(path.join(SITE, 'digits.safetensors'));
result.machine = `${os.cpus()[0].model.trim()}, ${os.cpus().length} cores`;
result.date = new Date().toISOString().slice(0, 10);

const d = result.download;
const r = result.recognition;
const md = [
  `Measured by \`node bench/measure_page.mjs --write\` on ${result.date}: headless Chromium ${result.chromium}, ` +
    `${result.machine}, page served from 127.0.0.1. Model: ${kb(result.model.bytes)} (${result.model.dtypes}).`,
  '',
  '| what | number |',
  '|---|---|',
  `| page download, all ${d.files.length} files of a cold load | **${kb(d.raw)}** raw, **${kb(d.gzip)}** gzip -9 (target <= 300 KB gzip) |`,
  `| navigation to first possible prediction (wasm compiled, model loaded), cold cache | **${result.ready.medianMs.toFixed(0)} ms** median of ${result.ready.runs} (${result.ready.minMs.toFixed(0)}-${result.ready.maxMs.toFixed(0)} ms) |`,
  `| the first recognition on a cold load, after the page's idle-time warm-up (\`Recognizer.warmUp\`) | ${result.firstRecognition.medianMs.toFixed(2)} ms median of ${result.ready.runs} (max ${result.firstRecognition.maxMs.toFixed(2)} ms) |`,
  `| one recognition in the page: preprocess + inference + Grad-CAM | **${r.gradcam.medianMs.toFixed(3)} ms** median of ${r.count} digits (mean ${r.gradcam.meanMs.toFixed(3)} ms) |`,
  `| the same without Grad-CAM | ${r.noGradcam.medianMs.toFixed(3)} ms median (mean ${r.noGradcam.meanMs.toFixed(3)} ms) |`,
  `| the page's whole update per frame (recognition + bars + heatmap + 28x28 views) | ${r.pageUpdateMedianMs.toFixed(2)} ms median |`,
  '',
  '| file | raw | gzip -9 |',
  '|---|---|---|',
  ...d.files.map((f) => `| \`${f.name.slice(1)}\` | ${kb(f.raw)} | ${kb(f.gzip)} |`),
  '',
  `Timer: cross-origin isolated = ${r.isolated} (5 us resolution); each recognition is timed alone, ` +
    'and the mean comes from one loop over all digits.',
].join('\n');

console.log(md);
if (process.argv.includes('--write')) {
  const file = path.join(REPO, 'web/README.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- measure-web:begin -->';
  const end = '<!-- measure-web:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} has no ${begin} ... ${end} section`);
  writeFileSync(file, `${text.slice(0, i + begin.length)}\n${md}\n${text.slice(j)}`);
  console.log(`\nwrote ${file}`);
}
