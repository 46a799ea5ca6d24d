// Network: the model file (safetensors, see core/MODEL_FORMAT.md) loaded, validated and
// shape-checked.
// Plain data: the layer list with inferred shapes and the weights in the core's internal layout.
// The backends (backend.h) run it; gradcam.h differentiates its head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "digits/limits.h"  // kMaxModelBytes
#include "digits/status.h"

namespace digits {

enum class LayerType { kConv2d, kRelu, kMaxPool2d, kGlobalAvgPool, kFlatten, kDense, kSoftmax };
const char* LayerTypeName(LayerType type);

// Activation shape in the core's internal layout, height x width x channels (HWC, channels
// fastest). Flat vectors are 1 x 1 x n.
struct Shape {
  int height = 0;
  int width = 0;
  int channels = 0;
  int size() const { return height * width * channels; }
  bool operator==(const Shape& o) const {
    return height == o.height && width == o.width && channels == o.channels;
  }
};

// How int8 codes stand for real values in an int8 model: real = (q - zero_point) * scale.
struct Quantization {
  float scale = 1.0f;
  int zero_point = 0;
};

struct Layer {
  LayerType type = LayerType::kRelu;
  std::string name;  // conv2d/dense: prefix of its tensors ("conv1" -> conv1.weight, conv1.bias)
  // conv2d and maxpool2d geometry.
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  Shape input, output;  // inferred at load
  // conv2d: [out][kh][kw][in] (OHWI); dense: [out][in], `in` in the HWC order of this layer's
  // input (columns of a dense after a spatial flatten are permuted from PyTorch's CHW at load).
  std::vector<float> weight;
  std::vector<float> bias;
  // int8 models, the layers up to Network::int8_end (core/MODEL_FORMAT.md, "int8 models"):
  // `input_q`/`output_q` say what this layer's int8 codes mean. A conv2d has instead of
  // weight/bias its int8 weight codes (OHWI), one weight scale per output channel, an int32 bias
  // at scale input_q.scale * weight_scale[o], and the requantization multipliers
  // requant[o] = (input_q.scale * weight_scale[o]) / output_q.scale, each product rounded to
  // float32 in that order (as XNNPACK computes them), so every backend requantizes alike.
  Quantization input_q, output_q;
  std::vector<int8_t> weight_q;
  std::vector<float> weight_scale;
  std::vector<int32_t> bias_q;
  std::vector<float> requant;
};

struct Network {
  Shape input;              // e.g. 28 x 28 x 1
  float input_mean = 0.0f;  // the network sees (pixel - mean) / std, pixels in [0, 1]
  float input_std = 1.0f;
  std::vector<std::string> labels;
  std::vector<Layer> layers;
  int logits_layer = -1;   // layer whose output are the logits (the last one before softmax)
  int gradcam_layer = -1;  // layer whose output is the Grad-CAM target (C feature maps)
  float unsure_threshold = 0.5f;
  // The class that means "not a digit" (letters, scribbles, shapes), -1 when the model has none,
  // and the probability of that class from which an input is reported as not a digit.
  int not_a_digit_class = -1;
  float not_a_digit_threshold = 0.5f;
  std::map<std::string, std::string> metadata;  // the file's other __metadata__ entries
  // int8 models: layers 0..int8_end compute on int8 codes (conv2d, relu, maxpool2d), from the
  // input quantized with layers[0].input_q; layer int8_end's output is dequantized and the layers
  // after it are float. -1 for a float model.
  int int8_end = -1;

  bool int8() const { return int8_end >= 0; }
  int num_classes() const { return static_cast<int>(labels.size()); }
  int64_t parameter_count() const;
  int64_t mac_count() const;  // multiply-adds of one forward pass
};

// Parses and validates a whole model file. On error the message names the problem (and the tensor
// or layer) and `out` is left unchanged.
Status LoadNetwork(const uint8_t* data, size_t size, Network* out);
Status LoadNetworkFile(const std::string& path, Network* out);

}  // namespace digits
