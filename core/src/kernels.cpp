#include "kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "winograd.h"

namespace digits {
namespace kernels {
namespace {

// Four floats in one 128-bit register: SSE natively, v128 with -msimd128.
typedef float f32x4 __attribute__((vector_size(16)));

inline f32x4 Load(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load
  return v;
}
inline void Store(float* p, f32x4 v) {
  std::memcpy(p, &v, sizeof(v));
}
inline f32x4 Splat(float x) {
  return f32x4{x, x, x, x};
}
inline f32x4 Max(f32x4 a, f32x4 b) {
  return a > b ? a : b;
}

constexpr int kPanel = 8;  // output channels per weight panel
constexpr int kRows = 4;   // output pixels per micro-kernel call

// Stores the 4x8 tile (ReLU first when asked): straight vector stores for a full tile, else
// only the first `rows` rows and `cols` columns.
inline void StoreTile(f32x4 (&acc)[kRows][2], float* c, int c_stride, int rows, int cols,
                      bool relu) {
  if (relu) {
    for (auto& row : acc) row[0] = Max(row[0], Splat(0.0f)), row[1] = Max(row[1], Splat(0.0f));
  }
  if (rows == kRows && cols == kPanel) {
    for (int r = 0; r < kRows; ++r) {
      Store(c + r * c_stride, acc[r][0]);
      Store(c + r * c_stride + 4, acc[r][1]);
    }
    return;
  }
  float result[kRows][kPanel];
  for (int r = 0; r < kRows; ++r) {
    Store(result[r], acc[r][0]);
    Store(result[r] + 4, acc[r][1]);
  }
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) c[r * c_stride + j] = result[r][j];
  }
}

// One step of both micro-kernels: row r of the tile += a_r * the 8 floats at b.
inline void MultiplyAdd4x8(f32x4 (&acc)[kRows][2], float a0, float a1, float a2, float a3,
                           const float* b) {
  const f32x4 b0 = Load(b), b1 = Load(b + 4);
  const f32x4 x0 = Splat(a0), x1 = Splat(a1), x2 = Splat(a2), x3 = Splat(a3);
  acc[0][0] += x0 * b0;
  acc[0][1] += x0 * b1;
  acc[1][0] += x1 * b0;
  acc[1][1] += x1 * b1;
  acc[2][0] += x2 * b0;
  acc[2][1] += x2 * b1;
  acc[3][0] += x3 * b0;
  acc[3][1] += x3 * b1;
}

// C[4][8] = sum over taps t and channels i of A_r,t[i] * B[t*cin + i][8] + bias, where row r's
// tap t is the `cin` floats at ptrs[r * taps + t] (an input pixel, or a zero row).
inline void IndirectKernel4x8(int taps, int cin, const float* const* ptrs, const float* b,
                              const float* bias, float* c, int c_stride, int rows, int cols,
                              bool relu) {
  const f32x4 bias0 = Load(bias), bias1 = Load(bias + 4);
  f32x4 acc[kRows][2] = {{bias0, bias1}, {bias0, bias1}, {bias0, bias1}, {bias0, bias1}};
  for (int t = 0; t < taps; ++t) {
    const float* a0 = ptrs[t];
    const float* a1 = ptrs[taps + t];
    const float* a2 = ptrs[2 * taps + t];
    const float* a3 = ptrs[3 * taps + t];
    for (int i = 0; i < cin; ++i, b += kPanel) MultiplyAdd4x8(acc, a0[i], a1[i], a2[i], a3[i], b);
  }
  StoreTile(acc, c, c_stride, rows, cols, relu);
}

// C[4][8] = A[4][k] * B[k][8], A rows contiguous (`k` apart), all 8 columns stored.
inline void GemmKernel4x8(int k, const float* a, const float* b, float* c, int c_stride) {
  const f32x4 zero = Splat(0.0f);
  f32x4 acc[kRows][2] = {{zero, zero}, {zero, zero}, {zero, zero}, {zero, zero}};
  const float* a0 = a;
  const float* a1 = a + k;
  const float* a2 = a + 2 * k;
  const float* a3 = a + 3 * k;
  for (int i = 0; i < k; ++i, b += kPanel) MultiplyAdd4x8(acc, a0[i], a1[i], a2[i], a3[i], b);
  StoreTile(acc, c, c_stride, kRows, kPanel, false);
}

// Winograd F(2x2, 3x3) (Lavin & Gray 2015): per 4x4 input tile d (stride 2) and 4 channels,
// V = B^T d B; for each of the 16 points xi a GEMM M[xi] = V[xi] U[xi] over the channels;
// per tile Y = A^T M A, the 2x2 outputs (clipped at the right and bottom edges), + bias.
void WinogradConv3x3(const Layer& conv, const PackedConv& packed, const float* input, float* output,
                     bool relu, ConvWorkspace* ws) {
  const Shape in = conv.input, out = conv.output;
  const int cin = in.channels, cout = out.channels, panels = packed.panels;
  const int th = (out.height + 1) / 2, tw = (out.width + 1) / 2;
  const int tiles = th * tw, tiles4 = (tiles + kRows - 1) / kRows * kRows;
  const int mstride = panels * kPanel;
  const size_t vstep = static_cast<size_t>(tiles4) * cin;      // V[xi]: [tiles4][cin]
  const size_t mstep = static_cast<size_t>(tiles4) * mstride;  // M[xi]: [tiles4][panels * 8]
  ws->tiles.resize(std::max(ws->tiles.size(), 16 * (vstep + mstep)));
  float* v_all = ws->tiles.data();
  float* m_all = v_all + 16 * vstep;
  const f32x4 zero = Splat(0.0f);
  for (int xi = 0; xi < 16; ++xi) {  // padding rows of V: zero
    std::memset(v_all + xi * vstep + static_cast<size_t>(tiles) * cin, 0,
                static_cast<size_t>(tiles4 - tiles) * cin * sizeof(float));
  }
  for (int ty = 0; ty < th; ++ty) {
    for (int tx = 0; tx < tw; ++tx) {
      const float* px[4][4];  // the tile's input pixels, nullptr outside the input
      for (int r = 0; r < 4; ++r) {
        const int iy = 2 * ty - 1 + r;
        for (int q = 0; q < 4; ++q) {
          const int ix = 2 * tx - 1 + q;
          px[r][q] = (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width)
                         ? nullptr
                         : input + (static_cast<size_t>(iy) * in.width + ix) * cin;
        }
      }
      float* v = v_all + static_cast<size_t>(ty * tw + tx) * cin;
      for (int c = 0; c < cin; c += 4, v += 4) {
        f32x4 d[4][4], vt[16];
        for (int r = 0; r < 4; ++r) {
          for (int q = 0; q < 4; ++q) d[r][q] = px[r][q] ? Load(px[r][q] + c) : zero;
        }
        winograd::InputTile(d, vt);
        for (int xi = 0; xi < 16; ++xi) Store(v + xi * vstep, vt[xi]);
      }
    }
  }
  for (int xi = 0; xi < 16; ++xi) {
    for (int p = 0; p < panels; ++p) {
      const float* u = &packed.winograd[(static_cast<size_t>(xi) * panels + p) * cin * kPanel];
      for (int t = 0; t < tiles4; t += kRows) {
        GemmKernel4x8(cin, v_all + xi * vstep + static_cast<size_t>(t) * cin, u,
                      m_all + xi * mstep + static_cast<size_t>(t) * mstride + p * kPanel, mstride);
      }
    }
  }
  for (int ty = 0; ty < th; ++ty) {
    for (int tx = 0; tx < tw; ++tx) {
      const float* m = m_all + static_cast<size_t>(ty * tw + tx) * mstride;
      const int oy = 2 * ty, ox = 2 * tx;
      const bool down = oy + 1 < out.height, right = ox + 1 < out.width;
      float* o00 = output + (static_cast<size_t>(oy) * out.width + ox) * cout;
      float* o01 = o00 + cout;
      float* o10 = o00 + static_cast<size_t>(out.width) * cout;
      float* o11 = o10 + cout;
      for (int c = 0; c < cout; c += 4) {
        f32x4 mt[16], y[2][2];
        for (int xi = 0; xi < 16; ++xi) mt[xi] = Load(m + xi * mstep + c);
        winograd::OutputTile(mt, y);
        const f32x4 bias = Load(&packed.bias[c]);
        for (int r = 0; r < 2; ++r) {  // + bias
          y[r][0] += bias;
          y[r][1] += bias;
          if (relu) y[r][0] = Max(y[r][0], zero), y[r][1] = Max(y[r][1], zero);
        }
        const int n = std::min(4, cout - c);
        if (n == 4) {
          Store(o00 + c, y[0][0]);
          if (right) Store(o01 + c, y[0][1]);
          if (down) Store(o10 + c, y[1][0]);
          if (down && right) Store(o11 + c, y[1][1]);
        } else {
          for (int j = 0; j < n; ++j) {
            o00[c + j] = y[0][0][j];
            if (right) o01[c + j] = y[0][1][j];
            if (down) o10[c + j] = y[1][0][j];
            if (down && right) o11[c + j] = y[1][1][j];
          }
        }
      }
    }
  }
}

}  // namespace

