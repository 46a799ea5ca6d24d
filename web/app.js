// Placeholder page: loads the WebAssembly core and the model, runs one classification and says so.
import createDigitsModule from './digits.mjs';

const status = document.getElementById('status');
try {
  const [Module, model] = await Promise.all([
    createDigitsModule(),
    fetch(new URL('./digits.safetensors', import.meta.url)).then((r) => {
      if (!r.ok) throw new Error(`model: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  const recognizer = new Module.Recognizer(new Uint8Array(model));
  if (recognizer.error()) throw new Error(recognizer.error());
  const info = recognizer.info();
  const result = recognizer.classify(new Float32Array(info.inputHeight * info.inputWidth));
  if (result.error) throw new Error(result.error);
  status.textContent = `Core ready: ${info.parameters} parameters, ${info.macs} multiply-adds; ` +
    `a blank input reads as ${result.digit} (p = ${result.probabilities[result.digit].toFixed(3)}).`;
  status.dataset.ready = 'true';
} catch (e) {
  status.textContent = `The recognizer could not start: ${e.message}`;
  status.dataset.error = 'true';
}
