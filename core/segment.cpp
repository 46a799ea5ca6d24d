#include "segment.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace digits {
namespace {

struct Group {
  float x0, x1;
  std::vector<int> strokes;
};

// Union-find over stroke indices.
int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Joins strokes that touch: every stroke is sampled along its length into cells of `cell` units,
// and two strokes that share a cell are one digit (a 4's bar meeting its stem, a 5's flag on its
// body, a 7's crossbar). The samples are capped, so a pathological drawing costs bounded time.
void JoinTouchingStrokes(const std::vector<Stroke>& strokes, float cell, std::vector<int>* parent) {
  constexpr double kMaxSamples = 200000;
  double length = 0.0;
  for (const Stroke& s : strokes)
    for (size_t k = 0; k + 1 < s.size(); ++k) {
      length += std::hypot(s[k + 1].x - s[k].x, s[k + 1].y - s[k].y);
    }
  const double step = std::max(0.5 * cell, length / kMaxSamples);
  cell = static_cast<float>(std::max<double>(cell, 2.0 * step));
  float x0 = INFINITY, y0 = INFINITY;
  for (const Stroke& s : strokes)
    for (const Point& p : s) {
      x0 = std::min(x0, p.x);
      y0 = std::min(y0, p.y);
    }
  // Cell index along one axis, from the drawing's corner, saturated to 31 bits.
  auto index = [cell](float v, float origin) {
    return static_cast<uint64_t>(std::min(std::floor((v - origin) / cell), 2147483647.0f));
  };
  std::unordered_map<uint64_t, int> owner;  // cell -> a stroke that passes through it
  auto visit = [&](int s, float x, float y) {
    const uint64_t key = (index(x, x0) << 32) | index(y, y0);
    auto [it, inserted] = owner.emplace(key, s);
    if (!inserted) (*parent)[Find(*parent, s)] = Find(*parent, it->second);
  };
  for (size_t s = 0; s < strokes.size(); ++s) {
    const Stroke& stroke = strokes[s];
    for (size_t k = 0; k < stroke.size(); ++k) {
      const Point a = stroke[k], b = stroke[k + 1 < stroke.size() ? k + 1 : k];
      const int n = static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / step) + 1;
      for (int i = 0; i < n; ++i) {
        const float t = static_cast<float>(i) / n;
        visit(static_cast<int>(s), a.x + t * (b.x - a.x), a.y + t * (b.y - a.y));
      }
    }
  }
}

}  // namespace

std::vector<std::vector<int>> SplitIntoDigits(const std::vector<Stroke>& strokes) {
  float y0 = INFINITY, y1 = -INFINITY;
  for (const Stroke& s : strokes)
    for (const Point& p : s) {
      y0 = std::min(y0, p.y);
      y1 = std::max(y1, p.y);
    }
  const float height = std::max(y1 - y0, 0.0f);

  // Strokes that touch are one digit.
  std::vector<int> parent(strokes.size());
  std::iota(parent.begin(), parent.end(), 0);
  if (height > 0.0f) JoinTouchingStrokes(strokes, 0.05f * height, &parent);
  std::vector<Group> groups;
  std::vector<int> group_of(strokes.size(), -1);
  for (size_t s = 0; s < strokes.size(); ++s) {
    if (strokes[s].empty()) continue;
    const int root = Find(parent, static_cast<int>(s));
    if (group_of[root] < 0) {
      group_of[root] = static_cast<int>(groups.size());
      groups.push_back({INFINITY, -INFINITY, {}});
    }
    Group& g = groups[group_of[root]];
    g.strokes.push_back(static_cast<int>(s));
    for (const Point& p : strokes[s]) {
      g.x0 = std::min(g.x0, p.x);
      g.x1 = std::max(g.x1, p.x);
    }
  }

  // Groups whose horizontal extents overlap by half of the narrower one are one digit too (a 4
  // or a 5 whose strokes do not quite meet). A vertical bar has no width: every extent counts as
  // at least 15% of the writing's height.
  const float min_width = 0.15f * height;
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
