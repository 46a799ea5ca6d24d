// The shipped models (F32, F16 and the int8 file the site ships) on handwriting of writers they
// never saw, through the paths users take: UJI pen trajectories (strokes), CVL scans (the image
// path, via `digits eval --preprocess`), and handwritten letters, which must come out "not a
// digit" (or at least "unsure"), while real digits must not. The floors are the card's targets
// (tests/targets.h), so a model that reads worse fails here; the card has the exact numbers.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "digits/recognizer.h"
#include "fixtures.h"
#include "targets.h"

namespace digits {
namespace {

const char* const kModel = DIGITS_MODEL_DIR "/digits.safetensors";

struct Sample {
  std::string label;  // "0".."9", or the letter
  int writer = 0;
  std::vector<Stroke> strokes;
};

std::vector<Sample> LoadSamples(const std::string& name) {
  std::ifstream f(std::string(DIGITS_TEST_DATA "/handwriting/") + name);
  const nlohmann::json doc = nlohmann::json::parse(f, nullptr, false);
  std::vector<Sample> out;
  if (!doc.is_object()) return out;
  for (const auto& s : doc["samples"]) {
    Sample sample;
    sample.label =
        s.contains("char") ? s["char"].get<std::string>() : std::to_string(s["label"].get<int>());
    sample.writer = s["writer"].get<int>();
    sample.strokes = test::FixtureStrokes(s["strokes"]);
    out.push_back(std::move(sample));
  }
  return out;
}

std::unique_ptr<Recognizer> Load(BackendKind kind) {
  return test::LoadRecognizer(kModel, kind);
}

struct Tally {
  int count = 0, correct = 0, not_a_digit = 0, unsure = 0;
  int refused() const { return not_a_digit; }
  int flagged() const { return not_a_digit + unsure; }  // the doubt: what a person is asked
};

Tally Read(Recognizer* r, const std::vector<Sample>& samples) {
  Tally t;
  for (const Sample& s : samples) {
    Recognition result;
    EXPECT_TRUE(r->RecognizeStrokes(s.strokes, {}, &result).ok());
    if (result.digits.size() != 1) {
      ADD_FAILURE() << "a sample gave " << result.digits.size() << " digits";
      continue;
    }
    const Prediction& p = result.digits[0].prediction;
    ++t.count;
    t.correct += r->network().labels[p.digit] == s.label;
    t.not_a_digit += p.not_a_digit;
    t.unsure += p.unsure;
    // Every output says it the same way: "?" in the text exactly when not a digit.
    EXPECT_EQ(result.text == kNotADigitText, p.not_a_digit);
  }
  return t;
}

TEST(Handwriting, ModelHasTheNotADigitClass) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->network().num_classes(), 11);
  EXPECT_EQ(r->network().not_a_digit_class, 10);
}

// UJI Pen Characters: 10 writers (200 digits) that training and tuning never saw.
TEST(Handwriting, UnseenPenWritersAreRead) {
  const std::vector<Sample> uji = LoadSamples("uji_test.json");
  ASSERT_EQ(uji.size(), 200u);
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const Tally t = Read(r.get(), uji);
      std::printf("%s %s: UJI unseen writers: %d of %d right (%.1f%%), %d refused, %d flagged\n",
                  test::FileName(model).c_str(), BackendName(kind), t.correct, t.count,
                  100.0 * t.correct / t.count, t.refused(), t.flagged());
      // The card: 198 of 200 (99.0%), none refused; the target, 98.5%, is 197 (the MNIST-only
      // model read 96.0%). One digit of 200 is half a point: the set is small.
      EXPECT_TRUE(test::AtLeast(t.correct, t.count, test::kUjiAccuracy))
          << model << " " << BackendName(kind) << ": " << t.correct << " of " << t.count;
      EXPECT_TRUE(test::AtMost(t.refused(), t.count, test::kDigitsRefusedMost))
          << model << " " << BackendName(kind) << ": " << t.refused() << " refused";
      EXPECT_TRUE(test::AtMost(t.flagged(), t.count, test::kDigitsFlaggedMost))
          << model << " " << BackendName(kind) << ": " << t.flagged() << " flagged";
    }
  }
}

// Letters of 8 Chars74K writers that training and tuning never saw: clear non-digits (no O, I, S,
// Z, B, ...). The page must not call them digits.
TEST(Handwriting, LettersAreNotDigits) {
  const std::vector<Sample> letters = LoadSamples("letters_test.json");
  ASSERT_GE(letters.size(), 200u);
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const Tally t = Read(r.get(), letters);
      std::printf("%s %s: letters: %d of %d flagged (%d not a digit, %d unsure)\n",
                  test::FileName(model).c_str(), BackendName(kind), t.flagged(), t.count,
                  t.not_a_digit, t.unsure);
      EXPECT_TRUE(test::AtLeast(t.flagged(), t.count, test::kLettersFlagged))
          << model << " " << BackendName(kind) << ": " << t.flagged() << " of " << t.count;
      // Most of them as what they are, "not a digit", rather than a doubtful digit.
      EXPECT_GE(t.not_a_digit, t.count * 90 / 100) << model << " " << BackendName(kind);
    }
  }
}

