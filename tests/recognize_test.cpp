// The Recognizer end to end on real handwriting as strokes (the fixture traced from MNIST test
// digits) with the shipped model: single digits, numbers composed from them, Grad-CAM, empty and
// bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>

#include "digits/recognizer.h"
#include "fixtures.h"
#include "targets.h"

namespace digits {
namespace {

using test::FixtureDigit;

const char* const kModel = DIGITS_MODEL_DIR "/digits.safetensors";

const std::vector<FixtureDigit>& Fixture() {
  static const std::vector<FixtureDigit> digits = test::LoadStrokeFixture();
  return digits;
}

std::unique_ptr<Recognizer> Load(BackendKind kind) {
  return test::LoadRecognizer(kModel, kind);
}

// The card's target for the traced strokes (98.5%, tests/targets.h), for every shipped model.
TEST(Recognize, StrokeFixtureAccuracy) {
  ASSERT_GE(Fixture().size(), 1000u);
  const int count = static_cast<int>(Fixture().size());
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      int correct = 0;
      for (const FixtureDigit& d : Fixture()) {
        Recognition result;
        ASSERT_TRUE(r->RecognizeStrokes(d.strokes, {}, &result).ok());
        ASSERT_EQ(result.digits.size(), 1u);
        const Prediction& p = result.digits[0].prediction;
        EXPECT_EQ(result.text, p.not_a_digit ? "?" : std::to_string(p.digit));
        correct += result.digits[0].prediction.digit == d.label;
      }
      std::printf("%s %s: %d of %d fixture digits right through the stroke path (%.2f%%)\n",
                  model.c_str(), BackendName(kind), correct, count, 100.0 * correct / count);
      EXPECT_TRUE(test::AtLeast(correct, count, test::kTracedAccuracy))
          << model << " " << BackendName(kind) << ": " << correct << " of " << count;
    }
  }
}

// Numbers of 2-6 digits composed from fixture digits: each scaled to a common height (+-15%),
// placed left to right with gaps of 0.1-0.6 heights and baselines jittered by +-15%. The digits
// are drawn from the faithfully traced part of the fixture (its own score iou_fit >= 0.75, 1116 of
// 1200; tests/data/strokes/README.md): the tracer breaks some faint strokes into pieces and fills
// in loops, which says nothing about reading a number a person drew. Every shipped model reads
// the same 300 numbers.
TEST(Recognize, NumbersAreReadLeftToRight) {
  std::vector<test::FixtureDigit> faithful;
  for (const test::FixtureDigit& d : Fixture()) {
    if (d.iou_fit >= 0.75f) faithful.push_back(d);
  }
  ASSERT_GE(faithful.size(), 1000u);
  for (const std::string& model : test::ShippedModels()) {
    std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, BackendKind::kBuiltin);
    ASSERT_TRUE(r);
    std::mt19937 rng(2024);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    const int count = 300;
    int exact = 0, split_right = 0;
    for (int n = 0; n < count; ++n) {
      const int length = 2 + n % 5;
      std::vector<Stroke> strokes;
      std::string expected;
      float x = 50.0f;
      const float height = 60.0f + 100.0f * unit(rng);
      for (int k = 0; k < length; ++k) {
        const FixtureDigit& d = faithful[rng() % faithful.size()];
        expected += std::to_string(d.label);
        const Box b = StrokesBox(d.strokes);
        const float h = height * (0.85f + 0.3f * unit(rng));
        const float scale = h / std::max(b.y1 - b.y0, 1.0f);
        const float top = 200.0f + height * (0.3f * unit(rng) - 0.15f);
        for (Stroke s : d.strokes) {
          for (Point& p : s) p = {x + (p.x - b.x0) * scale, top + (p.y - b.y0) * scale};
          strokes.push_back(std::move(s));
        }
        x += (b.x1 - b.x0) * scale + height * (0.1f + 0.5f * unit(rng));
      }
      RecognizeOptions options;
      options.mode = Mode::kNumber;
      Recognition result;
      ASSERT_TRUE(r->RecognizeStrokes(strokes, options, &result).ok());
      exact += result.text == expected;
      split_right += result.digits.size() == expected.size();
      if (result.digits.size() != expected.size() && n + 1 - split_right <= 10) {
        std::printf("split wrong: %s read as %s\n", expected.c_str(), result.text.c_str());
      }
    }
    std::printf(
        "%s: numbers: %d of %d read exactly, %d of %d split into the right number of "
        "digits\n",
        model.c_str(), exact, count, split_right, count);
    // 290 of 300 with the shipped model (run 30 read 285); the target is 95%. A number is read
    // exactly only if all of its 2-6 digits are (none called "not a digit").
    EXPECT_TRUE(test::AtLeast(exact, count, test::kNumbersExact)) << model << ": " << exact;
    EXPECT_GE(split_right, count * 99 / 100) << model;
  }
}

