// Preprocess: MNIST's normalization of strokes and images.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "digits/preprocess.h"
#include "fixtures.h"
#include "mnist.h"

namespace digits {
namespace {

using test::FixtureDigit;

const std::vector<FixtureDigit>& Fixture() {
  static const std::vector<FixtureDigit> digits = test::LoadStrokeFixture();
  return digits;
}

const MnistImages& MnistTest() {
  static const MnistImages images = [] {
    MnistImages m;
    const Status s = ReadMnistImages(DIGITS_MNIST_DIR "/t10k-images-idx3-ubyte.gz", &m);
    EXPECT_TRUE(s.ok()) << s.message();
    return m;
  }();
  return images;
}

std::vector<Stroke> Transform(const std::vector<Stroke>& strokes, float scale, float dx, float dy) {
  std::vector<Stroke> out = strokes;
  for (Stroke& s : out)
    for (Point& p : s) p = {scale * p.x + dx, scale * p.y + dy};
  return out;
}

struct InkBox {
  int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  float cx = 0.0f, cy = 0.0f;  // centre of mass, continuous coordinates
};

InkBox Measure(const std::vector<float>& img, int size = 28, float threshold = 0.0f) {
  InkBox b;
  double m = 0.0, sx = 0.0, sy = 0.0;
  for (int i = 0; i < size; ++i)
    for (int j = 0; j < size; ++j) {
      const float v = img[i * size + j];
      m += v;
      sx += v * (j + 0.5);
      sy += v * (i + 0.5);
      if (v <= threshold) continue;
      b.x0 = std::min(b.x0, j);
      b.y0 = std::min(b.y0, i);
      b.x1 = std::max(b.x1, j);
      b.y1 = std::max(b.y1, i);
    }
  b.cx = static_cast<float>(sx / m);
  b.cy = static_cast<float>(sy / m);
  return b;
}

TEST(Preprocess, FixtureIsLoaded) {
  ASSERT_GE(Fixture().size(), 1000u);
  ASSERT_EQ(MnistTest().count, 10000);
}

TEST(Preprocess, InvariantToTranslationAndScale) {
  const InputGeometry g;
  for (size_t k = 0; k < 50; ++k) {
    const std::vector<Stroke>& strokes = Fixture()[k].strokes;
    Preprocessed base, moved;
    ASSERT_TRUE(PreprocessStrokes(strokes, g, &base).ok());
    for (const auto& t :
         {std::array<float, 3>{1.0f, 500.0f, -300.0f}, std::array<float, 3>{0.25f, 3.0f, 7.0f},
          std::array<float, 3>{7.5f, -1000.0f, 20.0f}}) {
      ASSERT_TRUE(PreprocessStrokes(Transform(strokes, t[0], t[1], t[2]), g, &moved).ok());
      for (size_t i = 0; i < base.pixels.size(); ++i)
        ASSERT_NEAR(moved.pixels[i], base.pixels[i], 2e-3) << "digit " << k << " pixel " << i;
      // The map follows the transform: the same canvas point lands on the same grid point.
      const Point p = base.map.ToInput(strokes[0][0]);
      const Point q =
          moved.map.ToInput({t[0] * strokes[0][0].x + t[1], t[0] * strokes[0][0].y + t[2]});
      EXPECT_NEAR(p.x, q.x, 1e-2);
      EXPECT_NEAR(p.y, q.y, 1e-2);
    }
  }
}

TEST(Preprocess, StrokesFitTheBoxAndCenterTheMass) {
  const InputGeometry g;
  for (const FixtureDigit& d : Fixture()) {
    Preprocessed pre;
    ASSERT_TRUE(PreprocessStrokes(d.strokes, g, &pre).ok());
    ASSERT_FALSE(pre.empty);
    const InkBox b = Measure(pre.pixels);
    const int side = std::max(b.x1 - b.x0 + 1, b.y1 - b.y0 + 1);
    // The ink's box is 20 pixels on its long side, within a pixel (anti-aliased edges).
    EXPECT_GE(side, 19) << "digit " << d.index;
    EXPECT_LE(side, 21) << "digit " << d.index;
    // Centre of mass at MNIST's (pixel index 14, i.e. 14.5 continuous), unless the digit had to
    // be clipped at the border.
    EXPECT_NEAR(b.cx, 14.5f, 0.5f) << "digit " << d.index;
    EXPECT_NEAR(b.cy, 14.5f, 0.5f) << "digit " << d.index;
    // The map takes the canvas box onto the grid box.
    const Point lo = pre.map.ToInput({pre.box.x0, pre.box.y0});
    const Point hi = pre.map.ToInput({pre.box.x1, pre.box.y1});
    EXPECT_NEAR(std::max(hi.x - lo.x, hi.y - lo.y), g.box - g.pen_width, 1e-3);
  }
}

// Ink statistics of the rendered fixture vs the MNIST images they were traced from: the pen width
// is chosen so they agree. Printed for the record (tests/data/strokes/README.md).
TEST(Preprocess, InkMatchesMnist) {
  const InputGeometry g;
  double ink_ours = 0.0, ink_mnist = 0.0, len_ours = 0.0, len_mnist = 0.0, corr = 0.0;
  for (const FixtureDigit& d : Fixture()) {
    Preprocessed pre;
    ASSERT_TRUE(PreprocessStrokes(d.strokes, g, &pre).ok());
    std::vector<float> mnist(784);
    for (int i = 0; i < 784; ++i) mnist[i] = MnistTest().pixels[d.index * 784 + i] / 255.0f;
    ink_ours += test::Sum(pre.pixels);
    ink_mnist += test::Sum(mnist);
    // Centre-line length in grid pixels: ours through our map, MNIST's through the fixture's.
    for (const Stroke& s : d.strokes)
      for (size_t k = 0; k + 1 < s.size(); ++k) {
        const double l = std::hypot(s[k + 1].x - s[k].x, s[k + 1].y - s[k].y);
        len_ours += l * pre.map.scale;
        len_mnist += l / d.scale;
      }
    // Shape agreement: correlation of our rendering with the original image.
    double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < 784; ++i) {
      sa += pre.pixels[i], sb += mnist[i], sab += pre.pixels[i] * mnist[i];
      saa += pre.pixels[i] * pre.pixels[i], sbb += mnist[i] * mnist[i];
    }
    corr += (sab - sa * sb / 784) / std::sqrt((saa - sa * sa / 784) * (sbb - sb * sb / 784));
  }
  const double n = static_cast<double>(Fixture().size());
  const double width_ours = ink_ours / len_ours, width_mnist = ink_mnist / len_mnist;
  std::printf("mean ink per digit: ours %.1f, MNIST %.1f (ratio %.3f)\n", ink_ours / n,
              ink_mnist / n, ink_ours / ink_mnist);
  std::printf("stroke width (ink / centre-line length): ours %.2f px, MNIST %.2f px\n", width_ours,
              width_mnist);
  std::printf("mean pixel correlation with the original: %.3f\n", corr / n);
  EXPECT_NEAR(ink_ours / ink_mnist, 1.0, 0.05);
  EXPECT_NEAR(width_ours / width_mnist, 1.0, 0.05);
  EXPECT_GT(corr / n, 0.7);
}

// The image path's last step, written out again: each pixel halfway to the faintest of itself and
// its four neighbours.
std::vector<float> Thinned(const uint8_t* image) {
  auto at = [&](int i, int j) {
    return i < 0 || j < 0 || i >= 28 || j >= 28 ? 0.0f : image[i * 28 + j] / 255.0f;
  };
  std::vector<float> out(784);
  for (int i = 0; i < 28; ++i)
    for (int j = 0; j < 28; ++j) {
      const float m = std::min({at(i, j), at(i - 1, j), at(i + 1, j), at(i, j - 1), at(i, j + 1)});
      out[i * 28 + j] = 0.5f * at(i, j) + 0.5f * m;
    }
  return out;
}

TEST(Preprocess, MnistImageComesThroughThinnedInPlace) {
  // An MNIST digit already is MNIST-normalized: scale 1, no shift, and only the contrast stretch
  // (images whose darkest pixel is below 255) and the thinning may touch the values.
  const InputGeometry g;
  const MnistImages& m = MnistTest();
  int nearly_unchanged = 0;
  double total_change = 0.0, ink_before = 0.0, ink_after = 0.0;
  const int count = 1000;
  for (int k = 0; k < count; ++k) {
    const uint8_t* digit = &m.pixels[k * 784];
    ImageView view{digit, 28, 28, 1};
    Preprocessed pre;
    ASSERT_TRUE(PreprocessImage(view, g, &pre).ok());
    EXPECT_EQ(pre.map.scale, 1.0f);
    EXPECT_EQ(pre.map.offset_x, 0.0f);
    EXPECT_EQ(pre.map.offset_y, 0.0f);
    const std::vector<float> thinned = Thinned(digit);
    double diff = 0.0, ink = 0.0;
    for (int i = 0; i < 784; ++i) {
      diff += std::fabs(pre.pixels[i] - thinned[i]);
      ink += thinned[i];
      ink_before += digit[i] / 255.0;
      ink_after += pre.pixels[i];
    }
    total_change += diff / ink;
    if (diff < 0.01 * ink) ++nearly_unchanged;
  }
  std::printf(
      "MNIST through the image path: %d of %d within 1%% of their ink of the thinned digit, mean "
      "change %.4f%%; ink kept %.1f%%\n",
      nearly_unchanged, count, 100.0 * total_change / count, 100.0 * ink_after / ink_before);
  EXPECT_GE(nearly_unchanged, count * 99 / 100);
  EXPECT_LT(total_change / count, 0.005);
  EXPECT_LT(ink_after, 0.8 * ink_before);  // the thinning is there
}

TEST(Preprocess, ImagePolarityAndChannelsAreDetected) {
  const MnistImages& m = MnistTest();
  const uint8_t* digit = &m.pixels[0];
  Preprocessed reference;
  ASSERT_TRUE(PreprocessImage({digit, 28, 28, 1}, InputGeometry{}, &reference).ok());
  // Dark ink on white paper, 3x larger, RGB.
  std::vector<uint8_t> rgb(84 * 84 * 3);
  for (int y = 0; y < 84; ++y)
    for (int x = 0; x < 84; ++x)
      for (int c = 0; c < 3; ++c) rgb[(y * 84 + x) * 3 + c] = 255 - digit[(y / 3) * 28 + x / 3];
  // Black ink on a transparent background, RGBA.
  std::vector<uint8_t> rgba(28 * 28 * 4, 0);
  for (int p = 0; p < 784; ++p) rgba[p * 4 + 3] = digit[p];
  for (const ImageView& view :
       {ImageView{rgb.data(), 84, 84, 3}, ImageView{rgba.data(), 28, 28, 4}}) {
    Preprocessed pre;
    ASSERT_TRUE(PreprocessImage(view, InputGeometry{}, &pre).ok());
    ASSERT_FALSE(pre.empty);
    double diff = 0.0;
    for (int i = 0; i < 784; ++i) diff += std::fabs(pre.pixels[i] - reference.pixels[i]);
    EXPECT_LT(diff / 784, 0.02) << view.width << "x" << view.height << "x" << view.channels;
  }
}

TEST(Preprocess, EmptyInputsAreEmpty) {
  Preprocessed pre;
  ASSERT_TRUE(PreprocessStrokes({}, InputGeometry{}, &pre).ok());
  EXPECT_TRUE(pre.empty);
  ASSERT_TRUE(PreprocessStrokes({{{5, 5}}, {}}, InputGeometry{}, &pre).ok());  // a lone dot
  EXPECT_TRUE(pre.empty);
  // Points closer than float precision can scale up to a digit are a dot too (found by fuzzing:
  // a denormal extent made the scale infinite).
  ASSERT_TRUE(PreprocessStrokes({{{0, 0}, {1e-40f, 0}}}, InputGeometry{}, &pre).ok());
  EXPECT_TRUE(pre.empty);
  ASSERT_TRUE(
      PreprocessStrokes({{{1e6f, 1e6f}, {1e6f, 1e6f - 0.0625f}}}, InputGeometry{}, &pre).ok());
  EXPECT_TRUE(pre.empty);
  const std::vector<uint8_t> blank(50 * 40, 255);
  ASSERT_TRUE(PreprocessImage({blank.data(), 50, 40, 1}, InputGeometry{}, &pre).ok());
  EXPECT_TRUE(pre.empty);
  EXPECT_EQ(test::Sum(pre.pixels), 0.0f);
}

TEST(Preprocess, BadInputIsRefused) {
  Preprocessed pre;
  pre.pixels = {42.0f};
  auto expect_error = [&](const std::vector<Stroke>& strokes, const std::string& text) {
    const Status s = PreprocessStrokes(strokes, InputGeometry{}, &pre);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
    EXPECT_EQ(pre.pixels, std::vector<float>{42.0f}) << "output changed on error";
  };
  expect_error({{{0, 0}, {NAN, 1}}}, "stroke 0, point 1: coordinate is not a finite number");
  expect_error({{{0, 0}}, {{1, 1}, {INFINITY, 1}}},
               "stroke 1, point 1: coordinate is not a finite");
  expect_error({{{0, 0}, {1e30f, 1}}}, "is beyond +-1e+06");
  expect_error({Stroke(kMaxPointsPerStroke + 1)}, "stroke 0 has too many points");
  expect_error(std::vector<Stroke>(kMaxStrokes + 1, Stroke{{1, 1}}), "too many strokes");
  std::vector<Stroke> many(20, Stroke(kMaxPointsPerStroke / 2 + 1));
  expect_error(many, "too many points in the drawing");

  const uint8_t px[4] = {0, 0, 0, 0};
  EXPECT_NE(PreprocessImage({px, 0, 0, 1}, InputGeometry{}, &pre).message().find("0x0"),
            std::string::npos);
  EXPECT_NE(PreprocessImage({px, 20000, 20000, 1}, InputGeometry{}, &pre).message().find("limit"),
            std::string::npos);
  EXPECT_NE(PreprocessImage({px, 1, 1, 5}, InputGeometry{}, &pre).message().find("5 channels"),
            std::string::npos);
}

// The training pipeline draws its stroke and image samples with a Python twin of this module
// (model/raster.py), so the network learns exactly what the core feeds it. The twin's output for a
// set of drawings and images (tests/data/raster_twin.json) must be the core's, to float precision.
TEST(Preprocess, TheTrainingTwinComputesTheSamePixels) {
  std::ifstream f(DIGITS_TEST_DATA "/raster_twin.json");
  const nlohmann::json doc = nlohmann::json::parse(f, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "tests/data/raster_twin.json is missing or not JSON";
  ASSERT_GE(doc["strokes"].size(), 5u);
  ASSERT_GE(doc["images"].size(), 3u);
  auto expect_pixels = [](const std::string& name, const Preprocessed& got,
                          const nlohmann::json& want) {
    ASSERT_EQ(got.empty, want["empty"].get<bool>()) << name;
    if (got.empty) return;
    const std::vector<float> pixels = want["pixels"].get<std::vector<float>>();
    ASSERT_EQ(got.pixels.size(), pixels.size()) << name;
    float worst = 0.0f;
    for (size_t i = 0; i < pixels.size(); ++i) {
      worst = std::max(worst, std::fabs(got.pixels[i] - pixels[i]));
    }
    EXPECT_LE(worst, 2e-5f) << name << ": the core and model/raster.py differ";
  };
  for (const auto& c : doc["strokes"]) {
    const std::string name = c["name"].get<std::string>();
    Preprocessed pre;
    ASSERT_TRUE(PreprocessStrokes(test::FixtureStrokes(c["strokes"]), {}, &pre).ok()) << name;
    expect_pixels(name, pre, c);
  }
  for (const auto& c : doc["images"]) {
    const std::string name = c["name"].get<std::string>();
    const std::vector<uint8_t> gray = c["gray"].get<std::vector<uint8_t>>();
    const ImageView view{gray.data(), c["width"].get<int>(), c["height"].get<int>(), 1};
    Preprocessed pre;
    ASSERT_TRUE(PreprocessImage(view, {}, &pre).ok()) << name;
    expect_pixels(name, pre, c);
  }
}

}  // namespace
}  // namespace digits
