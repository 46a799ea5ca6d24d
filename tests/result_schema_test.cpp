// One result schema: the CLI's `--json` and the predict service's answer for the same drawing are
// the same document, and its fields are exactly those core/RESULT_FORMAT.md lists, no more, no
// fewer. (tests/wasm/recognize.test.mjs holds the wasm module to the same table.)
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "fixtures.h"
#include "predict_service.h"

namespace digits {
namespace {

using nlohmann::json;

const std::string kModel = DIGITS_MODEL_DIR "/digits.safetensors";

// The field paths of RESULT_FORMAT.md's table ("digits[].gradcam.map", ...).
std::set<std::string> DocumentedFields() {
  std::ifstream f(DIGITS_TEST_DATA "/../../core/RESULT_FORMAT.md");
  EXPECT_TRUE(f.good());
  std::set<std::string> fields;
  const std::regex row("^\\| `([a-z_\\[\\].]+)` \\|");
  for (std::string line; std::getline(f, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) fields.insert(m[1]);
  }
  return fields;
}

// The field paths present in `doc` (array elements as "[]").
void CollectFields(const json& doc, const std::string& path, std::set<std::string>* out) {
  if (doc.is_object()) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string child = path.empty() ? it.key() : path + "." + it.key();
      out->insert(child);
      CollectFields(it.value(), child, out);
    }
  } else if (doc.is_array()) {
    for (const json& element : doc)
      if (element.is_object()) CollectFields(element, path + "[]", out);
  }
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "digits_schema_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ResultSchema, CliAndServiceWriteTheDocumentedObject) {
  const std::set<std::string> documented = DocumentedFields();
  ASSERT_GE(documented.size(), 20u);
  std::unique_ptr<PredictService> service;
  const Status created = PredictService::Create(kModel, {}, &service);
  ASSERT_TRUE(created.ok()) << created.message();

  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  ASSERT_GE(fixture.size(), 2u);
  // Two digits side by side and a short tick far to their right (a stray mark: "not a digit",
  // whatever the model, so its doubt and alternatives are written too), read as a number with
  // Grad-CAM for class 3 against class 1.
  std::vector<Stroke> number = fixture[0].strokes;
  for (Stroke s : fixture[1].strokes) {
    for (Point& p : s) p.x += 400.0f;
    number.push_back(s);
  }
  number.push_back({{1200, 40}, {1206, 47}});
  const std::string request = test::StrokesToJson(
      number, {{"mode", "number"}, {"gradcam", true}, {"class", 3}, {"versus", 1}});
  const HttpReply reply = service->Predict("application/json", request);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json from_service = json::parse(reply.body);

  const test::CommandOutput cli =
      test::RunCommand(std::string(DIGITS_CLI) + " recognize --model " + kModel +
                       " --number --class 3 --versus 1 --json" + " --strokes " +
                       WriteTemp("number.json", test::StrokesToJson(number)));
  ASSERT_EQ(cli.status, 0) << cli.out;
  const json from_cli = json::parse(cli.out);

  EXPECT_EQ(from_cli, from_service);  // same backend, same code: the same document, bit for bit
  std::set<std::string> present;
  CollectFields(from_service, "", &present);
  EXPECT_EQ(present, documented);
  ASSERT_EQ(from_service["digits"].size(), 3u);
  const json& first = from_service["digits"][0];
  EXPECT_EQ(first["gradcam"]["class"], 3);
  EXPECT_EQ(first["gradcam"]["versus"], 1);
  EXPECT_EQ(first["gradcam"]["size"], 28);
  EXPECT_EQ(first["gradcam"]["map"].size(), 28u * 28u);
  EXPECT_EQ(first["input"].size(), 28u * 28u);
  EXPECT_EQ(first["logits"].size(), first["probabilities"].size());
  EXPECT_EQ(first["strokes"].size(), fixture[0].strokes.size());
  const json& stray = from_service["digits"][2];
  EXPECT_EQ(stray["doubt"], "not_a_digit");
  ASSERT_GE(stray["alternatives"].size(), 1u);
  EXPECT_EQ(stray["alternatives"][0]["class"], stray["digit"]);  // the digit it looks most like
  EXPECT_EQ(stray["alternatives"][0]["label"], stray["label"]);
  for (const json& d : from_service["digits"]) {
    EXPECT_EQ(d["doubt"], d["not_a_digit"] ? "not_a_digit" : d["unsure"] ? "unsure" : "sure");
    EXPECT_EQ(d["doubt"] == "sure", d["alternatives"].empty());
  }

  // Without Grad-CAM the field is there, null.
  const HttpReply plain = service->Predict("application/json", test::StrokesToJson(number));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_TRUE(json::parse(plain.body)["digits"][0]["gradcam"].is_null());
}

}  // namespace
}  // namespace digits
