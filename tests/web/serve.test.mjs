// build/site served by `digits serve` itself, with its own headers: the page loads and
// reads a drawing under the server's Content-Security-Policy with no violation and no console
// error; the widget, served by `digits serve`, embeds in a page of another origin (its files carry
// CORS); another origin's web app calls /predict as --cors-origin allows; and the page refuses to
// be framed (frame-ancestors 'none', X-Frame-Options: DENY). And the server as a static host in
// Chromium: a first view transfers at most the gzip size web/README.md quotes, a second view at
// most 5 KB (the entry points revalidated with 304s, the content-hashed files from the cache), and
// every response of the site has an ETag, a Cache-Control and br where it compresses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.mjs';
import { CLI, REPO, SITE, TIMEOUT, confidentDigits, drawWithMouse, launch, requireSite, watch } from './helpers.mjs';

let browser;
let digits; // the `digits serve` child process
let origin; // its http://127.0.0.1:PORT
let host; // another origin that embeds the widget and tries to frame the page
let confidentCache = null;
const confident = () => (confidentCache ||= confidentDigits([1, 4, 7]));

function startServe(extra = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, ['serve', '--model', path.join(SITE, 'digits.safetensors'), '--site', SITE,
      '--port', '0', '--threads', '2', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(log);
      if (m) resolve({ child, origin: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`digits serve exited (${code}): ${log}`)));
  });
}

before(async () => {
  requireSite();
  ({ child: digits, origin } = await startServe());
  const csp = `default-src 'self'; script-src 'self' ${origin} 'wasm-unsafe-eval'; connect-src ${origin}`;
  host = await serve({
    headers: (p) => (p.endsWith('/embed.html') ? { 'content-security-policy': csp } : {}),
    routes: {
      '/favicon.ico': { body: '', status: 204 },
      '/embed.html': {
        body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title>
<script type="module" src="${origin}/digit-recognizer.js"></script></head>
<body><digit-recognizer id="w"></digit-recognizer></body></html>`,
      },
      '/plain.html': { body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>app</title></head><body></body></html>' },
      '/frame.html': {
        body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>framer</title></head>
<body><iframe src="${origin}/" onload="document.body.dataset.loaded = '1'"></iframe></body></html>`,
      },
    },
  });
  browser = await launch();
});

async function stop(child) {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

after(async () => {
  await browser?.close();
  await host?.close();
  await stop(digits);
});

// From a page of the host origin: POST a drawing to `api`/predict as a web app would (JSON, so
// the browser sends a preflight first) -> the text read, or the error's name.
async function fetchPredict(page, api, strokes) {
  return page.evaluate(async ([url, s]) => {
    try {
      const res = await fetch(`${url}/predict`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ strokes: s }),
      });
      return { ok: true, text: (await res.json()).text };
    } catch (e) {
      return { ok: false, error: e.name };
    }
  }, [api, strokes]);
}

describe('the site served by digits serve', () => {
  test('the page: its own CSP and framing headers, loads and reads a digit with no violation', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    const response = await page.goto(`${origin}/`);
    const headers = response.headers();
    assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
    assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    await page.waitForSelector('html[data-state="ready"]');
    const d = confident()[0];
    await drawWithMouse(page, '#pad >> canvas.ink', d.strokes);
    await page.waitForFunction((l) => document.getElementById('answer').textContent === l, String(d.label));
    await log.check();
    await ctx.close();
  });

  test('the widget, from digits serve, embeds in another origin under a strict CSP', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    await page.goto(`${host.origin}/embed.html`);
    await page.waitForSelector('digit-recognizer#w[data-state="ready"]');
    const d = confident()[1];
    await drawWithMouse(page, 'digit-recognizer#w >> canvas.ink', d.strokes);
    await page.waitForFunction((l) => document.querySelector('#w').value === l, String(d.label));
    await log.check();
    await ctx.close();
  });

  test('a web app of another origin uses the API (preflight, then the answer), as --cors-origin allows', async () => {
    const d = confident()[2];
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    await page.goto(`${host.origin}/plain.html`);
    // The default, '*': any origin.
    assert.deepEqual(await fetchPredict(page, origin, d.strokes), { ok: true, text: String(d.label) });
    // A list with the host: answered; a list without it: the browser blocks the read.
    const allowing = await startServe(['--cors-origin', `https://elsewhere.example,${host.origin}`]);
    const other = await startServe(['--cors-origin', 'https://elsewhere.example']);
    try {
      assert.deepEqual(await fetchPredict(page, allowing.origin, d.strokes), { ok: true, text: String(d.label) });
      assert.deepEqual(await fetchPredict(page, other.origin, d.strokes), { ok: false, error: 'TypeError' });
    } finally {
      await stop(allowing.child);
      await stop(other.child);
    }
    await log.check([/has been blocked by CORS policy|Failed to load resource/]);
    await ctx.close();
  });

  test('the page cannot be framed by another site', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    await page.goto(`${host.origin}/frame.html`);
    await page.waitForSelector('body[data-loaded="1"]');
    const child = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(child, 'the iframe exists');
    const framed = await child.evaluate(() => document.documentElement.dataset.state ?? null).catch(() => null);
    assert.equal(framed, null, 'the page ran inside the frame');
    await log.check([/frame-ancestors|X-Frame-Options|Refused to (display|frame)/]);
    await ctx.close();
  });

  test('a static host: first view within the README\'s gzip size, second view <= 5 KB, validators everywhere', async () => {
    // The cold download web/README.md quotes (bench/measure_page.mjs: gzip -9 of every file).
    const quoted = /\*\*([\d.]+) KB\*\* gzip -9/.exec(readFileSync(path.join(REPO, 'web/README.md'), 'utf8'));
    assert.ok(quoted, 'web/README.md quotes the page download in KB gzip');
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    const responses = new Map();
    cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
    cdp.on('Network.responseReceived', (e) => responses.set(e.response.url, e.response));
    const view = async () => {
      bytes = 0;
      responses.clear();
      await page.goto(`${origin}/`);
      await page.waitForSelector('html[data-state="ready"]');
      await page.waitForLoadState('networkidle');
      return bytes;
    };
    const first = await view();
    const header = (r, name) => Object.entries(r.headers).find(([k]) => k.toLowerCase() === name)?.[1];
    assert.ok(responses.size >= 9, [...responses.keys()].join());
    for (const [url, r] of responses) {
      assert.equal(r.status, 200, url);
      assert.match(header(r, 'etag') || '', /^"[^"]+"$/, `${url}: a strong ETag`);
      const hashed = /\.[0-9a-f]{10}\.[a-z]+$/.test(new URL(url).pathname);
      assert.equal(header(r, 'cache-control'), hashed ? 'public, max-age=31536000, immutable' : 'no-cache', url);
      assert.equal(header(r, 'content-encoding'), 'br', `${url}: brotli (every file of the page compresses)`);
    }
    const second = await view();
    await log.check();
    await ctx.close();
    console.log(`# first view ${(first / 1000).toFixed(1)} KB, second view ${(second / 1000).toFixed(2)} KB ` +
      `(README: ${quoted[1]} KB gzip)`);
    assert.ok(first <= Number(quoted[1]) * 1000, `first view ${first} B > ${quoted[1]} KB`);
    assert.ok(second <= 5000, `second view ${second} B > 5 KB`);
  });
});
