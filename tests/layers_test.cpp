// Each layer type, on random shapes (odd sizes, padding, strides), through every backend of this
// build, against a straightforward reference written from PyTorch's definitions (NCHW, OIHW).
// A one-layer network is built as [layer under test, flatten, dense]; the layer's output is read
// back as the Grad-CAM activations and the logits check the dense layer and the flatten order.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "digits/backend.h"
#include "fixtures.h"
#include "model_files.h"

namespace digits {
namespace {

using nlohmann::json;

struct Tensor {  // NCHW with N = 1
  int c = 0, h = 0, w = 0;
  std::vector<float> v;
  float& at(int ci, int y, int x) { return v[(ci * h + y) * w + x]; }
  float at(int ci, int y, int x) const { return v[(ci * h + y) * w + x]; }
};

Tensor RefConv(const Tensor& in, const std::vector<float>& w, const std::vector<float>& b, int cout,
               int kh, int kw, int sh, int sw, int ph, int pw) {
  Tensor out{cout, (in.h + 2 * ph - kh) / sh + 1, (in.w + 2 * pw - kw) / sw + 1, {}};
  out.v.assign(out.c * out.h * out.w, 0.0f);
  for (int o = 0; o < cout; ++o)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        double sum = b[o];
        for (int i = 0; i < in.c; ++i)
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = y * sh - ph + ky, ix = x * sw - pw + kx;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              sum += double{w[((o * in.c + i) * kh + ky) * kw + kx]} * in.at(i, iy, ix);
            }
        out.at(o, y, x) = static_cast<float>(sum);
      }
  return out;
}

Tensor RefMaxPool(const Tensor& in, int kh, int kw, int sh, int sw, int ph, int pw) {
  Tensor out{in.c, (in.h + 2 * ph - kh) / sh + 1, (in.w + 2 * pw - kw) / sw + 1, {}};
  out.v.assign(out.c * out.h * out.w, 0.0f);
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        float m = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = y * sh - ph + ky, ix = x * sw - pw + kx;
            if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w) m = std::max(m, in.at(c, iy, ix));
          }
        out.at(c, y, x) = m;
      }
  return out;
}

Tensor RefRelu(Tensor t) {
  for (float& x : t.v) x = std::max(x, 0.0f);
  return t;
}

Tensor RefGlobalAvgPool(const Tensor& in) {
  Tensor out{in.c, 1, 1, std::vector<float>(in.c)};
  for (int c = 0; c < in.c; ++c) {
    double sum = 0;
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x) sum += in.at(c, y, x);
    out.v[c] = static_cast<float>(sum / (in.h * in.w));
  }
  return out;
}

// y = W flatten_chw(x) + b
std::vector<float> RefDense(const Tensor& in, const std::vector<float>& w,
                            const std::vector<float>& b) {
  const size_t n = in.v.size();
  std::vector<float> y(b.size());
  for (size_t o = 0; o < b.size(); ++o) {
    double sum = b[o];
    for (size_t i = 0; i < n; ++i) sum += double{w[o * n + i]} * in.v[i];
    y[o] = static_cast<float>(sum);
  }
  return y;
}

std::vector<float> ChwToHwc(const Tensor& t) {
  std::vector<float> hwc(t.v.size());
  for (int c = 0; c < t.c; ++c)
    for (int y = 0; y < t.h; ++y)
      for (int x = 0; x < t.w; ++x) hwc[(y * t.w + x) * t.c + c] = t.at(c, y, x);
  return hwc;
}

void ExpectNear(const std::vector<float>& actual, const std::vector<float>& expected,
                const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    const float tolerance = 1e-4f * std::max(1.0f, std::fabs(expected[i]));
    ASSERT_NEAR(actual[i], expected[i], tolerance) << what << " element " << i;
  }
}

