// The page: a drawing pad read live by the recognizer, with the probabilities, the 28x28 input the
// model sees and the Grad-CAM heatmap over the strokes.
import { createRecognizer, unsupportedReason, DigitsError } from './digits.js';
import { InkSurface, drawHeatmap, drawInput, drawHeatGrid, decodeImage } from './ink.js';

const $ = (id) => document.getElementById(id);
const el = {
  error: $('error'), surface: $('surface'), ink: $('ink'), heat: $('heat'), hint: $('hint'),
  dropzone: $('dropzone'), undo: $('undo'), clear: $('clear'), file: $('file'), gradcam: $('gradcam'),
  answer: $('answer'), confidence: $('confidence'), camCaption: $('cam-caption'), chips: $('chips'),
  bars: $('bars'), input28: $('input28'), cam28: $('cam28'), cam28Caption: $('cam28-caption'),
  stats: $('stats'), live: $('live'), loading: $('loading'),
};

const state = {
  recognizer: null,
  mode: 'digit',
  gradcam: el.gradcam.checked,
  camClass: null, // null: each digit's own prediction
  selected: 0, // which digit of a number the bars and views show
  image: null, // {data, width, height} of an uploaded picture
  result: null,
  ms: 0,
  announcePrefix: '',
};

const surface = new InkSurface(el.ink, {
  size: 280,
  lineWidth: 13,
  ink: '#1c1b22',
  paper: null, // transparent: the paper is the surface's CSS background
  grid: { spacing: 14, color: 'rgba(80, 70, 160, 0.22)' },
  onFrame: (reason) => update(reason.ended),
  onStrokeStart: () => {
    state.image = null;
    imageToken++; // a picture still decoding must not replace this drawing
    hideError();
  },
});

// Ten bars, built once; each is a button choosing the class whose heatmap is drawn.
const bars = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.digit = String(d);
  b.setAttribute('aria-pressed', 'false');
  const label = document.createElement('span');
  label.className = 'd';
  label.textContent = String(d);
  const track = document.createElement('span');
  track.className = 'track';
  track.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'fill';
  track.append(fill);
  const pct = document.createElement('span');
  pct.className = 'p';
  pct.textContent = '–';
  b.append(label, track, pct);
  b.addEventListener('click', () => chooseClass(d));
  li.append(b);
  el.bars.append(li);
  bars.push({ li, button: b, fill, pct });
}

function percent(p) {
  if (p >= 0.9995) return '100%';
  if (p < 0.001) return p > 0 ? '<0.1%' : '0%';
  return `${(100 * p).toFixed(1)}%`;
}

function chooseClass(d) {
  state.camClass = state.camClass === d ? null : d;
  if (!state.gradcam) {
    state.gradcam = true;
    el.gradcam.checked = true;
  }
  update(false);
}

function currentOptions() {
  return {
    mode: state.image ? 'digit' : state.mode,
    gradcam: state.gradcam,
    gradcamClass: state.camClass,
  };
}

/** Recognizes what is on the surface now and shows it; `announce` also tells screen readers. */
function update(announce) {
  el.hint.classList.toggle('gone', !surface.isEmpty);
  el.undo.disabled = surface.isEmpty;
  el.clear.disabled = surface.isEmpty;
  if (!state.recognizer) return;
  let result = null;
  if (!surface.isEmpty) {
    const t0 = performance.now();
    try {
      result = state.image
        ? state.recognizer.recognizeImage(state.image, currentOptions())
        : state.recognizer.recognize(surface.strokes, currentOptions());
    } catch (e) {
      showError(e instanceof DigitsError ? `This drawing could not be read: ${e.message}` : String(e));
      return;
    }
    state.ms = performance.now() - t0;
  }
  state.result = result && !result.empty ? result : null;
  if (state.result && state.selected >= state.result.digits.length) state.selected = 0;
  render();
  if (announce) announceResult();
}

