// Number mode's split on drawings built to be slow (tests/adversarial_drawings.h): the work it
// does, counted by SplitWork, stays under a fixed bound whatever the drawing, and every stroke
// still lands in exactly one digit; what the split makes of ordinary numbers; and what it refuses.
// (Time is measured in bench/bench_core.cpp, not here.)
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "adversarial_drawings.h"
#include "digits/limits.h"
#include "fixtures.h"
#include "segment.h"
#include "segment_reference.h"

namespace digits {
namespace {

// The split of a drawing it accepts.
std::vector<std::vector<int>> Split(const std::vector<Stroke>& strokes, SplitWork* work = nullptr) {
  std::vector<std::vector<int>> groups;
  const Status s = SplitIntoDigits(strokes, &groups, work);
  EXPECT_TRUE(s.ok()) << s.message();
  return groups;
}

// From the caps in segment.cpp: samples <= points + 50,000; 9 cells x 8 samples checked per
// sample; 2,000,000 group checks; (2,048 + 64 pieces)^2 / 2 point pairs.
constexpr int64_t kMaxSamples = kMaxPoints + 50000 + kMaxStrokes;
constexpr int64_t kWorkBound = kMaxSamples * (1 + 72) + 2000000 + (2048 + 64) * (2048 + 64) / 2;

TEST(Segment, WorkIsBoundedOnAdversarialDrawings) {
  for (const test::AdversarialDrawing& d : test::AdversarialDrawings()) {
    ASSERT_TRUE(ValidateStrokes(d.strokes).ok()) << d.name;
    SplitWork work;
    const std::vector<std::vector<int>> groups = Split(d.strokes, &work);
    std::printf(
        "%-24s %zu groups, work %lld (samples %lld, sample pairs %lld, group checks %lld, "
        "point pairs %lld)\n",
        d.name.c_str(), groups.size(), static_cast<long long>(work.total()),
        static_cast<long long>(work.samples), static_cast<long long>(work.sample_pairs),
        static_cast<long long>(work.group_checks), static_cast<long long>(work.point_pairs));
    EXPECT_LE(work.samples, kMaxSamples) << d.name;
    EXPECT_LE(work.point_pairs, (2048 + 64) * (2048 + 64) / 2) << d.name;
    EXPECT_LE(work.group_checks, 2000000) << d.name;
    EXPECT_LE(work.total(), kWorkBound) << d.name;
    // The attack suite expects its answer from this field: the split agrees with it.
    EXPECT_EQ(groups.size() > static_cast<size_t>(kMaxNumberMarks), d.too_many_marks) << d.name;
    std::vector<int> seen;
    for (const std::vector<int>& g : groups) seen.insert(seen.end(), g.begin(), g.end());
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen.size(), d.strokes.size()) << d.name;
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], static_cast<int>(i)) << d.name;
  }
}

// The step that took ~440 s of CPU: 63 small pieces of 1,587 points each joining their nearest
// neighbour. Every pair of points would be 63 * 62 / 2 * 1587^2 = 4.9e9 distances; the sampled
// ink compares at most ~2.2e6, and a piece still joins the piece whose ink is nearest.
TEST(Segment, NearestInkIsSampledOnLargeDrawingsAndExactOnSmallOnes) {
  const std::vector<Stroke> big = test::TallStrokeAndScribbles(63, 1587, 400.0f, 1000.0f);
  SplitWork work;
  const std::vector<std::vector<int>> groups = Split(big, &work);
  EXPECT_GT(work.point_pairs, 0);
  EXPECT_LE(work.point_pairs, 2048 * 2048 / 2 + 64 * 2048);
  EXPECT_FALSE(groups.empty());
  // Small drawings compare every point, exactly: the piece beside the second tall stroke's foot
  // joins it; the two pieces more than 1.4 heights from any ink are stray marks that stay apart.
  const std::vector<Stroke> small = {
      {{0, 0}, {0, 100}},      // a tall stroke
      {{300, 85}, {310, 85}},  // a piece far to the right
      {{140, 90}, {150, 90}},  // a piece between them, nearer the tall stroke's foot
      {{600, 0}, {600, 100}},  // another tall stroke
      {{590, 95}, {560, 95}},  // a piece nearest the second tall stroke
  };
  const std::vector<std::vector<int>> g = Split(small, &work);
  EXPECT_EQ(work.point_pairs, 2 * 2 * 10);  // 5 pieces of 2 points: 10 pairs of pieces
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0], (std::vector<int>{0}));
  EXPECT_EQ(g[1], (std::vector<int>{2}));
  EXPECT_EQ(g[2], (std::vector<int>{1}));
  EXPECT_EQ(g[3], (std::vector<int>{3, 4}));
}

