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
// fused). Winograd does not apply: its transforms would leave the integers.

// The weights widened to int16 and packed in panels of 8 output channels: per pair of the
// reduction index (tap, channel), 8 channels x 2 values, so one 16-byte load feeds one dot for 4
// channels. Each tap's channels are padded to an even count (cin2) with zero weights.
struct PackedConvQ8 {
  int taps = 0;                 // kh * kw
  int cin2 = 0;                 // cin rounded up to even
  int panels = 0;               // ceil(cout / 8)
  std::vector<int16_t> weight;  // panels * [taps * cin2 / 2][8][2]
  std::vector<int32_t> bias;    // panels * 8
  std::vector<float> requant;   // panels * 8
};
PackedConvQ8 PackConvQ8(const Layer& conv);

// Working memory of one int8 conv layer, reused across calls: the input minus its zero point as
// int16 (pixels of cin2 values, the pad channel 0), a zero pixel for taps outside the input, and
// the pointer table into them (built once, the buffers do not move).
struct ConvQ8Workspace {
  std::vector<int16_t> widened;
  std::vector<const int16_t*> taps;
  std::vector<int16_t> zeros;
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
