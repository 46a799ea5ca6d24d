// Overlay: the drawing (or image) with each digit's Grad-CAM heatmap blended over it, mapped back
// from the 28x28 grid through the digit's InputMap. For the CLI's --gradcam output.
#pragma once

#include <vector>

#include "digits/recognizer.h"
#include "image_io.h"

namespace digits {

// Strokes drawn dark on white in a picture at most `max_side` pixels on its long side, heatmaps on
// top (RGB).
Image RenderStrokesOverlay(const std::vector<Stroke>& strokes, const Recognition& result,
                           int max_side);
// The image in gray, heatmaps on top (RGB, the image's own size).
Image RenderImageOverlay(const Image& image, const Recognition& result);

}  // namespace digits
