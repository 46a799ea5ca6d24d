// <digit-recognizer> embedded the way another site would: the widget served from one local origin
// (with CORS, as a CDN would), the host page from a second origin under
//   Content-Security-Policy: default-src 'self'; script-src 'self' <widget origin> 'wasm-unsafe-eval';
//                            connect-src <widget origin>
// It must load, recognize and fire its events with no console error and no CSP violation; a
// corrupt or missing model, or a host policy without 'wasm-unsafe-eval', must give a readable
// message and an `error` event.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.mjs';
import {
  REPO, SITE, TIMEOUT, confidentDigits, drawWithMouse, drawWithTouch, launch, refusedLetters, requireSite, watch,
} from './helpers.mjs';

let browser;
let widget; // the widget's origin: build/site with CORS
let host; // the embedding site, under the strict CSP
let confidentCache = null;
const confident = () => (confidentCache ||= confidentDigits([1, 4, 7]));

// The host's own script (from 'self'): records what the widgets report.
const HOST_JS = `
window.events = [];
// Runs before the widget's module script (module scripts run in document order): if that script
// cannot load, it fires error at its <script> element.
document.querySelector('script[src$="/digit-recognizer.js"]')
  ?.addEventListener('error', () => window.events.push({ type: 'script-error' }));
for (const type of ['recognize', 'error', 'change']) {
  document.addEventListener(type, (e) => {
    if (!(e.target instanceof HTMLElement) || e.target.localName !== 'digit-recognizer') return;
    window.events.push({ type, id: e.target.id, detail: e.detail ? {
      value: e.detail.value, final: e.detail.final, empty: e.detail.empty,
      digits: (e.detail.digits || []).length, message: e.detail.message, code: e.detail.code,
      technical: e.detail.detail, fatal: e.detail.fatal,
      notADigit: (e.detail.digits || []).map((d) => d.not_a_digit),
    } : null });
  });
}
`;
// The host's stylesheet: theming through ::part and custom properties.
const HOST_CSS = `
digit-recognizer.themed { --digit-recognizer-paper: rgb(1, 2, 3); --digit-recognizer-ink: rgb(250, 0, 0); }
digit-recognizer.themed::part(digit) { color: rgb(4, 5, 6); }
`;

function hostPage(body, script = `${widget.origin}/digit-recognizer.js`) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>a host site</title>
<link rel="stylesheet" href="/host.css">
<script type="module" src="/host.js"></script>
<script type="module" src="${script}"></script>
</head><body><h1>A site that embeds the widget</h1>${body}</body></html>`;
}

before(async () => {
  requireSite();
  const model = readFileSync(path.join(SITE, 'digits.safetensors'));
  widget = await serve({
    root: SITE,
    headers: { 'access-control-allow-origin': '*' },
    routes: {
      '/corrupt.safetensors': { body: Buffer.concat([model.subarray(0, 8), randomBytes(3000)]) },
      // Another valid model (the untrained test model: 10 classes, no "not a digit").
      '/other.safetensors': { body: readFileSync(path.join(REPO, 'tests/data/tiny_gap.safetensors')) },
    },
  });
  const csp = `default-src 'self'; script-src 'self' ${widget.origin} 'wasm-unsafe-eval'; connect-src ${widget.origin}`;
  const W = widget.origin;
  // The same policy without 'wasm-unsafe-eval': the browser refuses to compile the wasm.
  const noWasmCsp = csp.replace(" 'wasm-unsafe-eval'", '');
  host = await serve({
    headers: (p) => (p.endsWith('.html') ? { 'content-security-policy': p.endsWith('/nowasm.html') ? noWasmCsp : csp } : {}),
    routes: {
      '/host.js': { body: HOST_JS },
      '/host.css': { body: HOST_CSS },
      '/favicon.ico': { body: '', status: 204 },
      '/basic.html': {
        body: hostPage(`<digit-recognizer id="w" gradcam></digit-recognizer>
