// The static files as a good static host serves them (core/native/static_files.h), and the
// /predict forms, through HandleHttpRequest in this process (no socket: the server writes what it
// returns): ETag, Last-Modified, 304s, HEAD, the build's gzip/brotli variants by Accept-Encoding,
// Cache-Control by name; the same digit for one drawing sent as [x, y] strokes, {x, y} strokes,
// PNG bytes and base64 JSON; every 4xx of /predict names the accepted forms.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "http_server.h"
#include "image_io.h"
#include "predict_service.h"
#include "server_process.h"
#include "static_files.h"

namespace digits {
namespace {

using nlohmann::json;

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.first == name) return h.second;
  }
  return "";
}

class StaticFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServiceOptions options;
    ASSERT_TRUE(PredictService::Create(test::kModel, options, &service_).ok());
    site_ = ::testing::TempDir() + "digits_static_site_" + std::to_string(getpid());
    ASSERT_EQ(std::system(("rm -rf " + site_ + " && mkdir -p " + site_).c_str()), 0);
    Write("index.html", "<!doctype html><title>page</title>");
    Write("index.html.gz", "GZ-PAGE");
    Write("index.html.br", "BR-PAGE");
    Write("ink.0123456789.js", "export const ink = 1;");
    Write("ink.0123456789.js.gz", "GZ-INK");  // no .br: gzip it is, even for br clients
    Write("digits.wasm", std::string("\0asm\1\0\0\0", 8));  // no variant: sent as it is
    Write("embed.js", "export {};");
    // A variant that is a symlink out of the site is not followed.
    ASSERT_EQ(symlink("/etc/passwd", (site_ + "/embed.js.br").c_str()), 0);
    root_ = SiteRoot(site_);
    ASSERT_FALSE(root_.empty());
  }
  static void TearDownTestSuite() {
    service_.reset();
    std::system(("rm -rf " + site_).c_str());
  }
  static void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(site_ + "/" + name, std::ios::binary) << bytes;
  }

  static HttpResponse Get(const std::string& target, const std::string& accept_encoding = "",
                          const std::string& if_none_match = "",
                          const std::string& if_modified_since = "",
                          const std::string& method = "GET") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.accept_encoding = accept_encoding;
    request.if_none_match = if_none_match;
    request.if_modified_since = if_modified_since;
    return HandleHttpRequest(*service_, root_, request, {});
  }

  static std::unique_ptr<PredictService> service_;
  static std::string site_, root_;
};

std::unique_ptr<PredictService> StaticFiles::service_;
std::string StaticFiles::site_, StaticFiles::root_;

