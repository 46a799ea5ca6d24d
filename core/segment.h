// Segment: a number written on one canvas -> groups of strokes, one group per digit, left to
// right. Strokes whose horizontal extents overlap belong to one digit, so a 4 or a 5 drawn in two
// strokes stays one digit while digits side by side stay apart.
#pragma once

#include <vector>

#include "preprocess.h"

namespace digits {

// Indices into `strokes` for each digit, ordered left to right. Empty strokes join no group.
std::vector<std::vector<int>> SplitIntoDigits(const std::vector<Stroke>& strokes);

}  // namespace digits