// The traced MNIST test digits (tests/data/strokes): real digits, read and hardly ever refused.
TEST(Handwriting, TracedDigitsAreReadAndRarelyRefused) {
  std::vector<Sample> digits;
  for (const test::FixtureDigit& d : test::LoadStrokeFixture()) {
    digits.push_back({std::to_string(d.label), 0, d.strokes});
  }
  ASSERT_GE(digits.size(), 1000u);
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const Tally t = Read(r.get(), digits);
      std::printf(
          "%s %s: traced digits: %d of %d right (%.2f%%), %d flagged (%d not a digit, %d "
          "unsure)\n",
          test::FileName(model).c_str(), BackendName(kind), t.correct, t.count,
          100.0 * t.correct / t.count, t.flagged(), t.not_a_digit, t.unsure);
      // The card: 1,182 of 1,200 (98.50%, the target exactly), none refused, 3.92% flagged.
      EXPECT_TRUE(test::AtLeast(t.correct, t.count, test::kTracedAccuracy))
          << model << " " << BackendName(kind) << ": " << t.correct << " of " << t.count;
      EXPECT_TRUE(test::AtMost(t.refused(), t.count, test::kDigitsRefusedMost))
          << model << " " << BackendName(kind) << ": " << t.refused() << " refused";
      EXPECT_TRUE(test::AtMost(t.flagged(), t.count, test::kDigitsFlaggedMost))
          << model << " " << BackendName(kind) << ": " << t.flagged() << " flagged";
    }
  }
}

// Shapes and marks that are no digit, drawn as a person would.
TEST(Handwriting, ShapesAndMarksAreNotDigits) {
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  const struct {
    const char* name;
    std::vector<Stroke> strokes;
  } cases[] = {
      {"horizontal line", {{{10, 50}, {200, 52}}}},
      {"square", {{{0, 0}, {100, 0}, {100, 100}, {0, 100}, {0, 0}}}},
      {"cross", {{{0, 0}, {100, 100}}, {{100, 0}, {0, 100}}}},
      {"zigzag", {{{0, 50}, {20, 0}, {40, 50}, {60, 0}, {80, 50}, {100, 0}, {120, 50}}}},
      {"triangle", {{{50, 0}, {100, 90}, {0, 90}, {50, 0}}}},
      {"hatching", {{{0, 0}, {100, 30}}, {{0, 20}, {100, 50}}, {{0, 40}, {100, 70}}}},
  };
  for (const auto& c : cases) {
    Recognition result;
    ASSERT_TRUE(r->RecognizeStrokes(c.strokes, {}, &result).ok()) << c.name;
    ASSERT_EQ(result.digits.size(), 1u) << c.name;
    const Prediction& p = result.digits[0].prediction;
    EXPECT_TRUE(p.not_a_digit || p.unsure)
        << c.name << " read as " << p.digit << " (" << p.probabilities[p.digit] << ")";
  }
}

// Number mode: a letter among digits is reported as such ("?"), not forced into a digit.
TEST(Handwriting, ALetterAmongDigitsIsMarked) {
  const std::vector<Sample> letters = LoadSamples("letters_test.json");
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  ASSERT_FALSE(letters.empty());
  ASSERT_GE(fixture.size(), 2u);
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  // A letter the model refuses on its own, between fixture digits 0 and 1 (a 7 and a 2).
  const Sample* letter = nullptr;
  for (const Sample& s : letters) {
    Recognition alone;
    ASSERT_TRUE(r->RecognizeStrokes(s.strokes, {}, &alone).ok());
    if (alone.text == kNotADigitText && s.strokes.size() == 1) {
      letter = &s;
      break;
    }
  }
  ASSERT_NE(letter, nullptr);
  auto place = [](const std::vector<Stroke>& strokes, float x, float height) {
    const Box b = StrokesBox(strokes);
    const float scale = height / std::max(b.y1 - b.y0, 1.0f);
    std::vector<Stroke> out = strokes;
    for (Stroke& s : out)
      for (Point& p : s) p = {x + (p.x - b.x0) * scale, 100 + (p.y - b.y0) * scale};
    return out;
  };
  std::vector<Stroke> strokes = place(fixture[0].strokes, 0, 100);
  for (const Stroke& s : place(letter->strokes, 200, 100)) strokes.push_back(s);
  for (const Stroke& s : place(fixture[1].strokes, 400, 100)) strokes.push_back(s);
  RecognizeOptions options;
  options.mode = Mode::kNumber;
  Recognition result;
  ASSERT_TRUE(r->RecognizeStrokes(strokes, options, &result).ok());
  ASSERT_EQ(result.digits.size(), 3u) << result.text;
  EXPECT_EQ(result.text, "7?2") << "letter '" << letter->label << "'";
  EXPECT_TRUE(result.digits[1].prediction.not_a_digit);
  EXPECT_FALSE(result.digits[0].prediction.not_a_digit);
  EXPECT_FALSE(result.digits[2].prediction.not_a_digit);
}

