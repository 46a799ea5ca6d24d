// The page (build/site/index.html) in headless Chromium: real pointer input replaying the stroke
// fixture, the result and its announcement, clear/undo, the heatmap over the ink, the same
// probabilities as the native CLI, image upload, a phone with touch, memory over 1,000
// recognitions, and readable failures. Served with a strict CSP: no violation may occur.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.mjs';
import {
  SITE, TIMEOUT, cliRecognize, confidentDigits, drawWithMouse, drawWithTouch, fixtureDigits, launch,
  refusedLetters, requireSite, watch,
} from './helpers.mjs';

const PAGE_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self' blob: data:; object-src 'none'; base-uri 'none'";

// When the page cannot use what it preloads (another model, no WebAssembly), Chromium says so
// after a few seconds: expected there, an error anywhere else.
const PRELOAD_UNUSED = /was preloaded using link preload but not used/;

let browser;
let server;
// Fixture digits 0..9 the native CLI reads confidently with the site's model: found on first use,
// so with an untrained model only the tests that need a right answer fail.
let confidentCache = null;
const confident = () => (confidentCache ||= confidentDigits());

before(async () => {
  requireSite();
  const model = readFileSync(path.join(SITE, 'digits.safetensors'));
  server = await serve({
    root: SITE,
    headers: (p) => (p.endsWith('.html') || p.endsWith('/') ? { 'content-security-policy': PAGE_CSP } : {}),
    routes: {
      // A model cut short, and one with a valid size prefix but garbage after it.
      '/truncated.safetensors': { body: model.subarray(0, Math.floor(model.length / 2)) },
      '/corrupt.safetensors': { body: Buffer.concat([model.subarray(0, 8), randomBytes(4000)]) },
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open({ query = '', context = {}, init } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...context });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const log = await watch(page);
  if (init) await page.addInitScript(init);
  await page.goto(`${server.origin}/${query}`);
  return { ctx, page, log };
}

async function ready(page) {
  await page.waitForSelector('html[data-state="ready"]');
}

const answer = (page) => page.textContent('#answer');
const strokeCount = (page) => page.evaluate(() => window.digitsApp.surface.strokes.length);

async function clearPad(page) {
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.getElementById('answer').textContent === '–');
}

/** Draws and waits until the page has read the drawing (the stroke count settled, a result). */
async function draw(page, strokes, how = drawWithMouse) {
  await how(page, '#ink', strokes);
  await page.waitForFunction((n) => window.digitsApp.surface.strokes.length === n &&
    !window.digitsApp.surface.isDrawing && !window.digitsApp.surface.pending &&
    window.digitsApp.result !== null, strokes.length);
}

/**
 * Reads the heatmap layer's alpha: how many pixels are non-transparent, and how many of the ink's
 * points have heat under them. (Copied to a willReadFrequently canvas: reading the page's own
 * canvas repeatedly makes Chromium warn.)
 */
function heatAlpha(page) {
  return page.evaluate(() => {
    const { surface } = window.digitsApp;
    const c = document.getElementById('heat');
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const g = copy.getContext('2d', { willReadFrequently: true });
    g.drawImage(c, 0, 0);
    const data = g.getImageData(0, 0, c.width, c.height).data;
    let pixels = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]) pixels++;
    const k = c.width / surface.size;
    let hit = 0;
    let total = 0;
    for (const s of surface.strokes) {
      for (const p of s) {
        const x = Math.min(c.width - 1, Math.round(p.x * k));
        const y = Math.min(c.height - 1, Math.round(p.y * k));
        total++;
        if (data[4 * (y * c.width + x) + 3] > 0) hit++;
      }
    }
    return { pixels, hit, total };
  });
}

/** The probabilities the page shows in its bars (full precision in data-p). */
function barProbabilities(page) {
  return page.$$eval('#bars button', (bs) => bs.map((b) => Number(b.dataset.p)));
}

