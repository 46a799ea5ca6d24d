// Types for digit-recognizer.js: the <digit-recognizer> custom element.
import type { DigitResult, DigitsError, DigitsErrorCode, ModelInfo } from './digits.js';

export { DigitsError } from './digits.js';
export type { DigitResult, DigitsErrorCode, ModelInfo, Recognition, GradCam, InputMap } from './digits.js';

/** detail of the `recognize` event: fired once per animation frame while drawing, and after changes. */
export interface DigitRecognizeDetail {
  /** The text read ("7", "42"), "" when nothing is drawn. */
  value: string;
  text: string;
  /** True when a stroke ended or the drawing changed (clear, undo, strokes set): not mid-stroke. */
  final: boolean;
  empty: boolean;
  digits: DigitResult[];
  /** Time of this recognition in the page, milliseconds. */
  milliseconds: number;
}

/** detail of the `error` event: the model or wasm failed to load, or a drawing was refused. */
export interface DigitErrorDetail {
  message: string;
  code: DigitsErrorCode;
  error: DigitsError;
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
  /** Attribute `size`: the pad's width in CSS pixels (default 240). */
  size: number;
  /** Attribute `model`: the model's URL, relative to the document (default: next to the module). */
  model: string;
  disabled: boolean;
  required: boolean;
  /** The text read, "" when empty. Setting "" clears; other values throw. */
  value: string;
  /** The drawing, settable (coordinates in the 280 x 280 space). */
  strokes: DigitPoint[][];
  /** The last result, or null when nothing is read. */
  readonly result: { empty: boolean; text: string; digits: DigitResult[] } | null;
  /** Resolves once the wasm and model are loaded; rejects with a DigitsError. */
  readonly ready: Promise<void>;
  /** The model's info once loaded, else null. */
  readonly info: ModelInfo | null;
  readonly form: HTMLFormElement | null;
  readonly name: string | null;
  readonly validity: ValidityState | undefined;
  readonly validationMessage: string;
  checkValidity(): boolean;
  reportValidity(): boolean;
  clear(): void;
  undo(): void;
  redo(): void;

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
  change: Event;
}

export default DigitRecognizerElement;

declare global {
  interface HTMLElementTagNameMap {
    'digit-recognizer': DigitRecognizerElement;
  }
}
