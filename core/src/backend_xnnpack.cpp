// The XNNPACK backend: the network as one XNNPACK subgraph, turned into a runtime once per model;
// each call normalizes the input into the runtime's bound input buffer and invokes it.
// Native builds only (DIGITS_WITH_XNNPACK).
#include <xnnpack.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "backend_int8.h"
#include "digits/backend.h"

namespace digits {
namespace {

constexpr uint32_t kInputId = 0;
constexpr uint32_t kLogitsId = 1;
constexpr uint32_t kGradcamId = 2;
constexpr uint32_t kExternalIds = 3;
// The int8 body's subgraph: its input is kInputId (int8 codes), its output the int8 part's last
// layer.
constexpr uint32_t kInt8OutputId = 1;

// Max pooling is the same node in the float network and the int8 body (XNNPACK picks the kernel
// by the tensors' type).
xnn_status DefineMaxPool(xnn_subgraph_t subgraph, const Layer& layer, uint32_t x, uint32_t y) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  return xnn_define_max_pooling_2d(subgraph, layer.pad_h, layer.pad_w, layer.pad_h, layer.pad_w,
                                   layer.kernel_h, layer.kernel_w, layer.stride_h, layer.stride_w,
                                   1, 1, -kInf, kInf, x, y, 0);
}

Status XnnError(const char* what, xnn_status status) {
  return Status::Errorf("xnnpack: %s failed (status %d)", what, static_cast<int>(status));
}

Status InitializeXnnpackOnce() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(/*allocator=*/nullptr); });
  if (status != xnn_status_success) return XnnError("xnn_initialize (unsupported CPU?)", status);
  return Status::Ok();
}

// The layer whose buffer holds layer `i`'s output: flatten is a no-op in HWC, so it aliases
// its input; -1 is the network input.
int Producer(const Network& net, int i) {
  while (i >= 0 && net.layers[i].type == LayerType::kFlatten) --i;
  return i;
}

class XnnpackBackend : public Backend {
 public:
  explicit XnnpackBackend(const Network& network) : net_(network) {}
  ~XnnpackBackend() override {
    if (runtime_) xnn_delete_runtime(runtime_);
  }

  Status Init() {
    DIGITS_RETURN_IF_ERROR(InitializeXnnpackOnce());
    logits_producer_ = Producer(net_, net_.logits_layer);
    gradcam_producer_ = Producer(net_, net_.gradcam_layer);
    if (logits_producer_ < 0) return Status::Error("xnnpack: the network computes nothing");
    // The input buffer is read with up to XNN_EXTRA_BYTES of overrun.
    input_.assign(net_.input.size() + XNN_EXTRA_BYTES / sizeof(float), 0.0f);
    logits_.resize(net_.layers[net_.logits_layer].output.size());
    const bool gradcam_external = gradcam_producer_ >= 0 && gradcam_producer_ != logits_producer_;
    if (gradcam_external) gradcam_.resize(net_.layers[net_.gradcam_layer].output.size());

    xnn_subgraph_t subgraph = nullptr;
    xnn_status s = xnn_create_subgraph(kExternalIds, 0, &subgraph);
    if (s != xnn_status_success) return XnnError("xnn_create_subgraph", s);
    Status status = Define(subgraph, gradcam_external);
    if (status.ok()) {
      s = xnn_create_runtime_v2(subgraph, /*threadpool=*/nullptr, 0, &runtime_);
      if (s != xnn_status_success) status = XnnError("xnn_create_runtime_v2", s);
    }
    xnn_delete_subgraph(subgraph);  // the runtime does not need it
    DIGITS_RETURN_IF_ERROR(status);

    // The buffers never move, so the runtime is set up once.
    xnn_external_value values[3] = {{kInputId, input_.data()}, {kLogitsId, logits_.data()}};
    size_t count = 2;
    if (gradcam_external) values[count++] = {kGradcamId, gradcam_.data()};
    s = xnn_setup_runtime(runtime_, count, values);
    if (s != xnn_status_success) return XnnError("xnn_setup_runtime", s);
    return Status::Ok();
  }

  BackendKind kind() const override { return BackendKind::kXnnpack; }

