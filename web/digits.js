// digits.js: the recognizer in the browser, as a small plain ES module over the Embind build
// (digits.mjs + digits.wasm). It loads the module, the wasm and the model relative to its own URL
// (or URLs you give), packs a drawing into one Float32Array of points plus one Uint32Array of
// stroke lengths per call, and turns every failure into a DigitsError carrying a readable message
// (the core's own message for a bad model or bad input). The page and the <digit-recognizer>
// widget both use it.
//
//   import { createRecognizer } from './digits.js';
//   const recognizer = await createRecognizer();             // ./digits.wasm, ./digits.safetensors
//   const result = recognizer.recognize([[{x: 10, y: 10}, {x: 10, y: 90}]], {gradcam: true});
//   result.text, result.digits[0].probabilities, result.digits[0].gradcam.map
//   recognizer.delete();                                     // frees the wasm-side object

// What an end user is told for each kind of failure, in plain words: no URL, no tensor name.
const PLAIN = {
  unsupported: 'This browser cannot run the recognizer. Please use a current version of Chrome, Edge, ' +
    'Firefox or Safari.',
  network: 'The recognizer could not be downloaded. Check the connection and try again.',
  missing: 'The recognizer could not be found on this site.',
  model: 'The recognizer could not start: its model file is damaged or not supported.',
  input: 'This could not be read.',
  internal: 'Something went wrong in the recognizer.',
};

/**
 * Every failure of this module. `code` says which kind; `message` is the technical detail for
 * developers (the URL, the HTTP status, the core's own words); `userMessage` says it in plain words
 * for the people using the page.
 */
export class DigitsError extends Error {
  constructor(message, { code = 'internal', cause, userMessage, retryable } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DigitsError';
    this.code = code; // 'unsupported' | 'network' | 'model' | 'input' | 'internal'
    this.userMessage = userMessage || PLAIN[code] || PLAIN.internal;
    // Whether trying the same again can help: a dropped connection or a server error can pass; an
    // unsupported browser, a damaged model file or a missing one (HTTP 4xx) cannot.
    this.retryable = retryable ?? (code === 'network' || code === 'internal');
  }
}

// The smallest module using a SIMD128 instruction (i8x16.splat + i8x16.popcnt): the wasm build
// is compiled with -msimd128, so a browser without SIMD cannot run it.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

const HELP_BROWSERS = 'Use a current version of Chrome, Edge, Firefox or Safari (16.4 or later).';

/**
 * Why this browser cannot run the recognizer, or null when it can.
 * @returns {string | null}
 */
export function unsupportedReason() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    return `This browser cannot run WebAssembly, which the recognizer needs. ${HELP_BROWSERS}`;
  }
  try {
    if (!WebAssembly.validate(SIMD_PROBE)) {
      return `This browser's WebAssembly lacks SIMD, which the recognizer needs. ${HELP_BROWSERS}`;
    }
  } catch {
    // validate() itself failing says nothing certain; let the real load report.
  }
  return null;
}

const defaultUrls = () => ({
  wasm: new URL('./digits.wasm', import.meta.url).href,
  model: new URL('./digits.safetensors', import.meta.url).href,
});

