// Backends run a Network's forward pass. Two implementations behind one interface:
//   builtin  - the core's own kernels (kernels.h): portable C++ whose inner loops use 128-bit
//              vectors, i.e. WASM SIMD128 in the WebAssembly build; available everywhere;
//   xnnpack  - XNNPACK's subgraph API; native builds only (XNNPACK is not built for wasm here).
// Both run float models and int8 models (network.h, Network::int8(): the int8 part on the
// built-in int8 kernels, resp. XNNPACK's qc8 operators; backend_int8.h).
// A backend is created once per network (weights packed, XNNPACK runtime built) and reused for
// every call. One backend serves one thread at a time; the Network must outlive it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "digits/network.h"
#include "digits/status.h"

namespace digits {

enum class BackendKind { kBuiltin, kXnnpack };

const char* BackendName(BackendKind kind);
// "builtin" or "xnnpack".
bool ParseBackendKind(const std::string& name, BackendKind* kind);
// Whether this build includes the backend (xnnpack: native builds with XNNPACK found).
bool BackendAvailable(BackendKind kind);
// The fastest backend this build includes: xnnpack where available, else builtin.
BackendKind DefaultBackend();

struct ForwardOutput {
  std::vector<float> logits;  // num_classes values (before softmax)
  // Output of network.gradcam_layer, HWC (layers[gradcam_layer].output), when asked for.
  std::vector<float> gradcam_activations;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  // `pixels`: input.height x input.width x input.channels values in [0, 1], HWC (for one channel,
  // row-major). The network's input normalization is applied here.
  virtual Status Forward(const float* pixels, bool keep_gradcam_activations,
                         ForwardOutput* out) = 0;
};

Status CreateBackend(const Network& network, BackendKind kind, std::unique_ptr<Backend>* out);

// Softmax of `logits`, computed stably.
std::vector<float> Softmax(const std::vector<float>& logits);

}  // namespace digits