TEST(Recognize, GradCamHighlightsTheInk) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  RecognizeOptions options;
  options.gradcam = true;
  int on_ink = 0, checked = 0;
  for (size_t k = 0; k < 100; ++k) {
    Recognition result;
    ASSERT_TRUE(r->RecognizeStrokes(Fixture()[k].strokes, options, &result).ok());
    const DigitResult& d = result.digits[0];
    ASSERT_EQ(d.gradcam.target_class, d.prediction.digit);
    ASSERT_EQ(d.gradcam.versus_class, -1);
    ASSERT_EQ(d.gradcam.map.size(), static_cast<size_t>(d.gradcam.height * d.gradcam.width));
    ASSERT_EQ(d.gradcam.size, 28);
    ASSERT_EQ(d.gradcam.heatmap.size(), 28u * 28u);
    const float peak = *std::max_element(d.gradcam.map.begin(), d.gradcam.map.end());
    if (peak == 0.0f) continue;  // a map can be all zero (no positive evidence)
    EXPECT_FLOAT_EQ(peak, 1.0f);
    // The layer's map, upsampled, has its mass mostly where there is ink (or next to it).
    const std::vector<float> up = UpsampleGradCam(d.gradcam, 28);
    double near_ink = 0.0, total = 0.0;
    for (int i = 0; i < 28; ++i)
      for (int j = 0; j < 28; ++j) {
        float ink = 0.0f;
        for (int di = -2; di <= 2; ++di)
          for (int dj = -2; dj <= 2; ++dj) {
            const int y = i + di, x = j + dj;
            if (y >= 0 && y < 28 && x >= 0 && x < 28) ink = std::max(ink, d.input[y * 28 + x]);
          }
        total += up[i * 28 + j];
        if (ink > 0.1f) near_ink += up[i * 28 + j];
      }
    ++checked;
    on_ink += near_ink > 0.5 * total;
    // The heatmap front ends show is that map on the ink: zero off the strokes, peak 1.
    float heat_peak = 0.0f;
    for (size_t i = 0; i < d.gradcam.heatmap.size(); ++i) {
      if (d.input[i] == 0.0f) EXPECT_EQ(d.gradcam.heatmap[i], 0.0f) << "pixel " << i;
      heat_peak = std::max(heat_peak, d.gradcam.heatmap[i]);
    }
    EXPECT_FLOAT_EQ(heat_peak, 1.0f);
  }
  EXPECT_GE(checked, 90);
  EXPECT_GE(on_ink, checked * 9 / 10);

  // Another class's map differs from the predicted one's (fixture digit 0 is a 7).
  Recognition predicted;
  ASSERT_TRUE(r->RecognizeStrokes(Fixture()[0].strokes, options, &predicted).ok());
  ASSERT_EQ(predicted.digits[0].gradcam.target_class, 7);
  options.gradcam_class = 3;
  Recognition other;
  ASSERT_TRUE(r->RecognizeStrokes(Fixture()[0].strokes, options, &other).ok());
  EXPECT_EQ(other.digits[0].gradcam.target_class, 3);
  EXPECT_EQ(other.digits[0].prediction.probabilities, predicted.digits[0].prediction.probabilities);
  EXPECT_NE(other.digits[0].gradcam.map, predicted.digits[0].gradcam.map);
  EXPECT_NE(other.digits[0].gradcam.heatmap, predicted.digits[0].gradcam.heatmap);
}

// "Why 7 and not 1": the map of the difference of two logits, which is not either class's own.
TEST(Recognize, GradCamAgainstAnotherClass) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  RecognizeOptions options;
  options.gradcam = true;
  int differs = 0;
  for (size_t k = 0; k < 20; ++k) {
    const std::vector<Stroke>& strokes = Fixture()[k].strokes;
    Recognition alone;
    ASSERT_TRUE(r->RecognizeStrokes(strokes, options, &alone).ok());
    const int digit = alone.digits[0].prediction.digit;
    RecognizeOptions versus = options;
    versus.gradcam_versus = (digit + 1) % 10;
    Recognition against;
    ASSERT_TRUE(r->RecognizeStrokes(strokes, versus, &against).ok());
    const GradCam& cam = against.digits[0].gradcam;
    EXPECT_EQ(cam.target_class, digit);
    EXPECT_EQ(cam.versus_class, versus.gradcam_versus);
    ASSERT_EQ(cam.heatmap.size(), 28u * 28u);
    differs += cam.map != alone.digits[0].gradcam.map;
    // The prediction is not changed by what is explained.
    EXPECT_EQ(against.digits[0].prediction.probabilities, alone.digits[0].prediction.probabilities);
    // Against its own prediction a digit is explained alone.
    versus.gradcam_versus = digit;
    ASSERT_TRUE(r->RecognizeStrokes(strokes, versus, &against).ok());
    EXPECT_EQ(against.digits[0].gradcam.versus_class, -1);
    EXPECT_EQ(against.digits[0].gradcam.heatmap, alone.digits[0].gradcam.heatmap);
  }
  EXPECT_GE(differs, 18);
  // A class asked for cannot be compared with itself; out-of-range classes are refused.
  Recognition out;
  RecognizeOptions same = options;
  same.gradcam_class = same.gradcam_versus = 4;
  Status s = r->RecognizeStrokes(Fixture()[0].strokes, same, &out);
  EXPECT_NE(s.message().find("cannot be compared with itself"), std::string::npos) << s.message();
  same.gradcam_versus = 11;
  s = r->RecognizeStrokes(Fixture()[0].strokes, same, &out);
  EXPECT_NE(s.message().find("11 is out of range"), std::string::npos) << s.message();
  EXPECT_TRUE(out.digits.empty());
}