  Status Forward(const float* pixels, bool keep_gradcam_activations, ForwardOutput* out) override {
    const float scale = 1.0f / net_.input_std;
    const size_t n = net_.input.size();
    for (size_t i = 0; i < n; ++i) input_[i] = (pixels[i] - net_.input_mean) * scale;
    const xnn_status s = xnn_invoke_runtime(runtime_);
    if (s != xnn_status_success) return XnnError("xnn_invoke_runtime", s);
    out->logits = logits_;
    out->gradcam_activations.clear();
    if (keep_gradcam_activations) {
      if (gradcam_producer_ < 0) {
        out->gradcam_activations.assign(input_.begin(), input_.begin() + n);
      } else if (gradcam_producer_ == logits_producer_) {
        out->gradcam_activations = logits_;
      } else {
        out->gradcam_activations = gradcam_;
      }
    }
    return Status::Ok();
  }

 private:
  Status DefineValue(xnn_subgraph_t subgraph, const Shape& shape, bool spatial, const float* data,
                     uint32_t external_id, uint32_t flags, uint32_t* id) {
    const size_t nhwc[4] = {1, static_cast<size_t>(shape.height), static_cast<size_t>(shape.width),
                            static_cast<size_t>(shape.channels)};
    const size_t nc[2] = {1, static_cast<size_t>(shape.size())};
    const xnn_status s = xnn_define_tensor_value(subgraph, xnn_datatype_fp32, spatial ? 4 : 2,
                                                 spatial ? nhwc : nc, data, external_id, flags, id);
    if (s != xnn_status_success) return XnnError("xnn_define_tensor_value", s);
    return Status::Ok();
  }

  Status DefineStatic(xnn_subgraph_t subgraph, std::initializer_list<size_t> dims,
                      const float* data, uint32_t* id) {
    const std::vector<size_t> d(dims);
    const xnn_status s = xnn_define_tensor_value(subgraph, xnn_datatype_fp32, d.size(), d.data(),
                                                 data, XNN_INVALID_VALUE_ID, 0, id);
    if (s != xnn_status_success) return XnnError("xnn_define_tensor_value (weights)", s);
    return Status::Ok();
  }

  Status Define(xnn_subgraph_t subgraph, bool gradcam_external) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    uint32_t input_id = kInputId;
    DIGITS_RETURN_IF_ERROR(DefineValue(subgraph, net_.input, true, nullptr, kInputId,
                                       XNN_VALUE_FLAG_EXTERNAL_INPUT, &input_id));
    uint32_t x = input_id;
    for (int i = 0; i <= net_.logits_layer; ++i) {
      const Layer& layer = net_.layers[i];
      if (layer.type == LayerType::kFlatten) continue;  // aliases its input
      uint32_t external_id = XNN_INVALID_VALUE_ID, flags = 0;
      if (i == logits_producer_) {
        external_id = kLogitsId;
        flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
      } else if (i == gradcam_producer_ && gradcam_external) {
        external_id = kGradcamId;
        flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
      }
      // Dense outputs are 2D [1, n]; everything else NHWC.
      const bool spatial = layer.type != LayerType::kDense;
      uint32_t y = 0;
      DIGITS_RETURN_IF_ERROR(
          DefineValue(subgraph, layer.output, spatial, nullptr, external_id, flags, &y));
      xnn_status s = xnn_status_success;
      switch (layer.type) {
        case LayerType::kConv2d: {
          uint32_t w = 0, b = 0;
          DIGITS_RETURN_IF_ERROR(DefineStatic(
              subgraph,
              {static_cast<size_t>(layer.output.channels), static_cast<size_t>(layer.kernel_h),
               static_cast<size_t>(layer.kernel_w), static_cast<size_t>(layer.input.channels)},
              layer.weight.data(), &w));
          DIGITS_RETURN_IF_ERROR(DefineStatic(
              subgraph, {static_cast<size_t>(layer.output.channels)}, layer.bias.data(), &b));
          s = xnn_define_convolution_2d(subgraph, layer.pad_h, layer.pad_w, layer.pad_h,
                                        layer.pad_w, layer.kernel_h, layer.kernel_w, layer.stride_h,
                                        layer.stride_w, 1, 1, 1, layer.input.channels,
                                        layer.output.channels, -kInf, kInf, x, w, b, y, 0);
          break;
        }
        case LayerType::kRelu:
          s = xnn_define_clamp(subgraph, 0.0f, kInf, x, y, 0);
          break;
        case LayerType::kMaxPool2d:
          s = DefineMaxPool(subgraph, layer, x, y);
          break;
        case LayerType::kGlobalAvgPool:
          s = xnn_define_global_average_pooling_2d(subgraph, -kInf, kInf, x, y, 0);
          break;
        case LayerType::kDense: {
          uint32_t w = 0, b = 0;
          DIGITS_RETURN_IF_ERROR(DefineStatic(
              subgraph,
              {static_cast<size_t>(layer.output.size()), static_cast<size_t>(layer.input.size())},
              layer.weight.data(), &w));
          DIGITS_RETURN_IF_ERROR(DefineStatic(subgraph, {static_cast<size_t>(layer.output.size())},
                                              layer.bias.data(), &b));
          // Flattens whatever comes in (NHWC or [1, n]) to [1, in].
          s = xnn_define_fully_connected(subgraph, -kInf, kInf, x, w, b, y,
                                         XNN_FLAG_TENSORFLOW_RESHAPE_2D);
          break;
        }
        case LayerType::kFlatten:
        case LayerType::kSoftmax:
          break;
      }
      if (s != xnn_status_success) {
        return Status::Errorf("xnnpack: cannot define layer %d (%s), status %d", i,
                              LayerTypeName(layer.type), static_cast<int>(s));
      }
      x = y;
    }
    return Status::Ok();
  }

  const Network& net_;
  xnn_runtime_t runtime_ = nullptr;
  int logits_producer_ = -1, gradcam_producer_ = -1;
  std::vector<float> input_, logits_, gradcam_;
};

