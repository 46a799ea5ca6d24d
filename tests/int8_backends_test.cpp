// The int8 backends on a synthetic int8 model with what the shipped one lacks: a conv without a
// relu, output zero points other than -128 (so the relu clamps above the int8 minimum), padded
// strided max pooling, a 1x1 conv, an unpadded conv. Every backend of this build computes the
// same int8 codes (the Grad-CAM activations) and the same logits, bit for bit, and the codes are
// the scalar reference kernels' run layer by layer (so a build with one backend is checked too).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "digits/backend.h"
#include "fixtures.h"
#include "kernels.h"
#include "model_files.h"

namespace digits {
namespace {

using nlohmann::json;
using test::Raw;
using test::RawTensor;

// Symmetric weight codes, as quantize.py writes them.
std::vector<int8_t> RandomCodes(size_t n, std::mt19937* rng) {
  return test::RandomCodes(n, rng, -127, 127);
}

// The int8 part of `net` with the scalar reference kernels, layer by layer (no fusion): the
// dequantized output of layer int8_end, as a backend returns it for Grad-CAM.
std::vector<float> ReferenceInt8Part(const Network& net, const std::vector<float>& pixels) {
  std::vector<int8_t> x(pixels.size()), y;
  kernels::QuantizeInput(static_cast<int>(pixels.size()), pixels.data(), net.input_mean,
                         net.input_std, net.layers[0].input_q, x.data());
  for (int i = 0; i <= net.int8_end; ++i) {
    const Layer& layer = net.layers[i];
    y.assign(layer.output.size(), 0);
    if (layer.type == LayerType::kConv2d) {
      kernels::ReferenceConv2dQ8(layer, x, /*fuse_relu=*/false, &y);
    } else if (layer.type == LayerType::kRelu) {
      kernels::ReluQ8(layer.output.size(), layer.output_q.zero_point, x.data(), y.data());
    } else if (layer.type == LayerType::kMaxPool2d) {
      kernels::MaxPool2dQ8(layer, x.data(), y.data());
    } else {
      ADD_FAILURE() << "layer " << i << " is not an int8 layer";
    }
    x.swap(y);
  }
  std::vector<float> out(x.size());
  kernels::Dequantize(static_cast<int>(x.size()), net.layers[net.int8_end].output_q, x.data(),
                      out.data());
  return out;
}

TEST(Int8Backends, AgreeBitForBitOnASyntheticModel) {
  const json arch = json::parse(R"({
    "input": {"channels": 1, "height": 12, "width": 12, "mean": 0.2, "std": 0.3},
    "labels": ["a", "b", "c", "d"],
    "quantization": {"scheme": "int8", "input": {"scale": 0.02, "zero_point": -60}},
    "layers": [
      {"type": "conv2d", "name": "c1", "in_channels": 1, "out_channels": 5, "kernel": [3, 3],
       "padding": [1, 1], "output_scale": 0.05, "output_zero_point": -20},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1]},
      {"type": "conv2d", "name": "c2", "in_channels": 5, "out_channels": 7, "kernel": [3, 3],
       "output_scale": 0.08, "output_zero_point": 3},
      {"type": "conv2d", "name": "c3", "in_channels": 7, "out_channels": 9, "kernel": [1, 1],
       "output_scale": 0.1, "output_zero_point": -100},
      {"type": "relu"},
      {"type": "global_avg_pool"},
      {"type": "flatten"},
      {"type": "dense", "name": "fc", "in_features": 9, "out_features": 4}
    ],
    "gradcam_layer": 5
  })");
  std::mt19937 rng(8);
  // Weight scales that give requantization multipliers m = in * ws / out spreading the outputs
  // over the int8 range (and into both clamps now and then).
  auto scales = [](int n, float m, float in, float out) {
    return std::vector<float>(n, m * out / in);
  };
  const std::vector<RawTensor> tensors = {
      Raw("c1.weight", "I8", {5, 1, 3, 3}, RandomCodes(45, &rng)),
      Raw("c1.weight_scale", "F32", {5}, scales(5, 0.004f, 0.02f, 0.05f)),
      Raw("c1.bias", "I32", {5}, std::vector<int32_t>{100, -2000, 0, 5000, -7}),
      Raw("c2.weight", "I8", {7, 5, 3, 3}, RandomCodes(315, &rng)),
      Raw("c2.weight_scale", "F32", {7}, scales(7, 0.002f, 0.05f, 0.08f)),
      Raw("c2.bias", "I32", {7}, std::vector<int32_t>{1, 2, 3, -4000, 5, 6, 7}),
      Raw("c3.weight", "I8", {9, 7, 1, 1}, RandomCodes(63, &rng)),
      Raw("c3.weight_scale", "F32", {9}, scales(9, 0.01f, 0.08f, 0.1f)),
      Raw("c3.bias", "I32", {9}, std::vector<int32_t>(9, 300)),
      Raw("fc.weight", "F32", {4, 9}, test::RandomValues(36, &rng)),
      Raw("fc.bias", "F32", {4}, test::RandomValues(4, &rng))};
  const std::vector<uint8_t> bytes = test::MakeRawModelFile(arch, tensors);
  Network net;
  const Status loaded = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_EQ(net.int8_end, 5);

  std::vector<std::vector<float>> outputs;  // per backend: all activations, then all logits
  for (BackendKind kind : test::AvailableBackends()) {
    std::unique_ptr<Backend> backend;
    const Status created = CreateBackend(net, kind, &backend);
    ASSERT_TRUE(created.ok()) << BackendName(kind) << ": " << created.message();
    std::mt19937 inputs(21);
    std::vector<float> all;
    std::set<float> distinct;
    for (int i = 0; i < 20; ++i) {
      const std::vector<float> pixels = test::RandomPixels(net.input.size(), &inputs);
      ForwardOutput out;
      ASSERT_TRUE(backend->Forward(pixels.data(), true, &out).ok());
      EXPECT_EQ(out.gradcam_activations, ReferenceInt8Part(net, pixels))
          << BackendName(kind) << " input " << i;
      all.insert(all.end(), out.gradcam_activations.begin(), out.gradcam_activations.end());
      all.insert(all.end(), out.logits.begin(), out.logits.end());
      distinct.insert(out.gradcam_activations.begin(), out.gradcam_activations.end());
    }
    EXPECT_GT(distinct.size(), 50u) << BackendName(kind) << ": the codes should spread";
    outputs.push_back(all);
  }
  for (size_t b = 1; b < outputs.size(); ++b) EXPECT_EQ(outputs[b], outputs[0]);
}

}  // namespace
}  // namespace digits
