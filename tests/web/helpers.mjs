// Shared by the browser tests: where the site is, launching Debian's Chromium through
// playwright-core, replaying the stroke fixture as real input events (mouse or touch), and
// collecting console errors and CSP violations.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SITE = process.env.DIGITS_SITE_DIR || path.join(REPO, 'build/site');
// The widget's npm package, assembled beside the site (web/assemble_site.py).
export const PACKAGE = process.env.DIGITS_PACKAGE_DIR || path.join(REPO, 'build/package');
export const CLI = process.env.DIGITS_NATIVE_CLI || path.join(REPO, 'build/native/digits');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const FIXTURE = path.join(REPO, 'tests/data/strokes/mnist_test_strokes.json');

// Generous: two slow cores may also be building something.
export const TIMEOUT = 30_000;

export function requireSite() {
  for (const f of ['index.html', 'app.js', 'digits.js', 'ink.js', 'digit-recognizer.js', 'digits.mjs',
    'digits.wasm', 'digits.safetensors']) {
    assert.ok(existsSync(path.join(SITE, f)),
      `${path.join(SITE, f)} is missing: build the site first (cmake --preset wasm && cmake --build --preset wasm)`);
  }
}

export async function launch() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
}

let fixture = null;
/** The stroke fixture's digits: [{index, label, strokes: [[[x, y], ...], ...]}] in a 280x280 canvas. */
export function fixtureDigits() {
  fixture ||= JSON.parse(readFileSync(FIXTURE, 'utf8')).digits;
  return fixture;
}

