// Types for digits.js: the recognizer in the browser (WebAssembly core + model).

/** Why a call failed. `message` is written for people (the core's own words for model/input). */
export type DigitsErrorCode = 'unsupported' | 'network' | 'model' | 'input' | 'internal';

export declare class DigitsError extends Error {
  constructor(message: string, options?: { code?: DigitsErrorCode; cause?: unknown });
  readonly name: 'DigitsError';
  readonly code: DigitsErrorCode;
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
}

/** Canvas (or image) coordinates -> model grid: u = scale * x + offsetX, v = scale * y + offsetY. */
export interface InputMap {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export interface GradCam {
  /** The class explained. */
  class: number;
  /** Size of the raw map (the last conv layer's grid). */
  width: number;
  height: number;
  /** The raw map, width x height, in [0, 1]. */
  map: Float32Array;
  /** The map upsampled to the input grid (inputSize x inputSize), in [0, 1]. */
  heatmap: Float32Array;
}

export interface DigitResult {
  /** The most likely digit (never the "not a digit" class). */
  digit: number;
  /** Its label ("0".."9"). */
  label: string;
  /** Softmax probabilities, one per class (info().labels); the last is "not a digit". */
  probabilities: Float32Array;
  /** It does not look like a digit (a letter, a scribble, a shape): the "not a digit" class's
   * probability reached the model's threshold. `text` shows "?" for it. */
  not_a_digit: boolean;
  /** A digit, but its probability is below the model's unsure threshold. */
  unsure: boolean;
  /** The digit's ink: [x0, y0, x1, y1] in canvas (or image) coordinates. */
  box: [number, number, number, number];
  map: InputMap;
  /** What the model saw: inputSize x inputSize pixels in [0, 1], 0 = background. */
  input: Float32Array;
  /** Indices of this digit's strokes (strokes input only). */
  strokes: Int32Array;
  gradcam: GradCam | null;
}

export interface Recognition {
  /** Nothing drawn / no ink: `digits` is empty. */
  empty: boolean;
  /** The digits' labels, left to right; "?" for what is not a digit. */
  text: string;
  digits: DigitResult[];
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
