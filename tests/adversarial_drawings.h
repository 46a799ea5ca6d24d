// Drawings built to make number mode's split (core/src/segment.cpp) slow, each inside the limits of
// ValidateStrokes (1,000 strokes, 10,000 points per stroke, 100,000 points in all). Shared by the
// bounded-work tests (tests/segment_test.cpp), the bad-input and server tests, the attack suite and
// bench/bench_core.cpp.
#pragma once

#include <string>
#include <vector>

#include "digits/preprocess.h"

namespace digits::test {

struct AdversarialDrawing {
  std::string name;
  std::vector<Stroke> strokes;
  // More separate marks than number mode reads (kMaxNumberMarks), by construction: refused.
  bool too_many_marks = false;
};

// A dense zigzag of `points` points inside a w x h box at (x, y).
inline Stroke Scribble(float x, float y, float w, float h, int points) {
  Stroke s;
  for (int i = 0; i < points; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(points);
    s.push_back({x + w * t, y + ((i % 2) ? h : 0.0f)});
  }
  return s;
}

// `n` short bars (20 x 200 units) 400 units apart: each a separate mark in number mode, so `n`
// marks cost `n` forward passes, up to kMaxNumberMarks.
inline std::vector<Stroke> SeparateMarks(int n) {
  std::vector<Stroke> strokes;
  for (int k = 0; k < n; ++k) {
    const float x = 400.0f * static_cast<float>(k);
    strokes.push_back({{x, 0.0f}, {x + 20.0f, 200.0f}});
  }
  return strokes;
}

// `pieces` scribbles of `points` points, `gap` units apart, beside one tall 2-point stroke that
// makes them all "small pieces" (the nearest-ink step compares pieces pairwise).
inline std::vector<Stroke> TallStrokeAndScribbles(int pieces, int points, float gap, float height) {
  std::vector<Stroke> strokes = {{{0, 0}, {0, height}}};
  for (int k = 0; k < pieces; ++k) {
    strokes.push_back(Scribble(gap * static_cast<float>(k + 1), 0.4f * height, 0.5f * gap,
                               0.1f * height, points));
  }
  return strokes;
}

inline std::vector<AdversarialDrawing> AdversarialDrawings() {
  std::vector<AdversarialDrawing> out;
  // The slowest known drawing: a tall 2-point stroke and 63 strokes of 1,587 points, 16 units
  // apart.
  out.push_back({"tall+63x1587 16 apart", TallStrokeAndScribbles(63, 1587, 16.0f, 300.0f)});
  // The same, spread out so that no two pieces overlap or touch: 64 separate groups.
  out.push_back({"tall+63x1587 spread", TallStrokeAndScribbles(63, 1587, 400.0f, 1000.0f)});
  // 2, 3 and 4 strokes of 10,000 points.
  for (int n = 2; n <= 4; ++n) {
    out.push_back({std::to_string(n) + "x10000", TallStrokeAndScribbles(n, 9999, 16.0f, 300.0f)});
    out.back().strokes.erase(out.back().strokes.begin());
    out.back().strokes[0].push_back({0.0f, 300.0f});  // one of them tall, the others small
  }
  // 1,000 strokes of 100 points in a staircase: every merge widens a group into the next one.
  std::vector<Stroke> stairs;
  for (int k = 0; k < 1000; ++k) {
    stairs.push_back(Scribble(3.0f * static_cast<float>(k), 37.0f * static_cast<float>(k % 29),
                              2.0f, 1.0f, 100));
  }
  out.push_back({"1000x100 staircase", stairs});
  // 1,000 two-point strokes far apart: many groups, no merges.
  std::vector<Stroke> dots;
  for (int k = 0; k < 1000; ++k) {
    const float x = 997.0f * static_cast<float>(k);
    dots.push_back({{x, 0.0f}, {x + 1.0f, 10.0f * static_cast<float>(k % 7)}});
  }
  out.push_back({"1000 far apart", dots, /*too_many_marks=*/true});
  // One stroke of 10,000 points zigzagging across the whole coordinate range, and 9 more.
  std::vector<Stroke> wide;
  for (int k = 0; k < 10; ++k) {
    wide.push_back(Scribble(-1e6f + 2e5f * static_cast<float>(k), -1e6f, 2e5f, 2e6f, 10000));
  }
  out.push_back({"10x10000 full range", wide});
  return out;
}

}  // namespace digits::test
