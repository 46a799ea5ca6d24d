// The built-in int8 kernels (kernels.h, "int8"): the indirect GEMM and the exact integer Winograd
// F(2x2, 3x3). The only instruction the vector extensions cannot spell is the pairwise 16-bit dot
// product; Dot() names it per target.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "winograd.h"

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
inline void StoreI16(int16_t* p, i16x8 v) {
  std::memcpy(p, &v, sizeof(v));
}
inline void StoreI32(int32_t* p, i32x4 v) {
  std::memcpy(p, &v, sizeof(v));
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

// The eight accumulators of a 4x8 tile, named (not an array): with an array indexed by the store
// loop, clang kept the accumulators in memory and stored all eight on every step (measured: 2x
// slower).
struct Tile4x8 {
  i32x4 c00, c01, c10, c11, c20, c21, c30, c31;
};

// tile += the dots of `pairs` int16 pairs of rows a0..a3 with the packed weights at w (per pair
// 8 channels x 2 values); returns w past them. The micro-kernels' only inner loop.
inline const int16_t* DotPairs4x8(Tile4x8& tile, int pairs, const int16_t* a0, const int16_t* a1,
                                  const int16_t* a2, const int16_t* a3, const int16_t* w) {
  i32x4 c00 = tile.c00, c01 = tile.c01, c10 = tile.c10, c11 = tile.c11;
  i32x4 c20 = tile.c20, c21 = tile.c21, c30 = tile.c30, c31 = tile.c31;
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
  tile = {c00, c01, c10, c11, c20, c21, c30, c31};
  return w;
}

// C[4][8] (int8) = requantize(bias + sum over taps t and pairs j of the dot of row r's pair j of
// tap t with the packed weights). Row r's tap t is the int16 pixel at ptrs[r * taps + t].
inline void KernelQ8_4x8(int taps, int pairs, const int16_t* const* ptrs, const int16_t* w,
                         const int32_t* bias, const float* requant, int zero_point, int lo,
                         int8_t* c, int c_stride, int rows, int cols) {
  const i32x4 bias0 = LoadI32(bias), bias1 = LoadI32(bias + 4);
  Tile4x8 t = {bias0, bias1, bias0, bias1, bias0, bias1, bias0, bias1};
  for (int tap = 0; tap < taps; ++tap) {
    w = DotPairs4x8(t, pairs, ptrs[tap], ptrs[taps + tap], ptrs[2 * taps + tap],
                    ptrs[3 * taps + tap], w);
  }
  const i32x4 acc[kRows][2] = {{t.c00, t.c01}, {t.c10, t.c11}, {t.c20, t.c21}, {t.c30, t.c31}};
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

// C[4][8] (int32) = sum over pairs j of the dot of row r's pair j with the packed weights at w;
// row r is the `2 * pairs` int16 values at a + r * a_stride. Winograd's GEMM per point xi.
inline void GemmQ8_4x8(int pairs, const int16_t* a, int a_stride, const int16_t* w, int32_t* c,
                       int c_stride) {
  const i32x4 zero = {0, 0, 0, 0};
  Tile4x8 t = {zero, zero, zero, zero, zero, zero, zero, zero};
  DotPairs4x8(t, pairs, a, a + a_stride, a + 2 * a_stride, a + 3 * a_stride, w);
  StoreI32(c, t.c00), StoreI32(c + 4, t.c01);
  StoreI32(c + c_stride, t.c10), StoreI32(c + c_stride + 4, t.c11);
  StoreI32(c + 2 * c_stride, t.c20), StoreI32(c + 2 * c_stride + 4, t.c21);
  StoreI32(c + 3 * c_stride, t.c30), StoreI32(c + 3 * c_stride + 4, t.c31);
}

// Winograd F(2x2, 3x3) on int16 (x - zero point) (kernels.h, kWinograd): per 4x4 tile of the
// bordered input (stride 2) and 8 channels V = B^T d B; for each of the 16 points xi a GEMM
// M[xi] = V[xi] U'[xi] over the channels; per tile A^T M A = 4 * the direct accumulator, >> 2,
// + bias, requantized; the 2x2 outputs clipped at the right and bottom edges.
void WinogradConv3x3Q8(const Layer& conv, const PackedConvQ8& packed, const int8_t* input,
                       int8_t* output, bool fuse_relu, ConvQ8Workspace* ws) {
  const Shape in = conv.input, out = conv.output;
  const int cin = in.channels, cin8 = packed.cin2, cout = out.channels;
  const int panels = packed.panels, pairs = cin8 / 2, mstride = panels * kPanel;
  const int th = (out.height + 1) / 2, tw = (out.width + 1) / 2;
  const int tiles = th * tw, tiles4 = (tiles + kRows - 1) / kRows * kRows;
  // The bordered input: row 2 * ty + r, column 2 * tx + q is tile (ty, tx)'s d[r][q].
  const int bw = in.width + 3;
  const size_t bordered = static_cast<size_t>(in.height + 3) * bw * cin8;
  const size_t vstep = static_cast<size_t>(tiles4) * cin8;     // V[xi]: [tiles4][cin8]
  const size_t mstep = static_cast<size_t>(tiles4) * mstride;  // M[xi]: [tiles4][panels * 8]
  if (ws->widened.size() != bordered) {  // first call: border, pad channels, pad tiles all zero
    ws->widened.assign(bordered, 0);
    ws->tiles.assign(16 * vstep, 0);
    ws->products.assign(16 * mstep, 0);
  }
  const int zp = conv.input_q.zero_point;
  for (int y = 0; y < in.height; ++y) {
    const int8_t* x = input + static_cast<size_t>(y) * in.width * cin;
    int16_t* d = &ws->widened[(static_cast<size_t>(y + 1) * bw + 1) * cin8];
    for (int p = 0; p < in.width; ++p, x += cin, d += cin8) {
      for (int i = 0; i < cin; ++i) d[i] = static_cast<int16_t>(x[i] - zp);
    }
  }
  int16_t* v_all = ws->tiles.data();
  for (int ty = 0; ty < th; ++ty) {
    for (int tx = 0; tx < tw; ++tx) {
      const int16_t* d0 = &ws->widened[(static_cast<size_t>(2 * ty) * bw + 2 * tx) * cin8];
      int16_t* v = v_all + static_cast<size_t>(ty * tw + tx) * cin8;
      for (int c = 0; c < cin8; c += 8, v += 8) {
        i16x8 d[4][4], vt[16];
        for (int r = 0; r < 4; ++r) {
          for (int q = 0; q < 4; ++q) d[r][q] = LoadI16(d0 + (r * bw + q) * cin8 + c);
        }
        winograd::InputTile(d, vt);
        for (int xi = 0; xi < 16; ++xi) StoreI16(v + xi * vstep, vt[xi]);
      }
    }
  }
  int32_t* m_all = ws->products.data();
  for (int xi = 0; xi < 16; ++xi) {
    for (int p = 0; p < panels; ++p) {
      const int16_t* u =
          &packed.weight[(static_cast<size_t>(xi) * panels + p) * pairs * kPanel * 2];
      for (int t = 0; t < tiles4; t += kRows) {
        GemmQ8_4x8(pairs, v_all + xi * vstep + static_cast<size_t>(t) * cin8, cin8, u,
                   m_all + xi * mstep + static_cast<size_t>(t) * mstride + p * kPanel, mstride);
      }
    }
  }
  const int out_zp = conv.output_q.zero_point;
  const int lo = fuse_relu ? out_zp : -128;
  const float flo = static_cast<float>(lo - out_zp), fhi = static_cast<float>(127 - out_zp);
  const f32x4 vlo = {flo, flo, flo, flo}, vhi = {fhi, fhi, fhi, fhi};
  const i32x4 vzp = {out_zp, out_zp, out_zp, out_zp};
  for (int ty = 0; ty < th; ++ty) {
    for (int tx = 0; tx < tw; ++tx) {
      const int32_t* m = m_all + static_cast<size_t>(ty * tw + tx) * mstride;
      const int oy = 2 * ty, ox = 2 * tx;
      const bool down = oy + 1 < out.height, right = ox + 1 < out.width;
      int8_t* o[2][2];
      o[0][0] = output + (static_cast<size_t>(oy) * out.width + ox) * cout;
      o[0][1] = o[0][0] + cout;
      o[1][0] = o[0][0] + static_cast<size_t>(out.width) * cout;
      o[1][1] = o[1][0] + cout;
      for (int c = 0; c < cout; c += 4) {
        i32x4 mt[16], y[2][2];
        for (int xi = 0; xi < 16; ++xi) mt[xi] = LoadI32(m + xi * mstep + c);
        winograd::OutputTile(mt, y);  // 4 * the direct accumulator
        const i32x4 bias = LoadI32(&packed.bias[c]);
        const f32x4 scale = LoadF32(&packed.requant[c]);
        const int n = std::min(4, cout - c);
        for (int r = 0; r < 2; ++r) {  // / 4 + bias, requantized; clipped at the edges
          for (int q = 0; q < 2; ++q) {
            if ((r && !down) || (q && !right)) continue;
            const i32x4 code = Requantize((y[r][q] >> 2) + bias, scale, vlo, vhi, vzp);
            for (int j = 0; j < n; ++j) o[r][q][c + j] = static_cast<int8_t>(code[j]);
          }
        }
      }
    }
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

bool WinogradQ8Applies(const Layer& conv) {
  return conv.type == LayerType::kConv2d && conv.kernel_h == 3 && conv.kernel_w == 3 &&
         conv.stride_h == 1 && conv.stride_w == 1 && conv.pad_h == 1 && conv.pad_w == 1 &&
         conv.input.channels >= 8 && conv.input.channels <= kWinogradQ8MaxCin;
}

PackedConvQ8 PackConvQ8(const Layer& conv, ConvAlgorithm algorithm) {
  const bool winograd = algorithm != ConvAlgorithm::kIndirectGemm && WinogradQ8Applies(conv);
  PackedConvQ8 p;
  const int cin = conv.input.channels, cout = conv.output.channels;
  p.algorithm = winograd ? ConvAlgorithm::kWinograd : ConvAlgorithm::kIndirectGemm;
  p.taps = conv.kernel_h * conv.kernel_w;
  p.cin2 = winograd ? (cin + 7) / 8 * 8 : (cin + 1) / 2 * 2;
  p.panels = (cout + kPanel - 1) / kPanel;
  p.bias.assign(static_cast<size_t>(p.panels) * kPanel, 0);
  p.requant.assign(static_cast<size_t>(p.panels) * kPanel, 1.0f);
  for (int o = 0; o < cout; ++o) {
    p.bias[o] = conv.bias_q[o];
    p.requant[o] = conv.requant[o];
  }
  // Where weight (o, pair of channel i) of a panel with `pairs` pairs goes.
  auto at = [](int16_t* panel, int pair, int o, int i) -> int16_t& {
    return panel[(pair * kPanel + o % kPanel) * 2 + i % 2];
  };
  if (!winograd) {
    const int pairs = p.taps * p.cin2 / 2;
    p.weight.assign(static_cast<size_t>(p.panels) * pairs * kPanel * 2, 0);
    for (int o = 0; o < cout; ++o) {
      int16_t* panel = &p.weight[static_cast<size_t>(o / kPanel) * pairs * kPanel * 2];
      for (int t = 0; t < p.taps; ++t) {
        for (int i = 0; i < cin; ++i) {  // conv.weight_q is OHWI: [cout][taps][cin]
          at(panel, t * p.cin2 / 2 + i / 2, o, i) =
              conv.weight_q[(static_cast<size_t>(o) * p.taps + t) * cin + i];
        }
      }
    }
    return p;
  }
  // U' = G' g G'^T per (output, input) channel pair, G' = 2G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2].
  const int pairs = p.cin2 / 2;
  const size_t xi_step = static_cast<size_t>(p.panels) * pairs * kPanel * 2;
  p.weight.assign(16 * xi_step, 0);
  for (int o = 0; o < cout; ++o) {
    for (int i = 0; i < cin; ++i) {
      const int8_t* w = &conv.weight_q[static_cast<size_t>(o) * 9 * cin + i];  // tap t at w[t*cin]
      int t[4][3];
      for (int x = 0; x < 3; ++x) {
        const int g0 = w[x * cin], g1 = w[(3 + x) * cin], g2 = w[(6 + x) * cin];
        t[0][x] = 2 * g0;
        t[1][x] = g0 + g1 + g2;
        t[2][x] = g0 - g1 + g2;
        t[3][x] = 2 * g2;
      }
      for (int a = 0; a < 4; ++a) {
        const int u[4] = {2 * t[a][0], t[a][0] + t[a][1] + t[a][2], t[a][0] - t[a][1] + t[a][2],
                          2 * t[a][2]};
        for (int b = 0; b < 4; ++b) {
          int16_t* panel = &p.weight[(4 * a + b) * xi_step +
                                     static_cast<size_t>(o / kPanel) * pairs * kPanel * 2];
          at(panel, i / 2, o, i) = static_cast<int16_t>(u[b]);
        }
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
  if (packed.algorithm == ConvAlgorithm::kWinograd) {
    WinogradConv3x3Q8(conv, packed, input, output, fuse_relu, ws);
    return;
  }
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
