// tfjs-backend-wasm's ES module build imports Node's fs, path, os and perf_hooks (used only under
// Node); the bench page's import map points those names here.
export default {};
