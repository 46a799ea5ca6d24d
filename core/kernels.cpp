#include "kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

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

// C[4][8] = A[4][k] * B[k][8] + bias, where A rows are `a_stride` apart and C rows `c_stride`.
// Only the first `rows` rows and `cols` columns are stored.
inline void MicroKernel4x8(int k, const float* a, int a_stride, const float* b, const float* bias,
                           float* c, int c_stride, int rows, int cols, bool relu) {
  const f32x4 bias0 = Load(bias), bias1 = Load(bias + 4);
  f32x4 acc00 = bias0, acc01 = bias1, acc10 = bias0, acc11 = bias1;
  f32x4 acc20 = bias0, acc21 = bias1, acc30 = bias0, acc31 = bias1;
  const float* a0 = a;
  const float* a1 = a + a_stride;
  const float* a2 = a + 2 * a_stride;
  const float* a3 = a + 3 * a_stride;
  for (int i = 0; i < k; ++i) {
    const f32x4 b0 = Load(b + i * kPanel), b1 = Load(b + i * kPanel + 4);
    const f32x4 x0 = Splat(a0[i]), x1 = Splat(a1[i]), x2 = Splat(a2[i]), x3 = Splat(a3[i]);
    acc00 += x0 * b0;
    acc01 += x0 * b1;
    acc10 += x1 * b0;
    acc11 += x1 * b1;
    acc20 += x2 * b0;
    acc21 += x2 * b1;
    acc30 += x3 * b0;
    acc31 += x3 * b1;
  }
  float result[kRows][kPanel];
  f32x4 acc[kRows][2] = {{acc00, acc01}, {acc10, acc11}, {acc20, acc21}, {acc30, acc31}};
  for (int r = 0; r < kRows; ++r) {
    if (relu) {
      acc[r][0] = Max(acc[r][0], Splat(0.0f));
      acc[r][1] = Max(acc[r][1], Splat(0.0f));
    }
    Store(result[r], acc[r][0]);
    Store(result[r] + 4, acc[r][1]);
  }
  for (int r = 0; r < rows; ++r) std::memcpy(c + r * c_stride, result[r], cols * sizeof(float));
}

}  // namespace

PackedConv PackConv(const Layer& conv) {
  PackedConv p;
  const int cout = conv.output.channels;
  p.k = conv.kernel_h * conv.kernel_w * conv.input.channels;
  p.panels = (cout + kPanel - 1) / kPanel;
  p.weight.assign(static_cast<size_t>(p.panels) * p.k * kPanel, 0.0f);
  p.bias.assign(static_cast<size_t>(p.panels) * kPanel, 0.0f);
  // conv.weight is OHWI, i.e. [cout][k]; the panel is its transpose, 8 columns wide.
  for (int o = 0; o < cout; ++o) {
    float* panel = &p.weight[static_cast<size_t>(o / kPanel) * p.k * kPanel];
    for (int i = 0; i < p.k; ++i) panel[i * kPanel + o % kPanel] = conv.weight[o * p.k + i];
    p.bias[o] = conv.bias[o];
  }
  return p;
}

void Conv2d(const Layer& conv, const PackedConv& packed, const float* input, float* output,
            bool fuse_relu, std::vector<float>* scratch) {
  const Shape in = conv.input, out = conv.output;
  const int pixels = out.height * out.width;
  const int padded_rows = (pixels + kRows - 1) / kRows * kRows;
  const int k = packed.k;
  // im2col: one row of k = kh*kw*cin values per output pixel, zeros where the window leaves
  // the input; extra rows up to a multiple of 4 are zero so the micro-kernel never branches.
  scratch->resize(std::max(scratch->size(), static_cast<size_t>(padded_rows) * k));
  float* cols = scratch->data();
  const size_t channel_bytes = in.channels * sizeof(float);
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      float* row = cols + static_cast<size_t>(oy * out.width + ox) * k;
      for (int ky = 0; ky < conv.kernel_h; ++ky) {
        const int iy = oy * conv.stride_h - conv.pad_h + ky;
        for (int kx = 0; kx < conv.kernel_w; ++kx, row += in.channels) {
          const int ix = ox * conv.stride_w - conv.pad_w + kx;
          if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) {
            std::memset(row, 0, channel_bytes);
          } else {
            std::memcpy(row, input + (static_cast<size_t>(iy) * in.width + ix) * in.channels,
                        channel_bytes);
          }
        }
      }
    }
  }
  std::memset(cols + static_cast<size_t>(pixels) * k, 0,
              static_cast<size_t>(padded_rows - pixels) * k * sizeof(float));

  for (int p = 0; p < packed.panels; ++p) {
    const float* panel = &packed.weight[static_cast<size_t>(p) * k * kPanel];
    const float* bias = &packed.bias[p * kPanel];
    const int col0 = p * kPanel;
    const int ncols = std::min(kPanel, out.channels - col0);
    for (int r = 0; r < pixels; r += kRows) {
      MicroKernel4x8(k, cols + static_cast<size_t>(r) * k, k, panel, bias,
                     output + static_cast<size_t>(r) * out.channels + col0, out.channels,
                     std::min(kRows, pixels - r), ncols, fuse_relu);
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

void Relu(int n, const float* input, float* output) {
  for (int i = 0; i < n; ++i) output[i] = input[i] > 0.0f ? input[i] : 0.0f;
}

void ReferenceLayer(const Layer& layer, const std::vector<float>& x, std::vector<float>* y) {
  const Shape in = layer.input, out = layer.output;
  y->assign(out.size(), 0.0f);
  switch (layer.type) {
    case LayerType::kConv2d:
      for (int oy = 0; oy < out.height; ++oy)
        for (int ox = 0; ox < out.width; ++ox)
          for (int o = 0; o < out.channels; ++o) {
            float sum = layer.bias[o];
            for (int ky = 0; ky < layer.kernel_h; ++ky)
              for (int kx = 0; kx < layer.kernel_w; ++kx) {
                const int iy = oy * layer.stride_h - layer.pad_h + ky;
                const int ix = ox * layer.stride_w - layer.pad_w + kx;
                if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) continue;
                const float* w =
                    &layer.weight[((o * layer.kernel_h + ky) * layer.kernel_w + kx) * in.channels];
                const float* v = &x[(iy * in.width + ix) * in.channels];
                for (int c = 0; c < in.channels; ++c) sum += w[c] * v[c];
              }
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
            for (int ky = 0; ky < layer.kernel_h; ++ky)
              for (int kx = 0; kx < layer.kernel_w; ++kx) {
                const int iy = oy * layer.stride_h - layer.pad_h + ky;
                const int ix = ox * layer.stride_w - layer.pad_w + kx;
                if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) continue;
                m = std::max(m, x[(iy * in.width + ix) * in.channels + c]);
              }
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
