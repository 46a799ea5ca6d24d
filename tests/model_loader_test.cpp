// The safetensors model loader: a valid file round-trips; every malformed file is refused with a
// message that names the problem, and leaves the output untouched.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "digits/network.h"
#include "model_files.h"

namespace digits {
namespace {

using nlohmann::json;
using test::MakeModelFile;
using test::MakeSafetensors;
using test::TensorSpec;

json SmallArchitecture() {
  return json::parse(R"({
    "input": {"channels": 1, "height": 8, "width": 8, "mean": 0.5, "std": 0.25},
    "labels": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "layers": [
      {"type": "conv2d", "name": "c1", "in_channels": 1, "out_channels": 2,
       "kernel": [3, 3], "stride": [1, 1], "padding": [1, 1]},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel": [2, 2], "stride": [2, 2]},
      {"type": "flatten"},
      {"type": "dense", "name": "fc", "in_features": 32, "out_features": 10},
      {"type": "softmax"}
    ],
    "gradcam_layer": 1,
    "unsure_threshold": 0.7
  })");
}

std::vector<float> Iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

std::vector<TensorSpec> SmallTensors() {
  return {{"c1.weight", {2, 1, 3, 3}, Iota(18)},
          {"c1.bias", {2}, {0.5f, -0.5f}},
          {"fc.weight", {10, 32}, Iota(320)},
          {"fc.bias", {10}, Iota(10)}};
}

// Loads `bytes`, expecting failure with `expected` in the message; checks `out` is unchanged.
void ExpectLoadError(const std::vector<uint8_t>& bytes, const std::string& expected) {
  Network net;
  net.labels = {"sentinel"};
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_FALSE(s.ok()) << "expected an error containing: " << expected;
  EXPECT_NE(s.message().find(expected), std::string::npos)
      << "message: " << s.message() << "\nexpected to contain: " << expected;
  EXPECT_EQ(net.labels, std::vector<std::string>{"sentinel"}) << "output changed on error";
}

TEST(ModelLoader, ValidFileRoundTrips) {
  const std::vector<uint8_t> bytes = MakeModelFile(SmallArchitecture(), SmallTensors());
  Network net;
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.input, (Shape{8, 8, 1}));
  EXPECT_FLOAT_EQ(net.input_mean, 0.5f);
  EXPECT_FLOAT_EQ(net.input_std, 0.25f);
  EXPECT_EQ(net.num_classes(), 10);
  ASSERT_EQ(net.layers.size(), 6u);
  EXPECT_EQ(net.layers[0].output, (Shape{8, 8, 2}));
  EXPECT_EQ(net.layers[2].output, (Shape{4, 4, 2}));
  EXPECT_EQ(net.layers[3].output, (Shape{1, 1, 32}));
  EXPECT_EQ(net.logits_layer, 4);
  EXPECT_EQ(net.gradcam_layer, 1);
  EXPECT_FLOAT_EQ(net.unsure_threshold, 0.7f);
  EXPECT_EQ(net.parameter_count(), 18 + 2 + 320 + 10);
  EXPECT_EQ(net.mac_count(), 8 * 8 * 2 * 9 + 320);
  EXPECT_EQ(net.metadata.at("format"), "digits/1");
  // Conv weights are OHWI: with one input channel that is OIHW's own order.
  EXPECT_EQ(net.layers[0].weight, Iota(18));
  EXPECT_EQ(net.layers[0].bias, (std::vector<float>{0.5f, -0.5f}));
  // Dense columns move from PyTorch's CHW flatten order to HWC: HWC column (y*4+x)*2+c holds
  // CHW column c*16+y*4+x.
  const std::vector<float>& w = net.layers[4].weight;
  for (int c = 0; c < 2; ++c)
    for (int p = 0; p < 16; ++p) EXPECT_EQ(w[32 + p * 2 + c], 32 + c * 16 + p);
}

