#include "segment.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "digits/limits.h"

namespace digits {
namespace {

struct Group {
  float x0, x1, y0, y1;
  std::vector<int> strokes;
};

// `into` and `from` are distinct groups: a group is never merged into itself.
void Absorb(Group* into, const Group* from) {
  into->x0 = std::min(into->x0, from->x0);
  into->x1 = std::max(into->x1, from->x1);
  into->y0 = std::min(into->y0, from->y0);
  into->y1 = std::max(into->y1, from->y1);
  into->strokes.insert(into->strokes.end(), from->strokes.begin(), from->strokes.end());
}

// Up to `keep` of a group's points, evenly spaced along its strokes: the nearest-ink step compares
// these instead of every point, so its cost is bounded by the budget, not by the drawing.
std::vector<Point> SamplePoints(const std::vector<Stroke>& strokes, const Group& g, size_t count,
                                size_t keep) {
  std::vector<Point> out;
  out.reserve(std::min(count, keep));
  size_t index = 0, next = 0, taken = 0;
  for (int s : g.strokes)
    for (const Point& p : strokes[s]) {
      if (index++ != next) continue;
      out.push_back(p);
      next = ++taken * count / keep;  // every point when keep == count; never past the last
    }
  return out;
}

// Union-find over stroke indices.
int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Joins strokes that come within `reach` of each other: a 4's bar meeting its stem, a 5's flag on
// its body, a 7's crossbar. Every stroke is sampled along its length (spacing reach / 2) into a
// grid of reach-sized cells; samples of different strokes in neighbouring cells closer than
// `reach` join their strokes. The samples (50k beyond one per point) and the samples kept per cell
// (8) are capped, so a pathological drawing costs bounded time: at most 9 x 8 checks per sample.
void JoinTouchingStrokes(const std::vector<Stroke>& strokes, const Box& box, float reach,
                         std::vector<int>* parent, SplitWork* work) {
  constexpr double kMaxSamples = 50000;
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
    ++work->samples;
    const int64_t cx = index(x, x0), cy = index(y, y0);
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) {
        if (cx + dx < 0 || cy + dy < 0) continue;
        auto it = grid.find(key(cx + dx, cy + dy));
        if (it == grid.end()) continue;
        for (const Sample& other : it->second) {
          ++work->sample_pairs;
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

Status SplitIntoDigits(const std::vector<Stroke>& strokes,
                       std::vector<std::vector<int>>* groups_out, SplitWork* work_out) {
  // The distances below are finite only for finite coordinates: validate as the Recognizer does.
  DIGITS_RETURN_IF_ERROR(ValidateStrokes(strokes));
  SplitWork work;
  const Box box = StrokesBox(strokes);
  const float height = std::max(box.y1 - box.y0, 0.0f);

  // Strokes that touch are one digit.
  std::vector<int> parent(strokes.size());
  std::iota(parent.begin(), parent.end(), 0);
  // A drawing so flat that 5% of its height underflows to zero has no reach to join by (found by
  // fuzzing: a denormal height gave a zero sample step, and 0 / 0 was cast to int).
  const float reach = 0.05f * height;
  if (reach > 0.0f) JoinTouchingStrokes(strokes, box, reach, &parent, &work);
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
  // groups it did not before: rescan it, and make passes until one merges nothing. Chains of
  // merges can make this cubic in the groups (1,000 strokes): the checks are capped far above
  // what any real number needs, and past the cap the groups stay as they are.
  constexpr int64_t kMaxGroupChecks = 2000000;
  for (bool merged = true; merged && work.group_checks < kMaxGroupChecks;) {
    merged = false;
    for (size_t i = 0; i < groups.size() && work.group_checks < kMaxGroupChecks; ++i)
      for (size_t j = i + 1; j < groups.size() && work.group_checks < kMaxGroupChecks; ++j) {
        ++work.group_checks;
        if (!same_digit(groups[i], groups[j])) continue;
        Absorb(&groups[i], &groups[j]);
        groups.erase(groups.begin() + j);
        merged = true;
        j = i;  // rescan from i + 1
      }
  }
  // A piece under 30% of the writing's height is no digit by itself (a 5's flag that does not
  // quite meet its body): it joins the group whose ink is nearest. This runs only for drawings of
  // at most kMaxGroups pieces (more are refused by number mode anyway). The distances between
  // pieces are computed once (a merged piece is as near to a third as the nearer of its parts) on
  // at most kMaxInkPoints points in all: every point of a drawing that has no more, evenly spaced
  // samples of each piece otherwise (a 1,587-point scribble costed ~440 s of CPU when every pair
  // was compared anew).
  constexpr size_t kMaxGroups = kMaxNumberMarks;
  constexpr size_t kMaxInkPoints = 2048;
  const float min_height = kSmallPiece * height;
  const bool any_small = std::any_of(groups.begin(), groups.end(), [min_height](const Group& g) {
    return g.y1 - g.y0 < min_height;
  });
  if (groups.size() <= kMaxGroups && groups.size() > 1 && any_small) {
    const size_t n = groups.size();
    std::vector<size_t> counts(n, 0);
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      for (int s : groups[i].strokes) counts[i] += strokes[s].size();
      total += counts[i];
    }
    std::vector<std::vector<Point>> ink(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t keep = total <= kMaxInkPoints
                              ? counts[i]
                              : std::max<size_t>(1, counts[i] * kMaxInkPoints / total);
      ink[i] = SamplePoints(strokes, groups[i], counts[i], keep);
    }
    std::vector<float> distance(n * n, INFINITY);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) {
        float best = INFINITY;
        for (const Point& p : ink[i])
          for (const Point& q : ink[j]) best = std::min(best, std::hypot(p.x - q.x, p.y - q.y));
        work.point_pairs += static_cast<int64_t>(ink[i].size() * ink[j].size());
        distance[i * n + j] = distance[j * n + i] = best;
      }
    std::vector<size_t> order(n);  // the groups still standing, in their original order
    std::iota(order.begin(), order.end(), 0);
    std::vector<bool> stray(n, false);  // small and far from every other piece: left alone
    for (bool moved = true; moved && order.size() > 1;) {
      moved = false;
      for (size_t pos = 0; pos < order.size(); ++pos) {
        const size_t i = order[pos];
        if (stray[i] || groups[i].y1 - groups[i].y0 >= min_height) continue;
        size_t nearest = i;  // none yet
        float best = INFINITY;
        for (size_t k : order) {
          if (k != i && distance[i * n + k] < best) best = distance[i * n + k], nearest = k;
        }
        // A mark further than this from all other ink is no part of a digit (a 5's flag almost
        // touches its body): it stays apart, and the recognizer reports it as a stray mark. So
        // does a mark with no finite distance to any other, if ever there were one.
        if (nearest == i || !(best <= kStrayDistance * height)) {
          stray[i] = true;
          continue;
        }
        Absorb(&groups[nearest], &groups[i]);
        for (size_t k = 0; k < n; ++k) {
          if (k == nearest || k == i) continue;
          const float d = std::min(distance[nearest * n + k], distance[i * n + k]);
          distance[nearest * n + k] = distance[k * n + nearest] = d;
        }
        order.erase(order.begin() + pos);
        moved = true;
        break;
      }
    }
    std::vector<Group> kept;
    for (size_t i : order) kept.push_back(std::move(groups[i]));
    groups = std::move(kept);
  }
  std::sort(groups.begin(), groups.end(),
            [](const Group& a, const Group& b) { return a.x0 + a.x1 < b.x0 + b.x1; });
  std::vector<std::vector<int>> out;
  for (Group& g : groups) {
    std::sort(g.strokes.begin(), g.strokes.end());
    out.push_back(std::move(g.strokes));
  }
  if (work_out) *work_out = work;
  *groups_out = std::move(out);
  return Status::Ok();
}

}  // namespace digits
