// Types for digit-recognizer.js: the <digit-recognizer> custom element.
import type { DigitResult, DigitsError, DigitsErrorCode, ModelInfo, Recognizer } from './digits.js';

export { DigitsError } from './digits.js';
export type { Alternative, DigitResult, DigitsErrorCode, Doubt, ModelInfo, Recognition, GradCam, InputMap } from './digits.js';

/**
 * detail of the `recognize` event: fired once per animation frame while drawing (unless
 * `events="final"`), and after each stroke and change.
 */
export interface DigitRecognizeDetail {
  /** The text read ("7", "42") with the person's answers (see `correct`), "" when nothing is drawn. */
  value: string;
  /** The text the recognizer read, before the person's answers. */
  text: string;
  /** Not mid-stroke: a stroke ended, the drawing changed (clear, undo, strokes, an image) or an option did. */
  final: boolean;
  empty: boolean;
  /**
   * One result per digit, left to right (core/RESULT_FORMAT.md). Each digit's `strokes` lists the
   * indices into the element's `strokes` it was read from (number mode: how the split grouped
   * them); empty for an image.
   */
  digits: DigitResult[];
  /** Per digit: the class the person chose for it (an alternative, or the answer confirmed), or null. */
  corrections: (number | null)[];
  /** A digit is doubtful (its `doubt` is "unsure" or "not_a_digit") and the person has not answered it. */
  doubtful: boolean;
  /** What was read: the strokes drawn, or an image (loadImage, the Image… button, a drop, a paste). */
  source: 'strokes' | 'image';
  /** Time of this recognition in the page, milliseconds. */
  milliseconds: number;
}

/** detail of the `error` event: the recognizer could not load, or a drawing or an image was refused. */
export interface DigitErrorDetail {
  /** Plain words for the people using the page; the element shows it in the pad. */
  message: string;
  /** The technical detail for developers (URL, HTTP status, the core's message); also logged to the console. */
  detail: string;
  code: DigitsErrorCode;
  /** The recognizer could not load: the pad is off until retry() (or the Try again button) succeeds. */
  fatal: boolean;
  error: DigitsError;
}

/** detail of the `correct` event: the person answered a doubtful digit's question (a tap, a digit key, or correct()). */
export interface DigitCorrectDetail {
  /** Which digit of the result, left to right. */
  index: number;
  /** The class chosen: a digit (0-9), or the model's "not a digit" class. */
  digit: number;
  /** Its label as it stands in `value` ("7", or "?" for "not a digit"). */
  label: string;
  /** What the recognizer had answered: its digit, or the "not a digit" class. */
  was: number;
  /** The element's value now. */
  value: string;
  digits: DigitResult[];
}

/** A point in the element's 280 x 280 drawing space (whatever its CSS size). */
export interface DigitPoint { x: number; y: number }

