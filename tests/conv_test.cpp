// The built-in convolution algorithms (core/src/kernels.h), each selected explicitly and run on
// the same shapes against kernels::ReferenceLayer: the indirect GEMM on every shape, Winograd on
// every shape it applies to, including those kAuto leaves to the indirect GEMM (cin = 4).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "kernels.h"
#include "model_files.h"

namespace digits {
namespace {

using kernels::ConvAlgorithm;

Layer MakeConv(int cin, int cout, int h, int w, int k, int stride, int pad, std::mt19937* rng) {
  Layer conv = test::ConvGeometry(cin, cout, h, w, k, stride, pad);
  conv.weight = test::RandomValues(static_cast<size_t>(cout) * k * k * cin, rng, 0.5f);
  conv.bias = test::RandomValues(cout, rng);
  return conv;
}

// Runs `conv` with `algorithm` (with and without the fused ReLU) and compares with the reference.
void ExpectMatchesReference(const Layer& conv, ConvAlgorithm algorithm, std::mt19937* rng) {
  const std::string what = std::string(kernels::ConvAlgorithmName(algorithm)) + " cin " +
                           std::to_string(conv.input.channels) + " cout " +
                           std::to_string(conv.output.channels) + " " +
                           std::to_string(conv.input.height) + "x" +
                           std::to_string(conv.input.width) + " k" + std::to_string(conv.kernel_h) +
                           " s" + std::to_string(conv.stride_h) + " p" + std::to_string(conv.pad_h);
  const kernels::PackedConv packed = kernels::PackConv(conv, algorithm);
  ASSERT_EQ(packed.algorithm, algorithm) << what;
  const std::vector<float> input = test::RandomValues(conv.input.size(), rng);
  std::vector<float> expected;
  kernels::ReferenceLayer(conv, input, &expected);
  for (bool relu : {false, true}) {
    std::vector<float> output(conv.output.size(), NAN);
    kernels::ConvWorkspace workspace;
    kernels::Conv2d(conv, packed, input.data(), output.data(), relu, &workspace);
    for (size_t i = 0; i < output.size(); ++i) {
      const float want = relu ? std::max(expected[i], 0.0f) : expected[i];
      ASSERT_NEAR(output[i], want, 1e-4f * std::max(1.0f, std::fabs(want)))
          << what << (relu ? " +relu" : "") << " element " << i;
    }
  }
}

TEST(Conv, BothAlgorithmsMatchReferenceOn3x3Shapes) {
  std::mt19937 rng(7);
  // cin, cout, h, w: the model's layers, odd sizes, a cout that is no multiple of 8 or 4, and
  // cin = 4, where Winograd applies but kAuto does not choose it.
  const int shapes[][4] = {{8, 8, 5, 5},   {16, 16, 14, 14}, {32, 20, 14, 14},
                           {48, 64, 7, 7}, {64, 80, 7, 7},   {4, 19, 6, 9},
                           {12, 3, 1, 1},  {8, 13, 2, 3},    {4, 4, 28, 28}};
  for (const auto& s : shapes) {
    const Layer conv = MakeConv(s[0], s[1], s[2], s[3], 3, 1, 1, &rng);
    ASSERT_TRUE(kernels::WinogradApplies(conv));
    ExpectMatchesReference(conv, ConvAlgorithm::kIndirectGemm, &rng);
    ExpectMatchesReference(conv, ConvAlgorithm::kWinograd, &rng);
    if (HasFatalFailure()) return;
  }
}

TEST(Conv, IndirectGemmMatchesReferenceOnRandomShapes) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    std::uniform_int_distribution<int> cin(1, 9), cout(1, 19), k(1, 5), stride(1, 3), pad(0, 2);
    const int kk = k(rng), p = pad(rng);
    const int side = std::max(1, kk - 2 * p) + trial % 11;
    const Layer conv = MakeConv(cin(rng), cout(rng), side, side + 1, kk, stride(rng), p, &rng);
    ExpectMatchesReference(conv, ConvAlgorithm::kIndirectGemm, &rng);
    if (HasFatalFailure()) return;
  }
}

TEST(Conv, AutoChoosesWinogradFrom8InputChannels) {
  std::mt19937 rng(3);
  EXPECT_EQ(kernels::ChooseConvAlgorithm(MakeConv(8, 8, 7, 7, 3, 1, 1, &rng)),
            ConvAlgorithm::kWinograd);
  EXPECT_EQ(kernels::ChooseConvAlgorithm(MakeConv(4, 8, 7, 7, 3, 1, 1, &rng)),
            ConvAlgorithm::kIndirectGemm);  // applies, but not worth it
  EXPECT_EQ(kernels::PackConv(MakeConv(4, 8, 7, 7, 3, 1, 1, &rng)).algorithm,
            ConvAlgorithm::kIndirectGemm);
  // Where Winograd does not apply, asking for it gives the indirect GEMM.
  for (const Layer& conv :
       {MakeConv(6, 8, 7, 7, 3, 1, 1, &rng), MakeConv(8, 8, 7, 7, 3, 2, 1, &rng),
        MakeConv(8, 8, 7, 7, 5, 1, 2, &rng), MakeConv(8, 8, 7, 7, 3, 1, 0, &rng)}) {
    EXPECT_FALSE(kernels::WinogradApplies(conv));
    EXPECT_EQ(kernels::PackConv(conv, ConvAlgorithm::kWinograd).algorithm,
              ConvAlgorithm::kIndirectGemm);
  }
}

}  // namespace
}  // namespace digits