// Number mode: a small mark far from the digits is a stray mark, reported as "not a digit" in its
// place, and it does not bend the digits next to it.
TEST(Handwriting, AStrayMarkAmongDigitsIsMarked) {
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  std::unique_ptr<Recognizer> r = Load(BackendKind::kBuiltin);
  ASSERT_TRUE(r);
  // Fixture digits 0 and 1 (a 7 and a 2), 100 high, and a short tick between them near the top.
  std::vector<Stroke> strokes;
  for (int k = 0; k < 2; ++k) {
    const Box b = StrokesBox(fixture[k].strokes);
    const float scale = 100.0f / (b.y1 - b.y0);
    for (Stroke s : fixture[k].strokes) {
      for (Point& p : s) p = {300.0f * k + (p.x - b.x0) * scale, (p.y - b.y0) * scale};
      strokes.push_back(s);
    }
  }
  strokes.push_back({{190, 5}, {196, 12}});
  RecognizeOptions options;
  options.mode = Mode::kNumber;
  Recognition result;
  ASSERT_TRUE(r->RecognizeStrokes(strokes, options, &result).ok());
  EXPECT_EQ(result.text, "7?2");
  ASSERT_EQ(result.digits.size(), 3u);
  EXPECT_TRUE(result.digits[1].prediction.not_a_digit);
  EXPECT_EQ(result.digits[1].strokes, std::vector<int>{static_cast<int>(strokes.size()) - 1});
}

// CVL's test split (176 writers never seen) through the image path of `digits eval --preprocess`:
// the target and digits hardly ever refused, for the F32 file on every backend and the int8 file
// on the built-in one (the site's; the int8 backends compute the same codes bit for bit,
// GoldenInt8), and for the F32 file the accuracy model/export.py recorded for the same network
// through the Python twin of that path. (21,780 scans a run: the F16 file, the F32 weights
// rounded, is held to the other sets' targets.)
TEST(Handwriting, CvlScansMeetTheTargetAndMatchTheCard) {
  std::ifstream f(DIGITS_MODEL_DIR "/test_errors.json");
  const nlohmann::json recorded = nlohmann::json::parse(f, nullptr, false);
  ASSERT_TRUE(recorded.is_object() && recorded.contains("cvl_test"));
  const int recorded_errors = recorded["cvl_test"]["errors"].get<int>();
  const std::string cvl = DIGITS_CVL_DIR;
  const std::vector<std::pair<std::string, BackendKind>> runs = {
      {DIGITS_MODEL_DIR "/digits.safetensors", BackendKind::kBuiltin},
      {DIGITS_MODEL_DIR "/digits.safetensors", BackendKind::kXnnpack},
      {DIGITS_MODEL_DIR "/digits_int8.safetensors", BackendKind::kBuiltin}};
  for (const auto& [model, kind] : runs) {
    if (!BackendAvailable(kind)) continue;
    const char* backend = BackendName(kind);
    const test::CommandOutput o = test::RunCommand(
        std::string(DIGITS_CLI) + " eval --model " + model + " --backend " + backend +
        " --preprocess --json --images " + cvl + "/cvl-test-images-idx3-ubyte.gz --labels " + cvl +
        "/cvl-test-labels-idx1-ubyte.gz");
    ASSERT_EQ(o.status, 0) << o.out;
    const nlohmann::json j = nlohmann::json::parse(o.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << o.out;
    ASSERT_EQ(j["count"], 21780);
    const int count = j["count"].get<int>(), errors = j["errors"].get<int>();
    const int refused = j["not_a_digit"].get<int>();
    const int flagged = refused + j["unsure"].get<int>();
    std::printf(
        "%s %s: CVL test through the image path: %.2f%% (%d errors; card: %d), %d "
        "refused, %d flagged\n",
        test::FileName(model).c_str(), backend, 100 * j["accuracy"].get<double>(), errors,
        recorded_errors, refused, flagged);
    EXPECT_TRUE(test::AtLeast(count - errors, count, test::kCvlAccuracy))
        << model << " " << backend << ": " << errors << " errors";
    EXPECT_TRUE(test::AtMost(refused, count, test::kDigitsRefusedMost))
        << model << " " << backend << ": " << refused << " refused";
    EXPECT_TRUE(test::AtMost(flagged, count, test::kDigitsFlaggedMost))
        << model << " " << backend << ": " << flagged << " flagged";
    // Float rounding in the twin can tip a borderline scan either way.
    if (test::FileName(model) == "digits.safetensors") {
      EXPECT_LE(std::abs(errors - recorded_errors), 5) << backend;
    }
  }
}

}  // namespace
}  // namespace digits