export declare class DigitRecognizerElement extends HTMLElement {
  static readonly formAssociated: true;
  static readonly observedAttributes: string[];
  /** Attribute `mode`: "digit" (default) or "number". */
  mode: 'digit' | 'number';
  /** Attribute `gradcam`: draw the Grad-CAM heatmap over the strokes. */
  gradcam: boolean;
  /** Attribute `gradcam-class`: explain this class instead of the prediction (null: prediction). */
  gradcamClass: number | null;
  /** Attribute `gradcam-versus`: explain the class against this one, "why 7 and not 1" (null: none). */
  gradcamVersus: number | null;
  /** Attribute `size`: the pad's width in CSS pixels (default 240). */
  size: number;
  /** Attribute `model`: the model's URL, relative to the document (default: next to the module). */
  model: string;
  /** Attribute `events`: "live" (default) fires `recognize` every frame while drawing; "final" only when not mid-stroke. */
  events: 'live' | 'final';
  /** Attribute `images`: an Image… button, and images dropped on the pad or pasted are read. */
  images: boolean;
  /** Attribute `keyboard`: "pad" (default) takes the keys while the pad has focus; "document" anywhere but in text fields. */
  keyboard: 'pad' | 'document';
  disabled: boolean;
  required: boolean;
  /** Attribute `require-sure`: as a form field, invalid while a digit is doubtful and not answered. */
  requireSure: boolean;
  /** The text read, with the person's answers; "" when empty. Setting "" clears; other values throw. */
  value: string;
  /** Per digit of `result`: the class the person chose for it, or null. */
  readonly corrections: (number | null)[];
  /** A digit is doubtful and not answered yet. */
  readonly doubtful: boolean;
  /** The drawing, settable (coordinates in the 280 x 280 space). */
  strokes: DigitPoint[][];
  /** The last result, or null when nothing is read. */
  readonly result: { empty: boolean; text: string; digits: DigitResult[] } | null;
  /** Resolves once the wasm and model are loaded; rejects with a DigitsError. */
  readonly ready: Promise<void>;
  /** The model's info once loaded, else null. */
  readonly info: ModelInfo | null;
  /** The digits.js Recognizer once loaded (shared by the elements with the same model; do not delete it), else null. */
  readonly recognizer: Recognizer | null;
  /** The image being read, as decoded RGBA pixels (at most 640 px a side), or null when it reads strokes. */
  readonly image: { data: Uint8ClampedArray; width: number; height: number } | null;
  readonly form: HTMLFormElement | null;
  readonly name: string | null;
  readonly validity: ValidityState | undefined;
  readonly validationMessage: string;
  checkValidity(): boolean;
  reportValidity(): boolean;
  /** Clears the drawing or the image; undo() brings it back. */
  clear(): void;
  undo(): void;
  redo(): void;
  /** Answers digit `index` with class `cls` (as a tap on its question would): fires `correct`. False if there is no such digit or class. */
  correct(index: number, cls: number): boolean;
  /** Opens the question about digit `index` on the pad (its candidates, and Redraw). */
  ask(index: number): boolean;
  /** Removes digit `index`'s strokes (all of a single digit or an image) so it alone is drawn again; undo() puts them back. */
  redraw(index: number): boolean;
  /**
   * Reads a digit from an image instead of a drawing (File/Blob, ImageData, ImageBitmap, canvas, <img>).
   * Rejects with a DigitsError (code "input") when it is not an image, also shown and fired as `error`.
   */
  loadImage(image: Blob | ImageData | ImageBitmap | HTMLCanvasElement | HTMLImageElement | OffscreenCanvas): Promise<void>;
  /** After a failed load (data-state="error"): loads again. */
  retry(): void;
  /** Recognizes the drawing now (it otherwise runs at most once a frame), fires `recognize`, returns the result. */
  recognize(): { empty: boolean; text: string; digits: DigitResult[] } | null;

  addEventListener<K extends keyof DigitRecognizerEventMap>(type: K,
    listener: (this: DigitRecognizerElement, ev: DigitRecognizerEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof DigitRecognizerEventMap>(type: K,
    listener: (this: DigitRecognizerElement, ev: DigitRecognizerEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions): void;
}

export interface DigitRecognizerEventMap extends Omit<HTMLElementEventMap, 'error'> {
  recognize: CustomEvent<DigitRecognizeDetail>;
  error: CustomEvent<DigitErrorDetail>;
  ready: CustomEvent<{ info: ModelInfo }>;
  correct: CustomEvent<DigitCorrectDetail>;
  change: Event;
}

/** Choices in words, as the questions say them: "7", "1 or 7", "4, 9 or 8". */
export declare function orList(labels: string[]): string;

/** A probability as the element shows it: "97.3%", "<0.1%", "100%". */
export declare function formatPercent(p: number): string;

export default DigitRecognizerElement;

declare global {
  interface HTMLElementTagNameMap {
    'digit-recognizer': DigitRecognizerElement;
  }
}
