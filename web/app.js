// The page: a <digit-recognizer> (drawing, images, reading, announcing and the keys, all the
// element's own) with the page's controls for its attributes, and a result card drawn from its
// `recognize` events: the answer, the probability bars, the 28x28 input and the Grad-CAM grid.
import { formatPercent, orList } from './digit-recognizer.js';
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

// The model's classes: the ten digits, then "not a digit" (the model says which; 10 in the shipped
// ones, and the bars are built before it loads).
const NOT_A_DIGIT = 10;
const notADigit = () => (pad.info ? pad.info.notADigitClass : NOT_A_DIGIT);
/** A class in words ("7", "not a digit"), and as it stands in a number ("7", "?"). */
const nameOf = (c) => (c === notADigit() ? 'not a digit' : String(c));
const shownAs = (c) => (c === notADigit() ? '?' : String(c));

// Eleven bars, built once: the digits and "not a digit". Each row's first button chooses the class
// whose heatmap is drawn; its second ("vs") compares the explained class with the row's: "why 7
// and not 1".
const bars = [];
for (let d = 0; d <= NOT_A_DIGIT; d++) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'pick';
  b.dataset.digit = String(d);
  b.setAttribute('aria-pressed', 'false');
  const label = document.createElement('span');
  label.className = 'd';
  label.textContent = d === NOT_A_DIGIT ? '?' : String(d);
  if (d === NOT_A_DIGIT) {
    li.className = 'nad';
    b.title = 'Not a digit: a letter, a scribble, a shape';
  }
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
/** 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st. */
function ordinal(n) {
  const suffix = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return `${n}${suffix[(v - 20) % 10] || suffix[v] || suffix[0]}`;
}
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

  // The answer, in words: what is sure, what is doubtful (a question answered on the pad), what is
  // not a digit. Mid-stroke the reading is provisional: muted, no percentage.
  el.answer.className = 'big';
  const chosen = pad.corrections;
  const shown = (d, i) => (chosen[i] != null ? shownAs(chosen[i]) : d.not_a_digit ? '?' : d.label);
  if (!r) {
    el.answer.textContent = '';
    el.answer.classList.add('empty');
    el.confidence.textContent = status === 'loading' ? 'Loading the recognizer…'
      : status === 'error' ? 'The recognizer is not available'
        : pad.image ? 'No digit found in this image' : number ? 'Write a number' : 'Draw a digit';
    el.camCaption.textContent = status === 'error' ? 'The pad says why.'
      : pad.image ? 'Try a picture with one dark digit on a light background, or draw one.' : '';
  } else if (r.digits.length === 1) {
    const p = digit.probabilities[digit.digit];
    el.answer.textContent = shown(digit, 0);
    el.answer.classList.toggle('unsure', chosen[0] == null && digit.doubt !== 'sure');
    // The question the pad asks, in the card's words: the answer and the alternatives that are digits.
    const choices = orList([...(digit.not_a_digit ? [] : [digit.digit]), ...digit.alternatives.map((a) => a.class)]
      .filter((c) => c !== notADigit()).map(String));
    el.confidence.textContent = !state.final ? 'Reading…'
      : chosen[0] != null ? `${shown(digit, 0)}, as you said`
        : digit.not_a_digit ? (stacked(digit) ? 'Not a digit: marks one above the other' : 'That does not look like a digit')
          : digit.unsure ? `Not sure: ${choices}?` : `${formatPercent(p)} sure`;
  } else {
    el.answer.replaceChildren(...r.digits.map((d, i) => {
      if (chosen[i] != null || d.doubt === 'sure' || !state.final) return shown(d, i);
      // A doubtful digit, marked inside the number: tapping it asks about it on the pad.
      const b = document.createElement('button');
      b.type = 'button';
      b.className = d.not_a_digit ? 'mark odd' : 'mark';
      b.textContent = shown(d, i);
      b.setAttribute('aria-label', d.not_a_digit ? `${ordinal(i + 1)} mark: not a digit. Choose`
        : `${ordinal(i + 1)} digit: not sure, ${orList([d.label, ...d.alternatives.map((a) => nameOf(a.class))])}. Choose`);
      b.addEventListener('click', () => { state.selected = i; pad.ask(i); render(); });
      return b;
    }));
    el.answer.classList.toggle('long', r.digits.length > 4);
    const odd = r.digits.filter((d, i) => d.not_a_digit && chosen[i] == null).length;
    const doubtful = r.digits.flatMap((d, i) => (d.unsure && chosen[i] == null ? [i] : []));
    const digits = r.digits.length - odd;
    // One line, so that the bars below do not move: which digits are doubtful, the marks and the
    // chips show (and the element announces).
    el.confidence.textContent = !state.final ? 'Reading…'
      : `${digits} ${digits === 1 ? 'digit' : 'digits'}` +
        (doubtful.length ? `, ${doubtful.length} to check` : digits > 0 ? ', all sure' : '') +
        (odd ? `, ${odd} not ${odd === 1 ? 'a digit' : 'digits'} (?)` : '');
  }
  el.answer.classList.toggle('provisional', Boolean(r) && !state.final);
  if (r) {
    // A non-breaking space keeps the class with its words when the caption wraps.
    el.camCaption.textContent = !pad.gradcam ? 'Heatmap off'
      : cam && cam.versus !== null ? `Heatmap: why a\u00a0${cam.class} and not a\u00a0${cam.versus}`
        : pad.gradcamClass !== null ? `Heatmap: what looks like a\u00a0${pad.gradcamClass}`
          : r.digits.length > 1 ? 'Heatmap of each digit'
            : digit.not_a_digit ? 'Heatmap: what it looked at' : `Heatmap: where it saw the\u00a0${digit.digit}`;
    if (!state.final) el.camCaption.textContent = 'Reading while you draw…';
  }
  renderChips(r);

  // The bars (of the selected digit): disabled until there is something to explain.
  let top = -1;
  const classes = pad.info ? pad.info.classes : NOT_A_DIGIT + 1;
  for (let d = 0; d <= NOT_A_DIGIT; d++) {
    const p = digit ? digit.probabilities[d] : 0;
    const bar = bars[d];
    bar.li.hidden = d >= classes;
    bar.fill.style.transform = `scaleX(${p})`;
    bar.pct.textContent = digit ? formatPercent(p) : '';
    bar.button.dataset.p = digit ? String(p) : '';
    bar.button.disabled = !digit;
    bar.button.setAttribute('aria-label', digit ? `${nameOf(d)}: ${formatPercent(p)}` : nameOf(d));
    bar.button.setAttribute('aria-pressed', String(pad.gradcamClass === d));
    // "vs" compares the class being explained with this one; not with itself.
    const explained = cam ? cam.class : digit ? digit.digit : -1;
    bar.vs.disabled = !digit || d === explained;
    bar.vs.setAttribute('aria-pressed', String(pad.gradcamVersus === d));
    bar.vs.setAttribute('aria-label', explained >= 0 ? `Why ${nameOf(explained)} and not ${nameOf(d)}?` : `Compare with ${nameOf(d)}`);
    bar.vs.title = explained >= 0 && d !== explained ? `Heatmap: why ${nameOf(explained)} and not ${nameOf(d)}` : '';
    if (digit && d === (digit.not_a_digit ? notADigit() : digit.digit)) top = d;
  }
  bars.forEach((b, d) => {
    b.li.classList.toggle('top', d === top);
    b.li.classList.toggle('doubt', Boolean(digit) && digit.doubt !== 'sure' && d === top);
  });

  // The 28x28 views
  drawInput(el.input28, digit ? digit.input : null);
  drawHeatGrid(el.cam28, cam ? cam.map : null);
  el.input28Figure.classList.toggle('empty', !digit);
  el.cam28Figure.classList.toggle('empty', !cam);
  // Under the 28x28 heatmap, in plain words, what it shows.
  // For what is not a digit the map of the nearest digit is not "for" that digit: say so.
  const nearest = cam && cam.versus === null && digit.not_a_digit && cam.class === digit.digit;
  const title = cam && cam.versus !== null
    ? [strong(nameOf(cam.class)), ' vs ', strong(nameOf(cam.versus))]
    : nearest ? ['of the nearest digit, ', strong(nameOf(cam.class))] : cam ? ['for ', strong(nameOf(cam.class))] : [];
  el.cam28Caption.replaceChildren('Grad-CAM ', ...title, document.createElement('br'), sub(explanation(digit, cam, r)));

  const info = pad.info;
  el.stats.textContent = !info ? '' : (r ? `Read in ${state.ms < 0.1 ? '<0.1' : state.ms.toFixed(1)} ms · ` : '') +
    `${info.parameters.toLocaleString('en')} parameters · ` +
    `${(info.macs / 1e6).toFixed(1)}M multiply-adds · WebAssembly in this tab`;
}

