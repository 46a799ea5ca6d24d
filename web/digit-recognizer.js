// <digit-recognizer>: a drawing pad that reads the digit (or number) drawn on it, as a custom
// element in shadow DOM. One module: it loads digits.mjs, digits.wasm and digits.safetensors
// relative to its own URL, so another site embeds it with
//
//   <script type="module" src="https://your.cdn/digits/digit-recognizer.js"></script>
//   <digit-recognizer gradcam></digit-recognizer>
//
// It is also the page's pad (index.html): drawing, images, recognizing, announcing and the keys
// have this one implementation; the page only adds its result card from the events.
//
// It works under a strict Content-Security-Policy (script-src <its origin> 'wasm-unsafe-eval',
// connect-src <its origin>): no eval, no inline script, and its styles are a constructable
// stylesheet (adoptedStyleSheets), which style-src does not govern. See README.md for the API.
import { createRecognizer, DigitsError } from './digits.js';
import { InkSurface, drawHeatmap, decodeImage } from './ink.js';

const CSS = `
:host {
  --_accent: var(--digit-recognizer-accent, #4f46e5);
  --_ink: var(--digit-recognizer-ink, #1c1b22);
  --_paper: var(--digit-recognizer-paper, #ffffff);
  --_text: var(--digit-recognizer-text, #1c1b22);
  --_muted: var(--digit-recognizer-muted, #6b6880);
  --_border: var(--digit-recognizer-border, #dcdae6);
  --_button: var(--digit-recognizer-button, #ffffff);
  --_radius: var(--digit-recognizer-radius, 14px);
  display: inline-block;
  vertical-align: top;
  max-width: 100%;
  color: var(--_text);
  font: var(--digit-recognizer-font, 15px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
}
/* A dark host page (color-scheme: dark, or light dark in a dark system) gets readable defaults. */
@supports (color: light-dark(#000, #fff)) {
  :host {
    --_text: var(--digit-recognizer-text, light-dark(#1c1b22, #ecebf3));
    --_muted: var(--digit-recognizer-muted, light-dark(#6b6880, #a3a1b3));
    --_border: var(--digit-recognizer-border, light-dark(#dcdae6, #3a3947));
    --_button: var(--digit-recognizer-button, light-dark(#ffffff, #24232d));
    --_accent: var(--digit-recognizer-accent, light-dark(#4f46e5, #a5a0ff));
  }
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.root { width: var(--_size, var(--digit-recognizer-size, 240px)); max-width: 100%; }
.surface {
  position: relative; width: 100%; aspect-ratio: 1 / 1; overflow: hidden;
  background: var(--_paper); border: 1px solid var(--_border); border-radius: var(--_radius);
}
canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.ink { touch-action: none; cursor: crosshair; outline: none; }
.ink:focus-visible { box-shadow: inset 0 0 0 3px var(--_accent); border-radius: var(--_radius); }
:host([disabled]) .ink, :host([data-state="error"]) .ink { cursor: not-allowed; }
:host([data-state="error"]) .surface { background: color-mix(in srgb, var(--_paper) 70%, var(--_border)); }
:host([data-state="error"]) .ink, :host([data-state="error"]) .heat { opacity: 0.3; }
/* Over the ink, not multiplied into it: the map lies on the strokes (Grad-CAM x ink), and a multiply
   over dark ink would hide it. */
.heat { pointer-events: none; }
:host(:not([gradcam])) .heat { display: none; }
.hint {
  position: absolute; left: 8px; right: 8px; top: 50%; transform: translateY(-50%);
  margin: 0; text-align: center; pointer-events: none;
  color: var(--_muted); opacity: 0.85; transition: opacity 120ms;
}
.hint.gone, .hint.covered { opacity: 0; }
.notice {
  position: absolute; inset: 8px; display: flex; flex-direction: column; gap: 8px;
  align-items: center; justify-content: center; pointer-events: none;
}
[hidden] { display: none !important; }
.message {
  margin: 0; max-width: 100%; max-height: 100%; overflow: auto; overflow-wrap: anywhere;
  padding: 8px 10px; border-radius: 10px; font-size: 0.85em; text-align: center;
  background: #fdecea; color: #8c1d13; border: 1px solid #f3b8b2; pointer-events: auto;
}
.notice .retry { pointer-events: auto; width: auto; padding: 0 14px; }
.dropzone {
  position: absolute; inset: 8px; display: grid; place-items: center; pointer-events: none;
  border: 3px dashed var(--_accent); border-radius: 10px; color: var(--_accent); font-weight: 600;
  background: color-mix(in srgb, var(--_accent) 8%, transparent);
}
.bar { display: flex; align-items: center; gap: 6px; margin-top: 8px; min-height: 40px; }
.result { flex: 1; min-width: 0; display: flex; align-items: baseline; gap: 8px; }
.digit {
  font-size: 2em; font-weight: 700; line-height: 1; font-variant-numeric: tabular-nums;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.digit.unsure { color: var(--_muted); }
/* Mid-stroke the reading is provisional: muted and slanted, no percentage, not announced. */
.result.provisional .digit { color: var(--_muted); font-style: italic; opacity: 0.6; }
/* A doubtful digit inside a number: marked, and a button that asks about it. */
.mark {
  all: unset; cursor: pointer; color: var(--_accent); text-decoration: underline dotted 2px;
  text-underline-offset: 4px; border-radius: 4px;
}
.mark:focus-visible { outline: 3px solid var(--_accent); }
.fixed { text-decoration: underline solid 2px; text-underline-offset: 4px; }
/* The question about a doubtful digit, over the bottom of the pad: nothing around it moves. */
.question {
  position: absolute; left: 4px; right: 4px; bottom: 4px; display: flex; flex-wrap: wrap;
  align-items: center; justify-content: center; gap: 4px; padding: 4px; pointer-events: auto;
  border-radius: 10px; border: 1px solid var(--_border);
  background: color-mix(in srgb, var(--_paper) 88%, transparent); color: var(--_ink);
}
.ask { font-weight: 600; margin-right: 2px; }
.question button { height: 34px; min-width: 34px; padding: 0 8px; }
.question .choice { font-weight: 700; font-variant-numeric: tabular-nums; }
.confidence { color: var(--_muted); font-size: 0.85em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
button {
  display: inline-flex; align-items: center; justify-content: center; gap: 6px;
  min-width: 40px; height: 40px; padding: 0 10px; font: inherit; font-size: 0.92em;
  border: 1px solid var(--_border); border-radius: 10px; background: var(--_button); color: var(--_text);
  cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--_accent); }
button:focus-visible { outline: 3px solid var(--_accent); outline-offset: 1px; }
button:disabled { color: var(--_muted); cursor: default; }
button:disabled svg { opacity: 0.45; }
.label { display: var(--digit-recognizer-button-labels, none); }
svg { width: 18px; height: 18px; flex: none; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.file { display: none; }
.live { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;

let sharedSheet = null;
function adoptStyles(root) {
  if (Array.isArray(root.adoptedStyleSheets) || 'adoptedStyleSheets' in root) {
    try {
      if (!sharedSheet) {
        sharedSheet = new CSSStyleSheet();
        sharedSheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sharedSheet];
      return;
    } catch {
      // Fall through to a <style> element (older browsers; blocked by a strict style-src).
    }
  }
  const style = document.createElement('style');
  style.textContent = CSS;
  root.append(style);
}

// Elements built with DOM calls (no innerHTML: fine under Trusted Types too).
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
function icon(paths) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of paths) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}
function button(name, label, title, paths) {
  return h('button', { type: 'button', part: `button ${name}`, 'aria-label': label, title },
    icon(paths), h('span', { class: 'label' }, label));
}

// One recognizer per model URL, shared by every <digit-recognizer> on the page.
const recognizers = new Map();
function recognizerFor(modelUrl) {
  let p = recognizers.get(modelUrl);
  if (!p) {
    p = createRecognizer({ modelUrl });
    recognizers.set(modelUrl, p);
    // In idle time: the first stroke then runs in optimized code (see Recognizer.warmUp).
    p.then((recognizer) => recognizer.warmUp(), () => recognizers.delete(modelUrl));
  }
  return p;
}

const DEFAULT_MODEL = new URL('./digits.safetensors', import.meta.url).href;
const MAX_IMAGE_SIDE = 640; // plenty for a 20x20 box; bigger only costs time

/** Choices in words: "7", "1 or 7", "4, 9 or 8". */
export function orList(labels) {
  return labels.length < 2 ? labels.join('') : `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