function render() {
  const r = state.result;
  const digit = r ? r.digits[state.selected] : null;
  // The answer
  if (!r) {
    el.answer.textContent = '–';
    el.answer.className = 'big';
    el.confidence.textContent = surface.isEmpty ? 'Waiting for ink' : 'Nothing to read yet';
    el.camCaption.textContent = '';
  } else if (r.digits.length === 1) {
    const p = digit.probabilities[digit.digit];
    el.answer.textContent = digit.not_a_digit ? '?' : digit.label;
    el.answer.className = digit.unsure || digit.not_a_digit ? 'big unsure' : 'big';
    el.confidence.textContent = digit.not_a_digit ? 'That does not look like a digit'
      : digit.unsure ? `Not sure: best guess, ${percent(p)}` : `${percent(p)} sure`;
  } else {
    el.answer.textContent = r.text;
    el.answer.className = r.text.length > 4 ? 'big long' : 'big';
    const unsure = r.digits.filter((d) => d.unsure).length;
    const odd = r.digits.filter((d) => d.not_a_digit).length;
    el.confidence.textContent = `${r.digits.length} marks` + (unsure ? `, ${unsure} unsure` : '') +
      (odd ? `, ${odd} not ${odd === 1 ? 'a digit' : 'digits'} (?)` : '');
  }
  renderChips(r);
  // The bars (of the selected digit)
  let top = -1;
  for (let d = 0; d < 10; d++) {
    const p = digit ? digit.probabilities[d] : 0;
    const bar = bars[d];
    bar.fill.style.transform = `scaleX(${p})`;
    bar.pct.textContent = digit ? percent(p) : '–';
    bar.button.dataset.p = digit ? String(p) : '';
    bar.button.setAttribute('aria-label', digit ? `${d}: ${percent(p)}` : `${d}`);
    bar.button.setAttribute('aria-pressed', String(state.camClass === d));
    if (digit && d === digit.digit) top = d;
  }
  bars.forEach((b, d) => b.li.classList.toggle('top', d === top));
  // The heatmap over the drawing, and the 28x28 views
  const cam = digit && digit.gradcam;
  el.heat.classList.toggle('off', !state.gradcam);
  drawHeatmap(el.heat, surface, r && state.gradcam ? r.digits : null);
  drawInput(el.input28, digit ? digit.input : null);
  drawHeatGrid(el.cam28, cam ? cam.map : null);
  if (r && state.gradcam && cam) {
    const own = cam.class === digit.digit;
    el.camCaption.textContent = own
      ? `Heatmap: where it saw the ${cam.class}`
      : `Heatmap: what looks like a ${cam.class}`;
    el.cam28Caption.replaceChildren('Grad-CAM for ', strong(String(cam.class)), document.createElement('br'),
      sub(own ? 'where it looked' : 'evidence for this class'));
  } else {
    el.camCaption.textContent = r ? 'Heatmap off' : '';
    el.cam28Caption.replaceChildren('Grad-CAM', document.createElement('br'), sub('where it looked'));
  }
  const info = state.recognizer.info;
  el.stats.textContent = (r ? `${state.ms < 0.1 ? '<0.1' : state.ms.toFixed(1)} ms for this reading · ` : '') +
    `${info.parameters.toLocaleString('en')} parameters · ` +
    `${(info.macs / 1e6).toFixed(1)} M multiply-adds · WebAssembly SIMD, in this tab`;
}

function strong(text) { const s = document.createElement('strong'); s.textContent = text; return s; }
function sub(text) { const s = document.createElement('span'); s.className = 'sub'; s.textContent = text; return s; }

function renderChips(r) {
  if (!r || r.digits.length < 2) {
    el.chips.hidden = true;
    el.chips.replaceChildren();
    return;
  }
  el.chips.hidden = false;
  const chips = r.digits.map((d, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = d.not_a_digit ? '?' : `${d.label}${d.unsure ? '?' : ''}`;
    b.setAttribute('aria-label', d.not_a_digit ? `Mark ${i + 1}: not a digit`
      : `Digit ${i + 1}: ${d.label}, ${percent(d.probabilities[d.digit])}`);
    b.setAttribute('aria-pressed', String(i === state.selected));
    b.addEventListener('click', () => { state.selected = i; render(); });
    return b;
  });
  el.chips.replaceChildren(...chips);
}

function announceResult() {
  const r = state.result;
  let text;
  if (surface.isEmpty) text = 'Drawing cleared.';
  else if (!r) text = 'Nothing recognized yet.';
  else if (r.digits.length === 1) {
    const d = r.digits[0];
    const p = Math.round(100 * d.probabilities[d.digit]);
    text = d.not_a_digit ? 'That does not look like a digit.'
      : d.unsure ? `Not sure. Best guess ${d.label}, ${p} percent.` : `Recognized ${d.label}, ${p} percent.`;
  } else {
    const odd = r.digits.filter((d) => d.not_a_digit).length;
    text = `Read the number ${r.text}.` +
      (odd ? ` ${odd} ${odd === 1 ? 'mark does' : 'marks do'} not look like a digit, shown as a question mark.` : '');
  }
  el.live.textContent = state.announcePrefix + text;
  state.announcePrefix = '';
}

