#include "digits/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "digits/file.h"
#include "json.h"
#include "safetensors.h"

namespace digits {
namespace {

// Bounds that keep shape arithmetic far from int overflow (the input is 28x28).
constexpr int64_t kMaxDim = 1 << 12;
constexpr int64_t kMaxElements = 1 << 26;

// Typed accessors for JSON objects that never throw (the core is built without exceptions).
Status GetInt(const JsonValue& obj, const std::string& where, const char* key, int64_t* out) {
  const JsonValue* it = obj.Find(key);
  if (!it) return Status::Errorf("%s: missing \"%s\"", where.c_str(), key);
  if (!it->is_number_integer()) {
    return Status::Errorf("%s: \"%s\" must be an integer", where.c_str(), key);
  }
  *out = it->as_int();
  return Status::Ok();
}

Status GetPositiveInt(const JsonValue& obj, const std::string& where, const char* key, int* out) {
  int64_t value = 0;
  DIGITS_RETURN_IF_ERROR(GetInt(obj, where, key, &value));
  if (value < 1 || value > kMaxDim) {
    return Status::Errorf("%s: \"%s\" is %lld, expected 1..%lld", where.c_str(), key,
                          static_cast<long long>(value), static_cast<long long>(kMaxDim));
  }
  *out = static_cast<int>(value);
  return Status::Ok();
}

Status GetFloat(const JsonValue& obj, const std::string& where, const char* key, float* out) {
  const JsonValue* it = obj.Find(key);
  if (!it) return Status::Errorf("%s: missing \"%s\"", where.c_str(), key);
  if (!it->is_number()) return Status::Errorf("%s: \"%s\" must be a number", where.c_str(), key);
  const double value = it->as_double();
  if (!std::isfinite(value) || std::fabs(value) > 1e30) {
    return Status::Errorf("%s: \"%s\" is not a finite number", where.c_str(), key);
  }
  *out = static_cast<float>(value);
  return Status::Ok();
}

// A [a, b] pair of integers in `range`; a missing key gives `fallback`.
Status GetPair(const JsonValue& obj, const std::string& where, const char* key, int min_value,
               int fallback, int* a, int* b) {
  const JsonValue* it = obj.Find(key);
  if (!it) {
    *a = *b = fallback;
    return Status::Ok();
  }
  if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() ||
      !(*it)[1].is_number_integer()) {
    return Status::Errorf("%s: \"%s\" must be a pair of integers [h, w]", where.c_str(), key);
  }
  const int64_t x = (*it)[0].as_int(), y = (*it)[1].as_int();
  if (x < min_value || y < min_value || x > kMaxDim || y > kMaxDim) {
    return Status::Errorf("%s: \"%s\" [%lld, %lld] is out of range", where.c_str(), key,
                          static_cast<long long>(x), static_cast<long long>(y));
  }
  *a = static_cast<int>(x);
  *b = static_cast<int>(y);
  return Status::Ok();
}

Status ParseLayer(const JsonValue& spec, int index, const Shape& input, Layer* layer) {
  const std::string where = "layer " + std::to_string(index);
  if (!spec.is_object()) return Status::Errorf("%s: must be an object", where.c_str());
  const JsonValue* type = spec.Find("type");
  if (!type || !type->is_string()) {
    return Status::Errorf("%s: missing \"type\"", where.c_str());
  }
  const std::string t = type->as_string();
  layer->input = input;
  if (t == "conv2d" || t == "dense") {
    const JsonValue* name = spec.Find("name");
    if (!name || !name->is_string() || name->as_string().empty()) {
      return Status::Errorf("%s (%s): missing \"name\"", where.c_str(), t.c_str());
    }
    layer->name = name->as_string();
  }
  if (t == "conv2d") {
    layer->type = LayerType::kConv2d;
    int in = 0, out = 0;
    DIGITS_RETURN_IF_ERROR(GetPositiveInt(spec, where, "in_channels", &in));
    DIGITS_RETURN_IF_ERROR(GetPositiveInt(spec, where, "out_channels", &out));
    DIGITS_RETURN_IF_ERROR(
        GetPair(spec, where, "kernel", 1, 0, &layer->kernel_h, &layer->kernel_w));
    if (layer->kernel_h == 0) return Status::Errorf("%s: missing \"kernel\"", where.c_str());
    DIGITS_RETURN_IF_ERROR(
        GetPair(spec, where, "stride", 1, 1, &layer->stride_h, &layer->stride_w));
    DIGITS_RETURN_IF_ERROR(GetPair(spec, where, "padding", 0, 0, &layer->pad_h, &layer->pad_w));
    if (in != input.channels) {
      return Status::Errorf("%s (conv2d '%s'): in_channels is %d but its input has %d channels",
                            where.c_str(), layer->name.c_str(), in, input.channels);
    }
    layer->output.channels = out;
  } else if (t == "maxpool2d") {
    layer->type = LayerType::kMaxPool2d;
    DIGITS_RETURN_IF_ERROR(
        GetPair(spec, where, "kernel", 1, 0, &layer->kernel_h, &layer->kernel_w));
    if (layer->kernel_h == 0) return Status::Errorf("%s: missing \"kernel\"", where.c_str());
    // PyTorch's default stride is the kernel size.
    DIGITS_RETURN_IF_ERROR(
        GetPair(spec, where, "stride", 1, 0, &layer->stride_h, &layer->stride_w));
    if (layer->stride_h == 0) {
      layer->stride_h = layer->kernel_h;
      layer->stride_w = layer->kernel_w;
    }
    DIGITS_RETURN_IF_ERROR(GetPair(spec, where, "padding", 0, 0, &layer->pad_h, &layer->pad_w));
    if (2 * layer->pad_h > layer->kernel_h || 2 * layer->pad_w > layer->kernel_w) {
      return Status::Errorf("%s: maxpool2d padding must be at most half the kernel", where.c_str());
    }
    layer->output.channels = input.channels;
  } else if (t == "relu") {
    layer->type = LayerType::kRelu;
  } else if (t == "global_avg_pool") {
    layer->type = LayerType::kGlobalAvgPool;
  } else if (t == "flatten") {
    layer->type = LayerType::kFlatten;
  } else if (t == "dense") {
    layer->type = LayerType::kDense;
    int in = 0, out = 0;
    DIGITS_RETURN_IF_ERROR(GetPositiveInt(spec, where, "in_features", &in));
    DIGITS_RETURN_IF_ERROR(GetPositiveInt(spec, where, "out_features", &out));
    if (input.height != 1 || input.width != 1) {
      return Status::Errorf("%s (dense '%s'): input is %dx%dx%d, not flat (add a flatten layer)",
                            where.c_str(), layer->name.c_str(), input.channels, input.height,
                            input.width);
    }
    if (in != input.channels) {
      return Status::Errorf("%s (dense '%s'): in_features is %d but its input has %d values",
                            where.c_str(), layer->name.c_str(), in, input.channels);
    }
    layer->output = {1, 1, out};
  } else if (t == "softmax") {
    layer->type = LayerType::kSoftmax;
  } else {
    return Status::Errorf("%s: unknown layer type '%s'", where.c_str(), t.c_str());
  }

  switch (layer->type) {
    case LayerType::kConv2d:
    case LayerType::kMaxPool2d: {
      const int64_t oh = (input.height + 2 * layer->pad_h - layer->kernel_h) / layer->stride_h + 1;
      const int64_t ow = (input.width + 2 * layer->pad_w - layer->kernel_w) / layer->stride_w + 1;
      if (input.height + 2 * layer->pad_h < layer->kernel_h ||
          input.width + 2 * layer->pad_w < layer->kernel_w || oh < 1 || ow < 1) {
        return Status::Errorf("%s (%s): kernel %dx%d does not fit its %dx%d input", where.c_str(),
                              t.c_str(), layer->kernel_h, layer->kernel_w, input.height,
                              input.width);
      }
      // The kernels gather every output pixel's kernel taps (an indirection table of this size):
      // a small file must not be able to ask for terabytes at the first inference.
      if (oh * ow * layer->kernel_h * layer->kernel_w > kMaxElements) {
        return Status::Errorf("%s (%s): %lldx%lld outputs of a %dx%d kernel are too many taps",
                              where.c_str(), t.c_str(), static_cast<long long>(oh),
                              static_cast<long long>(ow), layer->kernel_h, layer->kernel_w);
      }
      layer->output.height = static_cast<int>(oh);
      layer->output.width = static_cast<int>(ow);
      break;
    }
    case LayerType::kRelu:
    case LayerType::kSoftmax:
      layer->output = input;
      break;
    case LayerType::kGlobalAvgPool:
      layer->output = {1, 1, input.channels};
      break;
    case LayerType::kFlatten:
      layer->output = {1, 1, input.size()};
      break;
    case LayerType::kDense:
      break;
  }
  if (static_cast<int64_t>(layer->output.height) * layer->output.width * layer->output.channels >
      kMaxElements) {
    return Status::Errorf("%s: output is too large", where.c_str());
  }
  return Status::Ok();
}

// PyTorch OIHW -> OHWI.
template <typename T>
std::vector<T> ConvWeightToOhwi(const std::vector<T>& oihw, int out, int in, int kh, int kw) {
  std::vector<T> ohwi(oihw.size());
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          ohwi[((o * kh + y) * kw + x) * in + i] = oihw[((o * in + i) * kh + y) * kw + x];
  return ohwi;
}

// Dense columns ordered for PyTorch's CHW flatten of `shape` -> the core's HWC order.
std::vector<float> DenseColumnsChwToHwc(const std::vector<float>& w, int out, const Shape& shape) {
  std::vector<float> permuted(w.size());
  const int n = shape.size();
  for (int o = 0; o < out; ++o)
    for (int c = 0; c < shape.channels; ++c)
      for (int y = 0; y < shape.height; ++y)
        for (int x = 0; x < shape.width; ++x)
          permuted[o * n + (y * shape.width + x) * shape.channels + c] =
              w[o * n + (c * shape.height + y) * shape.width + x];
  return permuted;
}

// A scale of an int8 model: positive and normal, so that 1 / scale is finite too.
Status CheckScale(float scale, const std::string& where) {
  if (!(scale > 0.0f) || !std::isnormal(scale)) {
    return Status::Errorf("%s must be a positive normal number, not %g", where.c_str(),
                          static_cast<double>(scale));
  }
  return Status::Ok();
}

Status GetQuantization(const JsonValue& obj, const std::string& where, const char* scale_key,
                       const char* zero_point_key, Quantization* q) {
  DIGITS_RETURN_IF_ERROR(GetFloat(obj, where, scale_key, &q->scale));
  DIGITS_RETURN_IF_ERROR(CheckScale(q->scale, where + ": \"" + scale_key + "\""));
  int64_t zero_point = 0;
  DIGITS_RETURN_IF_ERROR(GetInt(obj, where, zero_point_key, &zero_point));
  if (zero_point < -128 || zero_point > 127) {
    return Status::Errorf("%s: \"%s\" is %lld, an int8 zero point is in -128..127", where.c_str(),
                          zero_point_key, static_cast<long long>(zero_point));
  }
  q->zero_point = static_cast<int>(zero_point);
  return Status::Ok();
}

// The int8 part of an int8 model ("quantization" in the architecture): which layers compute on
// int8 codes, what their codes mean, and the int8 conv tensors, checked so that no backend can
// overflow its int32 accumulator or meet a multiplier XNNPACK refuses.
Status ParseInt8(const JsonValue& arch, const JsonValue& quantization, const Safetensors& file,
                 std::set<std::string>* used, Network* net) {
  if (!quantization.is_object())
    return Status::Error("architecture: \"quantization\" must be an object");
  const JsonValue* scheme = quantization.Find("scheme");
  if (!scheme || !scheme->is_string() || scheme->as_string() != "int8") {
    return Status::Error("quantization: \"scheme\" must be \"int8\"");
  }
  const JsonValue* input = quantization.Find("input");
  if (!input || !input->is_object()) {
    return Status::Error("quantization: missing \"input\" object");
  }
  Quantization q;
  DIGITS_RETURN_IF_ERROR(GetQuantization(*input, "quantization.input", "scale", "zero_point", &q));
  int last_conv = -1;
  for (int i = 0; i <= net->logits_layer; ++i)
    if (net->layers[i].type == LayerType::kConv2d) last_conv = i;
  if (last_conv < 0) return Status::Error("quantization: an int8 model needs a conv2d layer");
  net->int8_end = last_conv;
  if (last_conv + 1 <= net->logits_layer && net->layers[last_conv + 1].type == LayerType::kRelu) {
    ++net->int8_end;
  }
  const JsonValue& specs = *arch.Find("layers");  // checked by ParseArchitecture
  for (int i = 0; i <= net->int8_end; ++i) {
    Layer& layer = net->layers[i];
    const std::string where = "layer " + std::to_string(i);
    layer.input_q = layer.output_q = q;
    if (layer.type == LayerType::kRelu || layer.type == LayerType::kMaxPool2d) continue;
    if (layer.type != LayerType::kConv2d) {
      return Status::Errorf(
          "%s (%s) comes before the last conv2d: an int8 model computes only conv2d, relu and "
          "maxpool2d in int8",
          where.c_str(), LayerTypeName(layer.type));
    }
    const std::string conv = where + " (conv2d '" + layer.name + "')";
    DIGITS_RETURN_IF_ERROR(
        GetQuantization(specs[i], conv, "output_scale", "output_zero_point", &layer.output_q));
    const int out = layer.output.channels, in = layer.input.channels;
    const int64_t k = static_cast<int64_t>(layer.kernel_h) * layer.kernel_w * in;
    // |bias| <= 2^30 and k products of at most 255 * 128 stay below 2^31.
    constexpr int64_t kMaxBias = int64_t{1} << 30;
    if (k * 255 * 128 > kMaxBias) {
      return Status::Errorf("%s: %lld multiply-adds per output could overflow an int32 accumulator",
                            conv.c_str(), static_cast<long long>(k));
    }
    std::vector<int8_t> oihw;
    const std::string w = layer.name + ".weight", ws = layer.name + ".weight_scale",
                      b = layer.name + ".bias";
    used->insert(w);
    used->insert(ws);
    used->insert(b);
    DIGITS_RETURN_IF_ERROR(ReadTensorI8(file, w, {out, in, layer.kernel_h, layer.kernel_w}, &oihw));
    layer.weight_q = ConvWeightToOhwi(oihw, out, in, layer.kernel_h, layer.kernel_w);
    DIGITS_RETURN_IF_ERROR(ReadTensor(file, ws, {out}, &layer.weight_scale));
    DIGITS_RETURN_IF_ERROR(ReadTensorI32(file, b, {out}, &layer.bias_q));
    layer.requant.resize(out);
    for (int o = 0; o < out; ++o) {
      DIGITS_RETURN_IF_ERROR(
          CheckScale(layer.weight_scale[o], "tensor '" + ws + "' element " + std::to_string(o)));
      if (layer.bias_q[o] < -kMaxBias || layer.bias_q[o] > kMaxBias) {
        return Status::Errorf("tensor '%s' element %d is %d, beyond +-2^30", b.c_str(), o,
                              layer.bias_q[o]);
      }
      const float product = layer.input_q.scale * layer.weight_scale[o];
      const float m = product / layer.output_q.scale;
      // XNNPACK's int8 convolutions accept requantization scales in [2^-32, 256).
      if (!(m >= 0x1p-32f && m < 256.0f)) {
        return Status::Errorf(
            "%s: requantization scale input_scale * weight_scale[%d] / output_scale = %g is "
            "outside [2^-32, 256)",
            conv.c_str(), o, static_cast<double>(m));
      }
      layer.requant[o] = m;
    }
    q = layer.output_q;
  }
  return Status::Ok();
}

Status ParseArchitecture(const std::string& text, const Safetensors& file, Network* net) {
  JsonValue arch;
  if (!ParseJson(text.data(), text.data() + text.size(), &arch) || !arch.is_object()) {
    return Status::Error("__metadata__.architecture is not a valid JSON object");
  }
  const JsonValue* input = arch.Find("input");
  if (!input || !input->is_object()) {
    return Status::Error("architecture: missing \"input\" object");
  }
  DIGITS_RETURN_IF_ERROR(GetPositiveInt(*input, "input", "channels", &net->input.channels));
  DIGITS_RETURN_IF_ERROR(GetPositiveInt(*input, "input", "height", &net->input.height));
  DIGITS_RETURN_IF_ERROR(GetPositiveInt(*input, "input", "width", &net->input.width));
  DIGITS_RETURN_IF_ERROR(GetFloat(*input, "input", "mean", &net->input_mean));
  DIGITS_RETURN_IF_ERROR(GetFloat(*input, "input", "std", &net->input_std));
  if (!(net->input_std > 1e-6f)) return Status::Error("input: \"std\" must be positive");

  const JsonValue* labels = arch.Find("labels");
  if (!labels || !labels->is_array() || labels->size() == 0) {
    return Status::Error("architecture: missing \"labels\" array");
  }
  for (const JsonValue& label : labels->values()) {
    if (!label.is_string()) return Status::Error("architecture: labels must be strings");
    net->labels.push_back(label.as_string());
  }

  const JsonValue* layers = arch.Find("layers");
  if (!layers || !layers->is_array() || layers->size() == 0) {
    return Status::Error("architecture: missing \"layers\" array");
  }
  Shape shape = net->input;
  for (size_t i = 0; i < layers->size(); ++i) {
    Layer layer;
    DIGITS_RETURN_IF_ERROR(ParseLayer((*layers)[i], static_cast<int>(i), shape, &layer));
    if (layer.type == LayerType::kSoftmax && i + 1 != layers->size()) {
      return Status::Errorf("layer %zu: softmax is only allowed as the last layer", i);
    }
    shape = layer.output;
    net->layers.push_back(std::move(layer));
  }
  net->logits_layer = static_cast<int>(net->layers.size()) - 1;
  if (net->layers.back().type == LayerType::kSoftmax) --net->logits_layer;
  if (net->logits_layer < 0) return Status::Error("architecture: no layer before softmax");
  const Shape logits = net->layers[net->logits_layer].output;
  if (logits.height != 1 || logits.width != 1 || logits.channels != net->num_classes()) {
    return Status::Errorf("architecture: the network outputs %dx%dx%d values but has %d labels",
                          logits.channels, logits.height, logits.width, net->num_classes());
  }

  // PyTorch flattens CHW, the core holds HWC: a dense layer that consumes the flatten of a
  // spatial map takes its columns permuted (below). Between the flatten and that dense only layers
  // that keep the vector's order may stand (the exporter writes Flatten -> ReLU -> Linear as
  // [flatten, relu, dense]); anything else, or no dense before the logits, would see HWC order.
  std::vector<Shape> flattened_from(net->layers.size());  // per dense: the map it sees flattened
  Shape pending;                                          // size 0: no flattened map pending
  for (int i = 0; i <= net->logits_layer; ++i) {
    const Layer& layer = net->layers[i];
    if (layer.type == LayerType::kFlatten) {
      if (layer.input.height * layer.input.width > 1) pending = layer.input;
    } else if (layer.type == LayerType::kDense) {
      flattened_from[i] = pending;
      pending = Shape();
    } else if (layer.type != LayerType::kRelu && pending.size() > 0) {
      return Status::Errorf(
          "layer %d (%s) follows a flatten: only relu, flatten and dense may stand between a "
          "flatten and its dense",
          i, LayerTypeName(layer.type));
    }
  }
  if (pending.size() > 0) {
    return Status::Errorf(
        "architecture: the logits come from a flatten of a %dx%dx%d map with no dense after it "
        "(its order would differ from PyTorch's)",
        pending.height, pending.width, pending.channels);
  }

  // Weights, converted to the internal layout. Every tensor must be used by a layer.
  std::set<std::string> used;
  const JsonValue* quantization = arch.Find("quantization");
  if (quantization) {
    DIGITS_RETURN_IF_ERROR(ParseInt8(arch, *quantization, file, &used, net));
  }
  auto read = [&file, &used](const std::string& name, const std::vector<int64_t>& shape,
                             std::vector<float>* values) {
    used.insert(name);
    return ReadTensor(file, name, shape, values);
  };
  for (size_t i = 0; i < net->layers.size(); ++i) {
    Layer& layer = net->layers[i];
    const int out = layer.output.channels;
    if (static_cast<int>(i) <= net->int8_end) continue;  // read by ParseInt8
    if (layer.type == LayerType::kConv2d) {
      const int in = layer.input.channels;
      std::vector<float> oihw;
      DIGITS_RETURN_IF_ERROR(
          read(layer.name + ".weight", {out, in, layer.kernel_h, layer.kernel_w}, &oihw));
      layer.weight = ConvWeightToOhwi(oihw, out, in, layer.kernel_h, layer.kernel_w);
    } else if (layer.type == LayerType::kDense) {
      DIGITS_RETURN_IF_ERROR(
          read(layer.name + ".weight", {out, layer.input.channels}, &layer.weight));
      if (flattened_from[i].size() > 0) {
        layer.weight = DenseColumnsChwToHwc(layer.weight, out, flattened_from[i]);
      }
    } else {
      continue;
    }
    DIGITS_RETURN_IF_ERROR(read(layer.name + ".bias", {out}, &layer.bias));
  }
  for (const auto& entry : file.tensors) {
    if (used.count(entry.first) == 0) {
      return Status::Errorf("tensor '%s' is not used by any layer", entry.first.c_str());
    }
  }

  int64_t gradcam = -1;
  DIGITS_RETURN_IF_ERROR(GetInt(arch, "architecture", "gradcam_layer", &gradcam));
  if (gradcam < 0 || gradcam >= net->logits_layer) {
    return Status::Errorf("architecture: gradcam_layer %lld must name a layer before the logits",
                          static_cast<long long>(gradcam));
  }
  if (gradcam < net->int8_end) {
    return Status::Errorf(
        "architecture: gradcam_layer %lld is inside the int8 layers (0..%d): Grad-CAM needs the "
        "dequantized output of layer %d or a later one",
        static_cast<long long>(gradcam), net->int8_end, net->int8_end);
  }
  net->gradcam_layer = static_cast<int>(gradcam);
  if (arch.Find("unsure_threshold")) {
    DIGITS_RETURN_IF_ERROR(
        GetFloat(arch, "architecture", "unsure_threshold", &net->unsure_threshold));
    if (!(net->unsure_threshold >= 0.0f && net->unsure_threshold <= 1.0f)) {
      return Status::Error("architecture: unsure_threshold must be in [0, 1]");
    }
  }
  if (arch.Find("not_a_digit_class")) {
    int64_t reject = -1;
    DIGITS_RETURN_IF_ERROR(GetInt(arch, "architecture", "not_a_digit_class", &reject));
    if (reject < 0 || reject >= net->num_classes() || net->num_classes() < 2) {
      return Status::Errorf(
          "architecture: not_a_digit_class %lld is not one of the %d classes (or the only one)",
          static_cast<long long>(reject), net->num_classes());
    }
    net->not_a_digit_class = static_cast<int>(reject);
    DIGITS_RETURN_IF_ERROR(
        GetFloat(arch, "architecture", "not_a_digit_threshold", &net->not_a_digit_threshold));
    if (!(net->not_a_digit_threshold >= 0.0f && net->not_a_digit_threshold <= 1.0f)) {
      return Status::Error("architecture: not_a_digit_threshold must be in [0, 1]");
    }
  }
  return Status::Ok();
}

}  // namespace

