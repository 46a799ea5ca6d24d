// The page: a <digit-recognizer> (drawing, images, reading, announcing and the keys, all the
// element's own) with the page's controls for its attributes, and a result card drawn from its
// `recognize` events: the answer, the probability bars, the 28x28 input and the Grad-CAM grid.
import { formatPercent } from './digit-recognizer.js';
import { drawInput, drawHeatGrid } from './ink.js';

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const el = {
  gradcam: $('gradcam'), modes: document.querySelectorAll('input[name="mode"]'),
  answer: $('answer'), confidence: $('confidence'), camCaption: $('cam-caption'), chips: $('chips'),
  bars: $('bars'), input28: $('input28'), cam28: $('cam28'), cam28Caption: $('cam28-caption'),
  input28Figure: $('input28-figure'), cam28Figure: $('cam28-figure'), stats: $('stats'),
};

const state = {
  selected: 0, // which digit of a number the bars and views show
  final: true, // the last recognize event was not mid-stroke
  ms: 0,
};

// Ten bars, built once. Each row's first button chooses the class whose heatmap is drawn; its
// second ("vs") compares the explained class with the row's: "why 7 and not 1".
const bars = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'pick';
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
  b.append(label, track, pct);
  b.addEventListener('click', () => {
    pad.gradcam = true;
    pad.gradcamClass = pad.gradcamClass === d ? null : d;
    if (pad.gradcamVersus === pad.gradcamClass) pad.gradcamVersus = null;
  });
  const vs = document.createElement('button');
  vs.type = 'button';
  vs.className = 'vs';
  vs.textContent = 'vs';
  vs.setAttribute('aria-pressed', 'false');
  vs.addEventListener('click', () => {
    pad.gradcam = true;
    pad.gradcamVersus = pad.gradcamVersus === d ? null : d;
  });
  li.append(b, vs);
  el.bars.append(li);
  bars.push({ li, button: b, vs, fill, pct });
}

function strong(text) { const s = document.createElement('strong'); s.textContent = text; return s; }
function sub(text) { const s = document.createElement('span'); s.className = 'sub'; s.textContent = text; return s; }

/** The whole card from the element's state: called on each of its events and attribute changes. */
function render() {
  const status = pad.dataset.state || 'loading';
  document.documentElement.dataset.state = status;
  const r = status === 'ready' ? pad.result : null;
  if (r && state.selected >= r.digits.length) state.selected = 0;
  const digit = r ? r.digits[state.selected] : null;
  const cam = digit && pad.gradcam ? digit.gradcam : null;
  const number = pad.mode === 'number';

  // The controls mirror the element's attributes (also changed by its keys: H, 0-9).
  el.gradcam.checked = pad.gradcam;
  for (const radio of el.modes) {
    radio.checked = radio.value === pad.mode;
    radio.disabled = status === 'error';
  }
  el.gradcam.disabled = status === 'error';

  // The answer
  el.answer.className = 'big';
  if (!r) {
    el.answer.textContent = '';
    el.answer.classList.add('empty');
    el.confidence.textContent = status === 'loading' ? 'Loading the recognizer…'
      : status === 'error' ? 'The recognizer is not available' : number ? 'Write a number' : 'Draw a digit';
    el.camCaption.textContent = status === 'error' ? 'The pad says why.' : '';
  } else if (r.digits.length === 1) {
    const p = digit.probabilities[digit.digit];
    el.answer.textContent = digit.not_a_digit ? '?' : digit.label;
    el.answer.classList.toggle('unsure', digit.unsure || digit.not_a_digit);
    el.confidence.textContent = digit.not_a_digit ? 'That does not look like a digit'
      : digit.unsure ? `Not sure: best guess, ${formatPercent(p)}` : `${formatPercent(p)} sure`;
  } else {
    el.answer.textContent = r.text;
    el.answer.classList.toggle('long', r.text.length > 4);
    const unsure = r.digits.filter((d) => d.unsure).length;
    const odd = r.digits.filter((d) => d.not_a_digit).length;
    el.confidence.textContent = `${r.digits.length} marks` + (unsure ? `, ${unsure} unsure` : '') +
      (odd ? `, ${odd} not ${odd === 1 ? 'a digit' : 'digits'} (?)` : '');
  }
  if (r) {
    // A non-breaking space keeps the class with its words when the caption wraps.
    el.camCaption.textContent = !pad.gradcam ? 'Heatmap off'
      : cam && cam.versus !== null ? `Heatmap: why a\u00a0${cam.class} and not a\u00a0${cam.versus}`
        : pad.gradcamClass !== null ? `Heatmap: what looks like a\u00a0${pad.gradcamClass}`
          : r.digits.length > 1 ? 'Heatmap of each digit'
            : digit.not_a_digit ? 'Heatmap: what it looked at' : `Heatmap: where it saw the\u00a0${digit.digit}`;
  }
  renderChips(r);

  // The bars (of the selected digit): disabled until there is something to explain.
  let top = -1;
  for (let d = 0; d < 10; d++) {
    const p = digit ? digit.probabilities[d] : 0;
    const bar = bars[d];
    bar.fill.style.transform = `scaleX(${p})`;
    bar.pct.textContent = digit ? formatPercent(p) : '';
    bar.button.dataset.p = digit ? String(p) : '';
    bar.button.disabled = !digit;
    bar.button.setAttribute('aria-label', digit ? `${d}: ${formatPercent(p)}` : `${d}`);
    bar.button.setAttribute('aria-pressed', String(pad.gradcamClass === d));
    // "vs" compares the class being explained with this one; not with itself.
    const explained = cam ? cam.class : digit ? digit.digit : -1;
    bar.vs.disabled = !digit || d === explained;
    bar.vs.setAttribute('aria-pressed', String(pad.gradcamVersus === d));
    bar.vs.setAttribute('aria-label', explained >= 0 ? `Why ${explained} and not ${d}?` : `Compare with ${d}`);
    bar.vs.title = explained >= 0 && d !== explained ? `Heatmap: why ${explained} and not ${d}` : '';
    if (digit && d === digit.digit && !digit.not_a_digit) top = d;
  }
  bars.forEach((b, d) => b.li.classList.toggle('top', d === top));

  // The 28x28 views
  drawInput(el.input28, digit ? digit.input : null);
  drawHeatGrid(el.cam28, cam ? cam.map : null);
  el.input28Figure.classList.toggle('empty', !digit);
  el.cam28Figure.classList.toggle('empty', !cam);
  // Under the 28x28 heatmap, in plain words, what it shows.
  const title = cam && cam.versus !== null
    ? [strong(String(cam.class)), ' vs ', strong(String(cam.versus))] : cam ? ['for ', strong(String(cam.class))] : [];
  el.cam28Caption.replaceChildren('Grad-CAM ', ...title, document.createElement('br'), sub(explanation(digit, cam, r)));

  const info = pad.info;
  el.stats.textContent = !info ? '' : (r ? `Read in ${state.ms < 0.1 ? '<0.1' : state.ms.toFixed(1)} ms · ` : '') +
    `${info.parameters.toLocaleString('en')} parameters · ` +
    `${(info.macs / 1e6).toFixed(1)}M multiply-adds · WebAssembly in this tab`;
}