describe('the page', () => {
  test('drawing fixture digits with the mouse shows the right digit and announces it', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    for (const d of confident()) {
      await clearPad(page);
      await draw(page, d.strokes);
      const label = String(d.label);
      await page.waitForFunction((l) => document.getElementById('answer').textContent === l, label);
      await page.waitForFunction((l) => document.getElementById('live').textContent.startsWith(`Recognized ${l},`), label);
      const top = await page.$eval('#bars li.top button', (b) => b.dataset.digit);
      assert.equal(top, label, `fixture #${d.index}: top bar`);
      const [p, pct] = await page.$eval('#bars li.top button', (b) => [Number(b.dataset.p), b.querySelector('.p').textContent]);
      assert.ok(p >= 0.5, `fixture #${d.index}: p = ${p}`);
      assert.match(pct, /^\d+(\.\d)?%$/);
    }
    const live = await page.$eval('#live', (e) => [e.getAttribute('aria-live'), e.getAttribute('role')]);
    assert.deepEqual(live, ['polite', 'status']);
    await log.check();
    await ctx.close();
  });

  test('a letter is answered "?" with words that say it does not look like a digit', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    for (const letter of refusedLetters(2)) {
      await clearPad(page);
      await draw(page, letter.strokes);
      await page.waitForFunction(() => document.getElementById('answer').textContent === '?');
      assert.equal(await page.$eval('#confidence', (e) => e.textContent), 'That does not look like a digit');
      await page.waitForFunction(() => document.getElementById('live').textContent === 'That does not look like a digit.');
      assert.equal(await page.evaluate(() => window.digitsApp.result.digits[0].not_a_digit), true, letter.char);
      assert.equal(await page.evaluate(() => window.digitsApp.result.text), '?');
    }
    await log.check();
    await ctx.close();
  });

  test('the page gives the same probabilities as the native CLI for the same strokes (1e-4)', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    // Any fixture digits (right or wrong, the numbers must agree), then a number of two digits.
    const cases = fixtureDigits().slice(0, 8).map((d) => ({ strokes: d.strokes, number: false }));
    const [a, b] = fixtureDigits().slice(10, 12);
    const half = (strokes, dx) => strokes.map((s) => s.map(([x, y]) => [dx + 10 + x * 0.45, 70 + y * 0.45]));
    cases.push({ strokes: [...half(a.strokes, 0), ...half(b.strokes, 140)], number: true });
    let compared = 0;
    for (const c of cases) {
      if (c.number) await page.check('input[name="mode"][value="number"]');
      await clearPad(page);
      await draw(page, c.strokes);
      // What the page really recorded from the pointer events, and what it shows.
      const recorded = await page.evaluate(() => window.digitsApp.surface.toJSON().strokes);
      const shown = await page.evaluate(() => window.digitsApp.result.digits.map((d) => Array.from(d.probabilities)));
      const pageText = await page.evaluate(() => window.digitsApp.result.text);
      for (const backend of ['xnnpack', 'builtin']) {
        const native = cliRecognize(recorded, { backend, number: c.number });
        assert.equal(pageText, native.text, `text (${backend})`);
        assert.equal(shown.length, native.digits.length);
        native.digits.forEach((nd, i) => {
          nd.probabilities.forEach((p, k) => {
            assert.ok(Math.abs(p - shown[i][k]) <= 1e-4, `digit ${i} class ${k}: page ${shown[i][k]} vs CLI ${p} (${backend})`);
          });
        });
        compared++;
      }
      // The bars show the first digit's numbers.
      const bars = await barProbabilities(page);
      bars.forEach((p, k) => assert.ok(Math.abs(p - shown[0][k]) < 1e-7));
    }
    assert.equal(compared, 2 * cases.length);
    assert.ok((await page.textContent('#answer')).length >= 2, 'number mode shows the whole number');
    await log.check();
    await ctx.close();
  });

  test('clear and undo: buttons and keyboard shortcuts', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    const twoStrokes = fixtureDigits().find((d) => d.strokes.length === 2);
    const undo = page.locator('#undo');
    assert.equal(await undo.isDisabled(), true, 'nothing to undo at first');
    await draw(page, twoStrokes.strokes);
    assert.equal(await strokeCount(page), 2);

    await undo.click();
    await page.waitForFunction(() => window.digitsApp.surface.strokes.length === 1);
    await page.waitForFunction(() => window.digitsApp.result !== null);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.getElementById('answer').textContent === '–');
    assert.equal(await strokeCount(page), 0);
    assert.equal(await undo.isDisabled(), true);
    await page.waitForFunction(() => document.getElementById('live').textContent === 'Drawing cleared.');
    await page.keyboard.press('Control+Shift+z'); // redo
    await page.waitForFunction(() => window.digitsApp.surface.strokes.length === 1 && window.digitsApp.result);

    for (const how of ['Escape', 'Delete', 'button']) {
      await clearPad(page);
      await draw(page, twoStrokes.strokes);
      if (how === 'button') await page.click('#clear');
      else await page.keyboard.press(how);
      await page.waitForFunction(() => document.getElementById('answer').textContent === '–');
      assert.equal(await strokeCount(page), 0, how);
      assert.equal((await heatAlpha(page)).pixels, 0, `${how} clears the heatmap too`);
    }
    await log.check();
    await ctx.close();
  });

  test('the heatmap layer has non-transparent pixels over the ink; another class shows its own map', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    await draw(page, fixtureDigits()[0].strokes);
    await page.waitForFunction(() => window.digitsApp.result.digits[0].gradcam !== null);
    const predicted = await page.evaluate(() => window.digitsApp.result.digits[0].digit);
    const overInk = () => heatAlpha(page);
    const own = await overInk();
    assert.ok(own.total > 0);
    assert.ok(own.hit / own.total >= 0.5, `heat over ${own.hit} of ${own.total} ink points`);

    // Choose another class by its bar: the map is recomputed for that class.
    const other = (predicted + 3) % 10;
    const mapOf = () => page.evaluate(() => Array.from(window.digitsApp.result.digits[0].gradcam.map));
    const before = await mapOf();
    await page.click(`#bars button[data-digit="${other}"]`);
    await page.waitForFunction((o) => window.digitsApp.result.digits[0].gradcam.class === o, other);
    assert.equal(await page.getAttribute(`#bars button[data-digit="${other}"]`, 'aria-pressed'), 'true');
    assert.match(await page.textContent('#cam-caption'), new RegExp(`${other}`));
    const after = await mapOf();
    assert.ok(after.some((v, i) => Math.abs(v - before[i]) > 1e-3), 'a different map for another class');
    // The digit keys choose a class too; choosing it again goes back to the prediction.
    await page.keyboard.press(String(other));
    await page.waitForFunction((l) => window.digitsApp.result.digits[0].gradcam.class === l, predicted);

    // The toggle (and its H shortcut) hides the layer and stops computing it.
    await page.click('label.switch');
    await page.waitForFunction(() => window.digitsApp.result.digits[0].gradcam === null);
    assert.equal((await overInk()).hit, 0);
    assert.equal(await page.isChecked('#gradcam'), false);
    await page.keyboard.press('h');
    await page.waitForFunction(() => window.digitsApp.result.digits[0].gradcam !== null);
    assert.ok((await overInk()).hit > 0);
    await log.check();
    await ctx.close();
  });

  test('an image (upload), big ones downscaled first, is read and explained', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    const d = confident()[3];
    // Render the fixture digit as a photo-like PNG in another tab: dark ink on a light, large image.
    const maker = await ctx.newPage();
    for (const [w, h] of [[420, 300], [3000, 2400]]) {
      const b64 = await maker.evaluate(async ({ strokes, w, h }) => {
        const c = document.createElement('canvas');
        c.width = w;
        c.height = h;
        const g = c.getContext('2d');
        g.fillStyle = '#f3efe6';
        g.fillRect(0, 0, w, h);
        const s = (0.8 * h) / 280;
        g.translate((w - 280 * s) / 2, 0.1 * h);
        g.scale(s, s);
        g.strokeStyle = '#222';
        g.lineWidth = 20;
        g.lineCap = g.lineJoin = 'round';
        for (const st of strokes) {
          g.beginPath();
          st.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
          g.stroke();
        }
        const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let bin = '';
        for (const x of bytes) bin += String.fromCharCode(x);
        return btoa(bin);
      }, { strokes: d.strokes, w, h });
      await clearPad(page);
      await page.setInputFiles('#file', { name: `digit-${w}.png`, mimeType: 'image/png', buffer: Buffer.from(b64, 'base64') });
      await page.waitForFunction(() => window.digitsApp.state.image !== null && window.digitsApp.result !== null);
      await page.waitForFunction((l) => document.getElementById('answer').textContent === l, String(d.label));
      const img = await page.evaluate(() => ({ w: window.digitsApp.state.image.width, h: window.digitsApp.state.image.height }));
      assert.equal(Math.max(img.w, img.h), Math.min(640, Math.max(w, h)), `decoded ${w}x${h} as ${img.w}x${img.h}`);
      await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Image loaded. Recognized'));
      assert.ok((await heatAlpha(page)).pixels > 0, 'the heatmap is drawn over the image');
    }
    // Not an image: a readable message, the page keeps working.
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    assert.match(await page.textContent('#error'), /not an image/);
    await clearPad(page);
    await log.check();
    await ctx.close();
  });

  test('keyboard and screen reader: named controls, tab order, announced results', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    const tree = await page.locator('body').ariaSnapshot();
    for (const want of ['radio "One digit" [checked]', 'radio "A number"', 'switch "Heatmap" [checked]',
      'img "Drawing area: draw a digit', 'button "Undo" [disabled]', 'button "Clear" [disabled]', 'button "Image…"',
      'list "Probabilities', 'img "The 28 by 28 input the model sees"', '- status']) {
      assert.ok(tree.includes(want), `accessibility tree has ${want}:\n${tree}`);
    }
    assert.equal((tree.match(/- button "\d"/g) || []).length, 10, 'ten probability buttons');
    // Tab goes through the mode, the heatmap switch, the pad, the upload and the bars.
    const order = [];
    await page.focus('body');
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.dataset.digit ||
        document.activeElement.name));
    }
    assert.deepEqual(order, ['mode', 'gradcam', 'ink', 'file', '0']);
    // With a drawing: Enter on a bar explains that class; the switch toggles with Space.
    await draw(page, confident()[5].strokes);
    await page.focus('#bars button[data-digit="3"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.digitsApp.result.digits[0].gradcam.class === 3);
    await page.focus('#gradcam');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.digitsApp.result.digits[0].gradcam === null);
    await page.keyboard.press('Space');
    await page.focus('input[name="mode"][value="digit"]');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => window.digitsApp.state.mode === 'number');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => window.digitsApp.state.mode === 'digit');
    await page.waitForFunction(() => /^Recognized 5, \d+ percent\.$/.test(document.getElementById('live').textContent));
    await log.check();
    await ctx.close();
  });

  test('a touch-emulated 360x740 phone can draw and read the result', async () => {
    const { ctx, page, log } = await open({
      context: { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
    });
    await ready(page);
    const d = confident()[2];
    const types = page.evaluate(() => new Promise((resolve) => {
      document.getElementById('ink').addEventListener('pointerdown', (e) => resolve(e.pointerType), { once: true });
    }));
    await draw(page, d.strokes, drawWithTouch);
    assert.equal(await types, 'touch');
    await page.waitForFunction((l) => document.getElementById('answer').textContent === l, String(d.label));
    const layout = await page.evaluate(() => {
      const r = (id) => document.getElementById(id).getBoundingClientRect().toJSON();
      return {
        scrollWidth: document.documentElement.scrollWidth, scrollY: window.scrollY,
        ink: r('ink'), answer: r('answer'), undo: r('undo'), clear: r('clear'),
        backing: document.getElementById('ink').width,
      };
    });
    assert.ok(layout.scrollWidth <= 360, `no sideways scrolling (${layout.scrollWidth}px wide)`);
    assert.equal(layout.scrollY, 0, 'drawing does not scroll the page');
    assert.ok(layout.ink.left >= 0 && layout.ink.right <= 360 && layout.ink.width >= 280, 'the pad fits');
    assert.ok(layout.answer.bottom <= 740, 'the answer is visible without scrolling');
    assert.ok(layout.undo.height >= 36 && layout.clear.height >= 36, 'buttons are big enough to tap');
    assert.ok(layout.backing >= 2 * layout.ink.width - 2, 'the canvas is drawn at the device pixel ratio');
    await page.tap('#clear');
    await page.waitForFunction(() => document.getElementById('answer').textContent === '–');
    await log.check();
    await ctx.close();
  });

  test('after loading, the page warms the recognizer up in idle time; warmUp stops when deleted', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    assert.equal(await page.evaluate(() => window.digitsApp.state.warmUp), 100, 'warm-up calls by the page');
    const out = await page.evaluate(async () => {
      const r = window.digitsApp.recognizer;
      const before = r.stats();
      const calls = await r.warmUp({ calls: 50 });
      const after = r.stats();
      // A second recognizer deleted while warming up: the warm-up ends early, without an error.
      const { createRecognizer } = await import('./digits.js');
      const other = await createRecognizer();
      const pending = other.warmUp({ calls: 1000 });
      other.delete();
      return { before, after, calls, stopped: await pending };
    });
    assert.equal(out.calls, 50);
    assert.deepEqual(out.after, out.before, 'warm-up leaves wasm memory and handles as they were');
    assert.ok(out.stopped < 1000, `a deleted recognizer kept warming up (${out.stopped} calls)`);
    // The page still reads a drawing after its warm-up.
    await draw(page, fixtureDigits()[8].strokes);
    assert.match(await answer(page), /^\d$/);
    await log.check();
    await ctx.close();
  });

  test('1,000 recognitions in a row leave the wasm memory size unchanged', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    await draw(page, fixtureDigits()[8].strokes);
    const out = await page.evaluate(() => {
      const app = window.digitsApp;
      for (let i = 0; i < 20; i++) app.update(false); // warm up
      const before = app.recognizer.stats();
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) app.update(false); // recognize + Grad-CAM + render, as when drawing
      const ms = performance.now() - t0;
      return { before, after: app.recognizer.stats(), ms };
    });
    assert.equal(out.after.memoryBytes, out.before.memoryBytes, 'wasm memory size');
    assert.equal(out.after.handles, out.before.handles, 'live Embind handles');
    // Raw recognizer calls with every option, and errors, do not leak either.
    const raw = await page.evaluate(() => {
      const r = window.digitsApp.recognizer;
      const strokes = window.digitsApp.surface.strokes;
      const before = r.stats();
      let errors = 0;
      for (let i = 0; i < 1000; i++) {
        r.recognize(strokes, { mode: i % 2 ? 'number' : 'digit', gradcam: i % 3 !== 0, gradcamClass: i % 11 === 10 ? null : i % 10 });
        try { r.recognize([[{ x: NaN, y: 1 }]]); } catch { errors++; }
      }
      return { before, after: r.stats(), errors };
    });
    assert.equal(raw.errors, 1000);
    assert.deepEqual(raw.after, raw.before);
    await log.check();
    await ctx.close();
  });

  test('soak: 10,000 recognitions with Grad-CAM keep wasm memory constant and the JS heap bounded', async () => {
    const { ctx, page, log } = await open();
    await ready(page);
    await draw(page, fixtureDigits()[3].strokes);
    const cdp = await ctx.newCDPSession(page);
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return (await cdp.send('Runtime.getHeapUsage')).usedSize;
    };
    const soak = (n) => page.evaluate((count) => {
      const r = window.digitsApp.recognizer;
      const strokes = window.digitsApp.surface.strokes;
      let digits = 0;
      for (let i = 0; i < count; i++) {
        digits += r.recognize(strokes, { mode: i % 2 ? 'number' : 'digit', gradcam: true }).digits.length;
      }
      return { stats: r.stats(), digits };
    }, n);
    const warm = await soak(200);
    const heapBefore = await heap();
    const out = await soak(10000);
    const heapAfter = await heap();
    assert.ok(out.digits >= 10000, 'every call read the digit');
    assert.equal(out.stats.memoryBytes, warm.stats.memoryBytes, 'wasm memory size after warm-up');
    assert.equal(out.stats.handles, warm.stats.handles, 'live Embind handles');
    assert.ok(heapAfter - heapBefore < 2 * 1024 * 1024,
      `JS heap grew by ${heapAfter - heapBefore} bytes over 10,000 recognitions`);
    await log.check();
    await ctx.close();
  });

  for (const [name, query, expected] of [
    ['a truncated model', '?model=/truncated.safetensors', /The recognizer could not start\. The model .*truncated\.safetensors could not be loaded: .+/],
    ['a corrupt model', '?model=/corrupt.safetensors', /The recognizer could not start\. The model .*corrupt\.safetensors could not be loaded: .+/],
    ['a missing model', '?model=/missing.safetensors', /The recognizer could not start\. Could not download the model: the server answered 404/],
  ]) {
    test(`${name} shows a readable message`, async () => {
      const { ctx, page, log } = await open({ query });
      await page.waitForSelector('html[data-state="error"]');
      const message = await page.textContent('#error');
      assert.match(message, expected);
      assert.equal(await page.getAttribute('#error', 'role'), 'alert');
      assert.equal(await page.isVisible('#error'), true);
      // Chromium logs the 404 itself, and may note the unused preload of the default model;
      // nothing else may go wrong.
      await log.check([/Failed to load resource: the server responded with a status of 404/, PRELOAD_UNUSED]);
      await ctx.close();
    });
  }

  test('a browser without WebAssembly gets a readable message', async () => {
    const { ctx, page, log } = await open({ init: () => { delete globalThis.WebAssembly; } });
    await page.waitForSelector('html[data-state="error"]');
    assert.match(await page.textContent('#error'), /cannot run WebAssembly.*current version of Chrome/);
    await log.check([PRELOAD_UNUSED]);
    await ctx.close();
  });
});
