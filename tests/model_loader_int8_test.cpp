// The loader on int8 models (core/MODEL_FORMAT.md, "int8 models"): a valid file loads with its
// codes, scales and requantization multipliers; every malformed int8 field is refused with a
// message naming it, and the output is left untouched.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "digits/network.h"
#include "model_files.h"

namespace digits {
namespace {

using nlohmann::json;
using test::MakeRawModelFile;
using test::Raw;
using test::RawTensor;

// conv c1 (1 -> 2) + relu + maxpool + conv c2 (2 -> 4) + relu in int8, then the float head.
json Int8Architecture() {
  return json::parse(R"({
    "input": {"channels": 1, "height": 8, "width": 8, "mean": 0.5, "std": 0.25},
    "labels": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "quantization": {"scheme": "int8", "input": {"scale": 0.02, "zero_point": -10}},
    "layers": [
      {"type": "conv2d", "name": "c1", "in_channels": 1, "out_channels": 2,
       "kernel": [3, 3], "stride": [1, 1], "padding": [1, 1],
       "output_scale": 0.05, "output_zero_point": -128},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel": [2, 2], "stride": [2, 2]},
      {"type": "conv2d", "name": "c2", "in_channels": 2, "out_channels": 4,
       "kernel": [3, 3], "stride": [1, 1], "padding": [1, 1],
       "output_scale": 0.1, "output_zero_point": -128},
      {"type": "relu"},
      {"type": "global_avg_pool"},
      {"type": "flatten"},
      {"type": "dense", "name": "fc", "in_features": 4, "out_features": 10},
      {"type": "softmax"}
    ],
    "gradcam_layer": 4
  })");
}

std::vector<int8_t> Codes(size_t n) {
  std::vector<int8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
  return v;
}

std::vector<RawTensor> Int8Tensors() {
  return {Raw("c1.weight", "I8", {2, 1, 3, 3}, Codes(18)),
          Raw("c1.weight_scale", "F32", {2}, std::vector<float>{0.01f, 0.02f}),
          Raw("c1.bias", "I32", {2}, std::vector<int32_t>{100, -200}),
          Raw("c2.weight", "I8", {4, 2, 3, 3}, Codes(72)),
          Raw("c2.weight_scale", "F32", {4}, std::vector<float>{0.01f, 0.02f, 0.03f, 0.04f}),
          Raw("c2.bias", "I32", {4}, std::vector<int32_t>{1, 2, 3, 4}),
          Raw("fc.weight", "F32", {10, 4}, std::vector<float>(40, 0.5f)),
          Raw("fc.bias", "F32", {10}, std::vector<float>(10, 0.0f))};
}

// Int8Tensors() with tensor `name` replaced.
std::vector<RawTensor> With(RawTensor replacement) {
  std::vector<RawTensor> tensors = Int8Tensors();
  for (RawTensor& t : tensors)
    if (t.name == replacement.name) t = replacement;
  return tensors;
}

void ExpectLoadError(const json& arch, const std::vector<RawTensor>& tensors,
                     const std::string& expected) {
  const std::vector<uint8_t> bytes = MakeRawModelFile(arch, tensors);
  Network net;
  net.labels = {"sentinel"};
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_FALSE(s.ok()) << "expected an error containing: " << expected;
  EXPECT_NE(s.message().find(expected), std::string::npos)
      << "message: " << s.message() << "\nexpected to contain: " << expected;
  EXPECT_EQ(net.labels, std::vector<std::string>{"sentinel"}) << "output changed on error";
  EXPECT_EQ(net.int8_end, -1) << "output changed on error";
}

TEST(ModelLoaderInt8, ValidFileLoads) {
  const std::vector<uint8_t> bytes = MakeRawModelFile(Int8Architecture(), Int8Tensors());
  Network net;
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(net.int8());
  EXPECT_EQ(net.int8_end, 4);  // the relu after c2
  const Layer& c1 = net.layers[0];
  EXPECT_EQ(c1.input_q.scale, 0.02f);
  EXPECT_EQ(c1.input_q.zero_point, -10);
  EXPECT_EQ(c1.output_q.scale, 0.05f);
  EXPECT_EQ(c1.output_q.zero_point, -128);
  EXPECT_EQ(c1.weight_q, Codes(18));  // one input channel: OHWI is OIHW's order
  EXPECT_EQ(c1.bias_q, (std::vector<int32_t>{100, -200}));
  EXPECT_TRUE(c1.weight.empty());
  // requant[o] = (input scale * weight scale[o]) / output scale, in float32, in that order.
  EXPECT_EQ(c1.requant[1], (0.02f * 0.02f) / 0.05f);
  // relu and maxpool keep their input's quantization; c2's input is c1's output.
  EXPECT_EQ(net.layers[2].output_q.scale, 0.05f);
  const Layer& c2 = net.layers[3];
  EXPECT_EQ(c2.input_q.scale, 0.05f);
  EXPECT_EQ(c2.requant[3], (0.05f * 0.04f) / 0.1f);
  // OIHW [4][2][3][3] -> OHWI [4][3][3][2]: o 1, tap (0, 1), channel 1 was OIHW index 1*18+9+1.
  EXPECT_EQ(c2.weight_q[((1 * 3 + 0) * 3 + 1) * 2 + 1], Codes(72)[1 * 18 + 1 * 9 + 0 * 3 + 1]);
  EXPECT_EQ(net.layers[7].weight.size(), 40u);  // the head stays float
  EXPECT_EQ(net.parameter_count(), 18 + 2 + 72 + 4 + 40 + 10);
}

TEST(ModelLoaderInt8, LoadsTheShippedInt8Model) {
  Network net;
  const Status s = LoadNetworkFile(DIGITS_MODEL_DIR "/digits_int8.safetensors", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(net.int8());
  EXPECT_EQ(net.int8_end, net.gradcam_layer);
}

TEST(ModelLoaderInt8, RefusesABadQuantizationEntry) {
  json arch = Int8Architecture();
  arch["quantization"] = "int8";
  ExpectLoadError(arch, Int8Tensors(), "\"quantization\" must be an object");
  arch = Int8Architecture();
  arch["quantization"]["scheme"] = "int4";
  ExpectLoadError(arch, Int8Tensors(), "quantization: \"scheme\" must be \"int8\"");
  arch = Int8Architecture();
  arch["quantization"].erase("input");
  ExpectLoadError(arch, Int8Tensors(), "quantization: missing \"input\" object");
}

TEST(ModelLoaderInt8, RefusesBadInputScaleAndZeroPoint) {
  const std::vector<std::pair<json, std::string>> cases = {
      {0.0, "\"scale\" must be a positive normal number, not 0"},
      {-0.5, "\"scale\" must be a positive normal number, not -0.5"},
      {1e-40, "\"scale\" must be a positive normal number"},  // subnormal in float32
      {1e39, "\"scale\" is not a finite number"},             // inf in float32
      {"NaN", "\"scale\" must be a number"}};
  for (const auto& c : cases) {
    json arch = Int8Architecture();
    arch["quantization"]["input"]["scale"] = c.first;
    ExpectLoadError(arch, Int8Tensors(), "quantization.input: " + c.second);
  }
  json arch = Int8Architecture();
  arch["quantization"]["input"].erase("scale");
  ExpectLoadError(arch, Int8Tensors(), "quantization.input: missing \"scale\"");
  arch = Int8Architecture();
  arch["quantization"]["input"]["zero_point"] = 128;
  ExpectLoadError(arch, Int8Tensors(), "\"zero_point\" is 128, an int8 zero point is in -128..127");
  arch["quantization"]["input"]["zero_point"] = -129;
  ExpectLoadError(arch, Int8Tensors(), "\"zero_point\" is -129");
  arch["quantization"]["input"]["zero_point"] = 1.5;
  ExpectLoadError(arch, Int8Tensors(), "\"zero_point\" must be an integer");
}

TEST(ModelLoaderInt8, RefusesBadConvOutputQuantization) {
  json arch = Int8Architecture();
  arch["layers"][3].erase("output_scale");
  ExpectLoadError(arch, Int8Tensors(), "layer 3 (conv2d 'c2'): missing \"output_scale\"");
  arch = Int8Architecture();
  arch["layers"][0]["output_scale"] = 0;
  ExpectLoadError(arch, Int8Tensors(),
                  "layer 0 (conv2d 'c1'): \"output_scale\" must be a positive normal number");
  arch = Int8Architecture();
  arch["layers"][0].erase("output_zero_point");
  ExpectLoadError(arch, Int8Tensors(), "layer 0 (conv2d 'c1'): missing \"output_zero_point\"");
  arch = Int8Architecture();
  arch["layers"][3]["output_zero_point"] = 300;
  ExpectLoadError(arch, Int8Tensors(), "layer 3 (conv2d 'c2'): \"output_zero_point\" is 300");
}

TEST(ModelLoaderInt8, RefusesWeightsOfTheWrongDtypeOrShape) {
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c1.weight", "F32", {2, 1, 3, 3}, std::vector<float>(18, 1.0f))),
                  "tensor 'c1.weight' is F32, the architecture needs I8");
  ExpectLoadError(Int8Architecture(), With(Raw("c2.weight", "I8", {4, 2, 9}, Codes(72))),
                  "tensor 'c2.weight' has shape [4, 2, 9], the architecture needs [4, 2, 3, 3]");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c1.bias", "F32", {2}, std::vector<float>{1.0f, 2.0f})),
                  "tensor 'c1.bias' is F32, the architecture needs I32");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c1.bias", "I32", {3}, std::vector<int32_t>{1, 2, 3})),
                  "tensor 'c1.bias' has shape [3], the architecture needs [2]");
  ExpectLoadError(Int8Architecture(), With(Raw("c2.weight_scale", "I8", {4}, Codes(4))),
                  "tensor 'c2.weight_scale' is I8, the architecture needs F32 or F16");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c2.weight_scale", "F32", {2}, std::vector<float>{1.0f, 1.0f})),
                  "tensor 'c2.weight_scale' has shape [2], the architecture needs [4]");
  // The head stays float: an I8 dense weight is refused.
  ExpectLoadError(Int8Architecture(), With(Raw("fc.weight", "I8", {10, 4}, Codes(40))),
                  "tensor 'fc.weight' is I8, the architecture needs F32 or F16");
}