// What the heatmap shows, in plain words, for the map on screen.
function explanation(digit, cam, r) {
  if (!cam) return r ? 'heatmap off' : 'the strokes that decided';
  if (cam.versus !== null) return `what speaks for a ${cam.class}, not a ${cam.versus}`;
  if (cam.class !== digit.digit) return `what looks like a ${cam.class} in it`;
  return digit.not_a_digit ? `what looks most like a ${cam.class}` : `the strokes that made it a ${cam.class}`;
}

function renderChips(r) {
  if (!r || r.digits.length < 2) {
    el.chips.hidden = true;
    el.chips.replaceChildren();
    return;
  }
  el.chips.hidden = false;
  el.chips.replaceChildren(...r.digits.map((d, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = d.not_a_digit ? '?' : `${d.label}${d.unsure ? '?' : ''}`;
    b.setAttribute('aria-label', d.not_a_digit ? `Mark ${i + 1}: not a digit`
      : `Digit ${i + 1}: ${d.label}, ${formatPercent(d.probabilities[d.digit])}`);
    b.setAttribute('aria-pressed', String(i === state.selected));
    b.addEventListener('click', () => { state.selected = i; render(); });
    return b;
  }));
}

// ---- The page's controls set the element's attributes; its events and attributes redraw the card.
el.gradcam.addEventListener('change', () => { pad.gradcam = el.gradcam.checked; });
for (const radio of el.modes) {
  radio.addEventListener('change', () => {
    if (!radio.checked) return;
    state.selected = 0;
    pad.mode = radio.value;
  });
}
pad.addEventListener('recognize', (e) => {
  state.final = e.detail.final;
  state.ms = e.detail.milliseconds;
  if (e.detail.final && e.detail.empty) state.selected = 0;
  render();
});
new MutationObserver(render).observe(pad, { attributes: true, attributeFilter: ['data-state', 'gradcam', 'gradcam-class', 'gradcam-versus', 'mode'] });
pad.addEventListener('ready', () => performance.mark('digits-ready'));

// ?model=path loads another model from this site (same origin only).
const modelParam = new URLSearchParams(location.search).get('model');
if (modelParam) {
  const url = new URL(modelParam, location.href);
  if (url.origin === location.origin) pad.model = url.href;
  else console.error(`?model= must point to this site, not ${url.origin}`);
}
render();

// For debugging and the browser tests: the page's live objects.
window.digitsApp = { pad, state, render };
