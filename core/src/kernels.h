// The built-in kernels: batch 1, activations in HWC layout (channels fastest), weights as
// network.h stores them. Inner loops use 128-bit vectors through GCC/Clang vector extensions,
// which compile to SSE natively and to WASM SIMD128 in the wasm build (-msimd128): one code path,
// tested natively, shipped to the browser.
#pragma once

#include <cstdint>
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
// One layer without weights to pack (relu, max pool, global average pool, flatten, dense) on HWC
// data, as both backends run a model's float head. False for a conv or softmax: the caller's.
bool HeadLayer(const Layer& layer, const float* input, float* output);

// ---- int8 (kernels_int8.cpp): the layers 0..Network::int8_end of an int8 model, on int8 codes.
// Convolutions multiply (x - input zero point) by the weight codes as 16-bit pairs and add them
// into int32, 8 multiply-adds per instruction: `i32x4.dot_i16x8_s` in WASM SIMD128,
// `pmaddwd` (_mm_madd_epi16) natively. Requantization is float32: round_half_even(float(acc) *
// requant[o]) + output zero point, clamped to int8 (to the zero point from below when a relu is
// fused).
//
// Two algorithms, as for float (ConvAlgorithm; kAuto picks Winograd where it applies):
//   kIndirectGemm  any conv2d: the pointer-table GEMM over (tap, channel) pairs.
//   kWinograd      F(2x2, 3x3) in exact integers, for 3x3 / stride 1 / padding 1 layers with
//                  8 <= cin <= kWinogradQ8MaxCin (WinogradQ8Applies). The filter transform uses
//                  2G instead of G (G has halves), so U' = 4U is an integer of at most 9 * 128 in
//                  magnitude; the input transform's V of (x - zero point) is at most 4 * 255: both
//                  stay int16, the products are summed in int32, and A^T M A = 4 * the direct
//                  accumulator exactly, so >> 2 gives the direct kernel's int32, bit for bit, with
//                  2.25x fewer multiply-adds.
constexpr int kWinogradQ8MaxCin = 200;  // 9 terms * cin * 1152 * 1020 < 2^31 in A^T M A
bool WinogradQ8Applies(const Layer& conv);

// The weights widened to int16 and packed in panels of 8 output channels: per pair of the
// reduction index, 8 channels x 2 values, so one 16-byte load feeds one dot for 4 channels.
//   indirect GEMM: the pairs run over (tap, channel), each tap's channels padded to an even count
//                  (cin2) with zero weights: weight is panels * [taps * cin2 / 2][8][2].
//   Winograd:      U' = G' g G'^T for the 16 points xi, channels padded to a multiple of 8 (cin8):
//                  weight is [16][panels][cin8 / 2][8][2].
struct PackedConvQ8 {
  ConvAlgorithm algorithm = ConvAlgorithm::kIndirectGemm;  // never kAuto
  int taps = 0;                                            // kh * kw
  int cin2 = 0;                 // indirect GEMM: cin rounded up to even; Winograd: to 8
  int panels = 0;               // ceil(cout / 8)
  std::vector<int16_t> weight;  // as above
  std::vector<int32_t> bias;    // panels * 8
  std::vector<float> requant;   // panels * 8
};
// Packs `conv` for `algorithm`; kWinograd where it does not apply falls back to the indirect GEMM.
PackedConvQ8 PackConvQ8(const Layer& conv, ConvAlgorithm algorithm = ConvAlgorithm::kAuto);

// Working memory of one int8 conv layer, reused across calls: the input minus its zero point as
// int16 (pixels of cin2 values, the pad channels 0; for Winograd with a zero border of one pixel
// above and left and two below and right), a zero pixel for taps outside the input and the
// pointer table into them (built once, the buffers do not move); Winograd's V (int16) and M
// (int32) tiles.
struct ConvQ8Workspace {
  std::vector<int16_t> widened;
  std::vector<const int16_t*> taps;
  std::vector<int16_t> zeros;
  std::vector<int16_t> tiles;
  std::vector<int32_t> products;
};

// The network's input quantization, shared by every backend: in float32, exactly as
// model/quantize.py computes it, q = clamp(round_half_even(((p - mean) / std) / scale) + zp).
void QuantizeInput(int n, const float* pixels, float mean, float std, const Quantization& q,
                   int8_t* output);
void Conv2dQ8(const Layer& conv, const PackedConvQ8& packed, const int8_t* input, int8_t* output,
              bool fuse_relu, ConvQ8Workspace* workspace);
void MaxPool2dQ8(const Layer& pool, const int8_t* input, int8_t* output);
// max(x, zero_point): a relu on codes whose zero point stands for 0.0.
void ReluQ8(int n, int zero_point, const int8_t* input, int8_t* output);
void Dequantize(int n, const Quantization& q, const int8_t* input, float* output);
// One int8 conv2d (relu fused when asked) with plain scalar loops: the reference of Conv2dQ8.
void ReferenceConv2dQ8(const Layer& conv, const std::vector<int8_t>& x, bool fuse_relu,
                       std::vector<int8_t>* y);

// The kernel taps of output pixel (oy, ox) of a conv or pool that fall inside its input, in
// row-major order: tap(input pixel iy * width + ix, tap ky * kernel_w + kx). The plain loop of the
// reference kernels and of Grad-CAM's backward pass.
template <typename Tap>
void ForEachTapInside(const Layer& layer, int oy, int ox, Tap&& tap) {
  for (int ky = 0; ky < layer.kernel_h; ++ky) {
    const int iy = oy * layer.stride_h - layer.pad_h + ky;
    if (iy < 0 || iy >= layer.input.height) continue;
    for (int kx = 0; kx < layer.kernel_w; ++kx) {
      const int ix = ox * layer.stride_w - layer.pad_w + kx;
      if (ix < 0 || ix >= layer.input.width) continue;
      tap(iy * layer.input.width + ix, ky * layer.kernel_w + kx);
    }
  }
}

// One layer with plain loops and no packing: the reference the kernels above are measured
// against (bench/), and the forward pass Grad-CAM uses for the network's small head.
void ReferenceLayer(const Layer& layer, const std::vector<float>& x, std::vector<float>* y);

}  // namespace kernels
}  // namespace digits