// Layers 0..int8_end of an int8 model as one XNNPACK subgraph on qint8 values: convolutions with
// per-channel int8 weights (qcint8) and int32 biases (qcint32), i.e. XNNPACK's qc8 operators, whose
// requantization is float32 like the built-in one; a relu after a conv becomes the conv's lower
// bound (0.0, i.e. the output's zero point); max pooling on int8.
class XnnpackInt8Body : public Int8Body {
 public:
  explicit XnnpackInt8Body(const Network& network) : net_(network) {}
  ~XnnpackInt8Body() override {
    if (runtime_) xnn_delete_runtime(runtime_);
  }

  Status Init() {
    DIGITS_RETURN_IF_ERROR(InitializeXnnpackOnce());
    // The input buffer is read with up to XNN_EXTRA_BYTES of overrun.
    input_.assign(net_.input.size() + XNN_EXTRA_BYTES, 0);
    output_.resize(net_.layers[net_.int8_end].output.size());
    xnn_subgraph_t subgraph = nullptr;
    xnn_status s = xnn_create_subgraph(2, 0, &subgraph);
    if (s != xnn_status_success) return XnnError("xnn_create_subgraph", s);
    Status status = Define(subgraph);
    if (status.ok()) {
      s = xnn_create_runtime_v2(subgraph, /*threadpool=*/nullptr, 0, &runtime_);
      if (s != xnn_status_success) status = XnnError("xnn_create_runtime_v2 (int8)", s);
    }
    xnn_delete_subgraph(subgraph);
    DIGITS_RETURN_IF_ERROR(status);
    const xnn_external_value values[2] = {{kInputId, input_.data()},
                                          {kInt8OutputId, output_.data()}};
    s = xnn_setup_runtime(runtime_, 2, values);
    if (s != xnn_status_success) return XnnError("xnn_setup_runtime (int8)", s);
    return Status::Ok();
  }

  int8_t* input() override { return input_.data(); }

  Status Run(const int8_t** output) override {
    const xnn_status s = xnn_invoke_runtime(runtime_);
    if (s != xnn_status_success) return XnnError("xnn_invoke_runtime (int8)", s);
    *output = output_.data();
    return Status::Ok();
  }

 private:
  Status DefineQ8(xnn_subgraph_t subgraph, const Shape& shape, const Quantization& q,
                  uint32_t external_id, uint32_t flags, uint32_t* id) {
    const size_t nhwc[4] = {1, static_cast<size_t>(shape.height), static_cast<size_t>(shape.width),
                            static_cast<size_t>(shape.channels)};
    const xnn_status s =
        xnn_define_quantized_tensor_value(subgraph, xnn_datatype_qint8, q.zero_point, q.scale, 4,
                                          nhwc, nullptr, external_id, flags, id);
    if (s != xnn_status_success) return XnnError("xnn_define_quantized_tensor_value", s);
    return Status::Ok();
  }