// `file` (a MakeModelFile result) with tensor `name` appended again as F16 `halfs` of `shape`.
std::vector<uint8_t> WithF16Tensor(const std::vector<uint8_t>& file, const std::string& name,
                                   const std::vector<int64_t>& shape,
                                   const std::vector<uint16_t>& halfs) {
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file[i];
  json header = json::parse(file.begin() + 8, file.begin() + 8 + header_size);
  std::vector<uint8_t> data(file.begin() + 8 + header_size, file.end());
  const size_t begin = data.size();
  for (uint16_t h : halfs) {
    data.push_back(static_cast<uint8_t>(h & 0xff));
    data.push_back(static_cast<uint8_t>(h >> 8));
  }
  header[name] = {{"dtype", "F16"}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
  return MakeSafetensors(header, data);
}

TEST(ModelLoader, ReadsF16Tensors) {
  const std::vector<TensorSpec> tensors = SmallTensors();
  // fc.bias as F16: 1.0, -2.5, 0.0009765625 (2^-10), 65504 (max), a subnormal, then zeros.
  const std::vector<uint16_t> halfs = {0x3c00, 0xc100, 0x1400, 0x7bff, 0x0001, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> bytes =
      WithF16Tensor(MakeModelFile(SmallArchitecture(), {tensors[0], tensors[1], tensors[2]}),
                    "fc.bias", {10}, halfs);
  Network net;
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float>& b = net.layers[4].bias;
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -2.5f);
  EXPECT_EQ(b[2], 0.0009765625f);
  EXPECT_EQ(b[3], 65504.0f);
  EXPECT_EQ(b[4], 5.9604644775390625e-8f);
}

// Every finite binary16 value (both signs, zeros, subnormals, normals) converts exactly: the
// loader's bit-moving conversion against the definition, value = mantissa * 2^(exponent - 25).
TEST(ModelLoader, ConvertsEveryFiniteF16ValueExactly) {
  std::vector<uint16_t> halfs;
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if (((h >> 10) & 0x1fu) != 31) halfs.push_back(static_cast<uint16_t>(h));
  }
  ASSERT_EQ(halfs.size(), 63488u);
  // A 64x64 input flattened into one dense layer of 16 classes: 65536 weights hold them all.
  const int64_t side = 64, in_features = side * side, classes = 16;
  halfs.resize(static_cast<size_t>(in_features * classes), 0);
  json labels = json::array();
  for (int c = 0; c < classes; ++c) labels.push_back(std::to_string(c));
  const json arch = {
      {"input", {{"channels", 1}, {"height", side}, {"width", side}, {"mean", 0}, {"std", 1}}},
      {"labels", labels},
      {"layers",
       {{{"type", "conv2d"},
         {"name", "c1"},
         {"in_channels", 1},
         {"out_channels", 1},
         {"kernel", {3, 3}},
         {"stride", {1, 1}},
         {"padding", {1, 1}}},
        {{"type", "relu"}},
        {{"type", "flatten"}},
        {{"type", "dense"},
         {"name", "fc"},
         {"in_features", in_features},
         {"out_features", classes}}}},
      {"gradcam_layer", 1}};
  const std::vector<uint8_t> bytes = WithF16Tensor(
      MakeModelFile(arch, {{"c1.weight", {1, 1, 3, 3}, Iota(9)},
                           {"c1.bias", {1}, {0.0f}},
                           {"fc.bias", {classes}, std::vector<float>(classes, 0.0f)}}),
      "fc.weight", {classes, in_features}, halfs);
  Network net;
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float>& w = net.layers[3].weight;
  ASSERT_EQ(w.size(), halfs.size());
  int wrong = 0;
  for (size_t i = 0; i < 63488; ++i) {
    const uint16_t h = halfs[i];
    const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    const float magnitude = exponent == 0
                                ? std::ldexp(static_cast<float>(mantissa), -24)
                                : std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
    const float expected = (h & 0x8000) ? -magnitude : magnitude;
    uint32_t got_bits, expected_bits;
    std::memcpy(&got_bits, &w[i], 4);
    std::memcpy(&expected_bits, &expected, 4);
    if (got_bits != expected_bits && ++wrong <= 5) {
      ADD_FAILURE() << "half 0x" << std::hex << h << ": got " << w[i] << ", expected " << expected;
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(ModelLoader, RefusesTruncatedFile) {
  ExpectLoadError({1, 2, 3}, "truncated");
  // Every prefix of a valid file is refused (no crash, no partial load).
  const std::vector<uint8_t> bytes = MakeModelFile(SmallArchitecture(), SmallTensors());
  for (size_t n = 0; n < bytes.size(); n += 7) {
    Network net;
    EXPECT_FALSE(LoadNetwork(bytes.data(), n, &net).ok()) << "prefix of " << n << " bytes";
  }
}

TEST(ModelLoader, RefusesHeaderLengthPastEnd) {
  std::vector<uint8_t> bytes = MakeModelFile(SmallArchitecture(), SmallTensors());
  bytes[5] = 0x10;  // header length ~ 2^40
  ExpectLoadError(bytes, "runs past the end of the file");
}

TEST(ModelLoader, RefusesBadJson) {
  const std::string text = "{\"a\": [1, 2";
  std::vector<uint8_t> bytes(8);
  bytes[0] = static_cast<uint8_t>(text.size());
  bytes.insert(bytes.end(), text.begin(), text.end());
  ExpectLoadError(bytes, "not a valid JSON object");
}

TEST(ModelLoader, RefusesBadArchitectureJson) {
  json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", "{layers: oops"}};
  ExpectLoadError(MakeSafetensors(header, {}), "architecture is not a valid JSON object");
}

TEST(ModelLoader, RefusesOffsetsOutOfRange) {
  std::vector<uint8_t> bytes = MakeModelFile(SmallArchitecture(), SmallTensors());
  bytes.resize(bytes.size() - 4);  // the last tensor now ends past the data
  ExpectLoadError(bytes, "tensor 'fc.bias': data_offsets [1360, 1400] are out of range");
}

TEST(ModelLoader, RefusesOverlappingTensors) {
  json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", SmallArchitecture().dump()}};
  header["c1.weight"] = {{"dtype", "F32"}, {"shape", {2, 1, 3, 3}}, {"data_offsets", {0, 72}}};
  header["c1.bias"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {68, 76}}};
  ExpectLoadError(MakeSafetensors(header, std::vector<uint8_t>(200)),
                  "tensors 'c1.weight' and 'c1.bias' overlap");
}

TEST(ModelLoader, RefusesByteCountThatDisagreesWithShape) {
  json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", SmallArchitecture().dump()}};
  header["c1.bias"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 4}}};
  ExpectLoadError(MakeSafetensors(header, std::vector<uint8_t>(8)),
                  "tensor 'c1.bias': has 4 bytes but shape [2] of F32 needs 8");
}

TEST(ModelLoader, RefusesUnsupportedDtype) {
  json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", SmallArchitecture().dump()}};
  header["c1.bias"] = {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {0, 4}}};
  ExpectLoadError(MakeSafetensors(header, std::vector<uint8_t>(4)),
                  "tensor 'c1.bias': dtype BF16 is not supported");
}

