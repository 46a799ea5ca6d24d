// <digit-recognizer>: a drawing pad that reads the digit (or number) drawn on it, as a custom
// element in shadow DOM. One module: it loads digits.mjs, digits.wasm and digits.safetensors
// relative to its own URL, so another site embeds it with
//
//   <script type="module" src="https://your.cdn/digits/digit-recognizer.js"></script>
//   <digit-recognizer gradcam></digit-recognizer>
//
// It works under a strict Content-Security-Policy (script-src <its origin> 'wasm-unsafe-eval',
// connect-src <its origin>): no eval, no inline script, and its styles are a constructable
// stylesheet (adoptedStyleSheets), which style-src does not govern. See README.md for the API.
import { createRecognizer, DigitsError } from './digits.js';
import { InkSurface, drawHeatmap } from './ink.js';

const CSS = `
:host {
  --_accent: var(--digit-recognizer-accent, #4f46e5);
  --_ink: var(--digit-recognizer-ink, #1c1b22);
  --_paper: var(--digit-recognizer-paper, #ffffff);
  --_text: var(--digit-recognizer-text, #1c1b22);
  --_muted: var(--digit-recognizer-muted, #6b6880);
  --_border: var(--digit-recognizer-border, #dcdae6);
  --_radius: var(--digit-recognizer-radius, 14px);
  display: inline-block;
  vertical-align: top;
  max-width: 100%;
  color: var(--_text);
  font: var(--digit-recognizer-font, 15px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
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
.heat { pointer-events: none; mix-blend-mode: multiply; }
:host(:not([gradcam])) .heat { display: none; }
.hint, .message {
  position: absolute; left: 8px; right: 8px; top: 50%; transform: translateY(-50%);
  margin: 0; text-align: center; pointer-events: none;
}
.hint { color: var(--_muted); opacity: 0.8; transition: opacity 120ms; }
.hint.gone { opacity: 0; }
.message {
  padding: 8px 10px; border-radius: 10px; font-size: 0.85em;
  background: #fdecea; color: #8c1d13; border: 1px solid #f3b8b2;
}
.message[hidden] { display: none; }
.bar { display: flex; align-items: center; gap: 6px; margin-top: 8px; min-height: 40px; }
.result { flex: 1; min-width: 0; display: flex; align-items: baseline; gap: 8px; }
.digit {
  font-size: 2em; font-weight: 700; line-height: 1; font-variant-numeric: tabular-nums;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.digit.unsure { color: var(--_muted); }
.confidence { color: var(--_muted); font-size: 0.85em; white-space: nowrap; }
button {
  display: inline-grid; place-items: center; width: 40px; height: 40px; padding: 0;
  border: 1px solid var(--_border); border-radius: 10px; background: var(--_paper); color: var(--_text);
  cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--_accent); }
button:focus-visible { outline: 3px solid var(--_accent); outline-offset: 1px; }
button:disabled { color: var(--_muted); cursor: default; }
button:disabled svg { opacity: 0.45; }
svg { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
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

function percent(p) {
  return p >= 0.9995 ? '100%' : `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
}

export class DigitRecognizerElement extends HTMLElement {
  static formAssociated = true;
  static observedAttributes = ['mode', 'gradcam', 'gradcam-class', 'size', 'model', 'label', 'disabled', 'required'];