const char* ConvAlgorithmName(ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ConvAlgorithm::kAuto:
      return "auto";
    case ConvAlgorithm::kIndirectGemm:
      return "indirect-gemm";
    case ConvAlgorithm::kWinograd:
      return "winograd";
  }
  return "?";
}

bool WinogradApplies(const Layer& conv) {
  return conv.type == LayerType::kConv2d && conv.kernel_h == 3 && conv.kernel_w == 3 &&
         conv.stride_h == 1 && conv.stride_w == 1 && conv.pad_h == 1 && conv.pad_w == 1 &&
         conv.input.channels % 4 == 0;
}

ConvAlgorithm ChooseConvAlgorithm(const Layer& conv) {
  return WinogradApplies(conv) && conv.input.channels >= 8 ? ConvAlgorithm::kWinograd
                                                           : ConvAlgorithm::kIndirectGemm;
}

PackedConv PackConv(const Layer& conv, ConvAlgorithm algorithm) {
  if (algorithm == ConvAlgorithm::kAuto) algorithm = ChooseConvAlgorithm(conv);
  if (algorithm == ConvAlgorithm::kWinograd && !WinogradApplies(conv)) {
    algorithm = ConvAlgorithm::kIndirectGemm;
  }
  PackedConv p;
  p.algorithm = algorithm;
  const int cout = conv.output.channels;
  p.k = conv.kernel_h * conv.kernel_w * conv.input.channels;
  p.panels = (cout + kPanel - 1) / kPanel;
  p.bias.assign(static_cast<size_t>(p.panels) * kPanel, 0.0f);
  for (int o = 0; o < cout; ++o) p.bias[o] = conv.bias[o];
  if (algorithm == ConvAlgorithm::kIndirectGemm) {
    // conv.weight is OHWI, i.e. [cout][k]; the panel is its transpose, 8 columns wide.
    p.weight.assign(static_cast<size_t>(p.panels) * p.k * kPanel, 0.0f);
    for (int o = 0; o < cout; ++o) {
      float* panel = &p.weight[static_cast<size_t>(o / kPanel) * p.k * kPanel];
      for (int i = 0; i < p.k; ++i) panel[i * kPanel + o % kPanel] = conv.weight[o * p.k + i];
    }
  } else {
    // U = G g G^T per (output, input) channel pair, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
    const int cin = conv.input.channels;
    p.winograd.assign(static_cast<size_t>(16) * p.panels * cin * kPanel, 0.0f);
    const size_t xi_step = static_cast<size_t>(p.panels) * cin * kPanel;
    for (int o = 0; o < cout; ++o) {
      for (int i = 0; i < cin; ++i) {
        const float* w = &conv.weight[static_cast<size_t>(o) * p.k + i];  // OHWI: tap t at w[t*cin]
        float t[4][3];
        for (int x = 0; x < 3; ++x) {
          const float g0 = w[x * cin], g1 = w[(3 + x) * cin], g2 = w[(6 + x) * cin];
          t[0][x] = g0;
          t[1][x] = 0.5f * (g0 + g1 + g2);
          t[2][x] = 0.5f * (g0 - g1 + g2);
          t[3][x] = g2;
        }
        float* u = &p.winograd[(static_cast<size_t>(o / kPanel) * cin + i) * kPanel + o % kPanel];
        for (int a = 0; a < 4; ++a, u += 4 * xi_step) {
          u[0] = t[a][0];
          u[xi_step] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
          u[2 * xi_step] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
          u[3 * xi_step] = t[a][2];
        }
      }
    }
  }
  return p;
}