  Status Define(xnn_subgraph_t subgraph) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    uint32_t x = 0;
    DIGITS_RETURN_IF_ERROR(DefineQ8(subgraph, net_.input, net_.layers[0].input_q, kInputId,
                                    XNN_VALUE_FLAG_EXTERNAL_INPUT, &x));
    bias_scales_.resize(net_.int8_end + 1);
    for (int i = 0; i <= net_.int8_end; ++i) {
      const Layer& layer = net_.layers[i];
      const bool fuse = layer.type == LayerType::kConv2d && i + 1 <= net_.int8_end &&
                        net_.layers[i + 1].type == LayerType::kRelu;
      const int last = fuse ? i + 1 : i;  // the layer whose output this node writes
      uint32_t y = 0;
      DIGITS_RETURN_IF_ERROR(
          DefineQ8(subgraph, net_.layers[last].output, net_.layers[last].output_q,
                   last == net_.int8_end ? kInt8OutputId : XNN_INVALID_VALUE_ID,
                   last == net_.int8_end ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &y));
      xnn_status s = xnn_status_success;
      switch (layer.type) {
        case LayerType::kConv2d: {
          const size_t out = layer.output.channels;
          const size_t w_dims[4] = {out, static_cast<size_t>(layer.kernel_h),
                                    static_cast<size_t>(layer.kernel_w),
                                    static_cast<size_t>(layer.input.channels)};
          uint32_t w = 0, b = 0;
          s = xnn_define_channelwise_quantized_tensor_value(
              subgraph, xnn_datatype_qcint8, layer.weight_scale.data(), 4, 0, w_dims,
              layer.weight_q.data(), XNN_INVALID_VALUE_ID, 0, &w);
          if (s != xnn_status_success) return XnnError("define the int8 weights", s);
          // The bias's scale per channel: input scale * weight scale, as the file defines it.
          std::vector<float>& bias_scale = bias_scales_[i];
          bias_scale.resize(out);
          for (size_t o = 0; o < out; ++o) {
            bias_scale[o] = layer.input_q.scale * layer.weight_scale[o];
          }
          s = xnn_define_channelwise_quantized_tensor_value(
              subgraph, xnn_datatype_qcint32, bias_scale.data(), 1, 0, &out, layer.bias_q.data(),
              XNN_INVALID_VALUE_ID, 0, &b);
          if (s != xnn_status_success) return XnnError("define the int32 bias", s);
          s = xnn_define_convolution_2d(
              subgraph, layer.pad_h, layer.pad_w, layer.pad_h, layer.pad_w, layer.kernel_h,
              layer.kernel_w, layer.stride_h, layer.stride_w, 1, 1, 1, layer.input.channels,
              layer.output.channels, fuse ? 0.0f : -kInf, kInf, x, w, b, y, 0);
          break;
        }
        case LayerType::kRelu:
          s = xnn_define_clamp(subgraph, 0.0f, kInf, x, y, 0);
          break;
        case LayerType::kMaxPool2d:
          s = DefineMaxPool(subgraph, layer, x, y);
          break;
        default:
          return Status::Errorf("xnnpack: layer %d (%s) cannot run on int8", i,
                                LayerTypeName(layer.type));
      }
      if (s != xnn_status_success) {
        return Status::Errorf("xnnpack: cannot define int8 layer %d (%s), status %d", i,
                              LayerTypeName(layer.type), static_cast<int>(s));
      }
      i = last;
      x = y;
    }
    return Status::Ok();
  }

  const Network& net_;
  xnn_runtime_t runtime_ = nullptr;
  std::vector<int8_t> input_, output_;
  std::vector<std::vector<float>> bias_scales_;  // kept: XNNPACK reads them when it packs
};

}  // namespace

Status CreateXnnpackInt8Body(const Network& network, std::unique_ptr<Int8Body>* out) {
  auto body = std::make_unique<XnnpackInt8Body>(network);
  DIGITS_RETURN_IF_ERROR(body->Init());
  *out = std::move(body);
  return Status::Ok();
}

Status CreateXnnpackBackend(const Network& network, std::unique_ptr<Backend>* out) {
  auto backend = std::make_unique<XnnpackBackend>(network);
  DIGITS_RETURN_IF_ERROR(backend->Init());
  *out = std::move(backend);
  return Status::Ok();
}

}  // namespace digits