/** A probability as the element and the page show it: "97.3%", "<0.1%", "100%". */
export function formatPercent(p) {
  if (p >= 0.9995) return '100%';
  if (p < 0.001) return p > 0 ? '<0.1%' : '0%';
  return `${(100 * p).toFixed(1)}%`;
}

const isTextField = (t) => t instanceof HTMLElement && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
  t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'file', 'button', 'submit',
  'reset', 'range', 'color'].includes(t.type)));
const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');

export class DigitRecognizerElement extends HTMLElement {
  static formAssociated = true;
  static observedAttributes = ['mode', 'gradcam', 'gradcam-class', 'gradcam-versus', 'size', 'model', 'label', 'disabled',
    'required', 'images', 'keyboard', 'require-sure'];

  #internals = null;
  #formDisabled = false; // inside a disabled <fieldset> (formDisabledCallback)
  #parts = null;
  #surface = null;
  #recognizer = null;
  #result = null;
  #strokes = []; // kept while disconnected
  #picture = null; // {data, width, height, bitmap, results: Map}: an image being read, and its readings
  #clearedPicture = null; // the picture a clear took, until the clear is undone
  // The person's answers to doubtful digits: {strokes (the stroke arrays of the digit) | bitmap, cls}.
  // An answer holds while its digit is read from exactly those strokes (or that image).
  #corrections = [];
  #chosen = []; // per digit of the result: the class the person chose, or null
  #asking = -1; // the digit whose question is open, -1 none
  #imageToken = 0;
  #token = 0;
  #ready;
  #resolveReady;
  #rejectReady;
  #lastFinal = null;
  #final = true; // the reading shown is not mid-stroke
  #ms = 0;
  #unreadable = false; // the message shown is "this drawing could not be read"
  #announcePrefix = '';
  #dragDepth = 0;
  #onDocumentKey = (e) => {
    const target = e.composedPath()[0];
    if (!isTextField(target)) this.#onKey(e);
  };
  #onDocumentPaste = (e) => { if (!isTextField(e.composedPath()[0])) this.#onPaste(e); };

  constructor() {
    super();
    if (typeof this.attachInternals === 'function') {
      try { this.#internals = this.attachInternals(); } catch { this.#internals = null; }
    }
    const root = this.attachShadow({ mode: 'open', delegatesFocus: false });
    adoptStyles(root);
    const p = {
      canvas: h('canvas', { class: 'ink', part: 'canvas', tabindex: '0', role: 'img' }),
      heat: h('canvas', { class: 'heat', part: 'heatmap', 'aria-hidden': 'true' }),
      hint: h('p', { class: 'hint', part: 'hint', 'aria-hidden': 'true' }),
      message: h('p', { class: 'message', part: 'message', role: 'alert' }),
      retry: h('button', { type: 'button', class: 'retry', part: 'button retry' }, 'Try again'),
      dropzone: h('div', { class: 'dropzone', part: 'dropzone', 'aria-hidden': 'true' }, 'Drop an image of a digit'),
      digit: h('span', { class: 'digit', part: 'digit' }),
      confidence: h('span', { class: 'confidence', part: 'confidence' }),
      image: button('image', 'Image…', 'Read a digit from an image (or drop or paste one)',
        ['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M21 15l-5-5L5 21',
          'M9 7a2 2 0 1 0 0 4 2 2 0 1 0 0-4z']),
      file: h('input', { type: 'file', accept: 'image/*', class: 'file', tabindex: '-1', 'aria-hidden': 'true' }),
      undo: button('undo', 'Undo', 'Undo (Ctrl+Z)', ['M9 14 4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11']),
      redo: button('redo', 'Redo', 'Redo (Ctrl+Shift+Z)', ['M15 14l5-5-5-5', 'M20 9H9.5a5.5 5.5 0 0 0 0 11H13']),
      question: h('div', { class: 'question', part: 'question', role: 'group' }),
      clear: button('clear', 'Clear', 'Clear (Esc)', ['M3 6h18', 'M8 6V4h8v2', 'M19 6l-1 14H6L5 6']),
      live: h('div', { class: 'live', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }),
    };
    p.message.hidden = true;
    p.notice = h('div', { class: 'notice' }, p.message, p.retry);
    p.notice.hidden = true;
    p.dropzone.hidden = true;
    p.question.hidden = true;
    p.surface = h('div', { class: 'surface', part: 'surface' }, p.canvas, p.heat, p.hint, p.question, p.dropzone,
      p.notice);
    // Not aria-hidden: in a number its doubtful digits are buttons (the live region speaks the reading).
    p.result = h('div', { class: 'result', part: 'result' }, p.digit, p.confidence);
    p.root = h('div', { class: 'root', part: 'root' }, p.surface,
      h('div', { class: 'bar', part: 'bar' }, p.result, p.image, p.file, p.undo, p.redo, p.clear), p.live);
    root.append(p.root);
    this.#parts = p;
    p.undo.addEventListener('click', () => this.undo());
    p.redo.addEventListener('click', () => this.redo());
    p.clear.addEventListener('click', () => this.clear());
    p.retry.addEventListener('click', () => this.retry());
    p.image.addEventListener('click', () => p.file.click());
    p.file.addEventListener('change', () => {
      const file = p.file.files[0];
      p.file.value = '';
      if (file) this.loadImage(file).catch(() => {}); // reported by the message and the error event
    });
    p.canvas.addEventListener('keydown', (e) => this.#onKey(e));
    p.question.addEventListener('keydown', (e) => this.#onKey(e)); // its buttons take the focus
    p.canvas.addEventListener('paste', (e) => this.#onPaste(e));
    p.surface.addEventListener('dragenter', (e) => {
      if (!this.#acceptsImages() || !hasFiles(e)) return;
      e.preventDefault();
      this.#dragDepth++;
      p.dropzone.hidden = false;
      p.hint.classList.add('covered'); // "Drop an image" is not printed over "Draw a digit"
    });
    p.surface.addEventListener('dragover', (e) => { if (this.#acceptsImages() && hasFiles(e)) e.preventDefault(); });
    p.surface.addEventListener('dragleave', () => {
      if (--this.#dragDepth <= 0) {
        this.#dragDepth = 0;
        p.dropzone.hidden = true;
        p.hint.classList.remove('covered');
      }
    });
    p.surface.addEventListener('drop', (e) => {
      this.#dragDepth = 0;
      p.dropzone.hidden = true;
      p.hint.classList.remove('covered');
      if (!this.#acceptsImages() || !hasFiles(e)) return;
      e.preventDefault();
      this.loadImage(e.dataTransfer.files[0]).catch(() => {});
    });
    this.#newReady();
  }

  // ---- Attributes as properties
  get mode() { return this.getAttribute('mode') === 'number' ? 'number' : 'digit'; }
  set mode(v) { this.setAttribute('mode', v); }
  get gradcam() { return this.hasAttribute('gradcam'); }
  set gradcam(v) { this.toggleAttribute('gradcam', Boolean(v)); }
  #classAttribute(name) {
    const v = this.getAttribute(name);
    return v === null || v === '' || !Number.isInteger(Number(v)) ? null : Number(v);
  }
  #setClassAttribute(name, v) {
    if (v === null || v === undefined) this.removeAttribute(name);
    else this.setAttribute(name, String(v));
  }
  get gradcamClass() { return this.#classAttribute('gradcam-class'); }
  set gradcamClass(v) { this.#setClassAttribute('gradcam-class', v); }
  get gradcamVersus() { return this.#classAttribute('gradcam-versus'); }
  set gradcamVersus(v) { this.#setClassAttribute('gradcam-versus', v); }
  get size() { return Number(this.getAttribute('size')) || 240; }
  set size(v) { this.setAttribute('size', String(v)); }
  get model() { return this.#modelUrl(); }
  set model(v) { this.setAttribute('model', v); }
  get disabled() { return this.hasAttribute('disabled'); }
  set disabled(v) { this.toggleAttribute('disabled', Boolean(v)); }
  get required() { return this.hasAttribute('required'); }
  set required(v) { this.toggleAttribute('required', Boolean(v)); }
  /** "live" (default): a recognize event every frame while drawing, and final ones; "final": final ones only. */
  get events() { return this.getAttribute('events') === 'final' ? 'final' : 'live'; }
  set events(v) { this.setAttribute('events', v); }
  /** Attribute `images`: an Image… button, and images dropped on the pad or pasted are read. */
  get images() { return this.hasAttribute('images'); }
  set images(v) { this.toggleAttribute('images', Boolean(v)); }
  /** "pad" (default): the keys work while the pad has focus; "document": anywhere but in text fields. */
  get keyboard() { return this.getAttribute('keyboard') === 'document' ? 'document' : 'pad'; }
  set keyboard(v) { this.setAttribute('keyboard', v); }

  /** Attribute `require-sure`: a form field is invalid while a digit is doubtful and not answered. */
  get requireSure() { return this.hasAttribute('require-sure'); }
  set requireSure(v) { this.toggleAttribute('require-sure', Boolean(v)); }

  /**
   * The text read, with the person's answers: "7", "42" in number mode, "?" for what is not a digit,
   * "" when nothing is drawn. Setting "" clears.
   */
  get value() {
    const r = this.#result;
    if (!r || r.empty) return '';
    return r.digits.map((d, i) => {
      const c = this.#chosen[i];
      return c !== null && c !== undefined ? this.#labelOf(c) : d.not_a_digit ? '?' : d.label;
    }).join('');
  }
  set value(v) {
    if (v === '' || v === null || v === undefined) this.clear();
    else throw new DigitsError('value can only be set to "" (clear); draw or set strokes instead', { code: 'input' });
  }
  /** The last full result (text, digits with probabilities, ...), or null. */
  get result() { return this.#result; }
  /** Per digit of `result`: the class the person chose for it (an alternative, or the answer confirmed), or null. */
  get corrections() { return this.#chosen.slice(); }
  /** Whether a digit is doubtful ("unsure" or "not a digit") and the person has not answered it. */
  get doubtful() { return this.#openDoubts().length > 0; }
  /** Resolves when the recognizer has loaded (rejects with a DigitsError if it cannot). */
  get ready() { return this.#ready; }
  /** The model's info ({parameters, macs, labels, ...}) once loaded, else null. */
  get info() { return this.#recognizer ? this.#recognizer.info : null; }
  /** The digits.js Recognizer once loaded (shared by the elements with the same model), else null. */
  get recognizer() { return this.#recognizer; }
  /** The drawing as strokes of {x, y} points in a 280 x 280 space (whatever the CSS size). */
  get strokes() {
    const s = this.#surface ? this.#surface.strokes : this.#strokes;
    return s.map((stroke) => stroke.map((pt) => ({ x: pt.x, y: pt.y })));
  }
  set strokes(strokes) {
    this.#dropPicture();
    if (this.#surface) this.#surface.setStrokes(strokes || []);
    else this.#strokes = (strokes || []).map((s) => s.map((pt) => ({ x: pt.x ?? pt[0], y: pt.y ?? pt[1] })));
  }
  /** The image being read, as decoded RGBA pixels ({data, width, height}), or null. */
  get image() {
    const pic = this.#picture;
    return pic ? { data: pic.data, width: pic.width, height: pic.height } : null;
  }

  // Form association
  get form() { return this.#internals ? this.#internals.form : null; }
  get name() { return this.getAttribute('name'); }
  get validity() { return this.#internals ? this.#internals.validity : undefined; }
  get validationMessage() { return this.#internals ? this.#internals.validationMessage : ''; }
  checkValidity() { return this.#internals ? this.#internals.checkValidity() : true; }
  reportValidity() { return this.#internals ? this.#internals.reportValidity() : true; }
  formResetCallback() { this.clear(); }
  formDisabledCallback(disabled) {
    this.#formDisabled = disabled;
    this.#applyDisabled();
    this.#applyEmpty();
  }

  /** Clears the drawing (or the image); undo() brings it back. */
  clear() {
    const picture = this.#picture;
    this.#dropPicture();
    this.#clearedPicture = picture;
    this.#dismissMessage();
    if (this.#surface) this.#surface.clear(); else this.#strokes = [];
  }

  /**
   * The person's answer for digit `index` of the result: a class (0-9, or the model's "not a digit"
   * class) that then stands in `value`. Fires `correct` (and `change` when the value changes).
   * Returns false when there is no such digit or class.
   */
  correct(index, cls) {
    const r = this.#result;
    const info = this.info;
    if (!r || !info || !Number.isInteger(index) || !r.digits[index] || !Number.isInteger(cls) || cls < 0 ||
      cls >= info.classes) return false;
    const d = r.digits[index];
    const key = this.#keyOf(d);
    this.#corrections = this.#corrections.filter((c) => !this.#sameKey(c, key));
    this.#corrections.push({ ...key, cls });
    const previous = this.value;
    const answering = this.#parts.question.contains(this.shadowRoot.activeElement);
    this.#chosen[index] = cls;
    this.#asking = -1;
    this.#render();
    if (answering) this.#parts.canvas.focus(); // the question is gone: the focus goes back to the pad
    this.#applyValidity();
    const value = this.value;
    this.dispatchEvent(new CustomEvent('correct', {
      bubbles: true, composed: true,
      detail: { index, digit: cls, label: this.#labelOf(cls), was: d.not_a_digit ? info.notADigitClass : d.digit, value, digits: r.digits },
    }));
    this.#say(r.digits.length > 1 ? `Digit ${index + 1} is ${this.#labelOf(cls)}. The number is ${value}.`
      : `${this.#labelOf(cls)}, as you chose.`);
    if (value !== previous) {
      this.#lastFinal = value;
      this.dispatchEvent(new Event('change', { bubbles: true }));
    }
    return true;
  }

  /** Opens the question about digit `index` (its alternatives, and redrawing it); false if there is no such digit. */
  ask(index) {
    if (!this.#result || !this.#result.digits[index]) return false;
    this.#asking = index;
    this.#renderQuestion();
    const first = this.#parts.question.querySelector('button');
    if (first) first.focus();
    return true;
  }

  /** Removes digit `index`'s strokes so that it alone can be drawn again (undo puts them back). */
  redraw(index) {
    const r = this.#result;
    if (!r || !r.digits[index] || !this.#surface) return false;
    if (r.digits.length === 1 || this.#picture) {
      this.clear();
    } else {
      const strokes = this.#surface.strokes;
      this.#surface.removeStrokes(Array.from(r.digits[index].strokes, (i) => strokes[i]));
    }
    this.#asking = -1;
    this.#parts.canvas.focus();
    this.#announcePrefix = r.digits.length > 1 ? `Digit ${index + 1} removed: draw it again. Undo brings it back. `
      : 'Cleared: draw it again. Undo brings it back. ';
    return true;
  }
  /** Removes the last stroke (or the image). */
  undo() { if (this.#surface) this.#surface.undo(); else this.#strokes.pop(); }
  /** Puts back the last undone stroke. */
  redo() { if (this.#surface) this.#surface.redo(); }

  /**
   * Reads a digit from an image instead of a drawing: a File or Blob (decoded by the browser, EXIF
   * orientation applied), an ImageData, an ImageBitmap, a canvas or a loaded <img>. Images larger
   * than 640 px are scaled down first. Resolves once it is shown; rejects with a DigitsError (code
   * "input") when it is not an image, which is also shown and fired as an `error` event.
   */
  async loadImage(image) {
    const token = ++this.#imageToken;
    let picture;
    try {
      if (!image) throw new Error('no image given');
      if (typeof Blob === 'function' && image instanceof Blob && image.type && !image.type.startsWith('image/')) {
        throw new Error(`${image.name ? `"${image.name}"` : 'this file'} is not an image (${image.type})`);
      }
      picture = await decodeImage(image, MAX_IMAGE_SIDE);
    } catch (cause) {
      const error = new DigitsError(`The image could not be read: ${cause.message}`, {
        code: 'input', cause,
        userMessage: image && image.name ? `"${image.name}" is not an image this browser can read.`
          : 'That is not an image this browser can read.',
      });
      if (token === this.#imageToken) this.#report(error, false);
      throw error;
    }
    if (token !== this.#imageToken) return; // cleared, drawn on or replaced meanwhile
    this.#dismissMessage();
    this.#picture = { ...picture, results: new Map() };
    this.#announcePrefix = 'Image loaded. ';
    if (this.#surface) this.#surface.setImage(picture.bitmap);
  }

  /** After a failed load: tries again (the same model URL). */
  retry() {
    if (this.#state === 'error') this.#load();
  }

  /** Runs the recognizer on the drawing now (it otherwise runs at most once per frame) and returns the result. */
  recognize() {
    this.#update(!(this.#surface && this.#surface.isDrawing), false);
    return this.#result;
  }

  connectedCallback() {
    const p = this.#parts;
    // A model set while disconnected is loaded now; the same model is not loaded again (nor retried
    // after it failed: retry() or set the model again for that). First, so the downloads start
    // before the layout work below.
    if (this.#loadedUrl !== this.#modelUrl()) this.#load();
    if (!this.#surface) {
      this.#surface = new InkSurface(p.canvas, {
        size: 280,
        lineWidth: 13,
        ink: this.#ink(),
        paper: null,
        onFrame: (reason) => this.#update(!this.#surface.isDrawing, reason.ended),
        onStrokeStart: () => {
          this.#surface.ink = this.#ink();
          this.#dropPicture();
          this.#dismissMessage();
        },
      });
      if (this.#recognizer) this.#surface.limits = this.#recognizer.info.limits;
      if (this.#picture) this.#surface.setImage(this.#picture.bitmap);
      else if (this.#strokes.length) this.#surface.setStrokes(this.#strokes);
      this.#strokes = [];
    }
    if (this.dataset.state !== this.#state) this.dataset.state = this.#state;
    this.#applyAttributes();
    this.#listenToDocument();
  }

  disconnectedCallback() {
    this.#listenToDocument(false);
    if (this.#surface) {
      this.#strokes = this.#surface.strokes;
      this.#surface.destroy();
      this.#surface = null;
    }
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.#parts) return;
    if (name === 'model') {
      if (this.isConnected && this.#loadedUrl !== this.#modelUrl()) this.#load();
      return;
    }
    if (name === 'keyboard') this.#listenToDocument(this.isConnected);
    this.#applyAttributes();
    if (['mode', 'gradcam', 'gradcam-class', 'gradcam-versus'].includes(name)) {
      this.#update(!(this.#surface && this.#surface.isDrawing), name === 'mode');
    }
  }

  #loadedUrl = null; // the model URL of the recognizer loaded, being loaded or failed
  #state = 'loading'; // reflected as data-state (not in the constructor: elements must not gain attributes there)
  #listening = false;

  #setState(state) {
    this.#state = state;
    this.dataset.state = state;
  }

  #listenToDocument(on = true) {
    const want = on && this.keyboard === 'document';
    if (want === this.#listening) return;
    this.#listening = want;
    const method = want ? 'addEventListener' : 'removeEventListener';
    document[method]('keydown', this.#onDocumentKey);
    document[method]('paste', this.#onDocumentPaste);
  }

  #modelUrl() {
    const attr = this.getAttribute('model');
    return attr ? new URL(attr, document.baseURI).href : DEFAULT_MODEL;
  }

  #ink() {
    return getComputedStyle(this).getPropertyValue('--digit-recognizer-ink').trim() || '#1c1b22';
  }

  #newReady() {
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {}); // reported by the `error` event; awaiting it still rejects
  }

  #load() {
    const token = ++this.#token;
    if (this.#recognizer || this.#state === 'error') this.#newReady();
    this.#recognizer = null;
    if (this.#picture) this.#picture.results.clear(); // another model reads it anew
    this.#loadedUrl = this.#modelUrl();
    this.#setState('loading');
    this.#dismissMessage();
    this.#applyAttributes();
    recognizerFor(this.#modelUrl()).then((recognizer) => {
      if (token !== this.#token) return;
      this.#recognizer = recognizer;
      if (this.#surface) this.#surface.limits = recognizer.info.limits;
      this.#setState('ready');
      this.#applyAttributes();
      this.#resolveReady();
      this.dispatchEvent(new CustomEvent('ready', { detail: { info: recognizer.info } }));
      this.#update(true, this.#surface ? !this.#surface.isEmpty : false);
    }, (error) => {
      if (token !== this.#token) return;
      const e = error instanceof DigitsError ? error
        : new DigitsError(String((error && error.message) || error), { code: 'internal', cause: error });
      this.#setState('error');
      this.#applyAttributes();
      this.#rejectReady(e);
      this.#report(e, true);
    });
  }

  // Shows `error` in plain words (with Retry after a failed load that trying again can mend), logs
  // its technical detail and fires the `error` event carrying both.
  #report(error, fatal) {
    this.#showMessage(error.userMessage, fatal && error.retryable);
    this.#parts.live.textContent = ''; // the alert speaks
    const log = fatal ? console.error : console.warn;
    log.call(console, `<digit-recognizer>: ${error.message}`);
    this.dispatchEvent(new CustomEvent('error', {
      bubbles: true, composed: true,
      detail: { message: error.userMessage, detail: error.message, code: error.code, fatal, error },
    }));
  }

  #showMessage(text, retry = false) {
    const p = this.#parts;
    p.message.textContent = text;
    p.message.hidden = !text;
    p.retry.hidden = !retry;
    p.notice.hidden = !text;
  }

  // Hides a message about a drawing or an image (never the failed load's).
  #dismissMessage() {
    this.#unreadable = false;
    if (this.#state !== 'error') this.#showMessage('');
  }

  #dropPicture() {
    this.#imageToken++; // a picture still decoding must not replace what comes now
    this.#picture = null;
  }

  #acceptsImages() { return this.images && !this.#off(); }

  // Disabled by its attribute or by a disabled <fieldset> (formDisabledCallback), or unusable
  // after a failed load: no drawing, keys, buttons or images.
  #off() { return this.disabled || this.#formDisabled || this.#state === 'error'; }

  #applyDisabled() {
    const off = this.#off();
    if (this.#surface) this.#surface.disabled = off;
    this.#parts.canvas.setAttribute('aria-disabled', String(off));
    this.#parts.image.disabled = off;
  }

  #applyAttributes() {
    const p = this.#parts;
    const size = Number(this.getAttribute('size'));
    if (size > 0) p.root.style.setProperty('--_size', `${size}px`);
    else p.root.style.removeProperty('--_size');
    const number = this.mode === 'number';
    const label = this.getAttribute('label') || (number ? 'Write a number' : 'Draw a digit');
    p.hint.textContent = this.#state === 'loading' ? 'Loading…' : label;
    p.canvas.setAttribute('aria-label', this.#state === 'error'
      ? 'Drawing area, not available: the recognizer could not start.'
      : `${label} with a mouse, a finger or a pen. Escape clears, Control+Z undoes.`);
    p.image.hidden = !this.images;
    this.#applyDisabled();
    this.#applyEmpty();
    this.#applyValidity();
  }

  // The form value and validity, from the value and `required`: run whenever either may have
  // changed (a recognition, an attribute, a load), so a form never sees a stale state.
  #applyValidity() {
    if (!this.#internals) return;
    const value = this.value;
    this.#internals.setFormValue(value);
    const open = this.#openDoubts();
    if (this.required && !value) {
      this.#internals.setValidity({ valueMissing: true }, 'Please draw a digit.', this.#parts.canvas);
    } else if (value.includes('?')) {
      // A letter or a scribble is not a digit a form should take (unless the person said which digit it is).
      this.#internals.setValidity({ badInput: true }, 'That does not look like a digit.', this.#parts.canvas);
    } else if (this.requireSure && open.length) {
      // The recognizer is not sure of a digit: the person answers its question first.
      const i = open[0];
      const ask = this.#questionText(i);
      this.#internals.setValidity({ customError: true },
        `Please confirm ${this.#result.digits.length > 1 ? 'a digit' : 'the digit'}: ${ask}`, this.#parts.canvas);
    } else {
      this.#internals.setValidity({});
    }
  }

  // What depends on whether anything is drawn (run every frame: writes only what changed).
  #applyEmpty() {
    const p = this.#parts;
    const empty = !this.#surface || this.#surface.isEmpty;
    const off = this.#off();
    const noUndo = off || !this.#surface || !this.#surface.canUndo;
    const noRedo = off || !this.#surface || !this.#surface.canRedo;
    if (p.undo.disabled !== noUndo) p.undo.disabled = noUndo;
    if (p.redo.disabled !== noRedo) p.redo.disabled = noRedo;
    if (p.clear.disabled !== (off || empty)) p.clear.disabled = off || empty;
    p.hint.classList.toggle('gone', !empty || this.#state === 'error');
  }

  #onKey(e) {
    if (e.defaultPrevented || e.altKey || this.#off()) return;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key;
    if (mod && (key === 'z' || key === 'Z')) {
      if (e.shiftKey) this.redo(); else this.undo();
    } else if (mod && (key === 'y' || key === 'Y')) {
      this.redo();
    } else if (mod) {
      return;
    } else if (key === 'Escape' || key === 'Delete') {
      this.clear();
    } else if (key === 'Backspace') {
      this.undo();
    } else if (key === 'h' || key === 'H') {
      this.gradcam = !this.gradcam;
      this.#say(this.gradcam ? 'Heatmap on.' : 'Heatmap off.');
    } else if (/^[0-9]$/.test(key) && this.#asking >= 0) {
      this.correct(this.#asking, Number(key)); // the open question's answer: the person knows what they wrote
    } else if (/^[0-9]$/.test(key)) {
      this.#chooseClass(Number(key));
    } else {
      return;
    }
    e.preventDefault();
  }

  // A digit key: the heatmap of that class, or back to the prediction when it is chosen again.
  // With nothing drawn nothing is chosen (it would silently stick), and the key says why.
  #chooseClass(d) {
    if (!this.#result) {
      this.#say(`Nothing to explain yet: draw first, then ${d} shows what looks like a ${d}.`);
      return;
    }
    const again = this.gradcamClass === d;
    this.gradcam = true;
    this.gradcamClass = again ? null : d;
    this.#say(again ? 'Heatmap: back to the prediction.' : `Heatmap: what looks like a ${d}.`);
  }

  #onPaste(e) {
    // With keyboard="document" a paste on the pad reaches the document's listener too.
    if (e.defaultPrevented || !this.#acceptsImages()) return;
    const item = Array.from(e.clipboardData ? e.clipboardData.items : []).find((i) => i.type.startsWith('image/'));
    if (!item) return;
    e.preventDefault();
    this.loadImage(item.getAsFile()).catch(() => {});
  }

  // The picture's reading for the current options: kept per option set, so choosing another class
  // and back, or toggling the heatmap, reads the decoded pixels again only for what it has not seen.
  #readPicture(options) {
    const key = `${options.gradcam}|${options.gradcamClass}|${options.gradcamVersus}`;
    const results = this.#picture.results;
    let result = results.get(key);
    if (!result) {
      result = this.#recognizer.recognizeImage(this.#picture, options);
      results.set(key, result);
    }
    return result;
  }

  #labelOf(cls) {
    const info = this.info;
    return info && cls === info.notADigitClass ? '?' : info ? info.labels[cls] : String(cls);
  }

  // What a correction is tied to: the digit's strokes (the surface's own arrays), or the picture.
  #keyOf(d) {
    if (this.#picture) return { bitmap: this.#picture.bitmap, strokes: null };
    const strokes = this.#surface ? this.#surface.strokes : [];
    return { bitmap: null, strokes: Array.from(d.strokes, (i) => strokes[i]) };
  }

  #sameKey(a, b) {
    if (a.bitmap || b.bitmap) return a.bitmap === b.bitmap;
    return a.strokes.length === b.strokes.length && a.strokes.every((s, i) => s === b.strokes[i]);
  }

  // The person's answers that apply to `result`'s digits. The others are forgotten once a reading
  // is final (mid-stroke a number's split may group the new stroke with a digit only for a while).
  #applyCorrections(result, final) {
    const keys = result ? result.digits.map((d) => this.#keyOf(d)) : [];
    this.#chosen = keys.map((k) => {
      const c = this.#corrections.find((x) => this.#sameKey(x, k));
      return c ? c.cls : null;
    });
    if (final) this.#corrections = this.#corrections.filter((c) => keys.some((k) => this.#sameKey(c, k)));
  }

  // The digits that are doubtful (the core says so, from the model's thresholds) and not answered.
  #openDoubts() {
    const r = this.#result;
    if (!r) return [];
    return r.digits.flatMap((d, i) => (d.doubt !== 'sure' && this.#chosen[i] == null ? [i] : []));
  }

  // The digits a person can choose for digit `d`: its answer (a digit) and its alternatives that are
  // digits; "not a digit" is answered by redrawing.
  #choicesOf(d) {
    const nad = this.info ? this.info.notADigitClass : -1;
    const classes = [...(d.not_a_digit ? [] : [d.digit]), ...d.alternatives.map((a) => a.class)];
    return classes.filter((c, i) => c !== nad && classes.indexOf(c) === i);
  }

  /** The question's words for digit `i` of the result: "1 or 7?", "Not a digit, or 4?", "Digit 2: 1 or 7?" */
  #questionText(i) {
    const r = this.#result;
    const d = r.digits[i];
    const labels = orList(this.#choicesOf(d).map((c) => this.#labelOf(c)));
    const ask = d.not_a_digit ? `Not a digit${labels ? `, or ${labels}?` : '.'}` : `${labels}?`;
    return r.digits.length > 1 ? `Digit ${i + 1}: ${ask}` : ask;
  }

  #renderQuestion() {
    const p = this.#parts;
    const r = this.#result;
    const i = this.#asking;
    const open = Boolean(r) && i >= 0 && i < r.digits.length && !(this.#surface && this.#surface.isDrawing);
    p.question.hidden = !open;
    if (!open) {
      p.question.replaceChildren();
      return;
    }
    const d = r.digits[i];
    const text = this.#questionText(i);
    p.question.setAttribute('aria-label', text);
    const choices = this.#choicesOf(d).map((c) => {
      const b = h('button', { type: 'button', class: 'choice', part: 'choice', 'data-class': String(c),
        'aria-label': `It is ${this.#labelOf(c)}`, title: `It is ${this.#labelOf(c)} (key ${this.#labelOf(c)})` },
      this.#labelOf(c));
      b.addEventListener('click', () => this.correct(i, c));
      return b;
    });
    const name = r.digits.length > 1 ? 'Redraw it' : 'Redraw';
    const redraw = h('button', { type: 'button', class: 'redraw', part: 'choice redraw', 'aria-label': name,
      title: r.digits.length > 1 ? 'Remove this digit and draw it again (undo puts it back)' : 'Clear and draw again (undo puts it back)' },
    icon(['M3 12a9 9 0 1 0 3-6.7L3 8', 'M3 3v5h5']), h('span', { class: 'label' }, name));
    redraw.addEventListener('click', () => this.redraw(i));
    p.question.replaceChildren(h('span', { class: 'ask', part: 'question-text' }, text), ...choices, redraw);
  }

  #update(final, announce) {
    // The picture is gone when the surface shows another (undone, drawn over, cleared).
    if (this.#picture && this.#surface && (!this.#surface.image || this.#surface.image.bitmap !== this.#picture.bitmap)) {
      this.#picture = null;
    }
    // A clear undone: the picture it took is read again.
    if (!this.#picture && this.#clearedPicture && this.#surface && this.#surface.image &&
      this.#surface.image.bitmap === this.#clearedPicture.bitmap) {
      this.#picture = this.#clearedPicture;
    }
    this.#applyEmpty();
    if (!this.#recognizer || !this.#surface) return;
    let result = null;
    if (!this.#surface.isEmpty) {
      const t0 = performance.now();
      // A class is not compared with itself (the core refuses it): set both ways, the class wins.
      const cls = this.gradcamClass;
      const versus = this.gradcamVersus === cls ? null : this.gradcamVersus;
      const options = { mode: this.mode, gradcam: this.gradcam, gradcamClass: cls, gradcamVersus: versus };
      try {
        result = this.#picture && this.#surface.image
          ? this.#readPicture({ ...options, mode: 'digit' })
          : this.#recognizer.recognize(this.#surface.strokes, options);
      } catch (error) {
        const e = error instanceof DigitsError ? error : new DigitsError(String(error.message || error), { cause: error });
        // No answer is shown for a drawing that could not be read (not the last one's).
        this.#result = null;
        this.#render();
        this.#applyValidity();
        // The one limit a person can reach by drawing (the pad stops at the others): say which.
        const marks = options.mode === 'number' && /^too many separate marks/.test(e.message);
        this.#report(new DigitsError(e.message, {
          code: e.code, cause: e,
          userMessage: marks
            ? `Too many separate marks to read as a number (at most ${this.#recognizer.info.limits.numberMarks}). Undo some, or clear.`
            : 'This drawing could not be read. Clear it and try again.',
        }), false);
        this.#unreadable = true;
        return;
      }
      this.#ms = performance.now() - t0;
    }
    // Read again (after an undo, a key, an attribute): the "could not be read" message goes.
    if (this.#unreadable) this.#dismissMessage();
    this.#result = result && !result.empty ? result : null;
    this.#final = Boolean(final);
    this.#applyCorrections(this.#result, final);
    // One digit that is doubtful is asked about at once; in a number, a doubtful digit is marked and
    // asked about when tapped. Mid-stroke nothing is asked.
    const open = this.#openDoubts();
    this.#asking = final && this.#result && this.#result.digits.length === 1 && open.length ? 0 : -1;
    this.#render();
    const value = this.value;
    this.#applyValidity();
    const r = this.#result;
    if (final || this.events !== 'final') {
      this.dispatchEvent(new CustomEvent('recognize', {
        bubbles: true, composed: true,
        detail: {
          value, final: Boolean(final), empty: !r, text: r ? r.text : '', digits: r ? r.digits : [],
          corrections: this.#chosen.slice(), doubtful: open.length > 0,
          source: this.#picture ? 'image' : 'strokes', milliseconds: this.#ms,
        },
      }));
    }
    if (final && announce) this.#announce();
    if (final && value !== this.#lastFinal) {
      const first = this.#lastFinal === null && value === '';
      this.#lastFinal = value;
      if (!first) this.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }

  #render() {
    const p = this.#parts;
    const r = this.#result;
    const provisional = Boolean(r) && !this.#final;
    p.result.classList.toggle('provisional', provisional);
    p.result.part.toggle('provisional', provisional); // a host page styles it: ::part(provisional)
    if (!r) {
      p.digit.textContent = '';
      p.digit.className = 'digit';
      // An image in which nothing was found says so (the pad is not empty).
      p.confidence.textContent = this.#surface && this.#surface.image && this.#recognizer ? 'no digit found' : '';
    } else if (r.digits.length === 1) {
      const d = r.digits[0];
      const chosen = this.#chosen[0];
      p.digit.textContent = chosen != null ? this.#labelOf(chosen) : d.not_a_digit ? '?' : d.label;
      p.digit.className = chosen == null && d.doubt !== 'sure' ? 'digit unsure' : 'digit';
      const pc = formatPercent(d.probabilities[d.digit]);
      p.confidence.textContent = provisional ? '…' : chosen != null ? 'your answer'
        : d.not_a_digit ? 'not a digit' : d.unsure ? `not sure, ${pc}` : pc;
    } else {
      // The number, its doubtful digits marked: each a button that asks about it.
      p.digit.className = 'digit';
      p.digit.replaceChildren(...r.digits.map((d, i) => {
        const chosen = this.#chosen[i];
        const text = chosen != null ? this.#labelOf(chosen) : d.not_a_digit ? '?' : d.label;
        if (chosen != null) return h('span', { class: 'fixed', title: 'your answer' }, text);
        if (d.doubt === 'sure' || provisional) return text;
        const mark = h('button', { type: 'button', class: 'mark', part: 'doubtful',
          'aria-label': `Digit ${i + 1}, ${this.#questionText(i).replace(/^Digit \d+: /, '')} Choose` }, text);
        mark.addEventListener('click', () => this.ask(i));
        return mark;
      }));
      const n = r.digits.length;
      const odd = r.digits.filter((d) => d.not_a_digit).length;
      const doubts = this.#openDoubts().length;
      p.confidence.textContent = provisional ? '…' : (odd ? `${n - odd} ${n - odd === 1 ? 'digit' : 'digits'}, ${odd} not`
        : `${n} digits`) + (doubts ? `, ${doubts} to check` : '');
    }
    this.#renderQuestion();
    drawHeatmap(p.heat, this.#surface, r && this.gradcam ? r.digits : null);
  }

  #say(text) {
    // Set twice in a row the same words would not be spoken again: make them differ.
    const live = this.#parts.live;
    live.textContent = live.textContent === text ? `${text}\u00a0` : text;
  }

  #announce() {
    const r = this.#result;
    let text;
    if (!r) text = this.#surface.isEmpty ? 'Drawing cleared.' : 'Nothing recognized yet.';
    else if (r.digits.length > 1) {
      const odd = r.digits.filter((d) => d.not_a_digit).length;
      const doubts = this.#openDoubts().filter((i) => !r.digits[i].not_a_digit);
      text = `Read the number ${this.value}, ${r.digits.length} digits.` +
        (odd ? ` ${odd} ${odd === 1 ? 'mark does' : 'marks do'} not look like a digit, shown as a question mark.` : '') +
        doubts.map((i) => ` Not sure of ${this.#questionText(i).replace(/^Digit (\d+): /, 'digit $1: ')}`).join('');
    } else {
      const d = r.digits[0];
      const pc = Math.round(100 * d.probabilities[d.digit]);
      const choices = orList(this.#choicesOf(d).map((c) => this.#labelOf(c)));
      text = d.not_a_digit ? `That does not look like a digit.${choices ? ` Or is it ${choices}? Press the digit to answer.` : ''}`
        : d.unsure ? `Not sure: ${this.#questionText(0)} Best guess ${d.label}, ${pc} percent. Press the digit to answer.`
          : `Recognized ${d.label}, ${pc} percent.`;
    }
    this.#say(this.#announcePrefix + text);
    this.#announcePrefix = '';
  }
}

if (!customElements.get('digit-recognizer')) {
  customElements.define('digit-recognizer', DigitRecognizerElement);
}

export { DigitsError };
export default DigitRecognizerElement;
