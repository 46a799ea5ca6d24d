// Preprocess: what a person drew (strokes) or photographed (an image) -> the input MNIST's own
// normalization would have produced: the ink's bounding box scaled to fit a 20x20 box keeping its
// aspect ratio, anti-aliased, and placed in the 28x28 field with its centre of mass at the centre.
// Also the affine map between canvas coordinates and the 28x28 grid, so results (Grad-CAM) can be
// drawn back over the strokes.
#pragma once

#include <cstdint>
#include <vector>

#include "digits/limits.h"
#include "digits/status.h"

namespace digits {

struct Point {
  float x = 0.0f;
  float y = 0.0f;  // pointing down, as on a canvas
};
using Stroke = std::vector<Point>;  // a polyline; one point is a dot

// Canvas (x, y) <-> input grid (u, v): u = scale * x + offset_x, v = scale * y + offset_y, where
// the grid's pixel (i, j) covers u in [j, j+1), v in [i, i+1).
struct InputMap {
  float scale = 1.0f;
  float offset_x = 0.0f;
  float offset_y = 0.0f;
  Point ToInput(Point p) const { return {scale * p.x + offset_x, scale * p.y + offset_y}; }
};

struct Box {
  float x0 = 0.0f, y0 = 0.0f, x1 = 0.0f, y1 = 0.0f;
};

struct Preprocessed {
  bool empty = true;          // no ink: nothing to classify
  std::vector<float> pixels;  // size x size, row-major, [0, 1], 0 = background
  InputMap map;               // canvas or source image -> grid
  Box box;                    // the ink's extent in canvas / source image coordinates
};

// Geometry of the target field; MNIST's is 28 with a 20-pixel box.
struct InputGeometry {
  int size = 28;
  float box = 20.0f;
  // Pen width in grid pixels, chosen so drawn digits carry MNIST's ink (see tests/preprocess_test).
  float pen_width = 2.5f;
};

// The extent of all points (x0 > x1 when there are none).
Box StrokesBox(const std::vector<Stroke>& strokes);

// Checks the limits of digits/limits.h and that every coordinate is finite.
Status ValidateStrokes(const std::vector<Stroke>& strokes);

// Rasterizes `strokes` (validated here) in MNIST's normalization. A drawing with no points, or
// whose points all coincide, is `empty`.
Status PreprocessStrokes(const std::vector<Stroke>& strokes, const InputGeometry& geometry,
                         Preprocessed* out);

// An image in memory: `channels` 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA), 8 bits each,
// rows `width * channels` bytes apart. Dark ink on a light background and light on dark are both
// recognized (by the border's brightness); transparent pixels count as background.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 1;
};

// Normalizes `image` like a drawing (box, centre of mass), then thins its strokes: each pixel
// halfway to the faintest of itself and its four neighbours, since the model reads scans and
// photos better thinner (model/README.md, "Thinning"). An MNIST digit keeps its place.
Status PreprocessImage(const ImageView& image, const InputGeometry& geometry, Preprocessed* out);

}  // namespace digits
