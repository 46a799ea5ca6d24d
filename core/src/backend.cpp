// The backend interface and the built-in backend. The XNNPACK backend is in backend_xnnpack.cpp.
#include "digits/backend.h"

#include <algorithm>
#include <cmath>

#include "backend_int8.h"
#include "kernels.h"

namespace digits {

#if DIGITS_WITH_XNNPACK
// Defined in backend_xnnpack.cpp.
Status CreateXnnpackBackend(const Network& network, std::unique_ptr<Backend>* out);
#endif

namespace {

// Runs the layers one after another, each into its own buffer (the whole network's activations
// are ~30 KB). A conv followed by a relu is fused unless the conv's own output is the Grad-CAM
// target.
class BuiltinBackend : public Backend {
 public:
  explicit BuiltinBackend(const Network& network) : net_(network) {
    const size_t n = net_.layers.size();
    packed_.resize(n);
    workspaces_.resize(n);
    buffers_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Layer& layer = net_.layers[i];
      if (layer.type == LayerType::kConv2d) packed_[i] = kernels::PackConv(layer);
      buffers_[i].resize(layer.output.size());
    }
    input_.resize(net_.input.size());
  }

  BackendKind kind() const override { return BackendKind::kBuiltin; }

  Status Forward(const float* pixels, bool keep_gradcam_activations, ForwardOutput* out) override {
    const float scale = 1.0f / net_.input_std;
    for (size_t i = 0; i < input_.size(); ++i) input_[i] = (pixels[i] - net_.input_mean) * scale;
    const float* x = input_.data();
    const int last = net_.logits_layer;
    for (int i = 0; i <= last; ++i) {
      const Layer& layer = net_.layers[i];
      float* y = buffers_[i].data();
      if (layer.type == LayerType::kConv2d) {
        const bool fuse =
            i + 1 <= last && net_.layers[i + 1].type == LayerType::kRelu && i != net_.gradcam_layer;
        const int conv = i;
        if (fuse) y = buffers_[++i].data();  // the relu's buffer; skip the relu
        kernels::Conv2d(layer, packed_[conv], x, y, fuse, &workspaces_[conv]);
      } else {
        kernels::HeadLayer(layer, x, y);  // softmax is never reached: the loop stops at the logits
      }
      x = y;
    }
    out->logits.assign(x, x + net_.layers[last].output.size());
    if (keep_gradcam_activations) {
      out->gradcam_activations = buffers_[net_.gradcam_layer];
    } else {
      out->gradcam_activations.clear();
    }
    return Status::Ok();
  }

 private:
  const Network& net_;
  std::vector<kernels::PackedConv> packed_;  // per layer, conv layers only
  std::vector<std::vector<float>> buffers_;  // per layer output
  std::vector<float> input_;
  std::vector<kernels::ConvWorkspace> workspaces_;  // per layer, conv layers only
};

}  // namespace

const char* BackendName(BackendKind kind) {
  return kind == BackendKind::kXnnpack ? "xnnpack" : "builtin";
}

bool ParseBackendKind(const std::string& name, BackendKind* kind) {
  if (name == "builtin") {
    *kind = BackendKind::kBuiltin;
  } else if (name == "xnnpack") {
    *kind = BackendKind::kXnnpack;
  } else {
    return false;
  }
  return true;
}

bool BackendAvailable(BackendKind kind) {
#if DIGITS_WITH_XNNPACK
  return true;
#else
  return kind == BackendKind::kBuiltin;
#endif
}

BackendKind DefaultBackend() {
  return BackendAvailable(BackendKind::kXnnpack) ? BackendKind::kXnnpack : BackendKind::kBuiltin;
}

Status CreateBackend(const Network& network, BackendKind kind, std::unique_ptr<Backend>* out) {
  if (network.layers.empty()) return Status::Error("the network has no layers (not loaded?)");
  if (network.int8()) {
    if (kind == BackendKind::kBuiltin) {
      *out = CreateInt8Backend(network, kind, CreateBuiltinInt8Body(network));
      return Status::Ok();
    }
#if DIGITS_WITH_XNNPACK
    std::unique_ptr<Int8Body> body;
    DIGITS_RETURN_IF_ERROR(CreateXnnpackInt8Body(network, &body));
    *out = CreateInt8Backend(network, kind, std::move(body));
    return Status::Ok();
#else
    return Status::Error("the xnnpack backend is not part of this build (use builtin)");
#endif
  }
  if (kind == BackendKind::kBuiltin) {
    *out = std::make_unique<BuiltinBackend>(network);
    return Status::Ok();
  }
#if DIGITS_WITH_XNNPACK
  return CreateXnnpackBackend(network, out);
#else
  return Status::Error("the xnnpack backend is not part of this build (use builtin)");
#endif
}

std::vector<float> Softmax(const std::vector<float>& logits) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - max);
  for (float& v : p) v = static_cast<float>(v / sum);
  return p;
}

}  // namespace digits
