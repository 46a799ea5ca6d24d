// The built-in kernels: batch 1, activations in HWC layout (channels fastest), weights as
// network.h stores them. Inner loops use 128-bit vectors through GCC/Clang vector extensions,
// which compile to SSE natively and to WASM SIMD128 in the wasm build (-msimd128): one code path,
// tested natively, shipped to the browser.
#pragma once

#include <vector>

#include "digits/network.h"

namespace digits {
namespace kernels {

// Convolution algorithms, selectable per layer (as XNNPACK's micro-kernels are) so both can be
// tested on the same shapes against ReferenceLayer:
//   kIndirectGemm  any conv2d. XNNPACK's scheme: no im2col copy; the micro-kernel reads each kernel
//                  tap's `cin` channels straight from the HWC input through a table of pointers.
//   kWinograd      F(2x2, 3x3) for 3x3 / stride 1 / padding 1 layers whose cin is a multiple of 4
//                  (WinogradApplies): 16 GEMMs over 4x4 input tiles, 2.25x fewer multiplications.
//   kAuto          Winograd where it applies and cin >= 8, else the indirect GEMM: with fewer input
//                  channels the tile transforms cost more than the multiplications they save.
enum class ConvAlgorithm { kAuto, kIndirectGemm, kWinograd };
const char* ConvAlgorithmName(ConvAlgorithm algorithm);
bool WinogradApplies(const Layer& conv);
// The algorithm kAuto resolves to for `conv`.
ConvAlgorithm ChooseConvAlgorithm(const Layer& conv);

// The weights packed once for the chosen algorithm, in panels of 8 output channels so the
// micro-kernel reads them contiguously.
struct PackedConv {
  ConvAlgorithm algorithm = ConvAlgorithm::kIndirectGemm;  // never kAuto
  int k = 0;                                               // kh * kw * cin
  int panels = 0;                                          // ceil(cout / 8)
  std::vector<float> weight;  // indirect GEMM: panels * [k][8], zero padded; else empty
  std::vector<float> bias;    // panels * 8
  // Winograd: U = G g G^T for the 16 points xi, [16][panels][cin][8]; else empty.
  std::vector<float> winograd;
};
// Packs `conv` for `algorithm`; kWinograd where it does not apply falls back to the indirect GEMM
// (`algorithm` of the result says which).
PackedConv PackConv(const Layer& conv, ConvAlgorithm algorithm = ConvAlgorithm::kAuto);

// Working memory of one conv layer, owned by its caller and reused across calls: the pointer
// table (built when the input buffer changes, i.e. once per backend), a zero row for taps
// outside the input, and the Winograd tile buffers.
struct ConvWorkspace {
  const float* input = nullptr;
  std::vector<const float*> taps;
  std::vector<float> zeros;
  std::vector<float> tiles;
};

void Conv2d(const Layer& conv, const PackedConv& packed, const float* input, float* output,
            bool fuse_relu, ConvWorkspace* workspace);
void MaxPool2d(const Layer& pool, const float* input, float* output);
void GlobalAvgPool(const Shape& input_shape, const float* input, float* output);
// y = W x + b, W is [out][in].
void Dense(int in, int out, const float* weight, const float* bias, const float* x, float* y);
void Relu(int n, const float* input, float* output);

// One layer with plain loops and no packing: the reference the kernels above are measured
// against (bench/), and the forward pass Grad-CAM uses for the network's small head.
void ReferenceLayer(const Layer& layer, const std::vector<float>& x, std::vector<float>* y);

}  // namespace kernels
}  // namespace digits