void Conv2d(const Layer& conv, const PackedConv& packed, const float* input, float* output,
            bool fuse_relu, ConvWorkspace* ws) {
  if (packed.algorithm == ConvAlgorithm::kWinograd) {
    WinogradConv3x3(conv, packed, input, output, fuse_relu, ws);
    return;
  }
  const Shape in = conv.input, out = conv.output;
  const int pixels = out.height * out.width;
  const int rows = (pixels + kRows - 1) / kRows * kRows;  // extra rows read zeros
  const int taps = conv.kernel_h * conv.kernel_w;
  const int cin = in.channels;
  if (ws->input != input) {  // the pointer table: [rows][taps]
    ws->input = input;
    ws->zeros.assign(cin, 0.0f);
    ws->taps.resize(static_cast<size_t>(rows) * taps);
    const float** t = ws->taps.data();
    for (int p = 0; p < rows; ++p) {
      const int oy = p / out.width, ox = p % out.width;
      for (int ky = 0; ky < conv.kernel_h; ++ky) {
        const int iy = oy * conv.stride_h - conv.pad_h + ky;
        for (int kx = 0; kx < conv.kernel_w; ++kx) {
          const int ix = ox * conv.stride_w - conv.pad_w + kx;
          const bool inside = p < pixels && iy >= 0 && iy < in.height && ix >= 0 && ix < in.width;
          *t++ =
              inside ? input + (static_cast<size_t>(iy) * in.width + ix) * cin : ws->zeros.data();
        }
      }
    }
  }
  for (int p = 0; p < packed.panels; ++p) {
    const float* panel = &packed.weight[static_cast<size_t>(p) * packed.k * kPanel];
    const int col0 = p * kPanel;
    const int ncols = std::min(kPanel, out.channels - col0);
    for (int r = 0; r < pixels; r += kRows) {
      IndirectKernel4x8(taps, cin, &ws->taps[static_cast<size_t>(r) * taps], panel,
                        &packed.bias[col0], output + static_cast<size_t>(r) * out.channels + col0,
                        out.channels, std::min(kRows, pixels - r), ncols, fuse_relu);
    }
  }
}

