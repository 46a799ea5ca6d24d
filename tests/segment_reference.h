// The split as it was at commit 855bb37 (core/src/segment.cpp), exact but quadratic in the points
// of the pieces, plus the stray-mark rule added since (a small piece far from all ink stays apart).
// Kept as the reference that the bounded split must equal on drawings of a normal size
// (tests/segment_test.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>
#include <vector>

#include "digits/preprocess.h"
#include "segment.h"

namespace digits::reference {
namespace {

struct Group {
  float x0, x1, y0, y1;
  std::vector<int> strokes;
  bool stray = false;
};

void Absorb(Group* into, Group* from) {
  into->x0 = std::min(into->x0, from->x0);
  into->x1 = std::max(into->x1, from->x1);
  into->y0 = std::min(into->y0, from->y0);
  into->y1 = std::max(into->y1, from->y1);
  into->strokes.insert(into->strokes.end(), from->strokes.begin(), from->strokes.end());
}

// Smallest distance between the two groups' points.
float GroupDistance(const std::vector<Stroke>& strokes, const Group& a, const Group& b) {
  float best = INFINITY;
  for (int i : a.strokes)
    for (const Point& p : strokes[i])
      for (int j : b.strokes)
        for (const Point& q : strokes[j]) best = std::min(best, std::hypot(p.x - q.x, p.y - q.y));
  return best;
}

// Union-find over stroke indices.
int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Joins strokes that come within `reach` of each other: a 4's bar meeting its stem, a 5's flag on
// its body, a 7's crossbar. Every stroke is sampled along its length (spacing reach / 2) into a
// grid of reach-sized cells; samples of different strokes in neighbouring cells closer than
// `reach` join their strokes. The samples (200k) and the samples kept per cell (8) are capped, so
// a pathological drawing costs bounded time.
void JoinTouchingStrokes(const std::vector<Stroke>& strokes, const Box& box, float reach,
                         std::vector<int>* parent) {
  constexpr double kMaxSamples = 200000;
  constexpr size_t kPerCell = 8;
  double length = 0.0;
  for (const Stroke& s : strokes) {
    for (size_t k = 0; k + 1 < s.size(); ++k) {
      length += std::hypot(s[k + 1].x - s[k].x, s[k + 1].y - s[k].y);
    }
  }
  const float x0 = box.x0, y0 = box.y0;
  const double step = std::max(0.5 * reach, length / kMaxSamples);
  const float cell = std::max(reach, static_cast<float>(2.0 * step));
  // Cell index along one axis, from the drawing's corner, saturated to 31 bits.
  auto index = [cell](float v, float origin) {
    return static_cast<int64_t>(std::min(std::floor((v - origin) / cell), 2147483646.0f));
  };
  struct Sample {
    float x, y;
    int stroke;
  };
  std::unordered_map<uint64_t, std::vector<Sample>> grid;
  auto key = [](int64_t cx, int64_t cy) {
    return (static_cast<uint64_t>(cx) << 32) | static_cast<uint64_t>(cy);
  };
  auto visit = [&](int s, float x, float y) {
    const int64_t cx = index(x, x0), cy = index(y, y0);
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) {
        if (cx + dx < 0 || cy + dy < 0) continue;
        auto it = grid.find(key(cx + dx, cy + dy));
        if (it == grid.end()) continue;
        for (const Sample& other : it->second) {
          if (Find(*parent, other.stroke) == Find(*parent, s)) continue;
          if (std::hypot(other.x - x, other.y - y) <= reach) {
            (*parent)[Find(*parent, s)] = Find(*parent, other.stroke);
          }
        }
      }
    std::vector<Sample>& here = grid[key(cx, cy)];
    if (here.size() < kPerCell) here.push_back({x, y, s});
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

inline std::vector<std::vector<int>> SplitIntoDigits(const std::vector<Stroke>& strokes) {
  const Box box = StrokesBox(strokes);
  const float height = std::max(box.y1 - box.y0, 0.0f);

  // Strokes that touch are one digit.
  std::vector<int> parent(strokes.size());
  std::iota(parent.begin(), parent.end(), 0);
  // A drawing so flat that 5% of its height underflows to zero has no reach to join by (found by
  // fuzzing: a denormal height gave a zero sample step, and 0 / 0 was cast to int).
  const float reach = 0.05f * height;
  if (reach > 0.0f) JoinTouchingStrokes(strokes, box, reach, &parent);
  std::vector<Group> groups;
  std::vector<int> group_of(strokes.size(), -1);
  for (size_t s = 0; s < strokes.size(); ++s) {
    if (strokes[s].empty()) continue;
    const int root = Find(parent, static_cast<int>(s));
    if (group_of[root] < 0) {
      group_of[root] = static_cast<int>(groups.size());
      groups.push_back({INFINITY, -INFINITY, INFINITY, -INFINITY, {}});
    }
    Group& g = groups[group_of[root]];
    g.strokes.push_back(static_cast<int>(s));
    for (const Point& p : strokes[s]) {
      g.x0 = std::min(g.x0, p.x);
      g.x1 = std::max(g.x1, p.x);
      g.y0 = std::min(g.y0, p.y);
      g.y1 = std::max(g.y1, p.y);
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
        Absorb(&groups[i], &groups[j]);
        groups.erase(groups.begin() + j);
        merged = true;
        j = i;  // rescan from i + 1
      }
  }
  // A piece under 30% of the writing's height is no digit by itself (a 5's flag that does not
  // quite meet its body): it joins the group whose ink is nearest, if that is near (else it is a
  // stray mark and stays apart). Point-pair distances cost O(points^2), so this runs only for
  // drawings of at most kMaxGroups pieces (a long number).
  constexpr size_t kMaxGroups = 64;
  const float min_height = kSmallPiece * height;
  for (bool moved = groups.size() <= kMaxGroups; moved && groups.size() > 1;) {
    moved = false;
    for (size_t i = 0; i < groups.size(); ++i) {
      if (groups[i].stray || groups[i].y1 - groups[i].y0 >= min_height) continue;
      size_t nearest = i;
      float best = INFINITY;
      for (size_t j = 0; j < groups.size(); ++j) {
        if (j == i) continue;
        const float d = GroupDistance(strokes, groups[i], groups[j]);
        if (d < best) best = d, nearest = j;
      }
      if (best > kStrayDistance * height) {
        groups[i].stray = true;
        continue;
      }
      Absorb(&groups[nearest], &groups[i]);
      groups.erase(groups.begin() + i);
      moved = true;
      break;
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

}  // namespace digits::reference