TEST(ModelLoader, RefusesShapeThatDisagreesWithArchitecture) {
  std::vector<TensorSpec> tensors = SmallTensors();
  tensors[0] = {"c1.weight", {2, 1, 5, 5}, std::vector<float>(50, 0.0f)};
  ExpectLoadError(MakeModelFile(SmallArchitecture(), tensors),
                  "tensor 'c1.weight' has shape [2, 1, 5, 5], the architecture needs [2, 1, 3, 3]");
}

TEST(ModelLoader, RefusesUnknownLayer) {
  json arch = SmallArchitecture();
  arch["layers"][1] = {{"type", "batchnorm"}};
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "layer 1: unknown layer type 'batchnorm'");
}

TEST(ModelLoader, RefusesNonFiniteWeights) {
  std::vector<TensorSpec> tensors = SmallTensors();
  tensors[2].values[7] = std::numeric_limits<float>::quiet_NaN();
  ExpectLoadError(MakeModelFile(SmallArchitecture(), tensors),
                  "tensor 'fc.weight' has a non-finite value (NaN) at element 7");
  tensors = SmallTensors();
  tensors[1].values[1] = -std::numeric_limits<float>::infinity();
  ExpectLoadError(MakeModelFile(SmallArchitecture(), tensors),
                  "tensor 'c1.bias' has a non-finite value (Inf) at element 1");
}

TEST(ModelLoader, RefusesMissingAndUnusedTensors) {
  std::vector<TensorSpec> tensors = SmallTensors();
  tensors.pop_back();
  ExpectLoadError(MakeModelFile(SmallArchitecture(), tensors), "tensor 'fc.bias' is missing");
  tensors = SmallTensors();
  tensors.push_back({"extra", {1}, {1.0f}});
  ExpectLoadError(MakeModelFile(SmallArchitecture(), tensors),
                  "tensor 'extra' is not used by any layer");
}

TEST(ModelLoader, RefusesFileWithoutDigitsMetadata) {
  json header;
  header["w"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}};
  ExpectLoadError(MakeSafetensors(header, std::vector<uint8_t>(4)), "no __metadata__");
  header["__metadata__"] = {{"format", "other"}};
  ExpectLoadError(MakeSafetensors(header, std::vector<uint8_t>(4)),
                  "__metadata__.format must be \"digits/1\"");
}