// 3,000 numbers composed from the stroke fixture's digits (1-8 digits, random scales and gaps, some
// touching or overlapping, strokes shuffled): the bounded split gives exactly the groups that the
// previous, exact split gave.
TEST(Segment, NormalDrawingsSplitAsBefore) {
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  std::mt19937 rng(13);
  int nearest_ink = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<Stroke> strokes;
    float x = 0.0f;
    for (int d = 0; d <= trial % 8; ++d) {
      const test::FixtureDigit& f = fixture[rng() % fixture.size()];
      const float scale = 0.8f + static_cast<float>(rng() % 100) / 250.0f;
      const float gap = static_cast<float>(rng() % 60) - 10.0f;
      float right = x;
      for (Stroke s : f.strokes) {
        for (Point& p : s) {
          p.x = x + p.x * scale;
          p.y = p.y * scale + static_cast<float>(rng() % 5);
          right = std::max(right, p.x);
        }
        strokes.push_back(s);
      }
      x = right + gap;
    }
    std::shuffle(strokes.begin(), strokes.end(), rng);
    SplitWork work;
    ASSERT_EQ(Split(strokes, &work), reference::SplitIntoDigits(strokes)) << "trial " << trial;
    nearest_ink += work.point_pairs > 0;
  }
  std::printf("%d of 3000 numbers had small pieces joined to their nearest ink\n", nearest_ink);
  EXPECT_GE(nearest_ink, 100);  // the step that changed is exercised, not only the others
}

TEST(Segment, SplitKeepsMultiStrokeDigitsTogether) {
  // A 4 in two strokes (an open corner, then the down stroke through it), then a 1, then a 5 with
  // its flag drawn separately.
  const std::vector<Stroke> strokes = {
      {{30, 0}, {0, 60}, {50, 60}},                                        // 4: the corner
      {{40, 20}, {40, 100}},                                               // 4: the down stroke
      {{90, 0}, {90, 100}},                                                // 1
      {{140, 0}, {130, 50}, {160, 50}, {170, 80}, {150, 100}, {125, 95}},  // 5: body
      {{140, 0}, {175, 0}},                                                // 5: flag
  };
  const std::vector<std::vector<int>> groups = Split(strokes);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<int>{0, 1}));
  EXPECT_EQ(groups[1], (std::vector<int>{2}));
  EXPECT_EQ(groups[2], (std::vector<int>{3, 4}));
  // Order comes from position, not from drawing order.
  const std::vector<Stroke> reversed = {strokes[4], strokes[2], strokes[1], strokes[3], strokes[0]};
  const std::vector<std::vector<int>> g2 = Split(reversed);
  ASSERT_EQ(g2.size(), 3u);
  EXPECT_EQ(g2[0], (std::vector<int>{2, 4}));
  EXPECT_EQ(g2[1], (std::vector<int>{1}));
  EXPECT_EQ(g2[2], (std::vector<int>{0, 3}));
}

// SplitIntoDigits can be called directly, not only through the Recognizer (which validates first):
// a drawing with non-finite or absurd coordinates is refused, and nothing is split. Infinite
// coordinates made every distance between pieces infinite (or NaN), the nearest-ink step then
// merged a small piece into a group chosen by position, and the join step cast NaN to int.
TEST(Segment, RefusesWhatValidateStrokesRefuses) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<Stroke>> drawings = {
      {{{0, 0}, {0, 100}}, {{inf, 0}, {inf, 10}}, {{50, 0}, {50, 100}}},
      {{{0, 0}, {0, inf}}, {{10, 0}, {10, 5}}},
      {{{0, 0}, {0, 100}}, {{nan, nan}}, {{40, 0}, {40, 5}}},
      {{{0, 0}, {0, 100}}, {{1e30f, 0}, {1e30f, 1}}},
      std::vector<Stroke>(kMaxStrokes + 1, Stroke{{1, 1}}),
  };
  for (size_t i = 0; i < drawings.size(); ++i) {
    std::vector<std::vector<int>> groups = {{42}};
    const Status s = SplitIntoDigits(drawings[i], &groups);
    EXPECT_FALSE(s.ok()) << "drawing " << i;
    EXPECT_EQ(s.message(), ValidateStrokes(drawings[i]).message()) << "drawing " << i;
    EXPECT_EQ(groups, (std::vector<std::vector<int>>{{42}})) << "drawing " << i;
  }
}

}  // namespace
}  // namespace digits
