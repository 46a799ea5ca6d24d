// ink.js: the drawing surface of the <digit-recognizer> element (the page's pad too). Pointer
// events (mouse, touch, pen) on a <canvas> become strokes in a fixed logical coordinate space
// (0..size on both axes, whatever the canvas' CSS size), drawn at the device's pixel ratio.
// Changes are coalesced into one callback per animation frame, which is where the owner runs the
// recognizer: live, but never more than once a frame. Also draws the Grad-CAM heatmap back over
// the strokes (the element) and the 28x28 model input and map (the page's card).

const MIN_STEP = 0.4; // logical units: closer points are dropped

export class InkSurface {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{size?: number, lineWidth?: number, ink?: string, paper?: string,
   *          onFrame?: (reason: {drawing: boolean, ended: boolean, changed: boolean}) => void,
   *          onStrokeStart?: () => void}} options
   */
  constructor(canvas, options = {}) {
    this.canvas = canvas;
    this.size = options.size || 280;
    this.lineWidth = options.lineWidth || 14;
    this.ink = options.ink || '#1c1b22';
    this.paper = options.paper === undefined ? '#ffffff' : options.paper; // null: transparent
    this.onFrame = options.onFrame || (() => {});
    this.onStrokeStart = options.onStrokeStart || (() => {});
    this.strokes = [];
    this.redoStack = [];
    this._undoable = null; // {strokes, image}: what a clear (or a removal) took, until undone
    this.image = null; // {bitmap, scale, offsetX, offsetY}: an uploaded picture instead of ink
    // The recognizer's limits (its info().limits, defined once in core/include/digits/limits.h):
    // ink beyond them is not recorded, rather than refused at recognition. Unbounded until the
    // owner sets them from a loaded recognizer.
    this.limits = { strokes: Infinity, pointsPerStroke: Infinity, points: Infinity };
    this.disabled = false;
    this._pointerId = null;
    this._rect = null;
    this._frame = 0;
    this._pending = { drawing: false, ended: false, changed: false };
    this._ctx = canvas.getContext('2d');
    this._dpr = 0;

    this._onDown = (e) => this._down(e);
    this._onMove = (e) => this._move(e);
    this._onUp = (e) => this._up(e);
    canvas.addEventListener('pointerdown', this._onDown);
    canvas.addEventListener('pointermove', this._onMove);
    canvas.addEventListener('pointerup', this._onUp);
    canvas.addEventListener('pointercancel', this._onUp);
    canvas.addEventListener('lostpointercapture', this._onUp);
    // Keeps the page from scrolling or zooming under a finger (with touch-action: none in CSS).
    this._onTouch = (e) => { if (e.cancelable) e.preventDefault(); };
    canvas.addEventListener('touchstart', this._onTouch, { passive: false });
    this._resizeObserver = new ResizeObserver(() => this.resize());
    this._resizeObserver.observe(canvas);
    this.resize();
  }

  destroy() {
    this._resizeObserver.disconnect();
    cancelAnimationFrame(this._frame);
    const c = this.canvas;
    c.removeEventListener('pointerdown', this._onDown);
    c.removeEventListener('pointermove', this._onMove);
    c.removeEventListener('pointerup', this._onUp);
    c.removeEventListener('pointercancel', this._onUp);
    c.removeEventListener('lostpointercapture', this._onUp);
    c.removeEventListener('touchstart', this._onTouch);
  }

  get isEmpty() { return this.strokes.length === 0 && !this.image; }
  get isDrawing() { return this._pointerId !== null; }
  /** A frame (render + onFrame) is scheduled and has not run yet. */
  get pending() { return this._frame !== 0; }
  get pointCount() { return this.strokes.reduce((n, s) => n + s.length, 0); }

  /** Backing store at CSS size x devicePixelRatio, redrawn. */
  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    if (w !== this.canvas.width || h !== this.canvas.height || dpr !== this._dpr) {
      this.canvas.width = w;
      this.canvas.height = h;
      this._dpr = dpr;
      this.render();
      this._schedule({ resized: true });
    }
  }

  /** Logical -> backing-store pixels, for overlays of the same size. */
  get pixelScale() { return this.canvas.width / this.size; }

  clear() {
    if (this.isEmpty) return false;
    this._cancelStroke();
    this._keepForUndo();
    this.redoStack = [];
    this.strokes = [];
    this.image = null;
    this._changed();
    return true;
  }

  /** Removes some strokes (a digit to redraw); undo puts them back. */
  removeStrokes(remove) {
    const gone = new Set(remove);
    if (!this.strokes.some((s) => gone.has(s))) return false;
    this._cancelStroke();
    this._keepForUndo();
    this.redoStack = [];
    this.strokes = this.strokes.filter((s) => !gone.has(s));
    this._changed();
    return true;
  }

  /** Something to undo: a stroke, the image, or a clear (or a removal) just made. */
  get canUndo() { return !this.isEmpty || this._undoable !== null; }
  get canRedo() { return this.redoStack.length > 0 && !this.image; }

  // A clear or a removal is undone as one step, until anything else changes the drawing.
  _keepForUndo() { this._undoable = { strokes: this.strokes, image: this.image }; }

  undo() {
    this._cancelStroke();
    if (this._undoable) {
      ({ strokes: this.strokes, image: this.image } = this._undoable);
      this._undoable = null;
      this.redoStack = [];
    } else if (this.strokes.length) {
      this.redoStack.push(this.strokes.pop());
    } else if (this.image) {
      this.image = null;
    } else {
      return false;
    }
    this._changed();
    return true;
  }

  redo() {
    if (!this.redoStack.length || this.image) return false;
    this._undoable = null;
    this.strokes.push(this.redoStack.pop());
    this._changed();
    return true;
  }

  /** Replaces the drawing (strokes of {x, y} or [x, y] in logical units). */
  setStrokes(strokes) {
    this._cancelStroke();
    this.image = null;
    this.redoStack = [];
    this._undoable = null;
    this.strokes = strokes.map((s) => s.map((p) => ({ x: p.x ?? p[0], y: p.y ?? p[1] })));
    this._changed();
  }

  /** Shows a picture (ImageBitmap or canvas) fitted into the surface instead of ink. */
  setImage(bitmap) {
    this._cancelStroke();
    this.strokes = [];
    this.redoStack = [];
    this._undoable = null;
    const scale = Math.min(this.size / bitmap.width, this.size / bitmap.height);
    this.image = {
      bitmap, scale,
      offsetX: (this.size - bitmap.width * scale) / 2,
      offsetY: (this.size - bitmap.height * scale) / 2,
    };
    this._changed();
  }

  /** The strokes as plain arrays [[x, y], ...], e.g. for JSON. */
  toJSON() { return { strokes: this.strokes.map((s) => s.map((p) => [p.x, p.y])) }; }

  render() {
    const ctx = this._ctx;
    const k = this.pixelScale;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.paper) {
      ctx.fillStyle = this.paper;
      ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    } else {
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height); // the page shows through
    }
    ctx.setTransform(k, 0, 0, k, 0, 0);
    if (this.image) {
      const { bitmap, scale, offsetX, offsetY } = this.image;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bitmap, offsetX, offsetY, bitmap.width * scale, bitmap.height * scale);
      return;
    }
    ctx.strokeStyle = this.ink;
    ctx.fillStyle = this.ink;
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const s of this.strokes) drawSmooth(ctx, s, this.lineWidth);
  }

  _point(e) {
    const r = this._rect;
    const x = ((e.clientX - r.left) * this.size) / r.width;
    const y = ((e.clientY - r.top) * this.size) / r.height;
    return { x: Math.min(this.size, Math.max(0, x)), y: Math.min(this.size, Math.max(0, y)) };
  }

  _down(e) {
    if (this.disabled || this._pointerId !== null) return;
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    if (this.strokes.length >= this.limits.strokes || this.pointCount >= this.limits.points) return;
    e.preventDefault();
    this._pointerId = e.pointerId;
    try { this.canvas.setPointerCapture(e.pointerId); } catch { /* synthetic events */ }
    this._rect = this.canvas.getBoundingClientRect();
    if (this.image) this.image = null;
    this.redoStack = [];
    this._undoable = null;
    this._total = this.pointCount;
    this._stroke = [this._point(e)];
    this.strokes.push(this._stroke);
    this._total++;
    this.onStrokeStart();
    this._schedule({ drawing: true, changed: true });
  }

  _move(e) {
    if (e.pointerId !== this._pointerId) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    let added = false;
    for (const ev of events.length ? events : [e]) {
      if (!this._roomForPoint()) break;
      const p = this._point(ev);
      const last = this._stroke[this._stroke.length - 1];
      if (Math.abs(p.x - last.x) + Math.abs(p.y - last.y) < MIN_STEP) continue;
      this._stroke.push(p);
      this._total++;
      added = true;
    }
    if (added) this._schedule({ drawing: true, changed: true });
  }

  _roomForPoint() {
    return this._stroke.length < this.limits.pointsPerStroke && this._total < this.limits.points;
  }

  _up(e) {
    if (e.pointerId !== this._pointerId) return;
    if (e.type === 'pointerup') {
      const p = this._point(e);
      const last = this._stroke[this._stroke.length - 1];
      if (Math.abs(p.x - last.x) + Math.abs(p.y - last.y) >= MIN_STEP &&
          this._roomForPoint()) {
        this._stroke.push(p);
      }
    }
    this._pointerId = null;
    this._stroke = null;
    this._schedule({ ended: true, changed: true });
  }

  _cancelStroke() {
    if (this._pointerId === null) return;
    try { this.canvas.releasePointerCapture(this._pointerId); } catch { /* already released */ }
    this._pointerId = null;
    this._stroke = null;
  }

  _changed() { this._schedule({ ended: true, changed: true }); }

  _schedule(reason) {
    const p = this._pending;
    p.drawing ||= Boolean(reason.drawing);
    p.ended ||= Boolean(reason.ended);
    p.changed ||= Boolean(reason.changed);
    p.resized ||= Boolean(reason.resized);
    if (!this._frame) this._frame = requestAnimationFrame(() => this.flush());
  }

  /** Runs the pending frame now (render + onFrame). Called by requestAnimationFrame. */
  flush() {
    if (this._frame) cancelAnimationFrame(this._frame);
    this._frame = 0;
    const reason = this._pending;
    this._pending = { drawing: false, ended: false, changed: false, resized: false };
    if (reason.changed) this.render();
    this.onFrame(reason);
  }
}