TEST(Recognize, EmptyDrawingIsEmpty) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  for (const std::vector<Stroke>& strokes :
       {std::vector<Stroke>{}, std::vector<Stroke>{{}}, std::vector<Stroke>{{{3, 4}}},
        // Two one-point strokes a denormal apart (found by fuzzing: number mode's split divided
        // 0 by a zero step; the UBSan build of this test catches it).
        std::vector<Stroke>{{{0, 0}}, {{2.4e-38f, 5.6e-45f}}}}) {
    for (Mode mode : {Mode::kDigit, Mode::kNumber}) {
      RecognizeOptions options;
      options.mode = mode;
      Recognition result;
      ASSERT_TRUE(r->RecognizeStrokes(strokes, options, &result).ok());
      EXPECT_TRUE(result.empty);
      EXPECT_TRUE(result.digits.empty());
      EXPECT_EQ(result.text, "");
    }
  }
}

// "Not a digit" when that class reaches its threshold; otherwise "unsure" below the unsure one.
TEST(Recognize, NotADigitAndUnsureFollowTheThresholds) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  const Network& net = r->network();
  ASSERT_GE(net.not_a_digit_class, 0);
  int unsure = 0, not_a_digit = 0;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> coord(0.0f, 100.0f);
  for (int k = 0; k < 100; ++k) {  // scribbles: random polylines
    Stroke s;
    for (int i = 0; i < 6; ++i) s.push_back({coord(rng), coord(rng)});
    Recognition result;
    ASSERT_TRUE(r->RecognizeStrokes({s}, {}, &result).ok());
    const Prediction& p = result.digits[0].prediction;
    ASSERT_EQ(p.probabilities.size(), static_cast<size_t>(net.num_classes()));
    EXPECT_NE(p.digit, net.not_a_digit_class);  // `digit` is always a digit
    EXPECT_EQ(p.not_a_digit, p.probabilities[net.not_a_digit_class] >= net.not_a_digit_threshold);
    EXPECT_EQ(p.unsure, !p.not_a_digit && p.probabilities[p.digit] < net.unsure_threshold);
    EXPECT_EQ(result.text, p.not_a_digit ? "?" : net.labels[p.digit]);
    unsure += p.unsure;
    not_a_digit += p.not_a_digit;
  }
  std::printf("100 random scribbles: %d not a digit, %d unsure\n", not_a_digit, unsure);
  // Six random points joined can make a Z (2), an N or a 4-like corner: most, not all, are refused
  // (73 with the shipped model). Letters and drawn shapes are tested in handwriting_test.cpp.
  EXPECT_GE(not_a_digit + unsure, 60);
}

// The shipped model's bytes with another unsure_threshold in its architecture: a deterministic
// doubt for the tests, whatever operating point the shipped model was calibrated to.
std::vector<uint8_t> ModelWithUnsureThreshold(float threshold) {
  std::ifstream f(kModel, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_GT(bytes.size(), 8u);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_size);
  nlohmann::json arch =
      nlohmann::json::parse(header["__metadata__"]["architecture"].get<std::string>());
  arch["unsure_threshold"] = threshold;
  header["__metadata__"]["architecture"] = arch.dump();
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');  // the tensors stay 8-byte aligned
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), bytes.begin() + 8 + header_size, bytes.end());
  return out;
}

