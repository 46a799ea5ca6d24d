// Every bound on what a caller may hand the library, defined once. More is refused with an error
// (never truncated); the checks below are the only place each bound is tested and worded, so the
// CLI, the HTTP service, the wasm module (which reports them to JS in info().limits) and the page
// all refuse the same input with the same message.
#pragma once

#include <cstddef>
#include <cstdint>

#include "digits/status.h"

namespace digits {

// Model files: the shipped model is ~100x smaller.
constexpr size_t kMaxModelBytes = 64u << 20;

// Drawings.
constexpr int kMaxStrokes = 1000;
constexpr int kMaxPointsPerStroke = 10000;
constexpr int kMaxPoints = 100000;      // in all strokes together
constexpr float kMaxCoordinate = 1e6f;  // |x|, |y|
// Number mode: separate marks (digits and stray marks) in one drawing. Each is classified, so
// without a cap 1,000 dots (24 KB of JSON) cost 1,000 forward passes; 64 is more than any number
// written on one canvas (an IBAN has at most 34 characters).
constexpr int kMaxNumberMarks = 64;

// Images: at most this many pixels per side and in all (a 16-megapixel photo).
constexpr int kMaxImageSide = 8192;
constexpr int kMaxImagePixels = 4096 * 4096;

// A drawing's counts: at most kMaxStrokes strokes and kMaxPoints points. Cheap, so a front end
// can refuse an absurd drawing before copying it.
Status CheckDrawingSize(size_t strokes, size_t points);
// How many separate marks number mode found (at most kMaxNumberMarks), checked before any is
// classified.
Status CheckNumberMarks(size_t marks);
// One stroke's point count (`index` names it in the message).
Status CheckStrokeSize(size_t index, size_t points);
// Whether a point is finite and within kMaxCoordinate (false for NaN and Inf): inline, since it
// runs for every point of every drawing.
inline bool PointWithinLimits(double x, double y) {
  return (x < 0 ? -x : x) <= kMaxCoordinate && (y < 0 ? -y : y) <= kMaxCoordinate;
}
// The error for point `point` of stroke `stroke` (ok when PointWithinLimits). In double, so a
// front end can check what it parsed before narrowing it to float.
Status CheckPoint(size_t stroke, size_t point, double x, double y);
// An image's dimensions: at least 1x1, at most kMaxImageSide per side and kMaxImagePixels.
Status CheckImageSize(int64_t width, int64_t height);

}  // namespace digits