const char* LayerTypeName(LayerType type) {
  switch (type) {
    case LayerType::kConv2d:
      return "conv2d";
    case LayerType::kRelu:
      return "relu";
    case LayerType::kMaxPool2d:
      return "maxpool2d";
    case LayerType::kGlobalAvgPool:
      return "global_avg_pool";
    case LayerType::kFlatten:
      return "flatten";
    case LayerType::kDense:
      return "dense";
    case LayerType::kSoftmax:
      return "softmax";
  }
  return "?";
}

int64_t Network::parameter_count() const {
  int64_t n = 0;
  for (const Layer& layer : layers)
    n += static_cast<int64_t>(layer.weight.size() + layer.bias.size() + layer.weight_q.size() +
                              layer.bias_q.size());
  return n;
}

int64_t Network::mac_count() const {
  int64_t n = 0;
  for (const Layer& layer : layers) {
    if (layer.type == LayerType::kConv2d) {
      n += static_cast<int64_t>(layer.output.size()) * layer.kernel_h * layer.kernel_w *
           layer.input.channels;
    } else if (layer.type == LayerType::kDense) {
      n += static_cast<int64_t>(layer.weight.size());
    }
  }
  return n;
}

Status LoadNetwork(const uint8_t* data, size_t size, Network* out) {
  Safetensors file;
  DIGITS_RETURN_IF_ERROR(ParseSafetensors(data, size, &file));
  Network net;
  std::string architecture;
  for (const auto& entry : file.metadata) {
    if (entry.first == "architecture") {
      architecture = entry.second;
    } else {
      net.metadata[entry.first] = entry.second;
    }
  }
  auto format = net.metadata.find("format");
  if (format == net.metadata.end() || format->second != "digits/1") {
    return Status::Error(
        file.metadata.empty()
            ? "model header has no __metadata__ (not a digits model file)"
            : "__metadata__.format must be \"digits/1\" (not a digits model file)");
  }
  if (architecture.empty()) return Status::Error("__metadata__ has no \"architecture\"");
  DIGITS_RETURN_IF_ERROR(ParseArchitecture(architecture, file, &net));
  *out = std::move(net);
  return Status::Ok();
}

Status LoadNetworkFile(const std::string& path, Network* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadFile(path, kMaxModelBytes, &bytes));
  return LoadNetwork(bytes.data(), bytes.size(), out).Context(path + ": ");
}

}  // namespace digits
