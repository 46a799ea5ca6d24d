// The widget's npm package: `npm pack` in build/package (assembled beside the site by
// web/assemble_site.py, under the files' plain names) makes a tarball with the widget only (no
// page), its README written for people who install it (no links into the repository, no checkout
// commands) and the fields a registry shows; it installs offline into a fresh project, its
// TypeScript declarations type-check a consumer (and reject misuse), and the element loads from
// that project's node_modules in Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from './server.mjs';
import { PACKAGE, REPO, TIMEOUT, fixtureDigits, launch, requireSite, watch } from './helpers.mjs';

const EXPECTED_FILES = [
  'LICENSE', 'README.md', 'digit-recognizer.d.ts', 'digit-recognizer.js', 'digits.d.ts', 'digits.js', 'digits.mjs',
  'digits.safetensors', 'digits.wasm', 'ink.js', 'package.json',
];

let work;
let tarball;
let installed;

before(() => {
  requireSite();
  work = mkdtempSync(path.join(tmpdir(), 'digits-pack-'));
});
after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('the widget package', () => {
  test('npm pack in build/package packs the widget and nothing of the page', () => {
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], PACKAGE));
    const files = info.files.map((f) => f.path).sort();
    assert.deepEqual(files, EXPECTED_FILES);
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
    assert.equal(info.name, pkg.name);
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.private, undefined, 'publishable');
    for (const field of ['repository', 'homepage', 'bugs', 'keywords']) assert.ok(pkg[field], `package.json has ${field}`);
    assert.match(pkg.repository.url, /^git\+https:\/\//);
    assert.match(pkg.homepage, /^https:\/\//);
    assert.match(pkg.bugs.url, /^https:\/\//);
    tarball = path.join(work, info.filename);
    assert.ok(existsSync(tarball));
  });

  test('its README is written for people who install it', () => {
    const readme = readFileSync(path.join(PACKAGE, 'README.md'), 'utf8');
    for (const section of ['## Install', '## Hosting the wasm and the model', '## Attributes', '## Events',
      '## Properties and methods', '## Parts and theming', '## JS API', '## Content-Security-Policy']) {
      assert.ok(readme.includes(section), `README has ${section}`);
    }
    assert.ok(readme.includes('npm install digit-recognizer'));
    // Links and images resolve from the registry's page: absolute URLs only (none into the checkout).
    for (const [, target] of readme.matchAll(/\]\(([^)]+)\)/g)) assert.match(target, /^https:\/\//, target);
    assert.doesNotMatch(readme, /<img\s/);
    assert.doesNotMatch(readme, /scripts\/|build\/site|cmake/, 'no commands that need a checkout');
  });

  test('the tarball installs offline into a fresh project', () => {
    assert.ok(tarball, 'npm pack ran');
    const project = path.join(work, 'consumer');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    npm(['install', '--offline', tarball], project);
    installed = path.join(project, 'node_modules', 'digit-recognizer');
    for (const f of EXPECTED_FILES) assert.ok(existsSync(path.join(installed, f)), f);
  });

  test('its TypeScript declarations type-check a consumer and reject misuse', () => {
    assert.ok(installed, 'installed');
    const project = path.dirname(path.dirname(installed));
    const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    assert.ok(existsSync(tsc), 'typescript is a devDependency: npm ci');
    writeFileSync(path.join(project, 'good.ts'), `
import 'digit-recognizer';
import { DigitRecognizerElement, formatPercent, type DigitRecognizeDetail, type DigitCorrectDetail } from 'digit-recognizer';
import { createRecognizer, DigitsError, type Recognition, type Doubt } from 'digit-recognizer/digits.js';
const el = document.querySelector('digit-recognizer')!;
const made: DigitRecognizerElement = document.createElement('digit-recognizer');
el.addEventListener('recognize', (e) => { const d: DigitRecognizeDetail = e.detail; console.log(d.value, d.digits[0]?.probabilities[0]); });
el.addEventListener('error', (e) => console.log(e.detail.message, e.detail.detail, e.detail.code, e.detail.fatal));
el.mode = 'number'; el.gradcam = true; el.gradcamClass = 3; el.strokes = [[{ x: 1, y: 2 }]];
el.events = 'final'; el.images = true; el.keyboard = 'document';
el.clear(); el.undo(); made.ready.then(() => made.info?.parameters);
el.addEventListener('recognize', (e) => { const s: 'strokes' | 'image' = e.detail.source; console.log(s, e.detail.digits[0]?.strokes); });
const read = el.recognize(); console.log(read?.text, el.image?.width, el.recognizer?.warmUpCalls, formatPercent(0.5));
el.loadImage(new Blob([])).catch((e: DigitsError) => console.log(e.userMessage)); el.retry();
el.requireSure = true; el.redo(); el.ask(0); el.redraw(0); console.log(el.correct(0, 7), el.doubtful, el.corrections[0]);
el.addEventListener('recognize', (e) => { const a = e.detail.digits[0]?.alternatives[0]; console.log(e.detail.doubtful, a?.class, a?.label, a?.probability, e.detail.corrections); });
el.addEventListener('correct', (e) => { const d: DigitCorrectDetail = e.detail; const doubt: Doubt | undefined = d.digits[d.index]?.doubt; console.log(d.digit, d.was, d.value, doubt); });
export async function run(): Promise<Recognition> {
  const r = await createRecognizer({ modelUrl: '/m.safetensors' });
  try { r.recognizeImage({ data: new Uint8Array(4), width: 1, height: 1 }); } catch (e) { if (e instanceof DigitsError) console.log(e.code); }
  const out = r.recognize([[{ x: 0, y: 0 }, [1, 2]]], { mode: 'digit', gradcam: true, gradcamClass: null });
  const heat: Float32Array | undefined = out.digits[0]?.gradcam?.map;
  console.log(heat, r.stats().memoryBytes);
  r.delete();
  return out;
}
`);
    writeFileSync(path.join(project, 'bad.ts'), `
import 'digit-recognizer';
const el = document.querySelector('digit-recognizer')!;
el.mode = 'letters';
el.addEventListener('recognize', (e) => { const n: number = e.detail.value; console.log(n); });
`);
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler',
      '--lib', 'es2022,dom,dom.iterable', '--skipLibCheck', 'false'];
    // One compiler run over both files: good.ts must be clean, bad.ts must fail where expected.
    const run = spawnSync(process.execPath, [tsc, ...args, 'good.ts', 'bad.ts'], { cwd: project, encoding: 'utf8' });
    const errors = run.stdout.trim().split('\n').filter(Boolean);
    assert.equal(errors.filter((e) => !e.startsWith('bad.ts')).length, 0, run.stdout + run.stderr);
    assert.equal(errors.length, 2, run.stdout);
    assert.match(errors[0], /^bad\.ts\(4,1\): error TS2322: Type '"letters"' is not assignable/);
    assert.match(errors[1], /^bad\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  test('the element loads from the project\'s node_modules in the browser', async () => {
    assert.ok(installed, 'installed');
    // The consumer project served as it is (from another origin than the page).
    const project = path.dirname(path.dirname(installed));
    const pkgServer = await serve({ root: project, headers: { 'access-control-allow-origin': '*' } });
    const hostServer = await serve({
      routes: {
        '/': { type: 'text/html', body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<link rel="icon" href="data:,">
<script type="module" src="${pkgServer.origin}/node_modules/digit-recognizer/digit-recognizer.js"></script></head>
<body><digit-recognizer id="w"></digit-recognizer></body></html>` },
      },
    });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const log = await watch(page);
      await page.goto(hostServer.origin + '/');
      await page.waitForSelector('digit-recognizer[data-state="ready"]');
      const d = fixtureDigits()[0];
      await page.$eval('#w', (e, s) => { e.strokes = s; }, d.strokes);
      await page.waitForFunction(() => document.querySelector('#w').value !== '');
      const info = await page.$eval('#w', (e) => e.info);
      assert.ok(info.parameters > 0 && info.labels.length === 11 && info.notADigitClass === 10);
      await log.check();
    } finally {
      await browser.close();
      await pkgServer.close();
      await hostServer.close();
    }
  });
});