TEST_F(StaticFiles, ValidatorsAndCacheControl) {
  const HttpResponse page = Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<!doctype html><title>page</title>");
  const std::string etag = Header(page, "ETag");
  EXPECT_EQ(etag.front(), '"');  // strong: no W/
  EXPECT_EQ(etag.back(), '"');
  EXPECT_EQ(Header(page, "Cache-Control"), "no-cache");  // an entry point: revalidated
  EXPECT_EQ(Header(page, "Vary"), "Accept-Encoding");
  EXPECT_EQ(Header(page, "Content-Encoding"), "");
  struct stat st;
  ASSERT_EQ(stat((site_ + "/index.html").c_str(), &st), 0);
  char date[40];
  struct tm tm;
  gmtime_r(&st.st_mtime, &tm);
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  EXPECT_EQ(Header(page, "Last-Modified"), date);
  // Content-hashed names: a year, immutable.
  EXPECT_EQ(Header(Get("/ink.0123456789.js"), "Cache-Control"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(Get("/digits.wasm"), "Cache-Control"), "no-cache");
  // Under a list of origins the answer varies by Origin too: one Vary header with both.
  CorsPolicy listed;
  listed.any = false;
  listed.origins = {"https://a.example"};
  HttpRequest from_a;
  from_a.method = "GET";
  from_a.target = "/digits.wasm";
  from_a.origin = "https://a.example";
  const HttpResponse cors = HandleHttpRequest(*service_, root_, from_a, {}, listed);
  EXPECT_EQ(Header(cors, "Vary"), "Accept-Encoding, Origin");
  EXPECT_EQ(std::count_if(cors.headers.begin(), cors.headers.end(),
                          [](const auto& h) { return h.first == "Vary"; }),
            1);
  // Not files: not for caches.
  EXPECT_EQ(Header(Get("/missing.js"), "Cache-Control"), "no-store");
  EXPECT_EQ(Header(Get("/healthz"), "Cache-Control"), "no-store");
}

TEST_F(StaticFiles, AcceptEncodingChoosesTheBuildsVariant) {
  const struct {
    const char* target;
    const char* accept;
    const char* encoding;
    const char* body;
  } cases[] = {
      {"/", "gzip, deflate, br", "br", "BR-PAGE"},
      {"/", "br;q=1.0, gzip;q=0.8", "br", "BR-PAGE"},
      {"/", "GZIP", "gzip", "GZ-PAGE"},
      {"/", "br;q=0, gzip", "gzip", "GZ-PAGE"},
      {"/", "br;q=0.000, gzip;q=0", "", "<!doctype html><title>page</title>"},
      {"/", "*", "br", "BR-PAGE"},
      {"/", "identity", "", "<!doctype html><title>page</title>"},
      {"/", "", "", "<!doctype html><title>page</title>"},
      {"/", "brotli, xgzip", "", "<!doctype html><title>page</title>"},
      {"/ink.0123456789.js", "br, gzip", "gzip", "GZ-INK"},
      {"/digits.wasm", "br, gzip", "", nullptr},
      {"/embed.js", "br", "", "export {};"},  // its .br is a symlink to /etc/passwd
  };
  for (const auto& c : cases) {
    const HttpResponse r = Get(c.target, c.accept);
    ASSERT_EQ(r.status, 200) << c.target << " " << c.accept;
    EXPECT_EQ(Header(r, "Content-Encoding"), c.encoding) << c.target << " " << c.accept;
    if (c.body) EXPECT_EQ(r.body, c.body) << c.target << " " << c.accept;
    EXPECT_EQ(Header(r, "Vary"), "Accept-Encoding");
  }
  EXPECT_EQ(Get("/digits.wasm", "br").content_type, "application/wasm");
  EXPECT_EQ(Get("/", "br").content_type, "text/html; charset=utf-8");  // the file's, not .br's
  // Each variant is its own representation, with its own strong ETag.
  EXPECT_NE(Header(Get("/", "br"), "ETag"), Header(Get("/"), "ETag"));
  EXPECT_NE(Header(Get("/", "br"), "ETag"), Header(Get("/", "gzip"), "ETag"));
}

TEST_F(StaticFiles, ConditionalRequestsAndHead) {
  const HttpResponse full = Get("/", "br");
  const std::string etag = Header(full, "ETag"), last = Header(full, "Last-Modified");
  const struct {
    const char* name;
    std::string accept, if_none_match, if_modified_since;
    int status;
  } cases[] = {
      {"its ETag", "br", etag, "", 304},
      {"weak form", "br", "W/" + etag, "", 304},
      {"in a list", "br", "\"other\", " + etag + " ,\"x\"", "", 304},
      {"*", "br", "*", "", 304},
      {"another ETag", "br", "\"other\"", "", 200},
      {"the br ETag, gzip accepted", "gzip", etag, "", 200},
      {"Last-Modified", "br", "", last, 304},
      {"a later date", "br", "", "Fri, 01 Jan 2100 00:00:00 GMT", 304},
      {"an earlier date", "br", "", "Thu, 01 Jan 1970 00:00:00 GMT", 200},
      {"not an IMF-fixdate", "br", "", "Thursday, 01-Jan-70 00:00:00 GMT", 200},
      {"garbage date", "br", "", "%n%n%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s", 200},
      {"If-None-Match wins over the date", "br", "\"other\"", last, 200},
  };
  for (const auto& c : cases) {
    const HttpResponse r = Get("/", c.accept, c.if_none_match, c.if_modified_since);
    EXPECT_EQ(r.status, c.status) << c.name;
    if (r.status == 304) {
      EXPECT_EQ(r.body, "") << c.name;
      EXPECT_EQ(Header(r, "ETag"), etag) << c.name;
      EXPECT_EQ(Header(r, "Cache-Control"), "no-cache") << c.name;
      EXPECT_EQ(Header(r, "Vary"), "Accept-Encoding") << c.name;
    } else {
      EXPECT_FALSE(r.body.empty()) << c.name;
    }
  }
  // HEAD: the headers of the GET (the server sends no body, and the GET's Content-Length).
  const HttpResponse head = Get("/", "br", "", "", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(Header(head, "ETag"), etag);
  EXPECT_EQ(Header(head, "Content-Encoding"), "br");
  EXPECT_EQ(head.body.size(), full.body.size());
  EXPECT_EQ(Get("/", "br", etag, "", "HEAD").status, 304);
  EXPECT_EQ(Get("/", "", "", "", "POST").status, 405);
}

TEST(HeaderParsing, AcceptEncodingAndEtagsAreLinearAndStrict) {
  EXPECT_TRUE(AcceptsEncoding("gzip, br", "br"));
  EXPECT_TRUE(AcceptsEncoding(" br ; q=0.5 ", "br"));
  EXPECT_FALSE(AcceptsEncoding("br;q=0", "br"));
  EXPECT_FALSE(AcceptsEncoding("gzip", "br"));
  EXPECT_FALSE(AcceptsEncoding("", "gzip"));
  EXPECT_FALSE(AcceptsEncoding("*;q=0", "gzip"));
  EXPECT_TRUE(AcceptsEncoding(",,,,gzip", "gzip"));
  // 8 KiB of elements (the header limit): one pass.
  std::string many;
  while (many.size() < 8000) many += "x;q=1,";
  EXPECT_FALSE(AcceptsEncoding(many, "br"));
  EXPECT_TRUE(AcceptsEncoding(many + "br", "br"));
  EXPECT_TRUE(EtagMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(EtagMatches("W/\"a\"", "\"a\""));
  EXPECT_FALSE(EtagMatches("\"a\"", "\"b\""));
  EXPECT_FALSE(EtagMatches("a", "\"a\""));  // unquoted: not that tag
  EXPECT_FALSE(EtagMatches("", "\"a\""));
}

// A drawing as pixels: each segment stamped with discs of radius 9 on a white 280x280 canvas,
// dark ink, as a photo or a scan of the pad would be.
std::string DrawPng(const std::vector<Stroke>& strokes) {
  Image image{280, 280, 1, std::vector<uint8_t>(280 * 280, 255)};
  auto stamp = [&](float cx, float cy) {
    for (int y = std::max(0, int(cy) - 9); y <= std::min(279, int(cy) + 9); ++y) {
      for (int x = std::max(0, int(cx) - 9); x <= std::min(279, int(cx) + 9); ++x) {
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= 81) image.pixels[y * 280 + x] = 0;
      }
    }
  };
  for (const Stroke& s : strokes) {
    for (size_t i = 0; i < s.size(); ++i) {
      const Point a = s[i], b = s[i + 1 < s.size() ? i + 1 : i];
      const int steps = 1 + static_cast<int>(std::hypot(b.x - a.x, b.y - a.y));
      for (int k = 0; k <= steps; ++k) {
        stamp(a.x + (b.x - a.x) * k / steps, a.y + (b.y - a.y) * k / steps);
      }
    }
  }
  std::vector<uint8_t> png;
  EXPECT_TRUE(EncodePng(image, &png).ok());
  return std::string(png.begin(), png.end());
}

std::string Base64(const std::string& bytes) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kTable[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kTable[v & 63] : '=';
  }
  return out;
}

TEST_F(StaticFiles, PredictReadsOneDrawingTheSameInEveryForm) {
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  ASSERT_GE(fixture.size(), 4u);
  auto predict = [&](const std::string& type, const std::string& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/predict";
    request.content_type = type;
    request.body = body;
    const HttpResponse r = HandleHttpRequest(*service_, root_, request, {});
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
    return json::parse(r.body, nullptr, false);
  };
  for (int i = 0; i < 4; ++i) {
    const test::FixtureDigit& d = fixture[i];
    json objects = json::array();
    for (const Stroke& s : d.strokes) {
      json points = json::array();
      for (const Point& p : s) points.push_back({{"x", p.x}, {"y", p.y}, {"t", 1}});
      objects.push_back(points);
    }
    const std::string png = DrawPng(d.strokes);
    const json as_pairs = predict("application/json", test::StrokesToJson(d.strokes));
    const json as_objects = predict("application/json", json{{"strokes", objects}}.dump());
    const json as_png = predict("image/png", png);
    const json as_base64 = predict("application/json", json{{"image", Base64(png)}}.dump());
    SCOPED_TRACE("fixture digit " + std::to_string(d.index));
    EXPECT_EQ(as_pairs["text"], std::to_string(d.label));
    EXPECT_EQ(as_objects, as_pairs);  // the same points: the same answer, to the last bit
    EXPECT_EQ(as_png["text"], std::to_string(d.label));
    EXPECT_EQ(as_base64, as_png);  // the same bytes
  }
}

TEST_F(StaticFiles, EveryRefusalOfPredictNamesTheAcceptedForms) {
  const struct {
    const char* type;
    std::string body;
    int status;
  } cases[] = {
      {"application/json", R"({"image": "@@@"})", 400},
      {"application/json", R"({"image": 7})", 400},
      {"application/json", R"({"points": []})", 400},
      {"application/json", R"({"strokes": [[{"x": 1}]]})", 400},
      {"application/json", R"({"strokes": [[[1]]]})", 400},
      {"application/json", R"([1, 2])", 400},
      {"application/json", "{", 400},
      {"application/json", "", 400},
      {"text/plain", "7", 415},
      {"image/png", "not a png", 400},
      {"application/json", json{{"image", Base64("not a png")}}.dump(), 400},
  };
  for (const auto& c : cases) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/predict";
    request.content_type = c.type;
    request.body = c.body;
    const HttpResponse r = HandleHttpRequest(*service_, root_, request, {});
    EXPECT_EQ(r.status, c.status) << c.body;
    const json error = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(error.contains("error")) << r.body;
    EXPECT_NE(error["error"].get<std::string>().find(kPredictForms), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace digits