TEST(ModelLoaderInt8, RefusesMissingAndUnusedInt8Tensors) {
  std::vector<RawTensor> tensors = Int8Tensors();
  tensors.erase(tensors.begin() + 1);  // c1.weight_scale
  ExpectLoadError(Int8Architecture(), tensors, "tensor 'c1.weight_scale' is missing");
  tensors = Int8Tensors();
  tensors.push_back(Raw("fc.weight_scale", "F32", {10}, std::vector<float>(10, 1.0f)));
  ExpectLoadError(Int8Architecture(), tensors, "tensor 'fc.weight_scale' is not used by any layer");
  // The same file without "quantization" is a float model: its I8 weights are refused.
  json arch = Int8Architecture();
  arch.erase("quantization");
  ExpectLoadError(arch, Int8Tensors(),
                  "tensor 'c1.weight' is I8, the architecture needs F32 or F16");
}

TEST(ModelLoaderInt8, RefusesBadWeightScales) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c2.weight_scale", "F32", {4}, std::vector<float>{0.01f, 0.0f, 1, 1})),
                  "tensor 'c2.weight_scale' element 1 must be a positive normal number, not 0");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c2.weight_scale", "F32", {4}, std::vector<float>{0.01f, 1, 1, -2})),
                  "tensor 'c2.weight_scale' element 3 must be a positive normal number, not -2");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c1.weight_scale", "F32", {2}, std::vector<float>{nan, 0.01f})),
                  "tensor 'c1.weight_scale' has a non-finite value (NaN) at element 0");
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c1.weight_scale", "F32", {2}, std::vector<float>{0.01f, inf})),
                  "tensor 'c1.weight_scale' has a non-finite value (Inf) at element 1");
}