void MaxPool2d(const Layer& pool, const float* input, float* output) {
  const Shape in = pool.input, out = pool.output;
  const int c = in.channels;
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      float* o = output + (static_cast<size_t>(oy) * out.width + ox) * c;
      std::fill(o, o + c, -std::numeric_limits<float>::infinity());
      for (int ky = 0; ky < pool.kernel_h; ++ky) {
        const int iy = oy * pool.stride_h - pool.pad_h + ky;
        if (iy < 0 || iy >= in.height) continue;
        for (int kx = 0; kx < pool.kernel_w; ++kx) {
          const int ix = ox * pool.stride_w - pool.pad_w + kx;
          if (ix < 0 || ix >= in.width) continue;
          const float* x = input + (static_cast<size_t>(iy) * in.width + ix) * c;
          int i = 0;
          for (; i + 4 <= c; i += 4) Store(o + i, Max(Load(o + i), Load(x + i)));
          for (; i < c; ++i) o[i] = std::max(o[i], x[i]);
        }
      }
    }
  }
}

void GlobalAvgPool(const Shape& input_shape, const float* input, float* output) {
  const int c = input_shape.channels, n = input_shape.height * input_shape.width;
  std::fill(output, output + c, 0.0f);
  for (int p = 0; p < n; ++p) {
    const float* x = input + static_cast<size_t>(p) * c;
    int i = 0;
    for (; i + 4 <= c; i += 4) Store(output + i, Load(output + i) + Load(x + i));
    for (; i < c; ++i) output[i] += x[i];
  }
  const float scale = 1.0f / static_cast<float>(n);
  for (int i = 0; i < c; ++i) output[i] *= scale;
}

