// Segment: a number written on one canvas -> groups of strokes, one group per digit, left to
// right. Strokes that touch (within 5% of the writing's height), or whose horizontal extents
// overlap by half of the narrower one, belong to one digit, and a piece too short to be a digit
// (under 30% of the height: a 5's flag) joins the nearest one if it is near. So a 4, 5 or 7 drawn
// in several strokes stays one digit while digits side by side stay apart, and a stray mark stays
// apart too.
#pragma once

#include <cstdint>
#include <vector>

#include "digits/preprocess.h"
#include "digits/status.h"

namespace digits {

// The split's work, counted so tests can show it is bounded whatever the drawing (the limits of
// ValidateStrokes allow 100,000 points): every step is capped, none is pairwise over all points.
struct SplitWork {
  int64_t samples = 0;       // points sampled along the strokes to find touching ones
  int64_t sample_pairs = 0;  // sample-to-sample distance checks
  int64_t group_checks = 0;  // group-to-group overlap checks while merging
  int64_t point_pairs = 0;   // point-to-point distances between pieces (the nearest-ink step)
  int64_t total() const { return samples + sample_pairs + group_checks + point_pairs; }
};

// A piece under this fraction of the writing's height is too small to be a digit by itself...
constexpr float kSmallPiece = 0.3f;
// ...and joins the nearest piece when that is within this fraction of the height; otherwise it is a
// stray mark and stays a group of its own.
constexpr float kStrayDistance = 0.35f;

// Indices into `strokes` for each digit, ordered left to right. Empty strokes join no group.
Status SplitIntoDigits(const std::vector<Stroke>& strokes, std::vector<std::vector<int>>* groups,
                       SplitWork* work = nullptr);

}  // namespace digits