// A polyline drawn through the midpoints of its segments with quadratic curves: smooth, and still
// exactly through the first and last point. One point is a dot.
function drawSmooth(ctx, s, width) {
  if (s.length === 1) {
    ctx.beginPath();
    ctx.arc(s[0].x, s[0].y, width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(s[0].x, s[0].y);
  for (let i = 1; i < s.length - 1; i++) {
    const mx = (s[i].x + s[i + 1].x) / 2;
    const my = (s[i].y + s[i + 1].y) / 2;
    ctx.quadraticCurveTo(s[i].x, s[i].y, mx, my);
  }
  const last = s[s.length - 1];
  ctx.lineTo(last.x, last.y);
  ctx.stroke();
}

// A perceptual heat ramp (dark purple -> red -> orange -> pale yellow, close to "inferno"),
// as a 256-entry RGB table.
const RAMP = [
  [0.0, [40, 11, 84]], [0.25, [120, 28, 109]], [0.5, [212, 72, 66]], [0.75, [249, 142, 9]],
  [1.0, [252, 255, 164]],
];
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let j = 1;
    while (j < RAMP.length - 1 && RAMP[j][0] < t) j++;
    const [t0, c0] = RAMP[j - 1];
    const [t1, c1] = RAMP[j];
    const f = (t - t0) / (t1 - t0);
    for (let c = 0; c < 3; c++) lut[3 * i + c] = c0[c] + f * (c1[c] - c0[c]);
  }
  return lut;
})();

