// The built-in int8 kernels (core/src/kernels.h, "int8"): both SIMD convolutions (indirect GEMM and
// the integer Winograd) equal the scalar reference bit for bit on every shape (odd channel counts,
// strides, no padding, partial panels, clipped tiles), with and without the fused relu, for any
// zero points and at the transforms' extremes; the input quantization rounds half to
// even; int8 max pooling equals max pooling of the dequantized values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <random>
#include <string>

#include "kernels.h"
#include "model_files.h"

namespace digits {
namespace {

using test::RandomCodes;

Layer MakeConvQ8(int cin, int cout, int h, int w, int k, int stride, int pad, int in_zp, int out_zp,
                 std::mt19937* rng) {
  Layer conv = test::ConvGeometry(cin, cout, h, w, k, stride, pad);
  conv.input_q = {0.05f, in_zp};
  conv.output_q = {0.1f, out_zp};
  conv.weight_q = RandomCodes(static_cast<size_t>(cout) * k * k * cin, rng);
  std::uniform_int_distribution<int> bias(-20000, 20000);
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  for (int o = 0; o < cout; ++o) {
    conv.bias_q.push_back(bias(*rng));
    conv.weight_scale.push_back(scale(*rng));
    // Outputs spread over the whole int8 range, clamped at both ends now and then.
    conv.requant.push_back(0.5f / std::sqrt(static_cast<float>(k * k * cin)) / 40.0f);
  }
  return conv;
}

// Conv2dQ8 of `packed` equals the scalar reference, with and without the fused relu, on a fresh
// workspace and when it is reused; returns how many reference outputs sat on a clamp.
int ExpectConvEqualsReference(const Layer& conv, const kernels::PackedConvQ8& packed,
                              const std::vector<int8_t>& input, const std::string& what) {
  int clamped = 0;
  for (bool relu : {false, true}) {
    std::vector<int8_t> expected, output(conv.output.size(), 99);
    kernels::ReferenceConv2dQ8(conv, input, relu, &expected);
    kernels::ConvQ8Workspace workspace;
    for (int call = 0; call < 2; ++call) {  // the second call reuses the workspace
      kernels::Conv2dQ8(conv, packed, input.data(), output.data(), relu, &workspace);
      EXPECT_EQ(output, expected) << what << (relu ? " +relu" : "") << " call " << call;
      if (output != expected) return clamped;
    }
    for (int8_t v : expected) clamped += v == 127 || v == -128;
  }
  return clamped;
}

TEST(Int8Kernels, ConvEqualsTheScalarReferenceBitForBit) {
  std::mt19937 rng(15);
  // cin, cout, h, w, k, stride, pad, input zero point, output zero point
  const int shapes[][9] = {
      {1, 20, 28, 28, 3, 1, 1, -3, -128},
      {20, 40, 14, 14, 3, 1, 1, -128, -128},
      {40, 56, 14, 14, 3, 1, 1, -128, -128},
      {56, 80, 7, 7, 3, 1, 1, -128, -128},
      {80, 112, 7, 7, 3, 1, 1, -128, 5},
      {3, 5, 9, 7, 3, 2, 1, 17, 0},
      {7, 13, 6, 6, 5, 1, 0, 127, -20},
      {2, 3, 4, 4, 1, 1, 0, 0, 127},
      // Winograd's edges: odd sizes (clipped tiles), one pixel, cin not a multiple of 8, cout
      // not a multiple of 4 or 8, the widest cin it takes and one more, zero points at the ends.
      {8, 4, 1, 1, 3, 1, 1, 127, -128},
      {12, 13, 5, 9, 3, 1, 1, -128, 127},
      {9, 3, 3, 2, 3, 1, 1, 0, 0},
      {24, 96, 7, 7, 3, 1, 1, 127, -128},
      {200, 9, 3, 3, 3, 1, 1, -128, 0},
      {201, 9, 3, 3, 3, 1, 1, -128, 0}};
  int winograd_shapes = 0;
  for (size_t n = 0; n < std::size(shapes); ++n) {
    const int* s = shapes[n];
    const Layer conv = MakeConvQ8(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], &rng);
    const std::string what = "cin " + std::to_string(s[0]) + " cout " + std::to_string(s[1]) + " " +
                             std::to_string(s[2]) + "x" + std::to_string(s[3]) + " k" +
                             std::to_string(s[4]) + " s" + std::to_string(s[5]) + " p" +
                             std::to_string(s[6]);
    const std::vector<int8_t> input = RandomCodes(conv.input.size(), &rng);
    const kernels::PackedConvQ8 gemm =
        kernels::PackConvQ8(conv, kernels::ConvAlgorithm::kIndirectGemm);
    ASSERT_EQ(gemm.algorithm, kernels::ConvAlgorithm::kIndirectGemm);
    const int clamped = ExpectConvEqualsReference(conv, gemm, input, what + " indirect-gemm");
    if (n < 8) EXPECT_GT(clamped, 0) << what << ": the outputs should reach the clamps";
    const kernels::PackedConvQ8 winograd =
        kernels::PackConvQ8(conv, kernels::ConvAlgorithm::kWinograd);
    const kernels::PackedConvQ8 chosen = kernels::PackConvQ8(conv);
    EXPECT_EQ(chosen.algorithm, winograd.algorithm)
        << what << ": kAuto picks Winograd where it applies";
    const bool applies =
        s[0] >= 8 && s[0] <= kernels::kWinogradQ8MaxCin && s[4] == 3 && s[5] == 1 && s[6] == 1;
    EXPECT_EQ(kernels::WinogradQ8Applies(conv), applies) << what;
    if (!applies) {
      EXPECT_EQ(winograd.algorithm, kernels::ConvAlgorithm::kIndirectGemm) << what;
      continue;
    }
    ++winograd_shapes;
    ASSERT_EQ(winograd.algorithm, kernels::ConvAlgorithm::kWinograd) << what;
    ExpectConvEqualsReference(conv, winograd, input, what + " winograd");
  }
  EXPECT_EQ(winograd_shapes, 9);
}

// The largest magnitudes the int8 Winograd transforms can meet: weight codes of -128 and 127 in
// the patterns that make U' = G' g G'^T largest (|U'| = 9 * 128), inputs at the far end of the
// zero point (|x - zp| = 255) in the patterns that make V = B^T d B largest, at the widest cin
// Winograd takes. Any int16 or int32 overflow would show as a difference from the reference.
TEST(Int8Kernels, WinogradIsExactAtTheExtremes) {
  std::mt19937 rng(16);
  for (int in_zp : {-128, 127}) {
    const int cin = kernels::kWinogradQ8MaxCin;
    Layer conv = MakeConvQ8(cin, 8, 6, 6, 3, 1, 1, in_zp, 0, &rng);
    // Weights: all -128 (the sums of 9), or a checkerboard of +-127/-128 per output channel.
    for (int o = 0; o < 8; ++o) {
      for (int t = 0; t < 9; ++t) {
        for (int i = 0; i < cin; ++i) {
          int8_t w = -128;
          if (o % 2) w = ((t + i) % 2) ? 127 : -128;
          conv.weight_q[(static_cast<size_t>(o) * 9 + t) * cin + i] = w;
        }
      }
      conv.requant[o] = 1.0f / (9.0f * 255 * 128 * cin / 100.0f);  // not all clamped
    }
    // Inputs: the far code from the zero point, and a checkerboard of both ends.
    std::vector<int8_t> input(conv.input.size());
    const int8_t far = in_zp < 0 ? 127 : -128;
    for (size_t p = 0; p < input.size(); ++p) {
      const size_t pixel = p / cin;
      input[p] = (pixel % 3 == 1) ? static_cast<int8_t>(in_zp) : far;
    }
    const kernels::PackedConvQ8 winograd =
        kernels::PackConvQ8(conv, kernels::ConvAlgorithm::kWinograd);
    ASSERT_EQ(winograd.algorithm, kernels::ConvAlgorithm::kWinograd);
    for (int16_t u : winograd.weight) ASSERT_LE(std::abs(u), 9 * 128);
    ExpectConvEqualsReference(conv, winograd, input,
                              "extremes, zero point " + std::to_string(in_zp));
  }
}

TEST(Int8Kernels, ReferenceConvAddsTheProductsOfCodesMinusZeroPoint) {
  // One output: bias 10 + (5 - (-3)) * 2 + (-3 - (-3)) * 100 = 26; * 0.25 = 6.5 -> 6 (half to
  // even) + zero point 1 = 7.
  Layer conv;
  conv.type = LayerType::kConv2d;
  conv.kernel_h = conv.kernel_w = 1;
  conv.input = {1, 1, 2};
  conv.output = {1, 1, 1};
  conv.input_q = {1.0f, -3};
  conv.output_q = {1.0f, 1};
  conv.weight_q = {2, 100};
  conv.bias_q = {10};
  conv.requant = {0.25f};
  std::vector<int8_t> y;
  kernels::ReferenceConv2dQ8(conv, {5, -3}, false, &y);
  EXPECT_EQ(y, std::vector<int8_t>{7});
  const kernels::PackedConvQ8 packed = kernels::PackConvQ8(conv);
  kernels::ConvQ8Workspace workspace;
  std::vector<int8_t> input = {5, -3}, output(1);
  kernels::Conv2dQ8(conv, packed, input.data(), output.data(), false, &workspace);
  EXPECT_EQ(output, y);
}

TEST(Int8Kernels, InputQuantizationRoundsHalfToEvenAndClamps) {
  // mean 0, std 1, scale 0.5: p / 0.5 = 2p; ties at 0.25 (0.5 -> 0) and 0.75 (1.5 -> 2).
  const Quantization q{0.5f, -100};
  const std::vector<float> pixels = {0.0f, 0.25f, 0.75f, 1.25f, -0.25f, 1000.0f, -1000.0f, NAN};
  std::vector<int8_t> codes(pixels.size());
  kernels::QuantizeInput(static_cast<int>(pixels.size()), pixels.data(), 0.0f, 1.0f, q,
                         codes.data());
  EXPECT_EQ(codes, (std::vector<int8_t>{-100, -100, -98, -98, -100, 127, -128, -128}));
}

TEST(Int8Kernels, MaxPoolAndDequantizeCommute) {
  std::mt19937 rng(3);
  Layer pool;
  pool.type = LayerType::kMaxPool2d;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_h = pool.pad_w = 1;
  pool.input = {9, 8, 5};
  pool.output = {5, 4, 5};
  const Quantization q{0.1f, -7};
  const std::vector<int8_t> x = RandomCodes(pool.input.size(), &rng);
  std::vector<int8_t> y(pool.output.size());
  kernels::MaxPool2dQ8(pool, x.data(), y.data());
  std::vector<float> xf(x.size()), yf(y.size()), expected;
  kernels::Dequantize(static_cast<int>(x.size()), q, x.data(), xf.data());
  kernels::Dequantize(static_cast<int>(y.size()), q, y.data(), yf.data());
  kernels::ReferenceLayer(pool, xf, &expected);
  EXPECT_EQ(yf, expected);
}

}  // namespace
}  // namespace digits
