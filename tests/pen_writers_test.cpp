// The shipped models (float and the int8 one the site ships) on pen writers they never saw: the
// CROHME test writers' digits, letters and symbols, and the numbers in their expressions
// (tests/data/handwriting/crohme*_test.json, model/handwriting.py --write-fixtures), through the
// stroke path the page, the widget, the CLI and the server take. Beyond accuracy this holds the
// doubt to its promise (model/README.md, "Doubt"): what is not flagged is right, what is wrong is
// mostly flagged, and the flags are few.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "digits/recognizer.h"
#include "fixtures.h"
#include "targets.h"

namespace digits {
namespace {

struct PenSample {
  std::string truth;  // the digit, the number's text, or the symbol (for non-digits)
  bool digit = false;
  std::vector<Stroke> strokes;
};

std::vector<PenSample> LoadPen(const std::string& name) {
  std::ifstream f(std::string(DIGITS_TEST_DATA "/handwriting/") + name);
  const nlohmann::json doc = nlohmann::json::parse(f, nullptr, false);
  std::vector<PenSample> out;
  if (!doc.is_object()) return out;
  for (const auto& s : doc["samples"]) {
    PenSample sample;
    if (s.contains("label")) {
      sample.truth = std::to_string(s["label"].get<int>());
      sample.digit = true;
    } else if (s.contains("number")) {
      sample.truth = s["number"].get<std::string>();
      sample.digit = true;
    } else {
      sample.truth = s["char"].get<std::string>();
    }
    sample.strokes = test::FixtureStrokes(s["strokes"]);
    out.push_back(std::move(sample));
  }
  return out;
}

bool Flagged(const Prediction& p) {
  return p.unsure || p.not_a_digit;
}

struct DigitTally {
  int count = 0, right = 0, refused = 0, flagged = 0;
  int flagged_wrong = 0, unflagged_right = 0;
  int wrong() const { return count - right; }
  int unflagged() const { return count - flagged; }
};

DigitTally ReadDigits(Recognizer* r, const std::vector<PenSample>& samples) {
  DigitTally t;
  for (size_t i = 0; i < samples.size(); ++i) {
    const PenSample& s = samples[i];
    if (!s.digit) continue;
    Recognition result;
    EXPECT_TRUE(r->RecognizeStrokes(s.strokes, {}, &result).ok());
    if (result.digits.size() != 1) {
      ADD_FAILURE() << "sample " << i << " gave " << result.digits.size() << " digits";
      continue;
    }
    const Prediction& p = result.digits[0].prediction;
    const bool right = r->network().labels[p.digit] == s.truth;
    ++t.count;
    t.right += right;
    t.refused += p.not_a_digit;
    t.flagged += Flagged(p);
    t.flagged_wrong += !right && Flagged(p);
    t.unflagged_right += right && !Flagged(p);
  }
  return t;
}

const std::vector<PenSample>& Fixture() {
  static const std::vector<PenSample> samples = LoadPen("crohme_test.json");
  return samples;
}

// CROHME's test writers' digits: read right, hardly ever refused, and the doubt keeps its promise:
// the digits not flagged are right, most wrong answers are flagged, and the flags are few.
TEST(PenWriters, DigitsAreReadAndTheDoubtIsHonest) {
  ASSERT_GE(Fixture().size(), 900u);
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const std::string what = test::FileName(model) + " " + BackendName(kind);
      const DigitTally t = ReadDigits(r.get(), Fixture());
      ASSERT_GE(t.count, 300);
      std::printf(
          "%s: CROHME digits %d of %d right (%.2f%%), %d refused, %d flagged (%.2f%%); "
          "not flagged: %d of %d right (%.2f%%); errors flagged %d of %d\n",
          what.c_str(), t.right, t.count, 100.0 * t.right / t.count, t.refused, t.flagged,
          100.0 * t.flagged / t.count, t.unflagged_right, t.unflagged(),
          100.0 * t.unflagged_right / t.unflagged(), t.flagged_wrong, t.wrong());
      SCOPED_TRACE(what);
      EXPECT_TRUE(test::AtLeast(t.right, t.count, test::kPenAccuracy));
      EXPECT_TRUE(test::AtMost(t.refused, t.count, test::kDigitsRefusedMost));
      EXPECT_TRUE(test::AtMost(t.flagged, t.count, test::kDigitsFlaggedMost));
      EXPECT_TRUE(test::AtLeast(t.unflagged_right, t.unflagged(), test::kNotFlaggedRight));
      EXPECT_TRUE(test::AtLeast(t.flagged_wrong, t.wrong(), test::kErrorsFlagged));
    }
  }
}