TEST(ModelLoader, RefusesInconsistentArchitecture) {
  json arch = SmallArchitecture();
  arch["labels"] = {"a", "b"};
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "outputs 10x1x1 values but has 2 labels");

  arch = SmallArchitecture();
  arch["layers"][0]["in_channels"] = 3;
  ExpectLoadError(MakeModelFile(arch, SmallTensors()),
                  "layer 0 (conv2d 'c1'): in_channels is 3 but its input has 1 channels");

  arch = SmallArchitecture();
  arch["layers"][4]["in_features"] = 31;
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "in_features is 31 but its input has 32");

  arch = SmallArchitecture();
  arch["layers"].erase(3);  // no flatten before dense
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "not flat (add a flatten layer)");

  // Between a flatten and its dense only order-keeping layers (relu, flatten) may stand: a pooling
  // there would pool PyTorch's CHW vector, which the core does not hold.
  arch = SmallArchitecture();
  arch["layers"].insert(arch["layers"].begin() + 4,
                        json{{"type", "maxpool2d"}, {"kernel", {1, 1}}});
  ExpectLoadError(MakeModelFile(arch, SmallTensors()),
                  "layer 4 (maxpool2d) follows a flatten: only relu, flatten and dense may");
  // A flattened spatial map that reaches the logits without a dense would come out in HWC order.
  arch = SmallArchitecture();
  arch["layers"] = json::parse(R"([{"type": "conv2d", "name": "c1", "in_channels": 1,
      "out_channels": 2, "kernel": [8, 7]}, {"type": "flatten"}])");
  arch["labels"] = {"a", "b", "c", "d"};
  arch["gradcam_layer"] = 0;
  ExpectLoadError(
      MakeModelFile(arch, {{"c1.weight", {2, 1, 8, 7}, Iota(112)}, {"c1.bias", {2}, {0, 0}}}),
      "the logits come from a flatten of a 1x2x2 map with no dense after it");

  arch = SmallArchitecture();
  arch["layers"][0]["kernel"] = {11, 11};
  arch["layers"][0]["padding"] = {0, 0};
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "kernel 11x11 does not fit its 8x8 input");

  // A few hundred bytes that would ask the first inference for a table of 4096^2 x 181^2 taps.
  arch = SmallArchitecture();
  arch["input"]["height"] = arch["input"]["width"] = 4096;
  arch["layers"] = json::parse(R"([{"type": "maxpool2d", "kernel": [181, 181],
      "stride": [1, 1], "padding": [90, 90]}, {"type": "flatten"}])");
  ExpectLoadError(MakeModelFile(arch, {}),
                  "4096x4096 outputs of a 181x181 kernel are too many taps");

  arch = SmallArchitecture();
  arch["gradcam_layer"] = 4;
  ExpectLoadError(MakeModelFile(arch, SmallTensors()),
                  "gradcam_layer 4 must name a layer before the logits");

  arch = SmallArchitecture();
  arch["layers"][5] = {{"type", "relu"}};
  arch["layers"].push_back({{"type", "softmax"}});
  arch["layers"].push_back({{"type", "relu"}});
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "softmax is only allowed as the last layer");

  arch = SmallArchitecture();
  arch["input"]["std"] = 0;
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "\"std\" must be positive");
}

TEST(ModelLoader, ReadsTheNotADigitClass) {
  json arch = SmallArchitecture();
  arch["not_a_digit_class"] = 9;
  arch["not_a_digit_threshold"] = 0.4;
  const std::vector<uint8_t> bytes = MakeModelFile(arch, SmallTensors());
  Network net;
  const Status s = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.not_a_digit_class, 9);
  EXPECT_FLOAT_EQ(net.not_a_digit_threshold, 0.4f);

  Network plain;  // a model without the class: every input is some digit
  const std::vector<uint8_t> plain_bytes = MakeModelFile(SmallArchitecture(), SmallTensors());
  ASSERT_TRUE(LoadNetwork(plain_bytes.data(), plain_bytes.size(), &plain).ok());
  EXPECT_EQ(plain.not_a_digit_class, -1);
}

TEST(ModelLoader, RefusesABadNotADigitClass) {
  for (const json& cls : {json(10), json(-1), json(2.5), json("9")}) {
    json arch = SmallArchitecture();
    arch["not_a_digit_class"] = cls;
    arch["not_a_digit_threshold"] = 0.5;
    ExpectLoadError(MakeModelFile(arch, SmallTensors()), "not_a_digit_class");
  }
  for (const json& threshold : {json(1.5), json(-0.1), json(nullptr)}) {
    json arch = SmallArchitecture();
    arch["not_a_digit_class"] = 9;
    arch["not_a_digit_threshold"] = threshold;
    ExpectLoadError(MakeModelFile(arch, SmallTensors()), "not_a_digit_threshold");
  }
  json arch = SmallArchitecture();  // the class without its threshold
  arch["not_a_digit_class"] = 9;
  ExpectLoadError(MakeModelFile(arch, SmallTensors()), "not_a_digit_threshold");
}

TEST(ModelLoader, LoadsCommittedTestModel) {
  Network net;
  const Status s = LoadNetworkFile(DIGITS_TEST_DATA "/tiny.safetensors", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.input, (Shape{28, 28, 1}));
  EXPECT_EQ(net.num_classes(), 10);
  EXPECT_GT(net.parameter_count(), 0);
}

TEST(ModelLoader, ReportsMissingFile) {
  Network net;
  const Status s = LoadNetworkFile("/nonexistent/model.safetensors", &net);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot open '/nonexistent/model.safetensors'"), std::string::npos);
}

}  // namespace
}  // namespace digits