// A doubtful digit offers the smallest set of other classes that, with its answer, reaches the
// model's unsure_threshold (at least one, at most kMaxAlternatives), best first; a sure one
// offers none. Checked at the shipped model's threshold and at a strict one (0.99), where many
// fixture digits are doubtful.
TEST(Recognize, DoubtfulDigitsOfferTheSmallestSetOfAlternatives) {
  int doubtful_before = 0;
  for (float threshold : {-1.0f, 0.99f}) {
    std::unique_ptr<Recognizer> r;
    if (threshold < 0) {
      r = Load(BackendKind::kBuiltin);
    } else {
      const std::vector<uint8_t> bytes = ModelWithUnsureThreshold(threshold);
      const Status s = Recognizer::Create(bytes.data(), bytes.size(), BackendKind::kBuiltin, &r);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_FLOAT_EQ(r->network().unsure_threshold, threshold);
    }
    ASSERT_TRUE(r);
    const Network& net = r->network();
    int doubtful = 0, runner_up_not_a_digit = 0;
    std::vector<std::vector<Stroke>> drawings;
    for (size_t i = 0; i < 300; ++i) drawings.push_back(Fixture()[i].strokes);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> coord(0.0f, 100.0f);
    for (int k = 0; k < 100; ++k) {  // scribbles: mostly "not a digit"
      Stroke s;
      for (int i = 0; i < 6; ++i) s.push_back({coord(rng), coord(rng)});
      drawings.push_back({s});
    }
    for (const std::vector<Stroke>& strokes : drawings) {
      Recognition result;
      ASSERT_TRUE(r->RecognizeStrokes(strokes, {}, &result).ok());
      const Prediction& p = result.digits[0].prediction;
      const std::vector<int>& alt = p.alternatives;
      if (p.doubt() == Doubt::kSure) {
        EXPECT_TRUE(alt.empty());
        EXPECT_GE(p.probabilities[p.digit], net.unsure_threshold);
        continue;
      }
      ++doubtful;
      const int answer = p.not_a_digit ? net.not_a_digit_class : p.digit;
      ASSERT_GE(alt.size(), 1u);
      ASSERT_LE(alt.size(), static_cast<size_t>(kMaxAlternatives));
      float covered = p.probabilities[answer];
      for (size_t i = 0; i < alt.size(); ++i) {
        EXPECT_NE(alt[i], answer);
        if (i > 0) EXPECT_GE(p.probabilities[alt[i - 1]], p.probabilities[alt[i]]);
        if (i > 0) EXPECT_LT(covered, net.unsure_threshold) << "one alternative too many";
        covered += p.probabilities[alt[i]];
      }
      if (alt.size() < static_cast<size_t>(kMaxAlternatives)) {
        EXPECT_GE(covered, net.unsure_threshold - 1e-6f) << "one alternative too few";
      }
      // The first alternative is the best class but the answer: for an unsure digit, the
      // runner-up; for "not a digit", the digit it looks most like.
      if (p.not_a_digit) {
        EXPECT_EQ(alt[0], p.digit);
      } else {
        int best = -1;
        for (int c = 0; c < net.num_classes(); ++c) {
          if (c != p.digit && (best < 0 || p.probabilities[c] > p.probabilities[best])) best = c;
        }
        EXPECT_EQ(alt[0], best);
        runner_up_not_a_digit += best == net.not_a_digit_class;
      }
    }
    std::printf(
        "unsure_threshold %.2f: %d of %zu drawings doubtful, %d unsure ones offer \"not a "
        "digit\" first\n",
        net.unsure_threshold, doubtful, drawings.size(), runner_up_not_a_digit);
    // Most scribbles are doubtful; a stricter operating point doubts more (never fewer).
    EXPECT_GE(doubtful, 60);
    EXPECT_GE(doubtful, doubtful_before);
    doubtful_before = doubtful;
  }
}

TEST(Recognize, BadInputChangesNothing) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  const std::vector<Stroke>& strokes = Fixture()[0].strokes;
  Recognition before;
  ASSERT_TRUE(r->RecognizeStrokes(strokes, {}, &before).ok());
  Recognition out;
  out.text = "untouched";
  EXPECT_FALSE(r->RecognizeStrokes({{{0, 0}, {NAN, 0}}}, {}, &out).ok());
  EXPECT_FALSE(r->RecognizeStrokes({Stroke(kMaxPoints + 1)}, {}, &out).ok());
  RecognizeOptions bad_class;
  bad_class.gradcam = true;
  bad_class.gradcam_class = 11;  // the classes are 0-9 and 10, "not a digit"
  const Status s = r->RecognizeStrokes(strokes, bad_class, &out);
  EXPECT_NE(s.message().find("class 11 is out of range"), std::string::npos) << s.message();
  RecognizeOptions number;
  number.mode = Mode::kNumber;
  const uint8_t px[4] = {0, 255, 255, 0};
  EXPECT_FALSE(r->RecognizeImage({px, 2, 2, 1}, number, &out).ok());
  EXPECT_EQ(out.text, "untouched");
  Recognition after;
  ASSERT_TRUE(r->RecognizeStrokes(strokes, {}, &after).ok());
  EXPECT_EQ(after.digits[0].prediction.probabilities, before.digits[0].prediction.probabilities);
}

}  // namespace
}  // namespace digits
