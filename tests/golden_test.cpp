// Golden files made by PyTorch (model/make_test_model.py, model/export.py): every backend of this
// build reproduces PyTorch's logits to 1e-4 absolute, and the backends agree with each other.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "digits/backend.h"
#include "digits/gradcam.h"
#include "fixtures.h"

namespace digits {
namespace {

using nlohmann::json;

json ReadJson(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  return json::parse(f, nullptr, false);
}

// The golden file names its model: the test models live in tests/data, the shipped one in model/.
std::string ModelPath(const json& golden) {
  const std::string name = golden["model"].get<std::string>();
  const std::string test_model = std::string(DIGITS_TEST_DATA "/") + name;
  return std::ifstream(test_model).good() ? test_model : std::string(DIGITS_MODEL_DIR "/") + name;
}

class Golden : public ::testing::TestWithParam<const char*> {};

TEST_P(Golden, BackendsMatchPyTorchLogits) {
  const std::string dir = DIGITS_TEST_DATA "/";
  const json golden = ReadJson(dir + GetParam() + ".golden.json");
  ASSERT_TRUE(golden.is_object()) << "golden file is not JSON";
  Network net;
  const Status s = LoadNetworkFile(ModelPath(golden), &net);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_GE(golden["cases"].size(), 3u);

  std::vector<std::vector<std::vector<float>>> logits_by_backend;
  for (BackendKind kind : test::AvailableBackends()) {
    std::unique_ptr<Backend> backend;
    const Status created = CreateBackend(net, kind, &backend);
    ASSERT_TRUE(created.ok()) << created.message();
    std::vector<std::vector<float>> all;
    for (const json& c : golden["cases"]) {
      const std::vector<float> input = c["input"].get<std::vector<float>>();
      const std::vector<float> expected = c["logits"].get<std::vector<float>>();
      ASSERT_EQ(input.size(), static_cast<size_t>(net.input.size()));
      ForwardOutput out;
      ASSERT_TRUE(backend->Forward(input.data(), false, &out).ok());
      ASSERT_EQ(out.logits.size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(out.logits[i], expected[i], 1e-4)
            << BackendName(kind) << " case " << c["name"] << " logit " << i;
      }
      all.push_back(out.logits);
    }
    logits_by_backend.push_back(all);
  }
  // The backends of this build (both natively, unless built without XNNPACK) agree with each
  // other to the same bound.
  for (size_t b = 1; b < logits_by_backend.size(); ++b)
    for (size_t c = 0; c < logits_by_backend[0].size(); ++c)
      for (size_t i = 0; i < logits_by_backend[0][c].size(); ++i)
        EXPECT_NEAR(logits_by_backend[b][c][i], logits_by_backend[0][c][i], 1e-4);
}

// Grad-CAM from each backend's activations equals PyTorch autograd Grad-CAM to 1e-4: the layer's
// map and the heatmap on the ink, for the class alone and against the runner-up class.
TEST_P(Golden, GradCamMatchesPyTorch) {
  const std::string dir = DIGITS_TEST_DATA "/";
  const json golden = ReadJson(dir + GetParam() + ".golden.json");
  ASSERT_TRUE(golden.is_object()) << "golden file is not JSON";
  Network net;
  ASSERT_TRUE(LoadNetworkFile(ModelPath(golden), &net).ok());
  int checked = 0, versus = 0;
  for (BackendKind kind : test::AvailableBackends()) {
    std::unique_ptr<Backend> backend;
    ASSERT_TRUE(CreateBackend(net, kind, &backend).ok());
    for (const json& c : golden["cases"]) {
      const std::vector<float> input = c["input"].get<std::vector<float>>();
      ForwardOutput out;
      ASSERT_TRUE(backend->Forward(input.data(), true, &out).ok());
      for (const char* key : {"gradcam", "gradcam_versus"}) {
        ASSERT_TRUE(c.contains(key)) << c["name"] << " has no " << key;
        const json& expected = c[key];
        const int vs = expected.value("versus", -1);
        GradCam cam;
        const Status s =
            ComputeGradCam(net, out.gradcam_activations, expected["class"].get<int>(), vs, &cam);
        ASSERT_TRUE(s.ok()) << s.message();
        EXPECT_EQ(cam.versus_class, vs);
        ASSERT_EQ(cam.height, expected["height"].get<int>());
        ASSERT_EQ(cam.width, expected["width"].get<int>());
        const std::string where = std::string(BackendName(kind)) + " case " +
                                  c["name"].get<std::string>() + " " + key + " class " +
                                  expected["class"].dump() + " versus " + std::to_string(vs);
        const std::vector<float> map = expected["map"].get<std::vector<float>>();
        ASSERT_EQ(cam.map.size(), map.size());
        for (size_t i = 0; i < map.size(); ++i) EXPECT_NEAR(cam.map[i], map[i], 1e-4) << where;
        ApplyToInput(input, net.input.height, &cam);
        const std::vector<float> heat = expected["heatmap"].get<std::vector<float>>();
        ASSERT_EQ(cam.heatmap.size(), heat.size());
        for (size_t i = 0; i < heat.size(); ++i)
          EXPECT_NEAR(cam.heatmap[i], heat[i], 1e-4) << where << " pixel " << i;
        ++checked;
        versus += vs >= 0;
      }
    }
  }
  EXPECT_GE(checked, 12) << "the golden file should hold Grad-CAM maps";
  EXPECT_EQ(versus * 2, checked) << "each case should hold a class-difference map";
}

// The int8 goldens (model/quantize.py export, scripts/quantize-test-models) hold the logits of the
// Python int8 reference (QuantNet, read from the int8 file) and its head in float64: the tests
// above hold them to the same 1e-4 as the float models, because after the int8 part the head is
// float32 in the core (its summation order differs from PyTorch's float64 by ~1e-6). The int8
// part itself is exact (GoldenInt8 below).
INSTANTIATE_TEST_SUITE_P(TestModels, Golden,
                         ::testing::Values("tiny", "tiny_gap", "tiny_gap_f16", "digits",
                                           "digits_f16", "tiny_int8", "tiny_gap_int8",
                                           "digits_int8"));

// int8 models: the int8 part is integer arithmetic, and float32 requantization computed in the
// reference's order, so every backend's int8 codes equal the Python reference's bit for bit: the
// Grad-CAM activations are exactly (code - zero point) * scale. The backends share the float head
// code, so their logits are identical too.
class GoldenInt8 : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenInt8, BackendsReproduceTheReferenceCodesBitForBit) {
  const json golden = ReadJson(std::string(DIGITS_TEST_DATA "/") + GetParam() + ".golden.json");
  ASSERT_TRUE(golden.is_object()) << "golden file is not JSON";
  Network net;
  const Status loaded = LoadNetworkFile(ModelPath(golden), &net);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_TRUE(net.int8());
  ASSERT_EQ(golden["int8_output_layer"].get<int>(), net.int8_end);
  ASSERT_EQ(net.gradcam_layer, net.int8_end) << "the Grad-CAM activations are the int8 output";
  const Quantization q = net.layers[net.int8_end].output_q;
  std::vector<std::vector<float>> logits_by_backend;
  for (BackendKind kind : test::AvailableBackends()) {
    std::unique_ptr<Backend> backend;
    const Status created = CreateBackend(net, kind, &backend);
    ASSERT_TRUE(created.ok()) << created.message();
    std::vector<float> all;
    int codes = 0;
    for (const json& c : golden["cases"]) {
      const std::vector<float> input = c["input"].get<std::vector<float>>();
      const std::vector<int> expected = c["int8_output"].get<std::vector<int>>();
      ForwardOutput out;
      ASSERT_TRUE(backend->Forward(input.data(), true, &out).ok());
      ASSERT_EQ(out.gradcam_activations.size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i, ++codes) {
        ASSERT_EQ(out.gradcam_activations[i],
                  static_cast<float>(expected[i] - q.zero_point) * q.scale)
            << BackendName(kind) << " case " << c["name"] << " element " << i << " (code "
            << expected[i] << ")";
      }
      all.insert(all.end(), out.logits.begin(), out.logits.end());
    }
    EXPECT_GT(codes, 500) << "the golden file should hold the int8 codes";
    logits_by_backend.push_back(all);
  }
  for (size_t b = 1; b < logits_by_backend.size(); ++b)
    EXPECT_EQ(logits_by_backend[b], logits_by_backend[0]);
}

INSTANTIATE_TEST_SUITE_P(Int8Models, GoldenInt8,
                         ::testing::Values("tiny_int8", "tiny_gap_int8", "digits_int8"));

}  // namespace
}  // namespace digits
