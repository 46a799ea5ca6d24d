// Types for digits.js: the recognizer in the browser (WebAssembly core + model).

/** Why a call failed. */
export type DigitsErrorCode = 'unsupported' | 'network' | 'model' | 'input' | 'internal';

export declare class DigitsError extends Error {
  constructor(message: string, options?: { code?: DigitsErrorCode; cause?: unknown; userMessage?: string; retryable?: boolean });
  readonly name: 'DigitsError';
  readonly code: DigitsErrorCode;
  /** The technical detail, for developers and the console: URLs, HTTP status, the core's own words. */
  readonly message: string;
  /** The same in plain words for the people using the page (no URL, no tensor name). */
  readonly userMessage: string;
  /**
   * Whether trying again can help (a dropped connection, a server error): false for an
   * unsupported browser, a damaged model file or a file the server does not have (HTTP 4xx).
   */
  readonly retryable: boolean;
}

/** A point of a stroke, in canvas coordinates (y pointing down). */
export type Point = { x: number; y: number } | readonly [number, number];
/** A polyline; one point is a dot. */
export type Stroke = ArrayLike<Point>;

export interface RecognizeOptions {
  /** "digit" (default): everything is one digit. "number": strokes are split into digits. */
  mode?: 'digit' | 'number';
  /** Compute the Grad-CAM heatmap (default false). */
  gradcam?: boolean;
  /** Class whose Grad-CAM is computed; null or -1: each digit's prediction. */
  gradcamClass?: number | null;
  /** Explain the class against this one ("why 7 and not 1": the gradient of the difference of
   * their logits); null or -1: the class alone. Ignored for a digit whose explained class it is. */
  gradcamVersus?: number | null;
}

// The result object: the same fields, with the same names, as every other front end's (the CLI's
// --json, POST /predict). Its one description is core/RESULT_FORMAT.md.

/** Canvas (or image) coordinates -> model grid: u = scale * x + offset_x, v = scale * y + offset_y. */
export interface InputMap {
  scale: number;
  offset_x: number;
  offset_y: number;
}

export interface GradCam {
  /** The class explained. */
  class: number;
  /** The class it is explained against, or null. */
  versus: number | null;
  /** The map's side: the input grid's (inputSize). */
  size: number;
  /** size x size values in [0, 1], row-major, over `input`: Grad-CAM of the last conv layer,
   * upsampled and weighted by the input's ink, so it lies on the strokes that decided the class. */
  map: Float32Array;
}

/** How far a digit is to be trusted: "unsure" and "not_a_digit" are doubtful. */
export type Doubt = 'sure' | 'unsure' | 'not_a_digit';

/** A class worth offering instead of a doubtful answer: a digit, or the model's "not a digit" class. */
export interface Alternative {
  class: number;
  /** Its label: "7", or "not a digit". */
  label: string;
  probability: number;
}

export interface DigitResult {
  /** The most likely digit (never the "not a digit" class). */
  digit: number;
  /** Its label ("0".."9"). */
  label: string;
  /** It does not look like a digit (a letter, a scribble, a shape): the "not a digit" class's
   * probability reached the model's threshold. `text` shows "?" for it. */
  not_a_digit: boolean;
  /** A digit, but its probability is below the model's unsure threshold. */
  unsure: boolean;
  /** The same in one word, from the model's calibrated thresholds (core/RESULT_FORMAT.md). */
  doubt: Doubt;
  /** The classes worth offering instead of the answer, best first; empty when `doubt` is "sure". */
  alternatives: Alternative[];
  /** Softmax probabilities, one per class (info().labels); the last is "not a digit". */
  probabilities: Float32Array;
  /** The network's outputs before the softmax. */
  logits: Float32Array;
  /** The digit's ink: [x0, y0, x1, y1] in canvas (or image) coordinates. */
  box: Float32Array;
  /**
   * Which strokes of the drawing this digit was read from: indices into the strokes passed to
   * recognize() (the element's `strokes`, in the order they were drawn). In number mode this is how
   * the split grouped them; in digit mode, every stroke. Empty for an image.
   */
  strokes: Int32Array;
  input_map: InputMap;
  /** What the model saw: inputSize x inputSize pixels in [0, 1], 0 = background. */
  input: Float32Array;
  gradcam: GradCam | null;
}