// Runs [layer, flatten, dense(3)] on `input` with every backend and compares the layer output
// (as Grad-CAM activations) with `expected` and the logits with the reference dense.
void CheckLayer(const json& layer_spec, const std::vector<test::TensorSpec>& layer_tensors,
                const Tensor& input, const Tensor& expected, std::mt19937* rng,
                const std::string& what) {
  const int n = static_cast<int>(expected.v.size());
  json arch = {{"input",
                {{"channels", input.c},
                 {"height", input.h},
                 {"width", input.w},
                 {"mean", 0.0},
                 {"std", 1.0}}},
               {"labels", {"a", "b", "c"}},
               {"layers",
                {layer_spec,
                 {{"type", "flatten"}},
                 {{"type", "dense"}, {"name", "fc"}, {"in_features", n}, {"out_features", 3}}}},
               {"gradcam_layer", 0}};
  std::vector<test::TensorSpec> tensors = layer_tensors;
  const std::vector<float> fc_w = test::RandomValues(3 * n, rng), fc_b = test::RandomValues(3, rng);
  tensors.push_back({"fc.weight", {3, n}, fc_w});
  tensors.push_back({"fc.bias", {3}, fc_b});
  const std::vector<uint8_t> bytes = test::MakeModelFile(arch, tensors);
  Network net;
  const Status load = LoadNetwork(bytes.data(), bytes.size(), &net);
  ASSERT_TRUE(load.ok()) << what << ": " << load.message();
  ASSERT_EQ(net.layers[0].output, (Shape{expected.h, expected.w, expected.c})) << what;
  const std::vector<float> pixels = ChwToHwc(input);
  for (BackendKind kind : test::AvailableBackends()) {
    std::unique_ptr<Backend> backend;
    const Status created = CreateBackend(net, kind, &backend);
    ASSERT_TRUE(created.ok()) << what << ": " << created.message();
    ForwardOutput out;
    ASSERT_TRUE(backend->Forward(pixels.data(), true, &out).ok());
    const std::string label = what + " [" + BackendName(kind) + "]";
    ExpectNear(out.gradcam_activations, ChwToHwc(expected), label + " layer output");
    ExpectNear(out.logits, RefDense(expected, fc_w, fc_b), label + " logits");
  }
}

Tensor RandomTensor(int c, int h, int w, std::mt19937* rng) {
  return Tensor{c, h, w, test::RandomValues(static_cast<size_t>(c) * h * w, rng)};
}

int Uniform(std::mt19937* rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(*rng);
}

TEST(Layers, Conv2dMatchesReferenceOnRandomShapes) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 60; ++trial) {
    const int cin = Uniform(&rng, 1, 9), cout = Uniform(&rng, 1, 19);
    const int kh = Uniform(&rng, 1, 5), kw = Uniform(&rng, 1, 5);
    const int sh = Uniform(&rng, 1, 3), sw = Uniform(&rng, 1, 3);
    const int ph = Uniform(&rng, 0, 2), pw = Uniform(&rng, 0, 2);
    const int h = Uniform(&rng, std::max(1, kh - 2 * ph), 15);
    const int w = Uniform(&rng, std::max(1, kw - 2 * pw), 15);
    const Tensor in = RandomTensor(cin, h, w, &rng);
    const std::vector<float> weight = test::RandomValues(cout * cin * kh * kw, &rng, 0.5f);
    const std::vector<float> bias = test::RandomValues(cout, &rng);
    const json spec = {{"type", "conv2d"},     {"name", "conv"},     {"in_channels", cin},
                       {"out_channels", cout}, {"kernel", {kh, kw}}, {"stride", {sh, sw}},
                       {"padding", {ph, pw}}};
    const std::string what = "conv " + std::to_string(cin) + "x" + std::to_string(h) + "x" +
                             std::to_string(w) + " -> " + std::to_string(cout) + " k" +
                             std::to_string(kh) + "x" + std::to_string(kw) + " s" +
                             std::to_string(sh) + "x" + std::to_string(sw) + " p" +
                             std::to_string(ph) + "x" + std::to_string(pw);
    CheckLayer(spec, {{"conv.weight", {cout, cin, kh, kw}, weight}, {"conv.bias", {cout}, bias}},
               in, RefConv(in, weight, bias, cout, kh, kw, sh, sw, ph, pw), &rng, what);
    if (HasFatalFailure()) return;
  }
}

