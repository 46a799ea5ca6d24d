#include "overlay.h"

#include <algorithm>
#include <cmath>

namespace digits {
namespace {

// A jet-like colour map: blue (weak) through green and yellow to red (strong).
void HeatColor(float v, float rgb[3]) {
  rgb[0] = std::clamp(1.5f - std::fabs(4.0f * v - 3.0f), 0.0f, 1.0f);
  rgb[1] = std::clamp(1.5f - std::fabs(4.0f * v - 2.0f), 0.0f, 1.0f);
  rgb[2] = std::clamp(1.5f - std::fabs(4.0f * v - 1.0f), 0.0f, 1.0f);
}

// Blends every digit's heatmap over `canvas` (RGB), whose pixel (x, y) is at canvas coordinates
// (x + 0.5) / zoom + origin.
void BlendHeatmaps(const Recognition& result, float zoom, Point origin, Image* canvas) {
  for (const DigitResult& d : result.digits) {
    if (d.gradcam.heatmap.empty()) continue;
    const int size = d.gradcam.size;
    const std::vector<float>& heat = d.gradcam.heatmap;
    for (int y = 0; y < canvas->height; ++y)
      for (int x = 0; x < canvas->width; ++x) {
        const Point grid =
            d.map.ToInput({(x + 0.5f) / zoom + origin.x, (y + 0.5f) / zoom + origin.y});
        if (grid.x < 0 || grid.y < 0 || grid.x >= size || grid.y >= size) continue;
        // Bilinear between pixel centres, so the heatmap is smooth at any zoom.
        const float fx = std::clamp(grid.x - 0.5f, 0.0f, size - 1.0f);
        const float fy = std::clamp(grid.y - 0.5f, 0.0f, size - 1.0f);
        const int j0 = static_cast<int>(fx), i0 = static_cast<int>(fy);
        const int j1 = std::min(j0 + 1, size - 1), i1 = std::min(i0 + 1, size - 1);
        const float wx = fx - j0, wy = fy - i0;
        const float v = (1 - wy) * ((1 - wx) * heat[i0 * size + j0] + wx * heat[i0 * size + j1]) +
                        wy * ((1 - wx) * heat[i1 * size + j0] + wx * heat[i1 * size + j1]);
        float rgb[3];
        HeatColor(v, rgb);
        const float alpha = 0.6f * v;
        uint8_t* px = &canvas->pixels[(static_cast<size_t>(y) * canvas->width + x) * 3];
        for (int c = 0; c < 3; ++c) {
          px[c] = static_cast<uint8_t>(std::lround((1 - alpha) * px[c] + alpha * 255.0f * rgb[c]));
        }
      }
  }
}

}  // namespace

Image RenderStrokesOverlay(const std::vector<Stroke>& strokes, const Recognition& result,
                           int max_side) {
  Box b = StrokesBox(strokes);
  if (!(b.x1 >= b.x0)) b = {0, 0, 1, 1};
  const float extent = std::max({b.x1 - b.x0, b.y1 - b.y0, 1e-3f});
  const float margin = 0.15f * extent;
  const float zoom = max_side / (extent + 2 * margin);
  const Point origin{b.x0 - margin, b.y0 - margin};
  Image canvas;
  canvas.width = std::max(1, static_cast<int>(std::ceil((b.x1 - b.x0 + 2 * margin) * zoom)));
  canvas.height = std::max(1, static_cast<int>(std::ceil((b.y1 - b.y0 + 2 * margin) * zoom)));
  canvas.channels = 3;
  canvas.pixels.assign(static_cast<size_t>(canvas.width) * canvas.height * 3, 255);
  // Strokes: a round pen of 3% of the drawing's size, dark gray.
  const float r = std::max(1.0f, 0.03f * extent * zoom);
  for (const Stroke& s : strokes)
    for (size_t k = 0; k < s.size(); ++k) {
      const Point a{(s[k].x - origin.x) * zoom, (s[k].y - origin.y) * zoom};
      const Point c = k + 1 < s.size()
                          ? Point{(s[k + 1].x - origin.x) * zoom, (s[k + 1].y - origin.y) * zoom}
                          : a;
      const int x0 = std::max(0, static_cast<int>(std::min(a.x, c.x) - r - 1));
      const int x1 = std::min(canvas.width - 1, static_cast<int>(std::max(a.x, c.x) + r + 1));
      const int y0 = std::max(0, static_cast<int>(std::min(a.y, c.y) - r - 1));
      const int y1 = std::min(canvas.height - 1, static_cast<int>(std::max(a.y, c.y) + r + 1));
      const float dx = c.x - a.x, dy = c.y - a.y, len2 = dx * dx + dy * dy;
      for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
          float t = len2 > 0 ? ((x + 0.5f - a.x) * dx + (y + 0.5f - a.y) * dy) / len2 : 0.0f;
          t = std::clamp(t, 0.0f, 1.0f);
          const float d = std::hypot(a.x + t * dx - x - 0.5f, a.y + t * dy - y - 0.5f);
          const float cover = std::clamp(r + 0.5f - d, 0.0f, 1.0f);
          uint8_t* px = &canvas.pixels[(static_cast<size_t>(y) * canvas.width + x) * 3];
          const uint8_t v = static_cast<uint8_t>(std::lround(255.0f - cover * 215.0f));
          for (int ch = 0; ch < 3; ++ch) px[ch] = std::min(px[ch], v);
        }
    }
  BlendHeatmaps(result, zoom, origin, &canvas);
  return canvas;
}

Image RenderImageOverlay(const Image& image, const Recognition& result) {
  Image canvas;
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.channels = 3;
  canvas.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  const int c = image.channels;
  for (size_t p = 0; p < static_cast<size_t>(image.width) * image.height; ++p) {
    const uint8_t* px = &image.pixels[p * c];
    const float gray = c >= 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[0];
    const float alpha = (c == 2 || c == 4) ? px[c - 1] / 255.0f : 1.0f;
    const uint8_t v = static_cast<uint8_t>(std::lround(alpha * gray + (1 - alpha) * 255.0f));
    for (int ch = 0; ch < 3; ++ch) canvas.pixels[p * 3 + ch] = v;
  }
  BlendHeatmaps(result, 1.0f, {0.0f, 0.0f}, &canvas);
  return canvas;
}

}  // namespace digits
