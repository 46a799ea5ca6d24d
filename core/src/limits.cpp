#include "digits/limits.h"

#include <cmath>

namespace digits {

Status CheckDrawingSize(size_t strokes, size_t points) {
  if (strokes > static_cast<size_t>(kMaxStrokes)) {
    return Status::Errorf("too many strokes: %zu (at most %d)", strokes, kMaxStrokes);
  }
  if (points > static_cast<size_t>(kMaxPoints)) {
    return Status::Errorf("too many points in the drawing: %zu (at most %d)", points, kMaxPoints);
  }
  return Status::Ok();
}

Status CheckNumberMarks(size_t marks) {
  if (marks > static_cast<size_t>(kMaxNumberMarks)) {
    return Status::Errorf("too many separate marks for number mode: %zu (at most %d)", marks,
                          kMaxNumberMarks);
  }
  return Status::Ok();
}

Status CheckStrokeSize(size_t index, size_t points) {
  if (points > static_cast<size_t>(kMaxPointsPerStroke)) {
    return Status::Errorf("stroke %zu has too many points: %zu (at most %d per stroke)", index,
                          points, kMaxPointsPerStroke);
  }
  return Status::Ok();
}

Status CheckPoint(size_t stroke, size_t point, double x, double y) {
  if (PointWithinLimits(x, y)) return Status::Ok();
  if (!std::isfinite(x) || !std::isfinite(y)) {
    return Status::Errorf("stroke %zu, point %zu: coordinate is not a finite number", stroke,
                          point);
  }
  if (std::fabs(x) > kMaxCoordinate || std::fabs(y) > kMaxCoordinate) {
    return Status::Errorf("stroke %zu, point %zu: coordinate (%g, %g) is beyond +-%g", stroke,
                          point, x, y, kMaxCoordinate);
  }
  return Status::Ok();
}

Status CheckImageSize(int64_t width, int64_t height) {
  if (width < 1 || height < 1) {
    return Status::Errorf("image is %lldx%lld: it has no pixels", static_cast<long long>(width),
                          static_cast<long long>(height));
  }
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels) {
    return Status::Errorf("image is %lldx%lld, beyond the limit (%d per side, %d pixels in all)",
                          static_cast<long long>(width), static_cast<long long>(height),
                          kMaxImageSide, kMaxImagePixels);
  }
  return Status::Ok();
}

}  // namespace digits