TEST(ModelLoaderInt8, RefusesWhatCouldOverflowOrThatXnnpackRefuses) {
  // A bias beyond 2^30 could overflow the int32 accumulator.
  ExpectLoadError(Int8Architecture(),
                  With(Raw("c2.bias", "I32", {4}, std::vector<int32_t>{0, 0, (1 << 30) + 1, 0})),
                  "tensor 'c2.bias' element 2 is 1073741825, beyond +-2^30");
  // So could a reduction of more than 2^30 / (255 * 128) products.
  json arch = Int8Architecture();
  arch["input"]["channels"] = 4000;
  arch["layers"][0]["in_channels"] = 4000;
  ExpectLoadError(arch, Int8Tensors(),
                  "layer 0 (conv2d 'c1'): 36000 multiply-adds per output could overflow an int32 "
                  "accumulator");
  // requant = 0.02 * 0.02 / 1e-6 = 400 >= 256; 0.02 * 0.01 / 1e20 < 2^-32.
  arch = Int8Architecture();
  arch["layers"][0]["output_scale"] = 1e-6;
  ExpectLoadError(arch, Int8Tensors(),
                  "layer 0 (conv2d 'c1'): requantization scale input_scale * weight_scale[1] / "
                  "output_scale = 400 is outside [2^-32, 256)");
  arch["layers"][0]["output_scale"] = 1e20;
  ExpectLoadError(arch, Int8Tensors(), "weight_scale[0] / output_scale = 2e-24 is outside");
}

