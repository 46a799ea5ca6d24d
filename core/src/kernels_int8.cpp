// The built-in int8 kernels (kernels.h, "int8"). The only instruction the vector extensions cannot
// spell is the pairwise 16-bit dot product; Dot() names it per target.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace digits {
namespace kernels {
namespace {

typedef int16_t i16x8 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef float f32x4 __attribute__((vector_size(16)));

constexpr int kPanel = 8;  // output channels per weight panel
constexpr int kRows = 4;   // output pixels per micro-kernel call

// r[j] = a[2j] * b[2j] + a[2j+1] * b[2j+1]. Operands here are at most 255 and 128 in magnitude,
// far from the one overflowing case (-32768 * -32768 twice).
inline i32x4 Dot(i16x8 a, i16x8 b) {
#if defined(__wasm_simd128__)
  return (i32x4)wasm_i32x4_dot_i16x8((v128_t)a, (v128_t)b);
#elif defined(__SSE2__)
  return (i32x4)_mm_madd_epi16((__m128i)a, (__m128i)b);
#else
  i32x4 r;
  for (int j = 0; j < 4; ++j) r[j] = a[2 * j] * b[2 * j] + a[2 * j + 1] * b[2 * j + 1];
  return r;
#endif
}

inline i16x8 LoadI16(const int16_t* p) {
  i16x8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline i32x4 LoadI32(const int32_t* p) {
  i32x4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline f32x4 LoadF32(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
// The pair p[0], p[1] in all four 32-bit lanes.
inline i16x8 SplatPair(const int16_t* p) {
  int32_t pair;
  std::memcpy(&pair, p, sizeof(pair));
  return (i16x8)(i32x4{pair, pair, pair, pair});
}

// float(acc) * m, clamped to [lo, hi] (integers, so clamping before rounding is the same as
// after), rounded half to even by adding and subtracting 1.5 * 2^23 (exact for |x| < 2^22, and
// independent of the rounding instruction the target has), + zero point.
inline i32x4 Requantize(i32x4 acc, f32x4 m, f32x4 lo, f32x4 hi, i32x4 zero_point) {
  const f32x4 magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
  f32x4 x = __builtin_convertvector(acc, f32x4) * m;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  x = (x + magic) - magic;
  return __builtin_convertvector(x, i32x4) + zero_point;
}

// C[4][8] (int8) = requantize(bias + sum over taps t and pairs j of the dot of row r's pair j of
// tap t with the packed weights). Row r's tap t is the int16 pixel at ptrs[r * taps + t].
inline void KernelQ8_4x8(int taps, int pairs, const int16_t* const* ptrs, const int16_t* w,
                         const int32_t* bias, const float* requant, int zero_point, int lo,
                         int8_t* c, int c_stride, int rows, int cols) {
  // Eight named accumulators, not an array: with an array indexed by the store loop below, clang
  // kept the accumulators in memory and stored all eight on every step (measured: 2x slower).
  const i32x4 bias0 = LoadI32(bias), bias1 = LoadI32(bias + 4);
  i32x4 c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1;
  i32x4 c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
  for (int t = 0; t < taps; ++t) {
    const int16_t* a0 = ptrs[t];
    const int16_t* a1 = ptrs[taps + t];
    const int16_t* a2 = ptrs[2 * taps + t];
    const int16_t* a3 = ptrs[3 * taps + t];
    for (int j = 0; j < pairs; ++j, w += 2 * kPanel) {
      const i16x8 w0 = LoadI16(w), w1 = LoadI16(w + kPanel);
      const i16x8 x0 = SplatPair(a0 + 2 * j);
      c00 += Dot(x0, w0);
      c01 += Dot(x0, w1);
      const i16x8 x1 = SplatPair(a1 + 2 * j);
      c10 += Dot(x1, w0);
      c11 += Dot(x1, w1);
      const i16x8 x2 = SplatPair(a2 + 2 * j);
      c20 += Dot(x2, w0);
      c21 += Dot(x2, w1);
      const i16x8 x3 = SplatPair(a3 + 2 * j);
      c30 += Dot(x3, w0);
      c31 += Dot(x3, w1);
    }
  }
  const i32x4 acc[kRows][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  const f32x4 m0 = LoadF32(requant), m1 = LoadF32(requant + 4);
  const float flo = static_cast<float>(lo - zero_point), fhi = static_cast<float>(127 - zero_point);
  const f32x4 vlo = {flo, flo, flo, flo}, vhi = {fhi, fhi, fhi, fhi};
  const i32x4 zp = {zero_point, zero_point, zero_point, zero_point};
  for (int r = 0; r < rows; ++r) {
    const i32x4 q0 = Requantize(acc[r][0], m0, vlo, vhi, zp);
    const i32x4 q1 = Requantize(acc[r][1], m1, vlo, vhi, zp);
    int8_t* out = c + static_cast<size_t>(r) * c_stride;
    for (int j = 0; j < cols; ++j) out[j] = static_cast<int8_t>(j < 4 ? q0[j] : q1[j - 4]);
  }
}

// round_half_even(x) + zero_point clamped to [lo, 127]; NaN (a NaN pixel) gives lo.
int RoundHalfEvenClamped(float x, int lo, int zero_point) {
  float r = std::nearbyint(x) + static_cast<float>(zero_point);  // default mode: to even
  if (!(r >= static_cast<float>(lo))) r = static_cast<float>(lo);
  if (r > 127.0f) r = 127.0f;
  return static_cast<int>(r);
}

}  // namespace

PackedConvQ8 PackConvQ8(const Layer& conv) {
  PackedConvQ8 p;
  const int cin = conv.input.channels, cout = conv.output.channels;
  p.taps = conv.kernel_h * conv.kernel_w;
  p.cin2 = (cin + 1) / 2 * 2;
  p.panels = (cout + kPanel - 1) / kPanel;
  const int pairs = p.taps * p.cin2 / 2;
  p.weight.assign(static_cast<size_t>(p.panels) * pairs * kPanel * 2, 0);
  p.bias.assign(static_cast<size_t>(p.panels) * kPanel, 0);
  p.requant.assign(static_cast<size_t>(p.panels) * kPanel, 1.0f);
  for (int o = 0; o < cout; ++o) {
    p.bias[o] = conv.bias_q[o];
    p.requant[o] = conv.requant[o];
    int16_t* panel = &p.weight[static_cast<size_t>(o / kPanel) * pairs * kPanel * 2];
    for (int t = 0; t < p.taps; ++t) {
      for (int i = 0; i < cin; ++i) {  // conv.weight_q is OHWI: [cout][taps][cin]
        const int pair = t * p.cin2 / 2 + i / 2;
        panel[(pair * kPanel + o % kPanel) * 2 + i % 2] =
            conv.weight_q[(static_cast<size_t>(o) * p.taps + t) * cin + i];
      }
    }
  }
  return p;
}

void QuantizeInput(int n, const float* pixels, float mean, float std, const Quantization& q,
                   int8_t* output) {
  for (int i = 0; i < n; ++i) {
    const float normalized = (pixels[i] - mean) / std;
    output[i] = static_cast<int8_t>(RoundHalfEvenClamped(normalized / q.scale, -128, q.zero_point));
  }
}

void Conv2dQ8(const Layer& conv, const PackedConvQ8& packed, const int8_t* input, int8_t* output,
              bool fuse_relu, ConvQ8Workspace* ws) {
  const Shape in = conv.input, out = conv.output;
  const int cin = in.channels, cin2 = packed.cin2, taps = packed.taps;
  const int pixels = out.height * out.width;
  const int rows = (pixels + kRows - 1) / kRows * kRows;  // extra rows read the zero pixel
  const size_t widened = static_cast<size_t>(in.height) * in.width * cin2;
  if (ws->widened.size() != widened) {  // first call: the buffers and the pointer table
    ws->widened.assign(widened, 0);
    ws->zeros.assign(cin2, 0);
    ws->taps.resize(static_cast<size_t>(rows) * taps);
    const int16_t** t = ws->taps.data();
    for (int p = 0; p < rows; ++p) {
      const int oy = p / out.width, ox = p % out.width;
      for (int ky = 0; ky < conv.kernel_h; ++ky) {
        const int iy = oy * conv.stride_h - conv.pad_h + ky;
        for (int kx = 0; kx < conv.kernel_w; ++kx) {
          const int ix = ox * conv.stride_w - conv.pad_w + kx;
          const bool inside = p < pixels && iy >= 0 && iy < in.height && ix >= 0 && ix < in.width;
          *t++ = inside ? &ws->widened[(static_cast<size_t>(iy) * in.width + ix) * cin2]
                        : ws->zeros.data();
        }
      }
    }
  }
  // x - zero point as int16; the pad channel (odd cin) stays 0.
  const int zp = conv.input_q.zero_point;
  const int n = in.height * in.width;
  for (int p = 0; p < n; ++p) {
    const int8_t* x = input + static_cast<size_t>(p) * cin;
    int16_t* w = &ws->widened[static_cast<size_t>(p) * cin2];
    for (int i = 0; i < cin; ++i) w[i] = static_cast<int16_t>(x[i] - zp);
  }
  const int out_zp = conv.output_q.zero_point;
  const int lo = fuse_relu ? out_zp : -128;
  const int pairs = cin2 / 2;
  for (int p = 0; p < packed.panels; ++p) {
    const int16_t* panel = &packed.weight[static_cast<size_t>(p) * taps * pairs * kPanel * 2];
    const int col0 = p * kPanel;
    const int ncols = std::min(kPanel, out.channels - col0);
    for (int r = 0; r < pixels; r += kRows) {
      KernelQ8_4x8(taps, pairs, &ws->taps[static_cast<size_t>(r) * taps], panel, &packed.bias[col0],
                   &packed.requant[col0], out_zp, lo,
                   output + static_cast<size_t>(r) * out.channels + col0, out.channels,
                   std::min(kRows, pixels - r), ncols);
    }
  }
}

void MaxPool2dQ8(const Layer& pool, const int8_t* input, int8_t* output) {
  const Shape in = pool.input, out = pool.output;
  const int c = in.channels;
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      int8_t* o = output + (static_cast<size_t>(oy) * out.width + ox) * c;
      // Padding is at most half the kernel: every window holds an input pixel, so -128 is as
      // good as -inf.
      std::fill(o, o + c, static_cast<int8_t>(-128));
      for (int ky = 0; ky < pool.kernel_h; ++ky) {
        const int iy = oy * pool.stride_h - pool.pad_h + ky;
        if (iy < 0 || iy >= in.height) continue;
        for (int kx = 0; kx < pool.kernel_w; ++kx) {
          const int ix = ox * pool.stride_w - pool.pad_w + kx;
          if (ix < 0 || ix >= in.width) continue;
          const int8_t* x = input + (static_cast<size_t>(iy) * in.width + ix) * c;
          for (int i = 0; i < c; ++i) o[i] = std::max(o[i], x[i]);
        }
      }
    }
  }
}

void ReluQ8(int n, int zero_point, const int8_t* input, int8_t* output) {
  const int8_t zp = static_cast<int8_t>(zero_point);
  for (int i = 0; i < n; ++i) output[i] = std::max(input[i], zp);
}

void Dequantize(int n, const Quantization& q, const int8_t* input, float* output) {
  for (int i = 0; i < n; ++i) output[i] = static_cast<float>(input[i] - q.zero_point) * q.scale;
}

void ReferenceConv2dQ8(const Layer& conv, const std::vector<int8_t>& x, bool fuse_relu,
                       std::vector<int8_t>* y) {
  const Shape in = conv.input, out = conv.output;
  y->assign(out.size(), 0);
  const int lo = fuse_relu ? conv.output_q.zero_point : -128;
  for (int oy = 0; oy < out.height; ++oy)
    for (int ox = 0; ox < out.width; ++ox)
      for (int o = 0; o < out.channels; ++o) {
        int32_t acc = conv.bias_q[o];
        ForEachTapInside(conv, oy, ox, [&](int pixel, int tap) {
          const int8_t* w = &conv.weight_q[(o * conv.kernel_h * conv.kernel_w + tap) * in.channels];
          const int8_t* v = &x[pixel * in.channels];
          for (int c = 0; c < in.channels; ++c) acc += (v[c] - conv.input_q.zero_point) * w[c];
        });
        (*y)[(oy * out.width + ox) * out.channels + o] = static_cast<int8_t>(RoundHalfEvenClamped(
            static_cast<float>(acc) * conv.requant[o], lo, conv.output_q.zero_point));
      }
}

}  // namespace kernels
}  // namespace digits