void Dense(int in, int out, const float* weight, const float* bias, const float* x, float* y) {
  for (int o = 0; o < out; ++o) {
    const float* w = weight + static_cast<size_t>(o) * in;
    f32x4 acc0 = Splat(0.0f), acc1 = Splat(0.0f);
    int i = 0;
    for (; i + 8 <= in; i += 8) {
      acc0 += Load(w + i) * Load(x + i);
      acc1 += Load(w + i + 4) * Load(x + i + 4);
    }
    const f32x4 acc = acc0 + acc1;
    float sum = bias[o] + (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < in; ++i) sum += w[i] * x[i];
    y[o] = sum;
  }
}

bool HeadLayer(const Layer& layer, const float* input, float* output) {
  switch (layer.type) {
    case LayerType::kRelu:
      Relu(layer.output.size(), input, output);
      return true;
    case LayerType::kMaxPool2d:
      MaxPool2d(layer, input, output);
      return true;
    case LayerType::kGlobalAvgPool:
      GlobalAvgPool(layer.input, input, output);
      return true;
    case LayerType::kFlatten:  // HWC is already flat
      std::memcpy(output, input, layer.output.size() * sizeof(float));
      return true;
    case LayerType::kDense:
      Dense(layer.input.size(), layer.output.size(), layer.weight.data(), layer.bias.data(), input,
            output);
      return true;
    case LayerType::kConv2d:
    case LayerType::kSoftmax:
      return false;
  }
  return false;
}

void Relu(int n, const float* input, float* output) {
  for (int i = 0; i < n; ++i) output[i] = input[i] > 0.0f ? input[i] : 0.0f;
}

void ReferenceLayer(const Layer& layer, const std::vector<float>& x, std::vector<float>* y) {
  const Shape in = layer.input, out = layer.output;
  const int taps = layer.kernel_h * layer.kernel_w;
  y->assign(out.size(), 0.0f);
  switch (layer.type) {
    case LayerType::kConv2d:
      for (int oy = 0; oy < out.height; ++oy)
        for (int ox = 0; ox < out.width; ++ox)
          for (int o = 0; o < out.channels; ++o) {
            float sum = layer.bias[o];
            ForEachTapInside(layer, oy, ox, [&](int pixel, int tap) {
              const float* w = &layer.weight[(o * taps + tap) * in.channels];
              const float* v = &x[pixel * in.channels];
              for (int c = 0; c < in.channels; ++c) sum += w[c] * v[c];
            });
            (*y)[(oy * out.width + ox) * out.channels + o] = sum;
          }
      break;
    case LayerType::kRelu:
      for (size_t i = 0; i < x.size(); ++i) (*y)[i] = std::max(x[i], 0.0f);
      break;
    case LayerType::kMaxPool2d:
      for (int oy = 0; oy < out.height; ++oy)
        for (int ox = 0; ox < out.width; ++ox)
          for (int c = 0; c < out.channels; ++c) {
            float m = -std::numeric_limits<float>::infinity();
            ForEachTapInside(layer, oy, ox,
                             [&](int pixel, int) { m = std::max(m, x[pixel * in.channels + c]); });
            (*y)[(oy * out.width + ox) * out.channels + c] = m;
          }
      break;
    case LayerType::kGlobalAvgPool:
      for (int p = 0; p < in.height * in.width; ++p)
        for (int c = 0; c < in.channels; ++c) (*y)[c] += x[p * in.channels + c];
      for (float& v : *y) v /= static_cast<float>(in.height * in.width);
      break;
    case LayerType::kFlatten:  // HWC is already flat
    case LayerType::kSoftmax:
      *y = x;
      break;
    case LayerType::kDense:
      for (int o = 0; o < out.size(); ++o) {
        float sum = layer.bias[o];
        for (int i = 0; i < in.size(); ++i) sum += layer.weight[o * in.size() + i] * x[i];
        (*y)[o] = sum;
      }
      break;
  }
}

}  // namespace kernels
}  // namespace digits
