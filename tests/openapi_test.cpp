// core/openapi.json against the server's real answers (HandleHttpRequest, which is what the
// server writes): each request below gets a status the document lists for its path and method,
// with a content type it lists, a body its schema accepts and the headers it requires; every
// path and method of the document is exercised; GET /openapi.json serves the file itself.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "http_server.h"
#include "image_io.h"
#include "predict_service.h"
#include "server_process.h"

namespace digits {
namespace {

using nlohmann::json;

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The part of JSON Schema (OpenAPI 3.0's dialect) the document uses: $ref, type, nullable,
// enum, required, properties, items, minItems, maxItems, oneOf. Appends what fails to *errors.
class Validator {
 public:
  explicit Validator(const json& document) : document_(document) {}

  bool Valid(const json& schema, const json& value, const std::string& at,
             std::string* errors) const {
    if (schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      return Valid(document_.at(json::json_pointer(ref.substr(1))), value, at, errors);
    }
    if (schema.contains("oneOf")) {
      int matches = 0;
      std::string ignored;
      for (const json& option : schema["oneOf"]) matches += Valid(option, value, at, &ignored);
      if (matches != 1)
        return Fail(at + ": matches " + std::to_string(matches) + " of oneOf", errors);
      return true;
    }
    if (value.is_null() && schema.value("nullable", false)) return true;
    const std::string type = schema.value("type", "");
    const bool type_ok =
        type.empty() || (type == "object" && value.is_object()) ||
        (type == "array" && value.is_array()) || (type == "string" && value.is_string()) ||
        (type == "integer" && value.is_number_integer()) ||
        (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean());
    if (!type_ok) return Fail(at + ": not " + type + ": " + value.dump().substr(0, 80), errors);
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
      return Fail(at + ": " + value.dump() + " not in enum", errors);
    }
    bool ok = true;
    if (value.is_object()) {
      for (const json& name : schema.value("required", json::array())) {
        if (!value.contains(name.get<std::string>())) {
          ok = Fail(at + ": no required \"" + name.get<std::string>() + "\"", errors);
        }
      }
      const json properties = schema.value("properties", json::object());
      for (const auto& p : properties.items()) {
        if (value.contains(p.key()))
          ok &= Valid(p.value(), value[p.key()], at + "." + p.key(), errors);
      }
    }
    if (value.is_array()) {
      if (value.size() < schema.value("minItems", 0u) ||
          value.size() > schema.value("maxItems", ~size_t{0})) {
        ok = Fail(at + ": " + std::to_string(value.size()) + " items", errors);
      }
      if (schema.contains("items")) {
        for (size_t i = 0; i < value.size(); ++i) {
          ok &= Valid(schema["items"], value[i], at + "[" + std::to_string(i) + "]", errors);
        }
      }
    }
    return ok;
  }

 private:
  static bool Fail(const std::string& message, std::string* errors) {
    *errors += message + "\n";
    return false;
  }
  const json& document_;
};

TEST(OpenApi, TheDocumentDescribesTheRealAnswers) {
  const std::string text = ReadText(DIGITS_OPENAPI);
  const json doc = json::parse(text, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << DIGITS_OPENAPI << " is not JSON";
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");

  std::unique_ptr<PredictService> service;
  ServiceOptions options;
  ASSERT_TRUE(PredictService::Create(test::kModel, options, &service).ok());
  const std::string site = ::testing::TempDir() + "digits_openapi_site_" + std::to_string(getpid());
  ASSERT_EQ(std::system(("rm -rf " + site + " && mkdir -p " + site).c_str()), 0);
  std::ofstream(site + "/index.html") << "<!doctype html><title>t</title>";
  std::ofstream(site + "/index.html.br") << "BR";
  const std::string root = SiteRoot(site);

  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  ASSERT_FALSE(fixture.empty());
  const std::string strokes = test::StrokesToJson(fixture[0].strokes, {{"gradcam", true}});
  Image blank{28, 28, 1, std::vector<uint8_t>(28 * 28, 0)};
  for (int y = 6; y < 22; ++y) blank.pixels[y * 28 + 14] = 255;
  std::vector<uint8_t> png_bytes;
  ASSERT_TRUE(EncodePng(blank, &png_bytes).ok());
  const std::string png(png_bytes.begin(), png_bytes.end());
  std::string png64(4 * ((png.size() + 2) / 3) + 1, '\0');
  png64.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&png64[0]),
                               reinterpret_cast<const unsigned char*>(png.data()), png.size()));