TEST(Layers, Conv3x3ShapesMatchReference) {
  // Through the backends, with the algorithm each picks (tests/conv_test.cpp selects each one).
  std::mt19937 rng(7);
  const int shapes[][4] = {{8, 8, 5, 5},   {16, 16, 14, 14}, {32, 20, 14, 14}, {48, 64, 7, 7},
                           {64, 80, 7, 7}, {4, 19, 6, 9},    {12, 3, 1, 1},    {8, 13, 2, 3}};
  for (const auto& sh : shapes) {
    const int cin = sh[0], cout = sh[1], h = sh[2], w = sh[3];
    const Tensor in = RandomTensor(cin, h, w, &rng);
    const std::vector<float> weight = test::RandomValues(cout * cin * 9, &rng, 0.5f);
    const std::vector<float> bias = test::RandomValues(cout, &rng);
    const json spec = {{"type", "conv2d"},     {"name", "conv"},   {"in_channels", cin},
                       {"out_channels", cout}, {"kernel", {3, 3}}, {"stride", {1, 1}},
                       {"padding", {1, 1}}};
    const std::string what = "3x3 conv " + std::to_string(cin) + "x" + std::to_string(h) + "x" +
                             std::to_string(w) + " -> " + std::to_string(cout);
    CheckLayer(spec, {{"conv.weight", {cout, cin, 3, 3}, weight}, {"conv.bias", {cout}, bias}}, in,
               RefConv(in, weight, bias, cout, 3, 3, 1, 1, 1, 1), &rng, what);
    if (HasFatalFailure()) return;
  }
}

TEST(Layers, MaxPoolMatchesReferenceOnRandomShapes) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 40; ++trial) {
    const int c = Uniform(&rng, 1, 11);
    const int kh = Uniform(&rng, 2, 4), kw = Uniform(&rng, 2, 4);
    const int sh = Uniform(&rng, 1, 3), sw = Uniform(&rng, 1, 3);
    // Padding (at most half the kernel, as PyTorch allows) only in half the trials.
    const int ph = trial % 2 ? Uniform(&rng, 0, kh / 2) : 0;
    const int pw = trial % 2 ? Uniform(&rng, 0, kw / 2) : 0;
    const int h = Uniform(&rng, kh, 15), w = Uniform(&rng, kw, 15);
    const Tensor in = RandomTensor(c, h, w, &rng);  // negative values too: padding is -inf
    const json spec = {
        {"type", "maxpool2d"}, {"kernel", {kh, kw}}, {"stride", {sh, sw}}, {"padding", {ph, pw}}};
    CheckLayer(spec, {}, in, RefMaxPool(in, kh, kw, sh, sw, ph, pw), &rng,
               "maxpool trial " + std::to_string(trial));
    if (HasFatalFailure()) return;
  }
}

TEST(Layers, ReluMatchesReference) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 10; ++trial) {
    const Tensor in =
        RandomTensor(Uniform(&rng, 1, 9), Uniform(&rng, 1, 9), Uniform(&rng, 1, 9), &rng);
    CheckLayer({{"type", "relu"}}, {}, in, RefRelu(in), &rng, "relu " + std::to_string(trial));
    if (HasFatalFailure()) return;
  }
}

TEST(Layers, GlobalAvgPoolMatchesReference) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 10; ++trial) {
    const Tensor in =
        RandomTensor(Uniform(&rng, 1, 21), Uniform(&rng, 1, 9), Uniform(&rng, 1, 9), &rng);
    CheckLayer({{"type", "global_avg_pool"}}, {}, in, RefGlobalAvgPool(in), &rng,
               "gap " + std::to_string(trial));
    if (HasFatalFailure()) return;
  }
}