/** Runs the native CLI on strokes and returns its JSON result. Fails (never skips) without it. */
export function cliRecognize(strokes, { model = path.join(SITE, 'digits.safetensors'), backend, number = false } = {}) {
  assert.ok(existsSync(CLI), `the native CLI ${CLI} is missing: cmake --preset native && cmake --build --preset native`);
  const dir = mkdtempSync(path.join(tmpdir(), 'digits-cli-'));
  try {
    const file = path.join(dir, 'strokes.json');
    writeFileSync(file, JSON.stringify({ strokes }));
    const args = ['recognize', '--model', model, '--strokes', file, '--json'];
    if (backend) args.push('--backend', backend);
    if (number) args.push('--number');
    return JSON.parse(execFileSync(CLI, args, { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Fixture digits the native CLI reads correctly and confidently with the site's model: the tests
 * then expect the page to read them too. One per label from `labels`.
 */
export function confidentDigits(labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], minP = 0.9) {
  const out = [];
  const digits = fixtureDigits();
  for (const label of labels) {
    let found = null;
    for (const d of digits) {
      if (d.label !== label) continue;
      const r = cliRecognize(d.strokes);
      // Sure too, at whatever operating point the model was calibrated to: a doubtful digit asks a
      // question, and its digit keys answer it instead of choosing a heatmap.
      if (r.digits.length === 1 && r.digits[0].digit === label && r.digits[0].probabilities[label] >= minP &&
        r.digits[0].doubt === 'sure') {
        found = d;
        break;
      }
      if (d.index > 300) break;
    }
    assert.ok(found, `the site's model reads no fixture digit ${label} (among the first 300) with p >= ${minP}: ` +
      'is build/site/digits.safetensors the trained model?');
    out.push(found);
  }
  return out;
}

/**
 * A model file's bytes with another unsure_threshold in its architecture (the safetensors header
 * rewritten, the tensors untouched): a deterministic doubt for the tests, whatever operating
 * point the shipped model was calibrated to.
 */
export function withUnsureThreshold(bytes, threshold) {
  const size = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + size).toString('utf8'));
  const arch = JSON.parse(header.__metadata__.architecture);
  arch.unsure_threshold = threshold;
  header.__metadata__.architecture = JSON.stringify(arch);
  let text = Buffer.from(JSON.stringify(header), 'utf8');
  text = Buffer.concat([text, Buffer.from(' '.repeat((8 - (text.length % 8)) % 8))]); // tensors stay 8-byte aligned
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([prefix, text, bytes.subarray(8 + size)]);
}

/**
 * Fixture digits that the first <digit-recognizer> of `page` (its recognizer, with its model) calls
 * unsure, with a digit among its alternatives: the case one tap should fix. Misread ones first
 * (their right digit among the alternatives), then any. Each comes with `read` (the digit it was
 * read as) and `answer` (the digit a person taps: the right one when it is offered). Found by the
 * recognizer the UI uses, so the tests check the doubt before the UI.
 */
export async function misreadDoubtful(page, count = 1) {
  const found = await page.evaluate(([digits, count]) => {
    const r = document.querySelector('digit-recognizer').recognizer;
    const nad = r.info.notADigitClass;
    const misread = [];
    const other = [];
    for (const d of digits) {
      const got = r.recognize(d.strokes, { mode: 'digit' }).digits[0];
      const offered = got.alternatives.map((a) => a.class).filter((c) => c !== nad);
      if (got.doubt !== 'unsure' || !offered.length) continue;
      if (got.digit !== d.label && offered.includes(d.label)) misread.push({ ...d, read: got.digit, answer: d.label });
      else other.push({ ...d, read: got.digit, answer: offered[0] });
      if (misread.length === count) break;
    }
    return [...misread, ...other].slice(0, count);
  }, [fixtureDigits(), count]);
  assert.equal(found.length, count, `fewer than ${count} fixture digits are doubtful with this model`);
  return found;
}

/** Letters of unseen writers (tests/data/handwriting) fitted into the 280x280 canvas space. */
export function letterDrawings() {
  const doc = JSON.parse(readFileSync(path.join(REPO, 'tests/data/handwriting/letters_test.json'), 'utf8'));
  return doc.samples.map(({ char, strokes }) => {
    const pts = strokes.flat();
    const x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
    const y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
    const k = 180 / Math.max(x1 - x0, y1 - y0, 1);
    const ox = 140 - (k * (x0 + x1)) / 2, oy = 140 - (k * (y0 + y1)) / 2;
    return { char, strokes: strokes.map((s) => s.map(([x, y]) => [ox + k * x, oy + k * y])) };
  });
}

/** Letters the native CLI calls "not a digit" with the site's model: the page must say so too. */
export function refusedLetters(count = 2) {
  const out = [];
  for (const l of letterDrawings()) {
    const r = cliRecognize(l.strokes);
    if (r.digits.length === 1 && r.digits[0].not_a_digit) out.push(l);
    if (out.length === count) return out;
  }
  assert.fail(`fewer than ${count} letters are "not a digit" for the site's model`);
}

/** Maps 280x280 fixture coordinates to viewport coordinates of the element's box. */
async function boxMapper(page, selector) {
  const box = await page.locator(selector).boundingBox();
  assert.ok(box, `${selector} has no box`);
  return ([x, y]) => ({ x: box.x + (x * box.width) / 280, y: box.y + (y * box.height) / 280 });
}

/** Replays strokes with the mouse (real input events through the browser: pointerdown/move/up). */
export async function drawWithMouse(page, selector, strokes) {
  const at = await boxMapper(page, selector);
  for (const stroke of strokes) {
    const first = at(stroke[0]);
    await page.mouse.move(first.x, first.y);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const q = at(p);
      await page.mouse.move(q.x, q.y);
    }
    await page.mouse.up();
  }
}

/** Replays strokes as touches (CDP Input.dispatchTouchEvent: pointerType "touch"). */
export async function drawWithTouch(page, selector, strokes) {
  const at = await boxMapper(page, selector);
  const cdp = await page.context().newCDPSession(page);
  try {
    for (const stroke of strokes) {
      const pts = stroke.map(at);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ ...pts[0], id: 1 }] });
      for (const q of pts.slice(1)) {
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ ...q, id: 1 }] });
      }
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    }
  } finally {
    await cdp.detach();
  }
}

/**
 * Records console errors/warnings, uncaught page errors and CSP violations (a
 * securitypolicyviolation listener installed before any page script runs).
 */
export async function watch(page) {
  const log = { errors: [], violations: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  // allowed: console messages expected by the test; allowedViolations: CSP violations it expects.
  log.check = async (allowed = [], allowedViolations = []) => {
    const violations = (await page.evaluate(() => window.__violations || []))
      .filter((v) => !allowedViolations.some((re) => re.test(v)));
    const errors = log.errors.filter((e) => !allowed.some((re) => re.test(e)));
    assert.deepEqual(violations, [], `CSP violations: ${violations.join('; ')}`);
    assert.deepEqual(errors, [], `console errors: ${errors.join('; ')}`);
  };
  return log;
}