/** Fetches `url`, failing with a readable DigitsError (network, CORS/CSP, HTTP status). */
async function fetchOk(url, what, signal) {
  let response;
  try {
    response = await fetch(url, { signal, credentials: 'same-origin' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new DigitsError(
      `Could not download ${what} from ${url}: the network failed or the request was blocked ` +
        '(offline, CORS or Content-Security-Policy).',
      { code: 'network', cause: e });
  }
  if (!response.ok) {
    // 4xx: the file is not there (or not ours to fetch); asking again gets the same answer. 408
    // (timeout) and 429 (too many requests) are the exceptions.
    const missing = response.status >= 400 && response.status < 500 &&
      response.status !== 408 && response.status !== 429;
    throw new DigitsError(
      `Could not download ${what}: the server answered ${response.status}` +
        `${response.statusText ? ` ${response.statusText}` : ''} for ${url}.`,
      { code: 'network', retryable: !missing, userMessage: missing ? PLAIN.missing : undefined });
  }
  return response;
}

function wasmLoadError(e, url) {
  if (e instanceof DigitsError) return e;
  const text = String((e && e.message) || e);
  if (/Content Security Policy|unsafe-eval|wasm-eval|CSP/i.test(text)) {
    return new DigitsError(
      "This page's Content-Security-Policy blocks WebAssembly: its script-src needs " +
        "'wasm-unsafe-eval'.", {
        code: 'unsupported', cause: e,
        userMessage: "This site's security settings do not let the recognizer run.",
      });
  }
  const reason = unsupportedReason();
  if (reason) return new DigitsError(reason, { code: 'unsupported', cause: e });
  return new DigitsError(`The WebAssembly module ${url} could not be started: ${text}`,
    { code: 'internal', cause: e });
}

// Fetches and compiles the wasm: started together with the import of digits.mjs, so the two
// downloads overlap instead of the Emscripten glue asking for the wasm only once it has run.
async function compile(url) {
  const response = await fetchOk(url, 'the WebAssembly module');
  const type = response.headers.get('content-type') || '';
  try {
    if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
      return await WebAssembly.compileStreaming(response);
    }
    // A server without the application/wasm type: compile from the bytes instead.
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (e) {
    throw wasmLoadError(e, url);
  }
}

async function instantiate(compiled, url, imports) {
  const module = await compiled;
  try {
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  } catch (e) {
    throw wasmLoadError(e, url);
  }
}

const modules = new Map(); // "moduleUrl|wasmUrl" -> Promise<Embind module>

/** `promise`, or an AbortError as soon as `signal` aborts (the promise itself runs on). */
function abortable(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Loads (once per URL pair) the Emscripten module and its wasm. The load is shared by every caller
 * of the same URLs, so it is never cancelled by one of them: a caller's `signal` only stops that
 * caller's wait (an AbortError for it), the others still get the module.
 * @param {{moduleUrl?: string | URL, wasmUrl?: string | URL, signal?: AbortSignal}} [options]
 */
export function loadModule({ moduleUrl, wasmUrl, signal } = {}) {
  const wasm = String(wasmUrl || defaultUrls().wasm);
  const key = `${moduleUrl || ''}|${wasm}`;
  let promise = modules.get(key);
  if (!promise) {
    promise = startModule(moduleUrl, wasm);
    modules.set(key, promise);
    promise.catch(() => modules.delete(key)); // a failed load may be retried
  }
  return abortable(promise, signal);
}

async function startModule(moduleUrl, wasmUrl) {
  const reason = unsupportedReason();
  if (reason) throw new DigitsError(reason, { code: 'unsupported' });
  const compiled = compile(wasmUrl);
  compiled.catch(() => {}); // reported through instantiateWasm; not unhandled if the import fails
  let factory;
  try {
    // A literal specifier by default, so bundlers see the dependency.
    factory = (moduleUrl ? await import(/* @vite-ignore */ String(moduleUrl))
      : await import('./digits.mjs')).default;
  } catch (e) {
    throw new DigitsError(
      `Could not load the recognizer's script ${moduleUrl || new URL('./digits.mjs', import.meta.url)}: ` +
        `${(e && e.message) || e}`, { code: 'network', cause: e });
  }
  let lastMessage = '';
  return new Promise((resolve, reject) => {
    factory({
      // We fetch and instantiate the wasm ourselves: readable errors, no hanging promise.
      instantiateWasm(imports, receiveInstance) {
        instantiate(compiled, wasmUrl, imports).then(
          (r) => receiveInstance(r.instance, r.module), reject);
        return {};
      },
      locateFile: (path) => new URL(path, wasmUrl).href,
      onAbort: (what) => reject(new DigitsError(
        `The recognizer stopped: ${what || lastMessage || 'aborted'}.`, { code: 'internal' })),
      print: () => {},
      printErr: (text) => { lastMessage = String(text); },
    }).then(resolve, (e) => reject(wasmLoadError(e, wasmUrl)));
  });
}

/**
 * Packs strokes into the typed arrays the core takes: all points as [x0, y0, x1, y1, ...] and one
 * length per stroke. A point is {x, y} or [x, y].
 * @param {ArrayLike<ArrayLike<{x: number, y: number} | ArrayLike<number>>>} strokes
 */
export function packStrokes(strokes) {
  if (!strokes || typeof strokes.length !== 'number') {
    throw new DigitsError('strokes must be an array of strokes (arrays of {x, y} points)',
      { code: 'input' });
  }
  let total = 0;
  for (let i = 0; i < strokes.length; i++) {
    const stroke = strokes[i];
    if (!stroke || typeof stroke.length !== 'number') {
      throw new DigitsError(`stroke ${i} is not an array of points`, { code: 'input' });
    }
    total += stroke.length;
  }
  const points = new Float32Array(2 * total);
  const lengths = new Uint32Array(strokes.length);
  let k = 0;
  for (let i = 0; i < strokes.length; i++) {
    const stroke = strokes[i];
    lengths[i] = stroke.length;
    for (let j = 0; j < stroke.length; j++) {
      const p = stroke[j];
      const x = p.x ?? p[0];
      const y = p.y ?? p[1];
      if (typeof x !== 'number' || typeof y !== 'number') {
        throw new DigitsError(`stroke ${i}, point ${j} has no numeric x and y`, { code: 'input' });
      }
      points[k++] = x;
      points[k++] = y;
    }
  }
  return { points, lengths };
}

// A "6"-like drawing for warmUp(): a stem and a loop, 40 points.
const WARM_UP_DRAWING = (() => {
  const stroke = [];
  for (let i = 0; i < 12; i++) stroke.push({ x: 140 - 4 * i, y: 40 + 10 * i });
  for (let i = 0; i <= 28; i++) {
    const a = Math.PI + (2 * Math.PI * i) / 28;
    stroke.push({ x: 130 + 45 * Math.cos(a), y: 200 + 45 * Math.sin(a) });
  }
  return packStrokes([stroke]);
})();

function nativeOptions(options = {}) {
  const orNone = (cls) => (cls === undefined || cls === null ? -1 : cls);
  return {
    mode: options.mode === undefined ? 'digit' : options.mode,
    gradcam: Boolean(options.gradcam),
    gradcamClass: orNone(options.gradcamClass),
    gradcamVersus: orNone(options.gradcamVersus),
  };
}

function checked(out) {
  if (out && typeof out.error === 'string') throw new DigitsError(out.error, { code: 'input' });
  return out;
}

/** A loaded model, ready to recognize. Create it with createRecognizer(). */
export class Recognizer {
  #module;
  #native;
  #io = 0; // index in HEAPF32 of the lean classify buffer (0: not allocated yet)

  /** @internal Use createRecognizer(). */
  constructor(module, native) {
    this.#module = module;
    this.#native = native;
    /** {parameters, macs, inputSize, classes, labels, unsureThreshold, backend} */
    this.info = native.info();
    /** How many recognitions warmUp() has run so far. */
    this.warmUpCalls = 0;
  }

  #live() {
    if (!this.#native) throw new DigitsError('this recognizer was deleted', { code: 'input' });
    return this.#native;
  }

  /** Recognizes a drawing: strokes of {x, y} (or [x, y]) points in canvas coordinates. */
  recognize(strokes, options) {
    const { points, lengths } = packStrokes(strokes);
    return this.recognizePacked(points, lengths, options);
  }

  /** The same with the strokes already packed (see packStrokes). */
  recognizePacked(points, lengths, options) {
    return checked(this.#live().recognize(points, lengths, nativeOptions(options)));
  }

  /**
   * Recognizes one digit in an image: an ImageData, or {data, width, height, channels?} with 8-bit
   * gray, gray+alpha, RGB or RGBA pixels. Dark-on-light and light-on-dark both work.
   */
  recognizeImage(image, options) {
    const { width, height } = image;
    const data = image.data;
    if (!data || !(width > 0) || !(height > 0)) {
      throw new DigitsError('image must have data, width and height', { code: 'input' });
    }
    const bytes = data instanceof Uint8Array ? data
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const channels = image.channels ?? bytes.length / (width * height);
    return checked(this.#live().recognizeImage(bytes, width, height, channels, nativeOptions(options)));
  }

  /** Classifies an already MNIST-like input (inputSize^2 floats in [0, 1], 0 = background). */
  classify(pixels) {
    const native = this.#live();
    const x = pixels instanceof Float32Array ? pixels : Float32Array.from(pixels);
    const n = this.info.inputSize * this.info.inputSize;
    if (x.length === n) {
      // The lean entry: the input goes straight into the core's buffer in wasm memory and the
      // result is read from there (web/bindings.cpp, classifyBuffer), with no Embind object copies.
      this.#io ||= native.classifyBuffer() / 4;
      this.#module.HEAPF32.set(x, this.#io);
      if (native.classifyInPlace()) {
        const heap = this.#module.HEAPF32; // a new view if the memory grew meanwhile
        const k = this.info.classes, o = this.#io + n;
        return {
          digit: heap[o + 2 * k],
          not_a_digit: heap[o + 2 * k + 1] !== 0,
          unsure: heap[o + 2 * k + 2] !== 0,
          probabilities: heap.slice(o + k, o + 2 * k),
          logits: heap.slice(o, o + k),
        };
      }
    }
    return checked(native.classify(x)); // refused: the core says why
  }

  /**
   * Recognizes a built-in drawing (with Grad-CAM) `calls` times while the browser is idle, so that
   * the user's first stroke runs in optimized code: V8 compiles each WebAssembly function on its
   * first call, with its baseline compiler, and optimizes it only once it has run enough. In a
   * cold page here the first recognition took 14-46 ms without a warm-up, 2-9 ms after 30 calls
   * and 1-3 ms after 100 (steady state: 0.5 ms). One call per idle period at least; stops early
   * if the recognizer is deleted.
   * @returns {Promise<number>} the calls made
   */
  warmUp({ calls = 100 } = {}) {
    const { points, lengths } = WARM_UP_DRAWING;
    const options = nativeOptions({ gradcam: true });
    const idle = typeof requestIdleCallback === 'function'
      ? (fn) => requestIdleCallback(fn, { timeout: 200 })
      : (fn) => setTimeout(() => fn({ timeRemaining: () => 0 }), 0);
    return new Promise((resolve) => {
      let done = 0;
      const slice = (deadline) => {
        try {
          do {
            if (!this.#native || done >= calls) {
              resolve(done);
              return;
            }
            this.#native.recognize(points, lengths, options);
            done++;
            this.warmUpCalls++;
          } while (deadline.timeRemaining() > 4);
        } catch {
          resolve(done); // only an optimization: a failure here is the next real call's to report
          return;
        }
        idle(slice);
      };
      idle(slice);
    });
  }

  /** Bytes of wasm memory and live Embind value handles: both must stay flat over a session. */
  stats() {
    const m = this.#module;
    return {
      memoryBytes: m.HEAP8.buffer.byteLength,
      handles: typeof m.count_emval_handles === 'function' ? m.count_emval_handles() : -1,
    };
  }

  /** Frees the wasm-side recognizer. Further calls throw. */
  delete() {
    if (this.#native) {
      this.#native.delete();
      this.#native = null;
    }
  }
}

/**
 * Loads the wasm module and a model and returns a Recognizer.
 * @param {{model?: ArrayBuffer | Uint8Array, modelUrl?: string | URL, wasmUrl?: string | URL,
 *          moduleUrl?: string | URL, signal?: AbortSignal}} [options]
 */
export async function createRecognizer(options = {}) {
  const modelUrl = String(options.modelUrl || defaultUrls().model);
  const modelBytes = options.model
    ? Promise.resolve(options.model)
    : fetchOk(modelUrl, 'the model', options.signal).then((r) => r.arrayBuffer()).catch((e) => {
      if (e instanceof DigitsError || (e && e.name === 'AbortError')) throw e;
      throw new DigitsError(`Could not download the model from ${modelUrl}: ${e.message || e}`,
        { code: 'network', cause: e });
    });
  const [module, bytes] = await Promise.all([loadModule(options), modelBytes]);
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const native = new module.Recognizer(view);
  const error = native.error();
  if (error) {
    native.delete();
    const source = options.model ? 'The model' : `The model ${modelUrl}`;
    throw new DigitsError(`${source} could not be loaded: ${error}`, { code: 'model' });
  }
  return new Recognizer(module, native);
}
