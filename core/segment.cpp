#include "segment.h"

#include <algorithm>
#include <cmath>

namespace digits {
namespace {

struct Group {
  float x0, x1;
  std::vector<int> strokes;
};

}  // namespace

std::vector<std::vector<int>> SplitIntoDigits(const std::vector<Stroke>& strokes) {
  std::vector<Group> groups;
  float y0 = INFINITY, y1 = -INFINITY;
  for (size_t s = 0; s < strokes.size(); ++s) {
    if (strokes[s].empty()) continue;
    Group g{INFINITY, -INFINITY, {static_cast<int>(s)}};
    for (const Point& p : strokes[s]) {
      g.x0 = std::min(g.x0, p.x);
      g.x1 = std::max(g.x1, p.x);
      y0 = std::min(y0, p.y);
      y1 = std::max(y1, p.y);
    }
    groups.push_back(std::move(g));
  }
  // A vertical bar has no width: give every extent at least a fraction of the writing's height,
  // so a bar inside another stroke's extent counts as overlapping it.
  const float min_width = 0.15f * std::max(y1 - y0, 0.0f);
  // Two groups are one digit when their extents overlap by half of the narrower one.
  auto same_digit = [min_width](const Group& a, const Group& b) {
    auto widen = [min_width](float x0, float x1, float* lo, float* hi) {
      const float pad = std::max(0.0f, 0.5f * (min_width - (x1 - x0)));
      *lo = x0 - pad;
      *hi = x1 + pad;
    };
    float a0, a1, b0, b1;
    widen(a.x0, a.x1, &a0, &a1);
    widen(b.x0, b.x1, &b0, &b1);
    const float overlap = std::min(a1, b1) - std::max(a0, b0);
    return overlap > 0.0f && overlap >= 0.5f * std::min(a1 - a0, b1 - b0);
  };
  // Merge until no two groups are the same digit. A merge widens a group, which can then reach
  // groups it did not before: rescan it, and make passes until one merges nothing.
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < groups.size(); ++i)
      for (size_t j = i + 1; j < groups.size(); ++j) {
        if (!same_digit(groups[i], groups[j])) continue;
        groups[i].x0 = std::min(groups[i].x0, groups[j].x0);
        groups[i].x1 = std::max(groups[i].x1, groups[j].x1);
        groups[i].strokes.insert(groups[i].strokes.end(), groups[j].strokes.begin(),
                                 groups[j].strokes.end());
        groups.erase(groups.begin() + j);
        merged = true;
        j = i;  // rescan from i + 1
      }
  }
  std::sort(groups.begin(), groups.end(),
            [](const Group& a, const Group& b) { return a.x0 + a.x1 < b.x0 + b.x1; });
  std::vector<std::vector<int>> out;
  for (Group& g : groups) {
    std::sort(g.strokes.begin(), g.strokes.end());
    out.push_back(std::move(g.strokes));
  }
  return out;
}

}  // namespace digits
