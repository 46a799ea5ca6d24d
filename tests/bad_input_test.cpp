// The bad-input table for the C++ API (the CLI, HTTP and Embind entry points have theirs in
// cli_recognize_test, server_test and tests/wasm): every entry gets a clear error or a defined
// empty result, never a crash, and leaves the recognizer answering exactly as before.
// Also the soak: many recognitions with Grad-CAM in a row (run under ASan's leak checker by the
// native-asan preset).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "adversarial_drawings.h"
#include "digits/file.h"
#include "digits/limits.h"
#include "digits/recognizer.h"
#include "fixtures.h"
#include "image_io.h"

namespace digits {
namespace {

// A test model (random weights, tests/data): bad input is refused, or read, whatever the weights.
const char* const kModel = DIGITS_TEST_DATA "/tiny_gap.safetensors";

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status s = Recognizer::CreateFromFile(kModel, BackendKind::kBuiltin, &recognizer_);
    ASSERT_TRUE(s.ok()) << s.message();
    fixture_ = test::LoadStrokeFixture();
    ASSERT_FALSE(fixture_.empty());
    ASSERT_TRUE(recognizer_->RecognizeStrokes(fixture_[0].strokes, gradcam_, &reference_).ok());
  }
  // The recognizer still gives exactly the reference answer.
  void ExpectUnchanged(const std::string& after) {
    Recognition again;
    ASSERT_TRUE(recognizer_->RecognizeStrokes(fixture_[0].strokes, gradcam_, &again).ok()) << after;
    ASSERT_EQ(again.digits.size(), 1u) << after;
    EXPECT_EQ(again.digits[0].prediction.probabilities,
              reference_.digits[0].prediction.probabilities)
        << after;
    EXPECT_EQ(again.digits[0].gradcam.map, reference_.digits[0].gradcam.map) << after;
  }

  // A refused input (`error` set) is named in the message and leaves `out` as it was (its text
  // "untouched"); an accepted one is empty, or not, as `empty` says.
  static void ExpectOutcome(const std::string& name, const Status& s, const Recognition& out,
                            const char* error, bool empty) {
    if (error) {
      ASSERT_FALSE(s.ok()) << name;
      EXPECT_NE(s.message().find(error), std::string::npos) << name << ": " << s.message();
      EXPECT_EQ(out.text, "untouched") << name;
    } else {
      ASSERT_TRUE(s.ok()) << name << ": " << s.message();
      EXPECT_EQ(out.empty, empty) << name;
      EXPECT_EQ(out.digits.empty(), empty) << name;
    }
  }

  std::unique_ptr<Recognizer> recognizer_;
  std::vector<test::FixtureDigit> fixture_;
  RecognizeOptions gradcam_{Mode::kDigit, true, -1, -1, nullptr};
  Recognition reference_;
};

TEST_F(BadInput, Strokes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const struct {
    const char* name;
    std::vector<Stroke> strokes;
    const char* error;  // nullptr: accepted (and empty when noted)
    bool empty;
  } cases[] = {
      {"NaN coordinate", {{{1, 2}, {nan, 3}}}, "not a finite number", false},
      {"Inf coordinate", {{{1, 2}, {3, -inf}}}, "not a finite number", false},
      {"1e30 coordinate", {{{1, 2}, {1e30f, 3}}}, "is beyond +-1e+06", false},
      {"a million points", {Stroke(1000000, Point{1, 1})}, "too many points", false},
      {"too many strokes", std::vector<Stroke>(kMaxStrokes + 1, Stroke{{1, 1}, {2, 2}}),
       "too many strokes", false},
      {"no strokes", {}, nullptr, true},
      {"empty strokes", {{}, {}, {}}, nullptr, true},
      {"one point", {{{5, 5}}}, nullptr, true},
      {"coincident points", {{{5, 5}, {5, 5}, {5, 5}}}, nullptr, true},
      {"two points", {{{5, 5}, {5, 50}}}, nullptr, false},
      {"huge but finite drawing", {{{-9e5f, -9e5f}, {9e5f, 9e5f}}}, nullptr, false},
  };
  for (const auto& c : cases) {
    for (Mode mode : {Mode::kDigit, Mode::kNumber}) {
      RecognizeOptions options = gradcam_;
      options.mode = mode;
      Recognition out;
      out.text = "untouched";
      ExpectOutcome(c.name, recognizer_->RecognizeStrokes(c.strokes, options, &out), out, c.error,
                    c.empty);
      ExpectUnchanged(c.name);
    }
  }
}

