// Helpers shared by the core's tests: building model files in memory, reading golden files.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace digits::test {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

inline std::vector<uint8_t> MakeSafetensors(const nlohmann::json& header_json,
                                            const std::vector<uint8_t>& data) {
  const std::string header = header_json.dump();
  std::vector<uint8_t> bytes(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// A digits model file: F32 tensors laid out back to back, the architecture in __metadata__.
inline std::vector<uint8_t> MakeModelFile(const nlohmann::json& architecture,
                                          const std::vector<TensorSpec>& tensors) {
  nlohmann::json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", architecture.dump()}};
  std::vector<uint8_t> data;
  for (const TensorSpec& t : tensors) {
    const size_t begin = data.size();
    data.resize(begin + t.values.size() * 4);
    std::memcpy(&data[begin], t.values.data(), t.values.size() * 4);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  return MakeSafetensors(header, data);
}

inline std::vector<float> RandomValues(size_t n, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

inline std::vector<float> RandomPixels(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

}  // namespace digits::test

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "backend.h"
#include "preprocess.h"
#include "recognizer.h"

namespace digits::test {

// The backends this build can run: the built-in one always, XNNPACK where it was compiled in.
inline std::vector<BackendKind> AvailableBackends() {
  std::vector<BackendKind> kinds = {BackendKind::kBuiltin};
  if (BackendAvailable(BackendKind::kXnnpack)) kinds.push_back(BackendKind::kXnnpack);
  return kinds;
}

// A recognizer for the model file at `path`; null (and a test failure) if it does not load.
inline std::unique_ptr<Recognizer> LoadRecognizer(const std::string& path, BackendKind kind) {
  std::unique_ptr<Recognizer> r;
  const Status s = Recognizer::CreateFromFile(path, kind, &r);
  EXPECT_TRUE(s.ok()) << s.message();
  return r;
}

struct FixtureDigit {
  int index = 0, label = 0;
  float scale = 1.0f, dx = 0.0f, dy = 0.0f;  // canvas = scale * mnist + (dx, dy)
  float iou_fit = 0.0f;  // how faithfully the strokes trace the original (the fixture's own score)
  std::vector<Stroke> strokes;
};

inline std::vector<Stroke> StrokesFromJson(const nlohmann::json& j) {
  std::vector<Stroke> strokes;
  for (const auto& s : j) {
    Stroke stroke;
    for (const auto& p : s) stroke.push_back({p[0].get<float>(), p[1].get<float>()});
    strokes.push_back(std::move(stroke));
  }
  return strokes;
}

// A strokes request, {"strokes": [[[x, y], ...], ...]} plus the fields of `extra`.
inline std::string StrokesToJson(const std::vector<Stroke>& strokes,
                                 const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json j = extra;
  j["strokes"] = nlohmann::json::array();
  for (const Stroke& s : strokes) {
    nlohmann::json points = nlohmann::json::array();
    for (const Point& p : s) points.push_back({p.x, p.y});
    j["strokes"].push_back(points);
  }
  return j.dump();
}

// The stroke fixture traced from MNIST test digits (tests/data/strokes).
inline std::vector<FixtureDigit> LoadStrokeFixture() {
  std::ifstream f(DIGITS_TEST_DATA "/strokes/mnist_test_strokes.json");
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  std::vector<FixtureDigit> digits;
  if (!j.is_object()) return digits;
  for (const auto& d : j["digits"]) {
    FixtureDigit digit;
    digit.index = d["index"].get<int>();
    digit.label = d["label"].get<int>();
    digit.scale = d["transform"][0].get<float>();
    digit.dx = d["transform"][1].get<float>();
    digit.dy = d["transform"][2].get<float>();
    digit.iou_fit = d["iou_fit"].get<float>();
    digit.strokes = StrokesFromJson(d["strokes"]);
    digits.push_back(std::move(digit));
  }
  return digits;
}

struct CommandOutput {
  int status = 0;
  std::string out;
};

// Runs a shell command, returns its exit status and standard output.
inline CommandOutput RunCommand(const std::string& command) {
  CommandOutput o;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return {-1, ""};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), p)) > 0) o.out.append(buffer, n);
  o.status = pclose(p);
  return o;
}

inline float Sum(const std::vector<float>& v) {
  double s = 0.0;
  for (float x : v) s += x;
  return static_cast<float>(s);
}

}  // namespace digits::test
