// The int8 backend around a body (backend_int8.h), and the built-in body.
#include "backend_int8.h"

#include <vector>

#include "kernels.h"

namespace digits {
namespace {

// Layers 0..int8_end with the built-in int8 kernels, each into its own buffer; a conv followed by
// a relu is fused (the Grad-CAM layer is never inside the int8 part).
class BuiltinInt8Body : public Int8Body {
 public:
  explicit BuiltinInt8Body(const Network& network) : net_(network) {
    const int n = net_.int8_end + 1;
    packed_.resize(n);
    workspaces_.resize(n);
    buffers_.resize(n);
    for (int i = 0; i < n; ++i) {
      const Layer& layer = net_.layers[i];
      if (layer.type == LayerType::kConv2d) packed_[i] = kernels::PackConvQ8(layer);
      buffers_[i].resize(layer.output.size());
    }
    input_.resize(net_.input.size());
  }

  int8_t* input() override { return input_.data(); }

  Status Run(const int8_t** output) override {
    const int8_t* x = input_.data();
    for (int i = 0; i <= net_.int8_end; ++i) {
      const Layer& layer = net_.layers[i];
      int8_t* y = buffers_[i].data();
      switch (layer.type) {
        case LayerType::kConv2d: {
          const bool fuse = i + 1 <= net_.int8_end && net_.layers[i + 1].type == LayerType::kRelu;
          const int conv = i;
          if (fuse) y = buffers_[++i].data();
          kernels::Conv2dQ8(layer, packed_[conv], x, y, fuse, &workspaces_[conv]);
          break;
        }
        case LayerType::kRelu:
          kernels::ReluQ8(layer.output.size(), layer.input_q.zero_point, x, y);
          break;
        case LayerType::kMaxPool2d:
          kernels::MaxPool2dQ8(layer, x, y);
          break;
        default:  // refused at load: only conv2d, relu and maxpool2d come before int8_end
          return Status::Errorf("layer %d (%s) cannot run on int8", i, LayerTypeName(layer.type));
      }
      x = y;
    }
    *output = x;
    return Status::Ok();
  }

 private:
  const Network& net_;
  std::vector<kernels::PackedConvQ8> packed_;
  std::vector<kernels::ConvQ8Workspace> workspaces_;
  std::vector<std::vector<int8_t>> buffers_;
  std::vector<int8_t> input_;
};

class Int8Backend : public Backend {
 public:
  Int8Backend(const Network& network, BackendKind kind, std::unique_ptr<Int8Body> body)
      : net_(network), kind_(kind), body_(std::move(body)) {
    buffers_.resize(net_.layers.size());
    for (int i = net_.int8_end; i <= net_.logits_layer; ++i) {
      buffers_[i].resize(net_.layers[i].output.size());
    }
  }

  BackendKind kind() const override { return kind_; }

  Status Forward(const float* pixels, bool keep_gradcam_activations, ForwardOutput* out) override {
    const Quantization& q = net_.layers[0].input_q;
    kernels::QuantizeInput(net_.input.size(), pixels, net_.input_mean, net_.input_std, q,
                           body_->input());
    const int8_t* codes = nullptr;
    DIGITS_RETURN_IF_ERROR(body_->Run(&codes));
    const Layer& end = net_.layers[net_.int8_end];
    kernels::Dequantize(end.output.size(), end.output_q, codes, buffers_[net_.int8_end].data());
    const float* x = buffers_[net_.int8_end].data();
    for (int i = net_.int8_end + 1; i <= net_.logits_layer; ++i) {
      const Layer& layer = net_.layers[i];
      float* y = buffers_[i].data();
      // A conv is never here (every conv is in the int8 part), nor softmax (past the logits).
      if (!kernels::HeadLayer(layer, x, y)) {
        return Status::Errorf("layer %d (%s) in the float head", i, LayerTypeName(layer.type));
      }
      x = y;
    }
    out->logits.assign(x, x + net_.layers[net_.logits_layer].output.size());
    if (keep_gradcam_activations) {
      out->gradcam_activations = buffers_[net_.gradcam_layer];
    } else {
      out->gradcam_activations.clear();
    }
    return Status::Ok();
  }

 private:
  const Network& net_;
  const BackendKind kind_;
  std::unique_ptr<Int8Body> body_;
  std::vector<std::vector<float>> buffers_;  // per layer int8_end..logits_layer, float
};

}  // namespace

std::unique_ptr<Int8Body> CreateBuiltinInt8Body(const Network& network) {
  return std::make_unique<BuiltinInt8Body>(network);
}

std::unique_ptr<Backend> CreateInt8Backend(const Network& network, BackendKind kind,
                                           std::unique_ptr<Int8Body> body) {
  return std::make_unique<Int8Backend>(network, kind, std::move(body));
}

}  // namespace digits