// Number mode reads at most kMaxNumberMarks separate marks: one more is refused before any is
// classified (1,000 dots would otherwise cost 1,000 forward passes); digit mode reads the same
// drawing as one digit.
TEST_F(BadInput, TooManyMarksForNumberMode) {
  using test::SeparateMarks;
  RecognizeOptions number = gradcam_;
  number.mode = Mode::kNumber;
  Recognition out;
  out.text = "untouched";
  const Status refused =
      recognizer_->RecognizeStrokes(SeparateMarks(kMaxNumberMarks + 1), number, &out);
  EXPECT_EQ(refused.message(), "too many separate marks for number mode: 65 (at most 64)");
  ExpectOutcome("65 marks", refused, out, "too many separate marks", false);
  ExpectUnchanged("65 marks");
  ASSERT_TRUE(recognizer_->RecognizeStrokes(SeparateMarks(kMaxNumberMarks), number, &out).ok());
  EXPECT_EQ(out.digits.size(), static_cast<size_t>(kMaxNumberMarks));
  EXPECT_EQ(out.text.size(), static_cast<size_t>(kMaxNumberMarks));
  ASSERT_TRUE(
      recognizer_->RecognizeStrokes(SeparateMarks(kMaxNumberMarks + 1), gradcam_, &out).ok());
  EXPECT_EQ(out.digits.size(), 1u);
}

TEST_F(BadInput, Images) {
  const std::vector<uint8_t> one(1, 255), blank(64 * 64, 0);
  std::vector<uint8_t> dot(9 * 9, 0);
  dot[40] = 255;
  const struct {
    const char* name;
    ImageView image;
    const char* error;
    bool empty;
  } cases[] = {
      {"0x0", {one.data(), 0, 0, 1}, "it has no pixels", false},
      {"20000x20000", {one.data(), 20000, 20000, 1}, "beyond the limit (8192 per side", false},
      {"5 channels", {one.data(), 1, 1, 5}, "5 channels", false},
      {"null data", {nullptr, 4, 4, 1}, "no pixel data", false},
      {"1x1", {one.data(), 1, 1, 1}, nullptr, true},  // one pixel is all border: no contrast
      {"blank", {blank.data(), 64, 64, 1}, nullptr, true},
      {"a single dot", {dot.data(), 9, 9, 1}, nullptr, false},
  };
  for (const auto& c : cases) {
    Recognition out;
    out.text = "untouched";
    ExpectOutcome(c.name, recognizer_->RecognizeImage(c.image, gradcam_, &out), out, c.error,
                  c.empty);
    ExpectUnchanged(c.name);
  }
}