TEST(ModelLoaderInt8, RefusesLayersTheInt8PartCannotRun) {
  // A global average pool before the last conv would have to run on int8.
  json arch = Int8Architecture();
  arch["layers"] = json::parse(R"([
      {"type": "conv2d", "name": "c1", "in_channels": 1, "out_channels": 2,
       "kernel": [3, 3], "padding": [1, 1], "output_scale": 0.05, "output_zero_point": -128},
      {"type": "global_avg_pool"},
      {"type": "conv2d", "name": "c2", "in_channels": 2, "out_channels": 4,
       "kernel": [1, 1], "output_scale": 0.1, "output_zero_point": -128},
      {"type": "relu"}, {"type": "flatten"},
      {"type": "dense", "name": "fc", "in_features": 4, "out_features": 10}])");
  std::vector<RawTensor> tensors = Int8Tensors();
  tensors[3] = Raw("c2.weight", "I8", {4, 2, 1, 1}, Codes(8));
  ExpectLoadError(arch, tensors,
                  "layer 1 (global_avg_pool) comes before the last conv2d: an int8 model computes "
                  "only conv2d, relu and maxpool2d in int8");
  // Grad-CAM needs float activations: the dequantized output of the int8 part or later.
  arch = Int8Architecture();
  arch["gradcam_layer"] = 1;
  ExpectLoadError(arch, Int8Tensors(),
                  "gradcam_layer 1 is inside the int8 layers (0..4): Grad-CAM needs the "
                  "dequantized output of layer 4 or a later one");
  // An int8 model without a conv has nothing to compute in int8.
  arch = Int8Architecture();
  arch["layers"] = json::parse(R"([{"type": "flatten"},
      {"type": "dense", "name": "fc", "in_features": 64, "out_features": 10}])");
  arch["gradcam_layer"] = 0;
  ExpectLoadError(arch,
                  {Raw("fc.weight", "F32", {10, 64}, std::vector<float>(640, 0.0f)),
                   Raw("fc.bias", "F32", {10}, std::vector<float>(10, 0.0f))},
                  "quantization: an int8 model needs a conv2d layer");
}

}  // namespace
}  // namespace digits