// The fixture's known hard cases: the 11 digits run 36 (the model before the pen writers) read
// wrong without a flag, as the model issue found them on the page: 1s with a long flag read as 7
// (80, 89, 90, 93, 105) or as 4 (83, 106), 4s read as 9 (251, 262), a 6 read as 0 (385), a 9 read
// as 5 (591). Each must now be read right or flagged; the shipped model leaves one confident
// (591, 9 -> 5 at 0.88), the bound allows no more.
TEST(PenWriters, KnownHardCasesAreReadOrFlagged) {
  const int hard[] = {80, 83, 89, 90, 93, 105, 106, 251, 262, 385, 591};
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const std::string what = test::FileName(model) + " " + BackendName(kind);
      int confident_errors = 0;
      for (int i : hard) {
        const PenSample& s = Fixture().at(i);
        ASSERT_TRUE(s.digit);
        Recognition result;
        ASSERT_TRUE(r->RecognizeStrokes(s.strokes, {}, &result).ok());
        ASSERT_EQ(result.digits.size(), 1u);
        const Prediction& p = result.digits[0].prediction;
        if (r->network().labels[p.digit] != s.truth && !Flagged(p)) {
          ++confident_errors;
          std::printf("%s: hard case %d (%s) read as %d, not flagged\n", what.c_str(), i,
                      s.truth.c_str(), p.digit);
        }
      }
      EXPECT_LE(confident_errors, 1) << what;
    }
  }
}

// Their letters, operators and Greek letters (the clear ones: model/handwriting.py's
// CROHME_NON_DIGITS): flagged, as not a digit or at least unsure.
TEST(PenWriters, LettersAndSymbolsAreFlagged) {
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const std::string what = test::FileName(model) + " " + BackendName(kind);
      int count = 0, flagged = 0, refused = 0;
      std::string missed;
      for (const PenSample& s : Fixture()) {
        if (s.digit) continue;
        Recognition result;
        ASSERT_TRUE(r->RecognizeStrokes(s.strokes, {}, &result).ok());
        ASSERT_EQ(result.digits.size(), 1u);
        const Prediction& p = result.digits[0].prediction;
        ++count;
        flagged += Flagged(p);
        refused += p.not_a_digit;
        if (!Flagged(p)) missed += " " + s.truth + "->" + r->network().labels[p.digit];
      }
      ASSERT_GE(count, 300);
      std::printf(
          "%s: CROHME symbols %d of %d flagged (%.2f%%), %d not a digit; read as "
          "digits:%s\n",
          what.c_str(), flagged, count, 100.0 * flagged / count, refused, missed.c_str());
      EXPECT_TRUE(test::AtLeast(flagged, count, test::kSymbolsFlagged)) << what;
    }
  }
}

// Numbers of 2-6 digits as the test writers wrote them inside their expressions (real spacing),
// read in number mode: exactly, and where not, mostly with a flag on at least one digit.
TEST(PenWriters, NumbersAreReadOrFlagged) {
  const std::vector<PenSample> numbers = LoadPen("crohme_numbers_test.json");
  ASSERT_GE(numbers.size(), 300u);
  RecognizeOptions options;
  options.mode = Mode::kNumber;
  for (const std::string& model : test::ShippedModels()) {
    for (BackendKind kind : test::AvailableBackends()) {
      std::unique_ptr<Recognizer> r = test::LoadRecognizer(model, kind);
      ASSERT_TRUE(r);
      const std::string what = test::FileName(model) + " " + BackendName(kind);
      int exact = 0, misread = 0, misread_flagged = 0;
      for (const PenSample& s : numbers) {
        Recognition result;
        ASSERT_TRUE(r->RecognizeStrokes(s.strokes, options, &result).ok());
        if (result.text == s.truth) {
          ++exact;
          continue;
        }
        ++misread;
        bool any = false;
        for (const DigitResult& d : result.digits) any = any || Flagged(d.prediction);
        misread_flagged += any;
      }
      const int count = static_cast<int>(numbers.size());
      std::printf(
          "%s: CROHME numbers %d of %d read exactly (%.2f%%); misread %d, %d of them with "
          "a flagged digit\n",
          what.c_str(), exact, count, 100.0 * exact / count, misread, misread_flagged);
      EXPECT_TRUE(test::AtLeast(exact, count, test::kPenNumbersExact)) << what;
      EXPECT_TRUE(test::AtLeast(misread_flagged, misread, test::kMisreadFlagged)) << what;
    }
  }
}

}  // namespace
}  // namespace digits