<form id="f"><digit-recognizer id="fw" name="digit" class="themed" size="200" required></digit-recognizer></form>`),
      },
      '/corrupt.html': { body: hostPage(`<digit-recognizer id="bad" model="${W}/corrupt.safetensors"></digit-recognizer>`) },
      '/nowasm.html': { body: hostPage('<digit-recognizer id="csp"></digit-recognizer>') },
      '/form.html': { body: hostPage('<form id="f2"></form>') },
      '/final.html': {
        body: hostPage(`<digit-recognizer id="live"></digit-recognizer>
<digit-recognizer id="fin" events="final"></digit-recognizer>`),
      },
      '/small.html': { body: hostPage('<digit-recognizer id="small" size="160" images></digit-recognizer>') },
      '/broken.html': {
        body: hostPage('<digit-recognizer id="nojs"><p id="fallback">The drawing pad could not load.</p></digit-recognizer>',
          `${W}/nowhere/digit-recognizer.js`),
      },
      '/missing.html': { body: hostPage(`<digit-recognizer id="gone" model="${W}/missing.safetensors"></digit-recognizer>`) },
      '/disabled.html': {
        body: hostPage(`<form id="fd"><digit-recognizer id="attr" name="attr" disabled keyboard="document"></digit-recognizer>
<fieldset id="fs"><digit-recognizer id="inset" name="inset" keyboard="document"></digit-recognizer></fieldset></form>`),
      },
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await widget?.close();
  await host?.close();
});

async function open(name, context = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 800 }, ...context });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const log = await watch(page);
  await page.goto(`${host.origin}/${name}`);
  return { ctx, page, log };
}

const events = (page, filter = {}) => page.evaluate((f) => window.events.filter((e) =>
  Object.entries(f).every(([k, v]) => (k in e ? e[k] === v : e.detail && e.detail[k] === v))), filter);

describe('<digit-recognizer>', () => {
  test('from another origin under the strict CSP: loads, recognizes, fires recognize; no console errors or CSP violations', async () => {
    const { ctx, page, log } = await open('basic.html');
    await page.waitForSelector('digit-recognizer#w[data-state="ready"]');
    const d = confident()[2];
    await drawWithMouse(page, 'digit-recognizer#w >> canvas.ink', d.strokes);
    const label = String(d.label);
    await page.waitForFunction((l) => window.events.some((e) => e.type === 'recognize' && e.id === 'w' &&
      e.detail.final && e.detail.value === l), label);
    assert.ok((await events(page, { type: 'recognize', id: 'w', final: false })).length >= 1, 'live events while drawing');
    assert.equal(await page.$eval('#w', (e) => e.value), label);
    assert.equal(await page.textContent('digit-recognizer#w >> [part="digit"]'), label);
    await page.waitForFunction((l) => document.querySelector('#w').shadowRoot.querySelector('.live').textContent
      .startsWith(`Recognized ${l},`), label);
    // Its styles applied (a constructable stylesheet: style-src does not apply to it).
    const styles = await page.$eval('#w', (e) => {
      const c = e.shadowRoot.querySelector('canvas.ink');
      return { touchAction: getComputedStyle(c).touchAction, position: getComputedStyle(c).position,
        sheets: e.shadowRoot.adoptedStyleSheets.length, styleElements: e.shadowRoot.querySelectorAll('style').length };
    });
    assert.deepEqual(styles, { touchAction: 'none', position: 'absolute', sheets: 1, styleElements: 0 });
    // The heatmap layer has heat over the ink.
    const heat = await page.$eval('#w', (e) => {
      const c = e.shadowRoot.querySelector('canvas.heat');
      const copy = document.createElement('canvas');
      copy.width = c.width;
      copy.height = c.height;
      const g = copy.getContext('2d', { willReadFrequently: true });
      g.drawImage(c, 0, 0);
      const data = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]) n++;
      return n;
    });
    assert.ok(heat > 0, 'gradcam attribute draws the heatmap');
    // Everything came from the widget's origin; the host served only its page, script and css.
    // (Under their content-hashed names, name.<10 hex>.ext, but for the entry points.)
    for (const f of ['/digit-recognizer.js', '/digits.js', '/ink.js', '/digits.mjs', '/digits.wasm', '/digits.safetensors']) {
      const [stem, ext] = [f.slice(1, f.indexOf('.')), f.slice(f.indexOf('.') + 1)];
      const hashed = new RegExp(`^/${stem}\\.[0-9a-f]{10}\\.${ext}$`);
      assert.ok(widget.requests.some((r) => r === f || hashed.test(r)), `${f} from the widget origin: ${widget.requests}`);
    }
    assert.ok(host.requests.every((r) => ['/basic.html', '/host.js', '/host.css', '/favicon.ico'].includes(r)), host.requests.join());
    await log.check();
    await ctx.close();
  });

  test('API: value, clear(), undo(), strokes, mode, form value, change event, theming', async () => {
    const { ctx, page, log } = await open('basic.html');
    await page.waitForSelector('digit-recognizer#fw[data-state="ready"]');
    const four = confident()[1];
    // Setting strokes recognizes them (same 280x280 space as the fixture).
    await page.$eval('#fw', (e, s) => { e.strokes = s; }, four.strokes);
    await page.waitForFunction(() => document.querySelector('#fw').value !== '');
    assert.equal(await page.$eval('#fw', (e) => e.value), String(four.label));
    assert.equal(await page.evaluate(() => new FormData(document.getElementById('f')).get('digit')), String(four.label));
    assert.equal(await page.$eval('#fw', (e) => e.checkValidity()), true);
    assert.ok((await events(page, { type: 'change', id: 'fw' })).length === 1);
    const n = four.strokes.length;
    assert.equal(await page.$eval('#fw', (e) => e.strokes.length), n);
    await page.$eval('#fw', (e) => e.undo());
    await page.waitForFunction((k) => document.querySelector('#fw').strokes.length === k, n - 1);
    await page.$eval('#fw', (e) => e.clear());
    await page.waitForFunction(() => document.querySelector('#fw').value === '');
    assert.equal(await page.$eval('#fw', (e) => e.checkValidity()), false, 'required and empty');
    assert.equal(await page.evaluate(() => new FormData(document.getElementById('f')).get('digit')), '');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'recognize' && e.id === 'fw' && e.detail.empty));
    // Buttons and keys in the shadow DOM.
    await page.$eval('#fw', (e, s) => { e.strokes = s; }, four.strokes);
    await page.waitForFunction(() => document.querySelector('#fw').value !== '');
    await page.click('digit-recognizer#fw >> [part~="undo"]');
    await page.waitForFunction((k) => document.querySelector('#fw').strokes.length === k, n - 1);
    await page.click('digit-recognizer#fw >> [part~="clear"]');
    await page.waitForFunction(() => document.querySelector('#fw').strokes.length === 0);
    await page.$eval('#fw', (e, s) => { e.strokes = s; }, four.strokes);
    await page.focus('digit-recognizer#fw >> canvas.ink');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('#fw').strokes.length === 0);
    // form.reset() clears it.
    await page.$eval('#fw', (e, s) => { e.strokes = s; }, four.strokes);
    await page.waitForFunction(() => document.querySelector('#fw').value !== '');
    await page.evaluate(() => document.getElementById('f').reset());
    await page.waitForFunction(() => document.querySelector('#fw').value === '');
    // Number mode: two digits side by side read as a two-digit number.
    const [a, b] = [confident()[0], confident()[2]];
    const half = (s, dx) => s.map((st) => st.map(([x, y]) => [dx + 10 + x * 0.45, 70 + y * 0.45]));
    await page.$eval('#fw', (e, s) => { e.mode = 'number'; e.strokes = s; }, [...half(a.strokes, 0), ...half(b.strokes, 140)]);
    await page.waitForFunction(() => document.querySelector('#fw').result?.digits.length === 2);
    assert.equal(await page.$eval('#fw', (e) => e.value), `${a.label}${b.label}`);
    // Theming: custom properties and ::part from the host's stylesheet; size attribute.
    const look = await page.$eval('#fw', (e) => ({
      paper: getComputedStyle(e.shadowRoot.querySelector('[part="surface"]')).backgroundColor,
      digit: getComputedStyle(e.shadowRoot.querySelector('[part="digit"]')).color,
      ink: e.shadowRoot.querySelector('canvas.ink') && getComputedStyle(e).getPropertyValue('--digit-recognizer-ink').trim(),
      width: e.shadowRoot.querySelector('[part="surface"]').getBoundingClientRect().width,
    }));
    assert.equal(look.paper, 'rgb(1, 2, 3)');
    assert.equal(look.digit, 'rgb(4, 5, 6)');
    assert.equal(look.ink, 'rgb(250, 0, 0)');
    assert.equal(Math.round(look.width), 200);
    // A letter: value "?", the recognize event says not_a_digit, and the form refuses it.
    const [letter] = refusedLetters(1);
    await page.$eval('#fw', (e, s) => { e.mode = 'digit'; e.strokes = s; }, letter.strokes);
    await page.waitForFunction(() => document.querySelector('#fw').value === '?');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'recognize' && e.id === 'fw' &&
      e.detail.final && e.detail.value === '?' && e.detail.notADigit[0] === true));
    assert.equal(await page.$eval('#fw', (e) => e.checkValidity()), false, 'a letter is not a valid digit');
    assert.equal(await page.$eval('#fw', (e) => e.validity.badInput), true);
    assert.equal(await page.$eval('#fw', (e) => e.shadowRoot.querySelector('[part="digit"]').textContent), '?');
    // Setting value to anything but "" is refused.
    assert.match(await page.$eval('#fw', (e) => { try { e.value = '3'; return 'no error'; } catch (x) { return x.message; } }), /can only be set to ""/);
    await log.check();
    await ctx.close();
  });

  test('a model set while disconnected is the one answering after reconnect', async () => {
    const { ctx, page, log } = await open('form.html');
    const W = widget.origin;
    const info = await page.evaluate(async (w) => {
      await customElements.whenDefined('digit-recognizer');
      const el = document.createElement('digit-recognizer');
      document.body.append(el);
      await el.ready;
      const before = el.info.parameters;
      el.remove();
      el.model = `${w}/other.safetensors`;
      document.body.append(el);
      await el.ready;
      return { before, after: el.info.parameters, classes: el.info.classes, model: el.model };
    }, W);
    assert.equal(info.model, `${W}/other.safetensors`);
    assert.equal(info.classes, 10, 'the test model answers (10 classes, no "not a digit")');
    assert.notEqual(info.after, info.before);
    await log.check();
    await ctx.close();
  });

  test('validity: required is checked at once, while the model loads and when set later', async () => {
    const { ctx, page, log } = await open('form.html');
    const states = await page.evaluate(async () => {
      await customElements.whenDefined('digit-recognizer');
      const form = document.getElementById('f2');
      const loading = document.createElement('digit-recognizer');
      loading.setAttribute('name', 'a');
      loading.required = true;
      form.append(loading);
      const whileLoading = { valid: loading.checkValidity(), missing: loading.validity.valueMissing,
        state: loading.dataset.state, form: form.checkValidity() };
      const later = document.createElement('digit-recognizer');
      later.setAttribute('name', 'b');
      form.append(later);
      await Promise.all([loading.ready, later.ready]);
      const laterBefore = later.checkValidity();
      later.required = true;
      const laterRequired = { valid: later.checkValidity(), missing: later.validity.valueMissing };
      later.required = false;
      return { whileLoading, laterBefore, laterRequired, laterNotRequired: later.checkValidity() };
    });
    assert.deepEqual(states.whileLoading, { valid: false, missing: true, state: 'loading', form: false });
    assert.equal(states.laterBefore, true);
    assert.deepEqual(states.laterRequired, { valid: false, missing: true });
    assert.equal(states.laterNotRequired, true);
    await log.check();
    await ctx.close();
  });

  test("one caller aborting a shared module load does not reject the others'", async () => {
    const { ctx, page, log } = await open('form.html');
    const outcome = await page.evaluate(async (w) => {
      // A fresh copy of digits.js (its own module cache), so nothing is loaded yet.
      const m = await import(`${w}/digits.js?fresh`);
      const ac = new AbortController();
      const first = m.loadModule({ signal: ac.signal });
      const second = m.loadModule();
      ac.abort();
      const settle = (p) => p.then((mod) => (typeof mod.Recognizer === 'function' ? 'module' : 'odd'),
        (e) => e.name);
      return { first: await settle(first), second: await settle(second), third: await settle(m.loadModule()) };
    }, widget.origin);
    assert.deepEqual(outcome, { first: 'AbortError', second: 'module', third: 'module' });
    await log.check();
    await ctx.close();
  });

  test('a corrupt model URL: plain words in the pad, the detail in the error event and the console', async () => {
    const { ctx, page, log } = await open('corrupt.html');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'error'));
    const [e] = await events(page, { type: 'error' });
    assert.equal(e.id, 'bad');
    assert.equal(e.detail.code, 'model');
    assert.equal(e.detail.fatal, true);
    assert.equal(e.detail.message, 'The recognizer could not start: its model file is damaged or not supported.');
    assert.match(e.detail.technical, /^The model http:\/\/127\.0\.0\.1:\d+\/corrupt\.safetensors could not be loaded: .+/);
    assert.ok(log.errors.some((x) => x.includes(e.detail.technical)), 'the detail is in the console');
    const shown = await page.$eval('#bad', (el) => {
      const m = el.shadowRoot.querySelector('[part="message"]');
      return { text: m.textContent, hidden: m.hidden, role: m.getAttribute('role'), state: el.dataset.state };
    });
    assert.deepEqual(shown, { text: e.detail.message, hidden: false, role: 'alert', state: 'error' });
    assert.equal(await page.isVisible('#bad >> [part~="retry"]'), false, 'no Retry: the same file fails the same way');
    assert.match(await page.$eval('#bad', (el) => el.ready.then(() => 'resolved', (x) => `${x.name}: ${x.message}`)),
      /^DigitsError: The model .* could not be loaded/);
    await log.check([/<digit-recognizer>: The model .* could not be loaded/]);
    await ctx.close();
  });

  test('a missing model URL: readable message, error event', async () => {
    const { ctx, page, log } = await open('missing.html');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'error'));
    const [e] = await events(page, { type: 'error' });
    assert.equal(e.detail.code, 'network');
    assert.equal(e.detail.message, 'The recognizer could not be found on this site.');
    assert.match(e.detail.technical, /Could not download the model: the server answered 404/);
    assert.equal(await page.isVisible('digit-recognizer#gone >> [part="message"]'), true);
    assert.equal(await page.isVisible('digit-recognizer#gone >> [part~="retry"]'), false,
      'no Retry: the server would answer 404 again');
    await log.check([/Failed to load resource: the server responded with a status of 404/, /<digit-recognizer>: Could not download/]);
    await ctx.close();
  });

  test("a host CSP without 'wasm-unsafe-eval': plain words for users, what the policy needs for developers", async () => {
    const { ctx, page, log } = await open('nowasm.html');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'error'));
    const [e] = await events(page, { type: 'error' });
    assert.equal(e.id, 'csp');
    assert.equal(e.detail.code, 'unsupported');
    assert.equal(e.detail.message, "This site's security settings do not let the recognizer run.");
    assert.match(e.detail.technical, /Content-Security-Policy blocks WebAssembly: its script-src needs 'wasm-unsafe-eval'/);
    assert.equal(await page.isVisible('digit-recognizer#csp >> [part~="retry"]'), false, 'no Retry: it would fail the same way');
    assert.equal(await page.isVisible('digit-recognizer#csp >> [part="message"]'), true);
    // The refused compilation is the one violation, and Chromium's own console report of it.
    assert.deepEqual(await page.evaluate(() => window.__violations.map((v) => v.split(' (')[0])),
      ['script-src blocked wasm-eval']);
    await log.check([/WebAssembly|wasm-unsafe-eval|Content Security Policy/], [/^script-src blocked wasm-eval /]);
    await ctx.close();
  });

  test('events="final": one recognize event per stroke instead of one per frame', async () => {
    const { ctx, page, log } = await open('final.html');
    await page.waitForFunction(() => ['live', 'fin'].every((id) => document.getElementById(id).dataset.state === 'ready'));
    const d = confident()[1];
    for (const id of ['live', 'fin']) await drawWithMouse(page, `digit-recognizer#${id} >> canvas.ink`, d.strokes);
    const label = String(d.label);
    await page.waitForFunction((l) => ['live', 'fin'].every((id) => window.events.some((e) => e.type === 'recognize' &&
      e.id === id && e.detail.final && e.detail.value === l)), label);
    const drawn = (id) => events(page, { type: 'recognize', id, empty: false });
    const fin = await drawn('fin');
    assert.ok(fin.every((e) => e.detail.final), 'only final events');
    assert.equal(fin.length, d.strokes.length, 'one per stroke');
    const live = await drawn('live');
    assert.ok(live.length > 3 * fin.length, `the live element fired ${live.length} events for the same drawing`);
    assert.equal(live.filter((e) => e.detail.final).length, d.strokes.length, 'and the same final ones');
    assert.equal(await page.$eval('#fin', (e) => e.events), 'final');
    await log.check();
    await ctx.close();
  });

  test('a file that is not an image: plain words inside the pad, even with a very long name', async () => {
    const { ctx, page, log } = await open('small.html');
    await page.waitForSelector('digit-recognizer#small[data-state="ready"]');
    const name = `${'a-very-long-file-name-without-spaces'.repeat(6)}.txt`;
    await page.setInputFiles('digit-recognizer#small >> input[type="file"]',
      { name, mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.waitForFunction(() => window.events.some((e) => e.type === 'error'));
    const [e] = await events(page, { type: 'error' });
    assert.deepEqual([e.detail.code, e.detail.fatal], ['input', false]);
    assert.equal(e.detail.message, `"${name}" is not an image this browser can read.`);
    assert.match(e.detail.technical, /The image could not be read: .* is not an image \(text\/plain\)/);
    const box = await page.$eval('#small', (el) => {
      const r = (x) => x.getBoundingClientRect().toJSON();
      const m = el.shadowRoot.querySelector('[part="message"]');
      return { message: r(m), surface: r(el.shadowRoot.querySelector('[part="surface"]')),
        overflow: m.scrollWidth - m.clientWidth, state: el.dataset.state };
    });
    assert.ok(box.message.left >= box.surface.left && box.message.right <= box.surface.right &&
      box.message.top >= box.surface.top && box.message.bottom <= box.surface.bottom,
      `the message box ${JSON.stringify(box.message)} stays inside the pad ${JSON.stringify(box.surface)}`);
    assert.equal(box.overflow, 0, 'no text sticks out sideways');
    assert.equal(box.state, 'ready', 'not a fatal error: the pad still works');
    await log.check([/<digit-recognizer>: The image could not be read/]);
    await ctx.close();
  });

  test('when the module itself cannot load: the fallback content stays and the script fires error', async () => {
    const { ctx, page, log } = await open('broken.html');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'script-error'));
    assert.equal(await page.evaluate(() => customElements.get('digit-recognizer')), undefined);
    assert.equal(await page.isVisible('#fallback'), true);
    assert.equal(await page.textContent('#nojs'), 'The drawing pad could not load.');
    await log.check([/Failed to load resource: the server responded with a status of 404/]);
    await ctx.close();
  });

  test('the demo page (embed.html) runs its three widgets, themed and in a form', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const log = await watch(page);
    await page.goto(`${widget.origin}/embed.html`);
    await page.waitForFunction(() => [...document.querySelectorAll('digit-recognizer')].every((e) => e.dataset.state === 'ready'));
    assert.equal(await page.locator('digit-recognizer').count(), 3);
    const d = confident()[2];
    await page.$eval('#rating', (e, s) => { e.strokes = s; }, d.strokes);
    await page.waitForFunction((l) => document.querySelector('#rating').value === l, String(d.label));
    await page.click('button[type="submit"]');
    assert.equal(await page.textContent('#form-out'), `Submitted: stars=${d.label}`);
    // Its snippets wrap instead of being cut off sideways, on a desktop and on a phone.
    for (const width of [1200, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const cut = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        pre: [...document.querySelectorAll('pre')].map((p) => p.scrollWidth - p.clientWidth),
        right: Math.max(...[...document.querySelectorAll('pre')].map((p) => p.getBoundingClientRect().right)),
      }));
      assert.ok(cut.page <= width, `the page scrolls sideways at ${width}px`);
      assert.deepEqual(cut.pre, cut.pre.map(() => 0), `a snippet is cut off at ${width}px`);
      assert.ok(cut.right <= width);
    }
    await log.check();
    await ctx.close();
  });

  test('disabled, by its attribute or by a disabled <fieldset>: no drawing, keys, buttons or images, not submitted; enabled again, it draws', async () => {
    const { ctx, page, log } = await open('disabled.html');
    await page.waitForFunction(() => [...document.querySelectorAll('digit-recognizer')].every((e) => e.dataset.state === 'ready'));
    await page.$eval('#fs', (f) => { f.disabled = true; });
    const d = confident()[2];
    const shadow = (id, selector, read) => page.$eval(`#${id}`, (e, [s, r]) => {
      const el = e.shadowRoot.querySelector(s);
      return r === 'disabled' ? el.disabled : el.getAttribute(r);
    }, [selector, read]);
    const enable = {
      attr: () => page.$eval('#attr', (e) => { e.disabled = false; }),
      inset: () => page.$eval('#fs', (f) => { f.disabled = false; }),
    };
    for (const id of ['attr', 'inset']) {
      // Drawing with the mouse draws nothing and reads nothing.
      await drawWithMouse(page, `digit-recognizer#${id} >> canvas.ink`, d.strokes);
      assert.equal(await page.$eval(`#${id}`, (e) => e.strokes.length), 0, `${id}: drawn on while disabled`);
      assert.equal(await page.$eval(`#${id}`, (e) => e.value), '');
      assert.equal(await shadow(id, 'canvas.ink', 'aria-disabled'), 'true', `${id}: aria-disabled`);
      assert.equal(await shadow(id, '[part~="image"]', 'disabled'), true, `${id}: the image button`);
      // A program may still set strokes; the buttons and keys do not undo or clear them.
      await page.$eval(`#${id}`, (e, s) => { e.strokes = s; }, d.strokes);
      await page.waitForFunction((i) => document.getElementById(i).value !== '', id);
      assert.equal(await shadow(id, '[part~="undo"]', 'disabled'), true, `${id}: undo enabled while disabled`);
      assert.equal(await shadow(id, '[part~="clear"]', 'disabled'), true, `${id}: clear enabled while disabled`);
      await page.keyboard.press('Escape');  // keyboard="document": would clear anywhere
      await page.keyboard.press('Backspace');
      assert.equal(await page.$eval(`#${id}`, (e) => e.strokes.length), d.strokes.length, `${id}: a key acted while disabled`);
      // A change of another attribute does not enable it.
      await page.$eval(`#${id}`, (e) => { e.gradcam = true; });
      assert.equal(await shadow(id, 'canvas.ink', 'aria-disabled'), 'true', `${id}: enabled by another attribute`);
      // A disabled control is not submitted.
      assert.equal(await page.evaluate((i) => new FormData(document.getElementById('fd')).has(i), id), false);
    }
    for (const id of ['attr', 'inset']) {
      await enable[id]();
      assert.equal(await shadow(id, 'canvas.ink', 'aria-disabled'), 'false', `${id}: still disabled`);
      assert.equal(await shadow(id, '[part~="clear"]', 'disabled'), false, `${id}: clear still disabled`);
      await page.$eval(`#${id} >> canvas.ink`, (c) => c.focus()).catch(() => {});
      await page.keyboard.press('Escape');
      await page.waitForFunction((i) => document.getElementById(i).strokes.length === 0, id);
      await drawWithMouse(page, `digit-recognizer#${id} >> canvas.ink`, d.strokes);
      await page.waitForFunction(([i, l]) => document.getElementById(i).value === l, [id, String(d.label)]);
      assert.equal(await page.evaluate((i) => new FormData(document.getElementById('fd')).get(i), id), String(d.label));
    }
    await log.check();
    await ctx.close();
  });

  test('on a touch-emulated 360x740 phone the widget can be drawn on and read', async () => {
    const { ctx, page, log } = await open('basic.html', {
      viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    });
    await page.waitForSelector('digit-recognizer#w[data-state="ready"]');
    const d = confident()[0];
    await drawWithTouch(page, 'digit-recognizer#w >> canvas.ink', d.strokes);
    await page.waitForFunction((l) => document.querySelector('#w').value === l, String(d.label));
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    await log.check();
    await ctx.close();
  });
});
