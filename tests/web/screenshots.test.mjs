// Screenshots of the page and the widget, light and dark, on a desktop (1280x800) and a phone
// (390x844), with a fixture digit drawn, and the two asking about a doubtful digit (with the
// model's unsure_threshold made strict, so the shot does not depend on the shipped operating
// point): web/README.md shows them. The test checks what it can see
// (the colour scheme took, the digit was read) and writes the PNGs to build/screenshots/; to
// refresh the committed ones:
//
//   DIGITS_SCREENSHOTS=web/screenshots node --test tests/web/screenshots.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.mjs';
import {
  REPO, SITE, TIMEOUT, confidentDigits, launch, misreadDoubtful, requireSite, watch, withUnsureThreshold,
} from './helpers.mjs';

const OUT = path.resolve(REPO, process.env.DIGITS_SCREENSHOTS || 'build/screenshots');
const SCREENS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

let browser;
let server;
let digit;

before(async () => {
  requireSite();
  const strict = withUnsureThreshold(readFileSync(path.join(SITE, 'digits.safetensors')), 0.99);
  server = await serve({ root: SITE, routes: { '/strict.safetensors': { body: strict } } });
  browser = await launch();
  [digit] = confidentDigits([7]);
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens `file` in `scheme` on `screen`, draws the digit on `selector` and waits for its reading. */
async function shoot(file, selector, scheme, screen, { model = null, doubtful = false } = {}) {
  const ctx = await browser.newContext({ ...SCREENS[screen], deviceScaleFactor: 1, colorScheme: scheme });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const log = await watch(page);
  await page.goto(`${server.origin}/${file}`);
  if (model) await page.$eval(selector, (e, m) => { e.model = m; }, model);
  await page.waitForFunction(() => [...document.querySelectorAll('digit-recognizer')].every((e) => e.dataset.state === 'ready'));
  const drawn = doubtful ? (await misreadDoubtful(page))[0] : digit;
  await page.$eval(selector, (e, s) => { e.strokes = s; }, drawn.strokes);
  await page.waitForFunction((sel) => document.querySelector(sel).value !== '', selector);
  // Let the bars' transition end and the heatmap be drawn.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  return { ctx, page, log };
}

// The luminance of a CSS colour "rgb(r, g, b)".
const luminance = (rgb) => {
  const [r, g, b] = rgb.match(/\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
};

describe('screenshots', () => {
  for (const scheme of ['light', 'dark']) {
    for (const screen of Object.keys(SCREENS)) {
      test(`the page, ${scheme}, ${screen}`, async () => {
        const { ctx, page, log } = await shoot('', '#pad', scheme, screen);
        assert.equal(await page.textContent('#answer'), String(digit.label));
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.ok(scheme === 'dark' ? luminance(background) < 0.2 : luminance(background) > 0.8, background);
        const png = await page.screenshot();
        writeFileSync(path.join(OUT, `page-${scheme}-${screen}.png`), png);
        assert.ok(png.length < 400_000, `page-${scheme}-${screen}.png is ${png.length} bytes`);
        await log.check();
        await ctx.close();
      });

      if (scheme === 'light') {
        test(`the page asks about a doubtful digit, ${screen}`, async () => {
          const { ctx, page, log } = await shoot('?model=strict.safetensors', '#pad', scheme, screen, { doubtful: true });
          await page.waitForSelector('#pad >> [part="question"]', { state: 'visible' });
          assert.match(await page.textContent('#confidence'), /^Not sure: \d(, \d)* or \d\?$/);
          const png = await page.screenshot();
          writeFileSync(path.join(OUT, `page-doubt-${screen}.png`), png);
          assert.ok(png.length < 400_000, `page-doubt-${screen}.png is ${png.length} bytes`);
          await log.check();
          await ctx.close();
        });
      }

      if (scheme === 'light' && screen === 'desktop') {
        test('the widget asks about a doubtful digit, desktop', async () => {
          const { ctx, page, log } = await shoot('embed.html', '#basic', scheme, screen, { model: 'strict.safetensors', doubtful: true });
          await page.waitForSelector('#basic >> [part="question"]', { state: 'visible' });
          const png = await page.locator('#basic').screenshot();
          writeFileSync(path.join(OUT, 'widget-doubt-desktop.png'), png);
          assert.ok(png.length < 150_000, `widget-doubt-desktop.png is ${png.length} bytes`);
          await log.check();
          await ctx.close();
        });
      }

      test(`the widget, ${scheme}, ${screen}`, async () => {
        const { ctx, page, log } = await shoot('embed.html', '#basic', scheme, screen);
        assert.equal(await page.textContent('#basic >> [part="digit"]'), String(digit.label));
        // Its text follows the host page's colour scheme (light-dark()), readable on either.
        const text = await page.$eval('#basic', (e) => getComputedStyle(e.shadowRoot.querySelector('[part="digit"]')).color);
        assert.ok(scheme === 'dark' ? luminance(text) > 0.7 : luminance(text) < 0.3, text);
        // The element alone on a desktop; on a phone, the demo page around it.
        const png = screen === 'phone' ? await page.screenshot() : await page.locator('#basic').screenshot();
        writeFileSync(path.join(OUT, `widget-${scheme}-${screen}.png`), png);
        assert.ok(png.length < 150_000, `widget-${scheme}-${screen}.png is ${png.length} bytes`);
        await log.check();
        await ctx.close();
      });
    }
  }
});