// PyTorch flattens CHW; the core's activations are HWC, so the dense layer that consumes a flatten
// has its columns permuted at load. The flatten need not come right before the dense: the exporter
// writes Flatten -> ReLU -> Linear as [flatten, relu, dense], and a second flatten changes nothing.
TEST(Layers, DenseAfterFlattenSeesPyTorchOrderWhateverLiesBetween) {
  std::mt19937 rng(5);
  const int cin = 2, cout = 3, h = 4, w = 5, n = cout * h * w;
  const Tensor in = RandomTensor(cin, h, w, &rng);
  const std::vector<float> conv_w = test::RandomValues(cout * cin * 9, &rng, 0.5f);
  const std::vector<float> conv_b = test::RandomValues(cout, &rng);
  const std::vector<float> fc_w = test::RandomValues(4 * n, &rng),
                           fc_b = test::RandomValues(4, &rng);
  const Tensor conv_out = RefConv(in, conv_w, conv_b, cout, 3, 3, 1, 1, 1, 1);
  const json conv = {{"type", "conv2d"},     {"name", "conv"},   {"in_channels", cin},
                     {"out_channels", cout}, {"kernel", {3, 3}}, {"padding", {1, 1}}};
  const json flatten = {{"type", "flatten"}}, relu = {{"type", "relu"}};
  const json dense = {{"type", "dense"}, {"name", "fc"}, {"in_features", n}, {"out_features", 4}};
  struct Case {
    const char* name;
    json layers;
    std::vector<float> expected;
  };
  const std::vector<Case> cases = {
      {"conv, flatten, relu, dense",
       {conv, flatten, relu, dense},
       RefDense(RefRelu(conv_out), fc_w, fc_b)},
      {"conv, flatten, flatten, dense",
       {conv, flatten, flatten, dense},
       RefDense(conv_out, fc_w, fc_b)},
      {"conv, relu, flatten, relu, flatten, dense",
       {conv, relu, flatten, relu, flatten, dense},
       RefDense(RefRelu(conv_out), fc_w, fc_b)},
  };
  for (const Case& c : cases) {
    const json arch = {
        {"input", {{"channels", cin}, {"height", h}, {"width", w}, {"mean", 0.0}, {"std", 1.0}}},
        {"labels", {"a", "b", "c", "d"}},
        {"layers", c.layers},
        {"gradcam_layer", 0}};
    const std::vector<uint8_t> bytes =
        test::MakeModelFile(arch, {{"conv.weight", {cout, cin, 3, 3}, conv_w},
                                   {"conv.bias", {cout}, conv_b},
                                   {"fc.weight", {4, n}, fc_w},
                                   {"fc.bias", {4}, fc_b}});
    Network net;
    const Status load = LoadNetwork(bytes.data(), bytes.size(), &net);
    ASSERT_TRUE(load.ok()) << c.name << ": " << load.message();
    const std::vector<float> pixels = ChwToHwc(in);
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Backend> backend;
      ASSERT_TRUE(CreateBackend(net, kind, &backend).ok());
      ForwardOutput out;
      ASSERT_TRUE(backend->Forward(pixels.data(), false, &out).ok());
      ExpectNear(out.logits, c.expected, std::string(c.name) + " [" + BackendName(kind) + "]");
    }
  }
}

TEST(Layers, SoftmaxIsStableAndNormalized) {
  const std::vector<float> p = Softmax({1000.0f, 1001.0f, 999.0f});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-6f);
  EXPECT_NEAR(p[1], 1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-6);
  EXPECT_GT(p[1], p[0]);
  EXPECT_GT(p[0], p[2]);
}

}  // namespace
}  // namespace digits