let scratch = null;
function scratchCanvas(n) {
  if (!scratch || scratch.width !== n) {
    scratch = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(n, n)
      : Object.assign(document.createElement('canvas'), { width: n, height: n });
  }
  return scratch;
}

/** An n x n heat map as a colored, alpha-weighted image on a scratch canvas. */
function heatImage(heat, n, opacity) {
  const c = scratchCanvas(n);
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const h = Math.min(1, Math.max(0, heat[i]));
    const li = 3 * Math.round(h * 255);
    img.data[4 * i] = LUT[li];
    img.data[4 * i + 1] = LUT[li + 1];
    img.data[4 * i + 2] = LUT[li + 2];
    // Weak evidence fades out entirely, so the map reads as blobs over the strokes, and the grid's
    // last 3 cells fade to nothing: no hard square edge where the map is still warm.
    const row = Math.floor(i / n);
    const col = i % n;
    const edge = Math.min(1, (Math.min(row, col, n - 1 - row, n - 1 - col) + 0.5) / 3);
    const a = Math.min(1, Math.max(0, (h - 0.15) / 0.7));
    img.data[4 * i + 3] = Math.round(255 * opacity * edge * a * (2 - a));
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/**
 * Draws each digit's Grad-CAM map over the surface, through the inverse of its input_map
 * (grid u = scale * x + offset_x): the 28x28 grid spans x = (0 - offset_x) / scale ..
 * (28 - offset_x) / scale. In number mode each digit's map is drawn over its own strokes; the maps
 * fade out at their edges, so neighbours blend instead of showing seams.
 * @param {HTMLCanvasElement} canvas  the overlay, same backing size as the surface
 * @param {InkSurface} surface
 * @param {Array} digits  result.digits (core/RESULT_FORMAT.md)
 */
export function drawHeatmap(canvas, surface, digits, { opacity = 0.78 } = {}) {
  if (canvas.width !== surface.canvas.width || canvas.height !== surface.canvas.height) {
    canvas.width = surface.canvas.width;
    canvas.height = surface.canvas.height;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!digits) return;
  // Source coordinates (canvas logical units, or image pixels) -> logical units.
  const im = surface.image;
  const src = im ? { s: im.scale, x: im.offsetX, y: im.offsetY } : { s: 1, x: 0, y: 0 };
  const k = surface.pixelScale;
  for (const d of digits) {
    const cam = d.gradcam;
    if (!cam || !cam.map) continue;
    const n = cam.size;
    const { scale, offset_x: offsetX, offset_y: offsetY } = d.input_map;
    if (!(scale > 0)) continue;
    ctx.save();
    ctx.setTransform(k * src.s, 0, 0, k * src.s, k * src.x, k * src.y);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(heatImage(cam.map, n, opacity), -offsetX / scale, -offsetY / scale,
      n / scale, n / scale);
    ctx.restore();
  }
}

/**
 * Paints n x n `values` (floats, clamped to [0, 1]) one pixel per cell, `rgb(v, data, at)` writing
 * a cell's red, green and blue at data[at..at+2]; no values: a transparent 28x28 grid (the page's
 * placeholder shows through).
 */
function paintGrid(canvas, values, rgb) {
  const n = values ? Math.round(Math.sqrt(values.length)) : 28;
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext('2d');
  if (!values) {
    ctx.clearRect(0, 0, n, n);
    return;
  }
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    if (values) rgb(Math.min(1, Math.max(0, values[i])), img.data, 4 * i);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Draws an n x n input (floats in [0, 1], 0 = background) as white ink on black, like MNIST. */
export function drawInput(canvas, input) {
  paintGrid(canvas, input, (v, data, at) => {
    data[at] = data[at + 1] = data[at + 2] = Math.round(255 * v);
  });
}

/** Draws an n x n heat map on its own (colored on black). */
export function drawHeatGrid(canvas, heat) {
  paintGrid(canvas, heat, (h, data, at) => {
    const li = 3 * Math.round(h * 255);
    data[at] = LUT[li];
    data[at + 1] = LUT[li + 1];
    data[at + 2] = LUT[li + 2];
  });
}

/**
 * Decodes an image in the browser into RGBA pixels, downscaled so its longer side is at most
 * maxSide (big photos would be slow to copy and are far beyond what a 28x28 input needs). `image`
 * is a file or blob (decoded, EXIF orientation applied), an ImageData, or anything drawImage takes
 * (an ImageBitmap, a canvas, a loaded <img>).
 * @returns {Promise<{data: Uint8ClampedArray, width: number, height: number, bitmap: HTMLCanvasElement}>}
 */
export async function decodeImage(image, maxSide = 1024) {
  let source = image;
  const isBlob = typeof Blob === 'function' && image instanceof Blob;
  try {
    if (isBlob) source = await createImageBitmap(image, { imageOrientation: 'from-image' });
    else if (typeof ImageData === 'function' && image instanceof ImageData) source = await createImageBitmap(image);
    if (!(source.width > 0 && source.height > 0)) throw new Error('it has no pixels');
  } catch (e) {
    throw new Error(isBlob ? `this file could not be read as an image (${image.type || 'unknown type'})`
      : `this could not be read as an image: ${e.message}`, { cause: e });
  }
  const scale = Math.min(1, maxSide / Math.max(source.width, source.height));
  const width = Math.max(1, Math.round(source.width * scale));
  const height = Math.max(1, Math.round(source.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  if (source !== image && typeof source.close === 'function') source.close();
  const { data } = ctx.getImageData(0, 0, width, height);
  return { data, width, height, bitmap: canvas };
}
