// `digits recognize`: JSON output for strokes and images, the Grad-CAM PNG, and one clear line and
// a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "fixtures.h"
#include "image_io.h"
#include "mnist.h"

namespace digits {
namespace {

using nlohmann::json;

const std::string kModel = DIGITS_MODEL_DIR "/digits.safetensors";

using Output = test::CommandOutput;

// digits recognize with `args`, standard error folded into the output.
Output Recognize(const std::string& args) {
  return test::RunCommand(std::string(DIGITS_CLI) + " recognize " + args + " 2>&1");
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "digits_cli_" + name;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string StrokesJson(const std::vector<Stroke>& strokes) {
  json j = {{"strokes", json::array()}, {"note", "extra fields are ignored"}};
  for (const Stroke& s : strokes) {
    json points = json::array();
    for (const Point& p : s) points.push_back({p.x, p.y, 0.5 /* pressure: ignored */});
    j["strokes"].push_back(points);
  }
  return j.dump();
}

// A PNG that is only a signature and an IHDR chunk claiming `w` x `h` (no pixel data).
std::string PngHeader(uint32_t w, uint32_t h) {
  std::string ihdr = "IHDR";
  for (uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) ihdr += static_cast<char>((v >> s) & 0xff);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit gray
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size());
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\x00\x00\x00\x0d", 4) + ihdr;
  for (int s = 24; s >= 0; s -= 8) png += static_cast<char>((crc >> s) & 0xff);
  return png;
}

TEST(CliRecognize, StrokesGiveParsableJson) {
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  ASSERT_FALSE(fixture.empty());
  const std::string strokes = WriteTemp("digit.json", StrokesJson(fixture[0].strokes));
  const Output o = Recognize("--model " + kModel + " --strokes " + strokes + " --json");
  ASSERT_EQ(o.status, 0) << o.out;
  const json j = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << o.out;
  EXPECT_EQ(j["empty"], false);
  EXPECT_EQ(j["text"], std::to_string(fixture[0].label));
  ASSERT_EQ(j["digits"].size(), 1u);
  const json& d = j["digits"][0];
  EXPECT_EQ(d["digit"], fixture[0].label);
  ASSERT_EQ(d["probabilities"].size(), 11u);  // the digits and "not a digit"
  double sum = 0;
  for (const json& p : d["probabilities"]) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-5);
  ASSERT_EQ(d["box"].size(), 4u);
  EXPECT_EQ(d["not_a_digit"], false);
  EXPECT_TRUE(d["unsure"].is_boolean());
}

TEST(CliRecognize, NumberModeAndGradCamPng) {
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  // "72": fixture digits 0 (a 7) and 1 (a 2) side by side.
  std::vector<Stroke> strokes = fixture[0].strokes;
  for (Stroke s : fixture[1].strokes) {
    for (Point& p : s) p.x += 300.0f;
    strokes.push_back(s);
  }
  ASSERT_EQ(fixture[0].label, 7);
  ASSERT_EQ(fixture[1].label, 2);
  const std::string path = WriteTemp("number.json", StrokesJson(strokes));
  const std::string png = TempPath("number_gradcam.png");
  std::remove(png.c_str());
  const Output o =
      Recognize("--model " + kModel + " --strokes " + path + " --number --json --gradcam " + png);
  ASSERT_EQ(o.status, 0) << o.out;
  const json j = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << o.out;
  EXPECT_EQ(j["text"], "72");
  ASSERT_EQ(j["digits"].size(), 2u);
  EXPECT_EQ(j["digits"][0]["gradcam"]["size"], 28);
  EXPECT_EQ(j["digits"][0]["gradcam"]["map"].size(), 28u * 28u);  // flat, row-major
  Image image;
  const Status s = ReadImageFile(png, &image);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(image.channels, 3);
  EXPECT_GT(image.width, image.height);  // two digits side by side
  // The heatmap coloured some pixels (not only white paper and gray ink).
  int colored = 0;
  for (size_t p = 0; p < image.pixels.size(); p += 3) {
    colored += image.pixels[p] != image.pixels[p + 1] || image.pixels[p + 1] != image.pixels[p + 2];
  }
  EXPECT_GT(colored, 100);
}

TEST(CliRecognize, MnistDigitAsPng) {
  MnistImages m;
  ASSERT_TRUE(ReadMnistImages(DIGITS_MNIST_DIR "/t10k-images-idx3-ubyte.gz", &m).ok());
  Image image{28, 28, 1, std::vector<uint8_t>(m.pixels.begin(), m.pixels.begin() + 784)};
  const std::string png = TempPath("mnist0.png");
  ASSERT_TRUE(WritePngFile(png, image).ok());
  const Output o = Recognize("--model " + kModel + " --image " + png + " --json");
  ASSERT_EQ(o.status, 0) << o.out;
  const json j = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << o.out;
  EXPECT_EQ(j["text"], "7");  // MNIST test image 0 is a 7
}

// JPEGs (libjpeg-turbo): baseline grayscale and progressive RGB photos of paper, dark ink on light,
// 112x112 (tests/data/jpeg/make.py), are decoded with their channels and read right.
TEST(CliRecognize, JpegPhotosOfPaper) {
  const char* const labels[] = {"7", "2", "1"};  // MNIST test images 0-2
  for (int i = 0; i < 3; ++i) {
    for (const std::string kind : {"gray", "rgb_progressive"}) {
      const std::string path =
          std::string(DIGITS_TEST_DATA "/jpeg/mnist") + std::to_string(i) + "_" + kind + ".jpg";
      Image image;
      const Status s = ReadImageFile(path, &image);
      ASSERT_TRUE(s.ok()) << path << ": " << s.message();
      EXPECT_EQ(image.width, 112);
      EXPECT_EQ(image.height, 112);
      EXPECT_EQ(image.channels, kind == "gray" ? 1 : 3) << path;
      const Output o = Recognize("--model " + kModel + " --image " + path + " --json");
      ASSERT_EQ(o.status, 0) << o.out;
      const json j = json::parse(o.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << o.out;
      EXPECT_EQ(j["text"], labels[i]) << path;
    }
  }
}

TEST(CliRecognize, EmptyDrawing) {
  const std::string path = WriteTemp("empty.json", R"({"strokes": []})");
  const Output o = Recognize("--model " + kModel + " --strokes " + path + " --json");
  ASSERT_EQ(o.status, 0) << o.out;
  const json j = json::parse(o.out, nullptr, false);
  EXPECT_EQ(j["empty"], true);
  EXPECT_EQ(j["text"], "");
  EXPECT_EQ(j["digits"].size(), 0u);
}

TEST(CliRecognize, BadInputsFailWithOneLine) {
  std::string million = R"({"strokes": [[)";
  for (int i = 0; i < 1000000; ++i) million += (i ? ",[1,2]" : "[1,2]");
  million += "]]}";
  const struct {
    std::string flag, name, content, message;
  } cases[] = {
      {"--strokes", "invalid.json", R"({"strokes": [[[1, 2], [3, )", "not valid JSON"},
      {"--strokes", "nan.json", R"({"strokes": [[[1, NaN]]]})", "not valid JSON"},
      {"--strokes", "inf.json", R"({"strokes": [[[1, 2], [1e999, 4]]]})", "not valid JSON"},
      {"--strokes", "absurd.json", R"({"strokes": [[[1, 2], [1e30, 4]]]})", "is beyond +-1e+06"},
      {"--strokes", "nostrokes.json", R"({"points": []})", "no \"strokes\" field"},
      {"--strokes", "badpoint.json", R"({"strokes": [[[1, 2], ["a", 4]]]})",
       "stroke 0, point 1 must be [x, y] or {\"x\": x, \"y\": y} numbers"},
      {"--strokes", "million.json", million, "too many points"},
      {"--strokes", "latin1.json", "{\"strokes\": [], \"name\": \"caf\xe9\"}", "not valid JSON"},
      {"--image", "text.png", "this is not an image", "not a PNG or JPEG image"},
      {"--image", "empty.png", "", "image is empty"},
      {"--image", "zero.png", PngHeader(0, 0), "PNG image is 0x0: it has no pixels"},
      {"--image", "huge.png", PngHeader(20000, 20000), "20000x20000, beyond the limit"},
      {"--image", "truncated.png", PngHeader(28, 28), "corrupt PNG image"},
  };
  for (const auto& c : cases) {
    const std::string path = WriteTemp(c.name, c.content);
    const Output o = Recognize("--model " + kModel + " " + c.flag + " " + path);
    EXPECT_NE(o.status, 0) << c.name << ": " << o.out;
    EXPECT_NE(o.out.find(c.message), std::string::npos) << c.name << ": " << o.out;
    EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << c.name << ": " << o.out;
    EXPECT_EQ(o.out.rfind("digits recognize: ", 0), 0u) << c.name << ": " << o.out;
  }
  // Missing files and a corrupt model.
  Output o = Recognize("--model " + kModel + " --strokes /nonexistent.json");
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.out.find("cannot open '/nonexistent.json'"), std::string::npos) << o.out;
  const std::string bad_model =
      WriteTemp("bad.safetensors", std::string("\x10\0\0\0\0\0\0\0{}", 10));
  o = Recognize("--model " + bad_model + " --strokes /nonexistent.json");
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.out.find("truncated or corrupt"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace digits