const article = (c) => (c === notADigit() ? '“not a digit”' : `a ${c}`);

// Marks one above the other with a gap between them (two digits stacked, an "="): no stroke's
// height overlaps both. Only said of what is not a digit, so that the words say why.
function stacked(digit) {
  const strokes = pad.strokes;
  const spans = Array.from(digit.strokes, (i) => strokes[i]).filter(Boolean)
    .map((s) => [Math.min(...s.map((p) => p.y)), Math.max(...s.map((p) => p.y))]).sort((a, b) => a[0] - b[0]);
  let bottom = -Infinity;
  for (const [y0, y1] of spans) {
    if (bottom > -Infinity && y0 > bottom) return true;
    bottom = Math.max(bottom, y1);
  }
  return false;
}

// What the heatmap shows, in plain words, for the map on screen.
function explanation(digit, cam, r) {
  if (!cam) return r ? 'heatmap off' : 'the strokes that decided';
  if (cam.versus !== null) return `what speaks for ${article(cam.class)}, not ${article(cam.versus)}`;
  if (cam.class === notADigit()) return 'what makes it not a digit';
  if (cam.class !== digit.digit) return `what looks like a ${cam.class} in it`;
  return digit.not_a_digit ? `not read as a ${cam.class}: this is only the closest` : `the strokes that made it a ${cam.class}`;
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
    const c = pad.corrections[i];
    b.textContent = c != null ? shownAs(c) : d.not_a_digit ? '?' : `${d.label}${d.unsure ? '?' : ''}`;
    b.classList.toggle('doubt', c == null && d.doubt !== 'sure');
    b.setAttribute('aria-label', c != null ? `Digit ${i + 1}: ${nameOf(c)}, as you said`
      : d.not_a_digit ? `Mark ${i + 1}: not a digit`
        : `Digit ${i + 1}: ${d.label}, ${d.unsure ? 'not sure, ' : ''}${formatPercent(d.probabilities[d.digit])}`);
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
pad.addEventListener('correct', render);
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