  #internals = null;
  #parts = null;
  #surface = null;
  #recognizer = null;
  #result = null;
  #strokes = []; // kept while disconnected
  #token = 0;
  #ready;
  #resolveReady;
  #rejectReady;
  #lastFinal = null;
  #ms = 0;

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
      digit: h('span', { class: 'digit', part: 'digit' }, '–'),
      confidence: h('span', { class: 'confidence', part: 'confidence' }),
      undo: h('button', { type: 'button', part: 'button undo', 'aria-label': 'Undo', title: 'Undo (Ctrl+Z)' },
        icon(['M9 14 4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11'])),
      clear: h('button', { type: 'button', part: 'button clear', 'aria-label': 'Clear', title: 'Clear (Esc)' },
        icon(['M3 6h18', 'M8 6V4h8v2', 'M19 6l-1 14H6L5 6'])),
      live: h('div', { class: 'live', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }),
    };
    p.message.hidden = true;
    p.surface = h('div', { class: 'surface', part: 'surface' }, p.canvas, p.heat, p.hint, p.message);
    p.result = h('div', { class: 'result', part: 'result', 'aria-hidden': 'true' }, p.digit, p.confidence);
    p.root = h('div', { class: 'root', part: 'root' }, p.surface,
      h('div', { class: 'bar', part: 'bar' }, p.result, p.undo, p.clear), p.live);
    root.append(p.root);
    this.#parts = p;
    p.undo.addEventListener('click', () => this.undo());
    p.clear.addEventListener('click', () => this.clear());
    p.canvas.addEventListener('keydown', (e) => this.#onKey(e));
    this.#newReady();
  }

  // ---- Attributes as properties
  get mode() { return this.getAttribute('mode') === 'number' ? 'number' : 'digit'; }
  set mode(v) { this.setAttribute('mode', v); }
  get gradcam() { return this.hasAttribute('gradcam'); }
  set gradcam(v) { this.toggleAttribute('gradcam', Boolean(v)); }
  get gradcamClass() {
    const v = this.getAttribute('gradcam-class');
    return v === null || v === '' || !Number.isInteger(Number(v)) ? null : Number(v);
  }
  set gradcamClass(v) {
    if (v === null || v === undefined) this.removeAttribute('gradcam-class');
    else this.setAttribute('gradcam-class', String(v));
  }
  get size() { return Number(this.getAttribute('size')) || 240; }
  set size(v) { this.setAttribute('size', String(v)); }
  get model() { return this.#modelUrl(); }
  set model(v) { this.setAttribute('model', v); }
  get disabled() { return this.hasAttribute('disabled'); }
  set disabled(v) { this.toggleAttribute('disabled', Boolean(v)); }
  get required() { return this.hasAttribute('required'); }
  set required(v) { this.toggleAttribute('required', Boolean(v)); }

  /** The text read: "7", "42" in number mode, "" when nothing is drawn. Setting "" clears. */
  get value() { return this.#result && !this.#result.empty ? this.#result.text : ''; }
  set value(v) {
    if (v === '' || v === null || v === undefined) this.clear();
    else throw new DigitsError('value can only be set to "" (clear); draw or set strokes instead', { code: 'input' });
  }
  /** The last full result (text, digits with probabilities, ...), or null. */
  get result() { return this.#result; }
  /** Resolves when the recognizer has loaded (rejects with a DigitsError if it cannot). */
  get ready() { return this.#ready; }
  /** The model's info ({parameters, macs, labels, ...}) once loaded, else null. */
  get info() { return this.#recognizer ? this.#recognizer.info : null; }
  /** The drawing as strokes of {x, y} points in a 280 x 280 space (whatever the CSS size). */
  get strokes() {
    const s = this.#surface ? this.#surface.strokes : this.#strokes;
    return s.map((stroke) => stroke.map((pt) => ({ x: pt.x, y: pt.y })));
  }
  set strokes(strokes) {
    if (this.#surface) this.#surface.setStrokes(strokes || []);
    else this.#strokes = (strokes || []).map((s) => s.map((pt) => ({ x: pt.x ?? pt[0], y: pt.y ?? pt[1] })));
  }

  // Form association
  get form() { return this.#internals ? this.#internals.form : null; }
  get name() { return this.getAttribute('name'); }
  get validity() { return this.#internals ? this.#internals.validity : undefined; }
  get validationMessage() { return this.#internals ? this.#internals.validationMessage : ''; }
  checkValidity() { return this.#internals ? this.#internals.checkValidity() : true; }
  reportValidity() { return this.#internals ? this.#internals.reportValidity() : true; }
  formResetCallback() { this.clear(); }
  formDisabledCallback(disabled) { this.#applyDisabled(disabled); }

  /** Clears the drawing. */
  clear() { if (this.#surface) this.#surface.clear(); else this.#strokes = []; }
  /** Removes the last stroke. */
  undo() { if (this.#surface) this.#surface.undo(); else this.#strokes.pop(); }
  /** Puts back the last undone stroke. */
  redo() { if (this.#surface) this.#surface.redo(); }

  connectedCallback() {
    const p = this.#parts;
    if (!this.#surface) {
      this.#surface = new InkSurface(p.canvas, {
        size: 280,
        lineWidth: 13,
        ink: this.#ink(),
        paper: null,
        onFrame: (reason) => this.#update(reason.ended),
        onStrokeStart: () => { this.#surface.ink = this.#ink(); },
      });
      if (this.#recognizer) this.#surface.limits = this.#recognizer.info.limits;
      if (this.#strokes.length) this.#surface.setStrokes(this.#strokes);
      this.#strokes = [];
    }
    if (this.dataset.state !== this.#state) this.dataset.state = this.#state;
    this.#applyAttributes();
    // A model set while disconnected is loaded now; the same model is not loaded again (nor retried
    // after it failed: set the model again for that).
    if (this.#loadedUrl !== this.#modelUrl()) this.#load();
  }

  disconnectedCallback() {
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
    this.#applyAttributes();
    if (['mode', 'gradcam', 'gradcam-class'].includes(name)) this.#update(name === 'mode');
  }

  #loadedUrl = null; // the model URL of the recognizer loaded, being loaded or failed
  #state = 'loading'; // reflected as data-state (not in the constructor: elements must not gain attributes there)

  #setState(state) {
    this.#state = state;
    this.dataset.state = state;
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
    this.#loadedUrl = this.#modelUrl();
    this.#setState('loading');
    this.#showMessage('');
    this.#applyAttributes();
    recognizerFor(this.#modelUrl()).then((recognizer) => {
      if (token !== this.#token) return;
      this.#recognizer = recognizer;
      if (this.#surface) this.#surface.limits = recognizer.info.limits;
      this.#setState('ready');
      this.#applyAttributes();
      this.#resolveReady();
      this.dispatchEvent(new CustomEvent('ready', { detail: { info: recognizer.info } }));
      this.#update(false);
    }, (error) => {
      if (token !== this.#token) return;
      const e = error instanceof DigitsError ? error
        : new DigitsError(String((error && error.message) || error), { code: 'internal', cause: error });
      this.#setState('error');
      this.#applyAttributes();
      this.#showMessage(e.message);
      this.#rejectReady(e);
      this.dispatchEvent(new CustomEvent('error', {
        bubbles: true, composed: true, detail: { message: e.message, code: e.code, error: e },
      }));
    });
  }

  #showMessage(text) {
    const m = this.#parts.message;
    m.textContent = text;
    m.hidden = !text;
  }

  #applyDisabled(disabled) {
    const off = disabled || this.hasAttribute('disabled') || this.#state === 'error';
    if (this.#surface) this.#surface.disabled = off;
    this.#parts.canvas.setAttribute('aria-disabled', String(off));
  }

  #applyAttributes() {
    const p = this.#parts;
    const size = Number(this.getAttribute('size'));
    if (size > 0) p.root.style.setProperty('--_size', `${size}px`);
    else p.root.style.removeProperty('--_size');
    const number = this.mode === 'number';
    const label = this.getAttribute('label') || (number ? 'Write a number' : 'Draw a digit');
    p.hint.textContent = this.#state === 'loading' ? 'Loading…' : label;
    p.canvas.setAttribute('aria-label', `${label} with a mouse, a finger or a pen. Escape clears, Control+Z undoes.`);
    this.#applyDisabled(false);
    this.#applyEmpty();
    this.#applyValidity();
  }

  // The form value and validity, from the value and `required`: run whenever either may have
  // changed (a recognition, an attribute, a load), so a form never sees a stale state.
  #applyValidity() {
    if (!this.#internals) return;
    const value = this.value;
    this.#internals.setFormValue(value);
    if (this.required && !value) {
      this.#internals.setValidity({ valueMissing: true }, 'Please draw a digit.', this.#parts.canvas);
    } else if (this.#result && this.#result.digits.some((d) => d.not_a_digit)) {
      // A letter or a scribble is not a digit a form should take.
      this.#internals.setValidity({ badInput: true }, 'That does not look like a digit.', this.#parts.canvas);
    } else {
      this.#internals.setValidity({});
    }
  }

  // What depends on whether anything is drawn (run every frame: writes only what changed).
  #applyEmpty() {
    const p = this.#parts;
    const empty = !this.#surface || this.#surface.isEmpty;
    const off = empty || this.disabled;
    if (p.undo.disabled !== off) p.undo.disabled = off;
    if (p.clear.disabled !== off) p.clear.disabled = off;
    p.hint.classList.toggle('gone', !empty || this.#state === 'error');
  }

  #onKey(e) {
    if (e.key === 'Escape' || e.key === 'Delete') {
      e.preventDefault();
      this.clear();
    } else if ((e.ctrlKey || e.metaKey) && (e.key === 'z' || e.key === 'Z')) {
      e.preventDefault();
      if (e.shiftKey) this.redo(); else this.undo();
    }
  }

  #update(final) {
    this.#applyEmpty();
    if (!this.#recognizer || !this.#surface) return;
    let result = null;
    if (!this.#surface.isEmpty) {
      const t0 = performance.now();
      try {
        result = this.#recognizer.recognize(this.#surface.strokes, {
          mode: this.mode, gradcam: this.gradcam, gradcamClass: this.gradcamClass,
        });
      } catch (error) {
        this.#showMessage(error.message);
        this.dispatchEvent(new CustomEvent('error', {
          bubbles: true, composed: true, detail: { message: error.message, code: error.code || 'input', error },
        }));
        return;
      }
      this.#ms = performance.now() - t0;
      this.#showMessage('');
    }
    this.#result = result && !result.empty ? result : null;
    this.#render();
    const value = this.value;
    this.#applyValidity();
    const r = this.#result;
    this.dispatchEvent(new CustomEvent('recognize', {
      bubbles: true, composed: true,
      detail: {
        value, final: Boolean(final), empty: !r, text: value, digits: r ? r.digits : [],
        milliseconds: this.#ms,
      },
    }));
    if (final) {
      this.#announce();
      if (value !== this.#lastFinal) {
        const first = this.#lastFinal === null && value === '';
        this.#lastFinal = value;
        if (!first) this.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }
  }

  #render() {
    const p = this.#parts;
    const r = this.#result;
    if (!r) {
      p.digit.textContent = '–';
      p.digit.className = 'digit';
      p.confidence.textContent = '';
    } else if (r.digits.length === 1) {
      const d = r.digits[0];
      p.digit.textContent = d.not_a_digit ? '?' : d.label;
      p.digit.className = d.unsure || d.not_a_digit ? 'digit unsure' : 'digit';
      p.confidence.textContent = d.not_a_digit ? 'not a digit'
        : d.unsure ? `unsure, ${percent(d.probabilities[d.digit])}` : percent(d.probabilities[d.digit]);
    } else {
      p.digit.textContent = r.text;
      p.digit.className = 'digit';
      p.confidence.textContent = `${r.digits.length} digits`;
    }
    drawHeatmap(p.heat, this.#surface, r && this.gradcam ? r.digits : null);
  }

  #announce() {
    const r = this.#result;
    let text;
    if (!r) text = this.#surface.isEmpty ? 'Cleared.' : 'Nothing recognized.';
    else if (r.digits.length > 1) {
      const odd = r.digits.filter((d) => d.not_a_digit).length;
      text = `Read ${r.text}.` + (odd ? ` ${odd} not a digit.` : '');
    } else {
      const d = r.digits[0];
      const pc = Math.round(100 * d.probabilities[d.digit]);
      text = d.not_a_digit ? 'That does not look like a digit.'
        : d.unsure ? `Not sure, maybe ${d.label}, ${pc} percent.` : `Recognized ${d.label}, ${pc} percent.`;
    }
    this.#parts.live.textContent = text;
  }
}

if (!customElements.get('digit-recognizer')) {
  customElements.define('digit-recognizer', DigitRecognizerElement);
}

export { DigitsError };
export default DigitRecognizerElement;
