// What the tests share beyond model files: the backends of this build, the trained model, the
// stroke fixture traced from MNIST digits, and running the CLI as a process.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digits/backend.h"
#include "digits/preprocess.h"
#include "digits/recognizer.h"

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

// The fixture's own strokes ([[[x, y], ...], ...], trusted test data: not validated; the library's
// validating parser is digits::StrokesFromJson in core/native/json_io.h).
inline std::vector<Stroke> FixtureStrokes(const nlohmann::json& j) {
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
    digit.strokes = FixtureStrokes(d["strokes"]);
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