TEST_F(BadInput, ImageFiles) {
  const std::string png_signature = "\x89PNG\r\n\x1a\n";
  std::vector<uint8_t> stb_realloc, stb_dht, stb_segv;
  ASSERT_TRUE(
      ReadFile(DIGITS_TEST_DATA "/regressions/fuzz_image_stb_realloc.png", 1u << 20, &stb_realloc)
          .ok());
  ASSERT_TRUE(
      ReadFile(DIGITS_TEST_DATA "/regressions/fuzz_image_stb_dht.jpg", 1u << 20, &stb_dht).ok());
  ASSERT_TRUE(
      ReadFile(DIGITS_TEST_DATA "/regressions/fuzz_image_stb_segv.jpg", 1u << 20, &stb_segv).ok());
  const struct {
    const char* name;
    std::string bytes;
    const char* error;
  } cases[] = {
      {"empty", "", "image is empty"},
      {"text", "hello, world", "not a PNG or JPEG image"},
      {"PNG signature only", png_signature, "corrupt PNG image"},
      {"JPEG marker only", "\xff\xd8\xff", "corrupt JPEG image"},
      // A 387-byte 28x28 PNG for which stb reallocates a 2 GB buffer (address space only; found
      // by fuzzing): a clean error.
      {"stb 2 GB realloc", std::string(stb_realloc.begin(), stb_realloc.end()),
       "corrupt PNG image"},
      // JPEGs on which stb 2.27 wrote past a Huffman table (a 777-symbol table) and crashed in
      // its block decoder (found by fuzz_image): libjpeg-turbo refuses them.
      {"Huffman table of 777 symbols", std::string(stb_dht.begin(), stb_dht.end()),
       "corrupt JPEG image: Bogus Huffman table definition"},
      {"undefined quantization table", std::string(stb_segv.begin(), stb_segv.end()),
       "corrupt JPEG image"},
  };
  for (const auto& c : cases) {
    Image image;
    image.width = 7;
    const Status s =
        DecodeImage(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size(), &image);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_NE(s.message().find(c.error), std::string::npos) << c.name << ": " << s.message();
    EXPECT_EQ(image.width, 7) << c.name;
  }
}

TEST_F(BadInput, Pixels) {
  Prediction p;
  EXPECT_NE(recognizer_->Classify(nullptr, 0, &p).message().find("needs 28x28x1"),
            std::string::npos);
  std::vector<float> pixels(784, 0.0f);
  pixels[100] = std::numeric_limits<float>::infinity();
  EXPECT_NE(recognizer_->Classify(pixels.data(), pixels.size(), &p).message().find("pixel 100"),
            std::string::npos);
  ExpectUnchanged("bad pixels");
}

TEST_F(BadInput, Models) {
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(ReadFile(kModel, kMaxModelBytes, &bytes).ok());
  std::unique_ptr<Recognizer> r;
  const struct {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* error;
  } cases[] = {
      {"truncated", std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2),
       "out of range"},
      {"header only", std::vector<uint8_t>(bytes.begin(), bytes.begin() + 8), "runs past the end"},
      {"not safetensors", std::vector<uint8_t>(100, 'x'), "runs past the end"},
      {"empty", {}, "truncated"},
  };
  for (const auto& c : cases) {
    const Status s = Recognizer::Create(c.bytes.data(), c.bytes.size(), BackendKind::kBuiltin, &r);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_NE(s.message().find(c.error), std::string::npos) << c.name << ": " << s.message();
    EXPECT_EQ(r, nullptr) << c.name;
  }
  // A model whose architecture disagrees with its tensors (wrong shapes): the first conv's kernel
  // becomes 5 high (3x3 -> 5x3) in the header text, keeping the header's length.
  std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find("kernel\\\":[3,");
  ASSERT_NE(at, std::string::npos);
  text[text.find('3', at)] = '5';
  const Status s = Recognizer::Create(reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                                      BackendKind::kBuiltin, &r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the architecture needs"), std::string::npos) << s.message();
}

// 10,000 recognitions with Grad-CAM, alternating digit and number mode: answers stay identical
// (no state carried between calls); under the native-asan preset LeakSanitizer checks at exit
// that nothing leaked.
TEST_F(BadInput, SoakKeepsAnswersAndLeaksNothing) {
  RecognizeOptions number = gradcam_;
  number.mode = Mode::kNumber;
  for (int i = 0; i < 10000; ++i) {
    const test::FixtureDigit& d = fixture_[i % fixture_.size()];
    Recognition out;
    ASSERT_TRUE(recognizer_->RecognizeStrokes(d.strokes, i % 2 ? number : gradcam_, &out).ok());
  }
  ExpectUnchanged("10,000 recognitions");
}

}  // namespace
}  // namespace digits