  const struct {
    std::string method, target, type, body, if_none_match;
    int status;
  } requests[] = {
      {"POST", "/predict", "application/json", strokes, "", 200},
      {"POST", "/predict", "application/json", json{{"image", png64}}.dump(), "", 200},
      {"POST", "/predict", "image/png", png, "", 200},
      {"POST", "/predict", "application/json", R"({"strokes": 1})", "", 400},
      {"POST", "/predict", "text/plain", "x", "", 415},
      {"OPTIONS", "/predict", "", "", "", 204},
      {"POST", "/predict/batch", "application/json",
       json{{"inputs", {json::parse(strokes), {{"image", png64}}, {{"image", "@"}}}}}.dump(), "",
       200},
      {"POST", "/predict/batch", "application/json", R"({"inputs": 1})", "", 400},
      {"POST", "/predict/batch", "application/json",
       json{{"inputs", std::vector<json>(65, json::object())}}.dump(), "", 413},
      {"POST", "/predict/batch", "image/png", png, "", 415},
      {"GET", "/model", "", "", "", 200},
      {"GET", "/healthz", "", "", "", 200},
      {"GET", "/openapi.json", "", "", "", 200},
      {"GET", "/index.html", "", "", "", 200},
      {"GET", "/missing.js", "", "", "", 404},
      {"GET", "/%00", "", "", "", 400},
      {"HEAD", "/index.html", "", "", "", 200},
      {"GET", "/index.html", "", "", "*", 304},
  };
  Validator validator(doc);
  std::set<std::string> exercised;
  for (const auto& r : requests) {
    HttpRequest request;
    request.method = r.method;
    request.target = r.target;
    request.content_type = r.type;
    request.body = r.body;
    request.accept_encoding = "br";
    request.if_none_match = r.if_none_match;
    const HttpResponse response = HandleHttpRequest(*service, root, request, {});
    const std::string name = r.method + " " + r.target + " -> " + std::to_string(r.status);
    ASSERT_EQ(response.status, r.status) << name << ": " << response.body.substr(0, 300);

    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    const std::string path = doc["paths"].contains(r.target) ? r.target : "/{file}";
    ASSERT_TRUE(doc["paths"][path].contains(method)) << name << ": not in the document";
    exercised.insert(path + " " + method);
    const json& responses = doc["paths"][path][method]["responses"];
    ASSERT_TRUE(responses.contains(std::to_string(r.status))) << name << ": status not listed";
    json documented = responses[std::to_string(r.status)];
    if (documented.contains("$ref")) {
      documented = doc.at(json::json_pointer(documented["$ref"].get<std::string>().substr(1)));
    }
    const json headers = documented.value("headers", json::object());
    for (const auto& h : headers.items()) {
      if (!h.value().value("required", false)) continue;
      const bool present = std::any_of(response.headers.begin(), response.headers.end(),
                                       [&](const auto& header) { return header.first == h.key(); });
      EXPECT_TRUE(present) << name << ": no " << h.key() << " header";
    }
    if (r.method == "HEAD") continue;  // the server sends the headers only (http_server.cpp)
    if (!documented.contains("content")) {
      EXPECT_EQ(response.body, "") << name << ": a body the document does not list";
      continue;
    }
    const std::string type = MediaType(response.content_type);
    const json& content = documented["content"];
    ASSERT_TRUE(content.contains(type) || content.contains("*/*"))
        << name << ": content type " << type << " not listed";
    if (type != "application/json") continue;
    const json body = json::parse(response.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << name << ": not JSON";
    std::string errors;
    EXPECT_TRUE(validator.Valid(content[type]["schema"], body, "body", &errors)) << name << ":\n"
                                                                                 << errors;
    if (r.target == "/openapi.json") EXPECT_EQ(response.body, text);  // the file itself
  }
  // The validator refuses what the schemas refuse (so the passes above mean something).
  std::string errors;
  EXPECT_FALSE(validator.Valid(doc["components"]["schemas"]["Result"],
                               json{{"text", "1"}, {"empty", false}}, "r", &errors));
  EXPECT_FALSE(
      validator.Valid(doc["components"]["schemas"]["Point"], json{{"x", 1}}, "p", &errors));
  EXPECT_FALSE(validator.Valid(doc["components"]["schemas"]["Digit"]["properties"]["doubt"],
                               "maybe", "d", &errors));
  for (const auto& p : doc["paths"].items()) {
    for (const auto& m : p.value().items()) {
      EXPECT_TRUE(exercised.count(p.key() + " " + m.key())) << p.key() << " " << m.key();
    }
  }
  std::system(("rm -rf " + site).c_str());
}

}  // namespace
}  // namespace digits
