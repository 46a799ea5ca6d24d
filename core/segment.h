// Segment: a number written on one canvas -> groups of strokes, one group per digit, left to
// right. Strokes that touch (within 5% of the writing's height), or whose horizontal extents
// overlap by half of the narrower one, belong to one digit, and a piece too short to be a digit
// (under 30% of the height: a 5's flag) joins the nearest one. So a 4, 5 or 7 drawn in several
// strokes stays one digit while digits side by side stay apart.
#pragma once

#include <vector>

#include "preprocess.h"

namespace digits {

// Indices into `strokes` for each digit, ordered left to right. Empty strokes join no group.
std::vector<std::vector<int>> SplitIntoDigits(const std::vector<Stroke>& strokes);

}  // namespace digits