export interface Recognition {
  /** The digits' labels, left to right; "?" for what is not a digit. */
  text: string;
  /** Nothing drawn / no ink: `digits` is empty. */
  empty: boolean;
  digits: DigitResult[];
}

/** What the recognizer accepts (core/include/digits/limits.h); more is refused with an error. */
export interface Limits {
  strokes: number;
  pointsPerStroke: number;
  points: number;
  /** Largest |x| or |y|. */
  coordinate: number;
  imageSide: number;
  imagePixels: number;
  /** Separate marks number mode reads in one drawing (digits and stray marks). */
  numberMarks: number;
}

export interface ModelInfo {
  parameters: number;
  macs: number;
  inputSize: number;
  classes: number;
  labels: string[];
  unsureThreshold: number;
  /** Index of the "not a digit" class in `labels`, -1 if the model has none. */
  notADigitClass: number;
  notADigitThreshold: number;
  backend: string;
  limits: Limits;
}

export interface Classification {
  digit: number;
  not_a_digit: boolean;
  unsure: boolean;
  probabilities: Float32Array;
  logits: Float32Array;
}

/** An image: ImageData, or 8-bit pixels with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface ImageInput {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: 1 | 2 | 3 | 4;
}

export declare class Recognizer {
  private constructor();
  readonly info: ModelInfo;
  /** How many recognitions warmUp() has run so far. */
  readonly warmUpCalls: number;
  /** Throws DigitsError (code "input") with the core's message on bad input. */
  recognize(strokes: ArrayLike<Stroke>, options?: RecognizeOptions): Recognition;
  recognizePacked(points: Float32Array, lengths: Uint32Array, options?: RecognizeOptions): Recognition;
  /** One digit in an image; mode "number" is refused. */
  recognizeImage(image: ImageInput | ImageData, options?: RecognizeOptions): Recognition;
  /** An already MNIST-like input: inputSize^2 floats in [0, 1]. */
  classify(pixels: Float32Array | ArrayLike<number>): Classification;
  /**
   * Recognizes a built-in drawing `calls` (default 100) times in idle time, so the first real
   * recognition runs in optimized code. Resolves with the number of calls made.
   */
  warmUp(options?: { calls?: number }): Promise<number>;
  /** wasm memory size and live Embind handles; both stay flat over a session. */
  stats(): { memoryBytes: number; handles: number };
  /** Frees the wasm-side object; further calls throw. */
  delete(): void;
}

export interface LoadOptions {
  /** URL of digits.mjs (default: next to digits.js). */
  moduleUrl?: string | URL;
  /** URL of digits.wasm (default: next to digits.js). */
  wasmUrl?: string | URL;
  signal?: AbortSignal;
}

export interface CreateOptions extends LoadOptions {
  /** The model file's bytes (instead of fetching modelUrl). */
  model?: ArrayBuffer | Uint8Array;
  /** URL of the model (default: digits.safetensors next to digits.js). */
  modelUrl?: string | URL;
}

/** Loads the wasm module (once per URL) and a model. Rejects with a DigitsError. */
export declare function createRecognizer(options?: CreateOptions): Promise<Recognizer>;
/** Loads (and caches) the Emscripten module. */
export declare function loadModule(options?: LoadOptions): Promise<unknown>;
/** Why this browser cannot run the recognizer (no WebAssembly, no SIMD), or null. */
export declare function unsupportedReason(): string | null;
/** Packs strokes into the typed arrays the core takes. */
export declare function packStrokes(strokes: ArrayLike<Stroke>): { points: Float32Array; lengths: Uint32Array };