// ---- Controls
function clearAll() {
  state.image = null;
  imageToken++;
  state.selected = 0;
  if (surface.clear()) hideError();
}
function undo() {
  if (surface.undo() && surface.isEmpty) state.image = null;
}
el.undo.addEventListener('click', undo);
el.clear.addEventListener('click', clearAll);
el.gradcam.addEventListener('change', () => {
  state.gradcam = el.gradcam.checked;
  update(false);
});
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener('change', () => {
    if (!radio.checked) return;
    state.mode = radio.value;
    state.selected = 0;
    el.hint.textContent = state.mode === 'number' ? 'Write a number here' : 'Draw a digit here';
    update(true);
  });
}

document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.altKey) return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key;
  if (mod && (key === 'z' || key === 'Z')) {
    e.preventDefault();
    if (e.shiftKey) surface.redo(); else undo();
  } else if (mod && (key === 'y' || key === 'Y')) {
    e.preventDefault();
    surface.redo();
  } else if (mod) {
    return;
  } else if (key === 'Escape' || key === 'Delete') {
    e.preventDefault();
    clearAll();
  } else if (key === 'Backspace' && !isTextField(e.target)) {
    e.preventDefault();
    undo();
  } else if ((key === 'h' || key === 'H') && !isTextField(e.target)) {
    el.gradcam.click();
  } else if (/^[0-9]$/.test(key) && !isTextField(e.target)) {
    chooseClass(Number(key));
  }
});
function isTextField(t) {
  return t instanceof HTMLElement && (t.isContentEditable || (t.tagName === 'INPUT' &&
    !['checkbox', 'radio', 'file', 'button'].includes(t.type)) || t.tagName === 'TEXTAREA');
}

// ---- Images: file picker, drag and drop, paste
let imageToken = 0;
async function readImage(file) {
  if (!file) return;
  const token = ++imageToken;
  if (file.type && !file.type.startsWith('image/')) {
    showError(`"${file.name}" is not an image.`);
    return;
  }
  try {
    const img = await decodeImage(file, 640); // plenty for a 20x20 box; bigger only costs time
    if (token !== imageToken) return; // cleared, drawn on or replaced meanwhile
    hideError();
    state.image = { data: img.data, width: img.width, height: img.height };
    state.selected = 0;
    state.announcePrefix = 'Image loaded. ';
    surface.setImage(img.bitmap);
  } catch (e) {
    if (token === imageToken) showError(`Could not read the image: ${e.message}`);
  }
}
el.file.addEventListener('change', () => {
  readImage(el.file.files[0]);
  el.file.value = '';
});
let dragDepth = 0;
const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
el.surface.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  el.dropzone.hidden = false;
});
el.surface.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
el.surface.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) { dragDepth = 0; el.dropzone.hidden = true; }
});
el.surface.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  el.dropzone.hidden = true;
  readImage(e.dataTransfer.files[0]);
});
document.addEventListener('paste', (e) => {
  const item = Array.from(e.clipboardData ? e.clipboardData.items : []).find((i) => i.type.startsWith('image/'));
  if (item) {
    e.preventDefault();
    readImage(item.getAsFile());
  }
});

// ---- Errors
function showError(message) {
  el.error.textContent = message;
  el.error.hidden = false;
}
function hideError() {
  if (document.documentElement.dataset.state === 'error') return; // keep a fatal message
  el.error.hidden = true;
  el.error.textContent = '';
}

// ---- Start
function modelUrl() {
  // ?model=path loads another model from this site (same origin only).
  const param = new URLSearchParams(location.search).get('model');
  if (!param) return undefined;
  const url = new URL(param, location.href);
  if (url.origin !== location.origin) throw new DigitsError('?model= must point to this site', { code: 'model' });
  return url.href;
}

async function start() {
  const reason = unsupportedReason();
  if (reason) throw new DigitsError(reason, { code: 'unsupported' });
  state.recognizer = await createRecognizer({ modelUrl: modelUrl() });
  surface.limits = state.recognizer.info.limits;
  document.documentElement.dataset.state = 'ready';
  performance.mark('digits-ready');
  update(!surface.isEmpty);
  state.warmUp = state.recognizer.warmUp(); // idle time: the first stroke runs in optimized code
}

start().catch((e) => {
  document.documentElement.dataset.state = 'error';
  surface.disabled = true;
  el.ink.setAttribute('aria-disabled', 'true');
  el.hint.textContent = 'The recognizer is not available';
  const message = e instanceof DigitsError ? e.message : `Unexpected error: ${e && e.message ? e.message : e}`;
  el.error.textContent = `The recognizer could not start. ${message}`;
  el.error.hidden = false;
});

update(false);

// For debugging and the browser tests: the page's live objects.
window.digitsApp = {
  surface,
  state,
  get recognizer() { return state.recognizer; },
  get result() { return state.result; },
  update,
};
