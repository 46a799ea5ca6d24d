#include "digits/gradcam.h"

#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace digits {
namespace {

// d score / d input of `layer`, from d score / d output `gy`: dense multiplies by the transposed
// weights, relu masks, average pooling spreads 1/HW, max pooling routes to the (first) maximum as
// PyTorch does, convolution scatters through the weights.
void Backward(const Layer& layer, const std::vector<float>& x, const std::vector<float>& gy,
              std::vector<float>* gx) {
  const Shape in = layer.input, out = layer.output;
  gx->assign(in.size(), 0.0f);
  switch (layer.type) {
    case LayerType::kConv2d:
      for (int oy = 0; oy < out.height; ++oy)
        for (int ox = 0; ox < out.width; ++ox)
          for (int o = 0; o < out.channels; ++o) {
            const float g = gy[(oy * out.width + ox) * out.channels + o];
            if (g == 0.0f) continue;
            kernels::ForEachTapInside(layer, oy, ox, [&](int pixel, int tap) {
              const float* w =
                  &layer.weight[(o * layer.kernel_h * layer.kernel_w + tap) * in.channels];
              float* d = &(*gx)[pixel * in.channels];
              for (int c = 0; c < in.channels; ++c) d[c] += w[c] * g;
            });
          }
      break;
    case LayerType::kRelu:
      for (size_t i = 0; i < x.size(); ++i) (*gx)[i] = x[i] > 0.0f ? gy[i] : 0.0f;
      break;
    case LayerType::kMaxPool2d:
      for (int oy = 0; oy < out.height; ++oy)
        for (int ox = 0; ox < out.width; ++ox)
          for (int c = 0; c < out.channels; ++c) {
            float m = -std::numeric_limits<float>::infinity();
            int arg = -1;
            kernels::ForEachTapInside(layer, oy, ox, [&](int pixel, int) {
              const int idx = pixel * in.channels + c;
              if (arg < 0 || x[idx] > m) {
                m = x[idx];
                arg = idx;
              }
            });
            if (arg >= 0) (*gx)[arg] += gy[(oy * out.width + ox) * out.channels + c];
          }
      break;
    case LayerType::kGlobalAvgPool: {
      const float scale = 1.0f / static_cast<float>(in.height * in.width);
      for (int p = 0; p < in.height * in.width; ++p)
        for (int c = 0; c < in.channels; ++c) (*gx)[p * in.channels + c] = gy[c] * scale;
      break;
    }
    case LayerType::kFlatten:
    case LayerType::kSoftmax:
      *gx = gy;
      break;
    case LayerType::kDense:
      for (int o = 0; o < out.size(); ++o) {
        const float g = gy[o];
        for (int i = 0; i < in.size(); ++i) (*gx)[i] += layer.weight[o * in.size() + i] * g;
      }
      break;
  }
}

}  // namespace

Status ComputeGradCam(const Network& network, const std::vector<float>& activations,
                      int target_class, int versus_class, GradCam* out) {
  const int first = network.gradcam_layer + 1, last = network.logits_layer;
  const Shape target = network.layers[network.gradcam_layer].output;
  if (activations.size() != static_cast<size_t>(target.size())) {
    return Status::Errorf("Grad-CAM: got %zu activations, layer %d has %d", activations.size(),
                          network.gradcam_layer, target.size());
  }
  if (target_class < 0 || target_class >= network.num_classes()) {
    return Status::Errorf("Grad-CAM: class %d is out of range (0..%d)", target_class,
                          network.num_classes() - 1);
  }
  if (versus_class < -1 || versus_class >= network.num_classes() || versus_class == target_class) {
    return Status::Errorf(
        "Grad-CAM: the class to compare with (%d) must be another class (0..%d), or -1 for none",
        versus_class, network.num_classes() - 1);
  }
  // Forward through the head, keeping each layer's input.
  std::vector<std::vector<float>> inputs(last - first + 2);
  inputs[0] = activations;
  for (int l = first; l <= last; ++l)
    kernels::ReferenceLayer(network.layers[l], inputs[l - first], &inputs[l - first + 1]);
  // Backward from the class score: one logit, or the difference of two.
  std::vector<float> grad(network.layers[last].output.size(), 0.0f), next;
  grad[target_class] = 1.0f;
  if (versus_class >= 0) grad[versus_class] = -1.0f;
  for (int l = last; l >= first; --l) {
    Backward(network.layers[l], inputs[l - first], grad, &next);
    grad.swap(next);
  }
  // alpha_k = spatial mean of the gradient; map = ReLU(sum_k alpha_k A_k).
  const int hw = target.height * target.width, channels = target.channels;
  std::vector<float> alpha(channels, 0.0f);
  for (int p = 0; p < hw; ++p)
    for (int c = 0; c < channels; ++c) alpha[c] += grad[p * channels + c];
  for (float& a : alpha) a /= static_cast<float>(hw);
  GradCam cam;
  cam.target_class = target_class;
  cam.versus_class = versus_class;
  cam.height = target.height;
  cam.width = target.width;
  cam.map.assign(hw, 0.0f);
  float peak = 0.0f;
  for (int p = 0; p < hw; ++p) {
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) sum += alpha[c] * activations[p * channels + c];
    cam.map[p] = std::max(sum, 0.0f);
    peak = std::max(peak, cam.map[p]);
  }
  if (peak > 0.0f)
    for (float& v : cam.map) v /= peak;
  *out = std::move(cam);
  return Status::Ok();
}

std::vector<float> UpsampleGradCam(const GradCam& cam, int size) {
  std::vector<float> up(static_cast<size_t>(size) * size, 0.0f);
  if (cam.height < 1 || cam.width < 1) return up;
  const float sy = static_cast<float>(cam.height) / size, sx = static_cast<float>(cam.width) / size;
  for (int i = 0; i < size; ++i) {
    const float fy = std::clamp((i + 0.5f) * sy - 0.5f, 0.0f, cam.height - 1.0f);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, cam.height - 1);
    const float wy = fy - y0;
    for (int j = 0; j < size; ++j) {
      const float fx = std::clamp((j + 0.5f) * sx - 0.5f, 0.0f, cam.width - 1.0f);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, cam.width - 1);
      const float wx = fx - x0;
      const float* m = cam.map.data();
      up[static_cast<size_t>(i) * size + j] =
          (1 - wy) * ((1 - wx) * m[y0 * cam.width + x0] + wx * m[y0 * cam.width + x1]) +
          wy * ((1 - wx) * m[y1 * cam.width + x0] + wx * m[y1 * cam.width + x1]);
    }
  }
  return up;
}

void ApplyToInput(const std::vector<float>& input, int size, GradCam* cam) {
  cam->size = size;
  cam->heatmap = UpsampleGradCam(*cam, size);
  const size_t n = std::min(cam->heatmap.size(), input.size());
  float peak = 0.0f;
  for (size_t i = 0; i < cam->heatmap.size(); ++i) {
    // Clamped: the input is [0, 1] by contract, but a caller's Classify-style input may not be.
    const float ink = i < n ? std::clamp(input[i], 0.0f, 1.0f) : 0.0f;
    cam->heatmap[i] *= ink;
    peak = std::max(peak, cam->heatmap[i]);
  }
  if (peak > 0.0f)
    for (float& v : cam->heatmap) v /= peak;
}

}  // namespace digits
