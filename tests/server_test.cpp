// `digits serve`: a real server process on a free loopback port, real HTTP requests (cpp-httplib's
// client). Answers equal the CLI's; each bad request gets its status and message and the next
// good request still works; static files come with the right MIME types; SIGTERM stops it.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "adversarial_drawings.h"
#include "digits/limits.h"
#include "fixtures.h"
#include "http_server.h"
#include "image_io.h"
#include "mnist.h"
#include "predict_service.h"
#include "server_process.h"

namespace digits {
namespace {

using nlohmann::json;

using test::kModel;
using test::ServerProcess;

std::string MnistPng(int index) {
  MnistImages m;
  EXPECT_TRUE(ReadMnistImages(DIGITS_MNIST_DIR "/t10k-images-idx3-ubyte.gz", &m).ok());
  Image image{
      28, 28, 1,
      std::vector<uint8_t>(m.pixels.begin() + index * 784, m.pixels.begin() + (index + 1) * 784)};
  std::vector<uint8_t> png;
  EXPECT_TRUE(EncodePng(image, &png).ok());
  return std::string(png.begin(), png.end());
}

json CliRecognize(const std::string& flag, const std::string& path, const std::string& extra = "") {
  const test::CommandOutput o =
      test::RunCommand(std::string(DIGITS_CLI) + " recognize --model " + kModel + " " + flag + " " +
                       path + " --json " + extra);
  EXPECT_EQ(o.status, 0) << o.out;
  return json::parse(o.out, nullptr, false);
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "digits_server_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Server, AnswersEqualTheCli) {
  ServerProcess server;
  ASSERT_GT(server.port(), 0) << server.log();
  httplib::Client client("127.0.0.1", server.port());
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();

  // Strokes JSON, number mode with Grad-CAM.
  std::vector<Stroke> number = fixture[3].strokes;
  for (Stroke s : fixture[4].strokes) {
    for (Point& p : s) p.x += 300;
    number.push_back(s);
  }
  const std::string body = test::StrokesToJson(number, {{"mode", "number"}, {"gradcam", true}});
  auto res = client.Post("/predict", body, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json got = json::parse(res->body);
  const json want = CliRecognize("--strokes", WriteTemp("number.json", test::StrokesToJson(number)),
                                 "--number --gradcam " + WriteTemp("number.png", ""));
  EXPECT_EQ(got["text"], want["text"]);
  ASSERT_EQ(got["digits"].size(), 2u);
  EXPECT_EQ(got["digits"], want["digits"]);
  EXPECT_EQ(got["digits"][0]["gradcam"]["map"].size(), 28u * 28u);  // flat, row-major

  // Grad-CAM of a class against another ("why 4 and not 9"): served, and the same as the CLI's.
  const std::vector<Stroke>& four = fixture[4].strokes;
  res = client.Post("/predict",
                    test::StrokesToJson(four, {{"gradcam", true}, {"class", 4}, {"versus", 9}}),
                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json versus = json::parse(res->body);
  ASSERT_EQ(versus["digits"].size(), 1u);
  const json& cam = versus["digits"][0]["gradcam"];
  EXPECT_EQ(cam["class"], 4);
  EXPECT_EQ(cam["versus"], 9);
  EXPECT_EQ(cam["map"].size(), 28u * 28u);
  const json cli_versus =
      CliRecognize("--strokes", WriteTemp("four.json", test::StrokesToJson(four)),
                   "--gradcam " + WriteTemp("four.png", "") + " --class 4 --versus 9");
  EXPECT_EQ(versus["digits"], cli_versus["digits"]);
  // ... and not the map of class 4 alone.
  res = client.Post("/predict", test::StrokesToJson(four, {{"gradcam", true}, {"class", 4}}),
                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_NE(json::parse(res->body)["digits"][0]["gradcam"]["map"], cam["map"]);

  // An MNIST digit as PNG.
  const std::string png = MnistPng(0);
  res = client.Post("/predict", png, "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body), CliRecognize("--image", WriteTemp("mnist0.png", png)));
  EXPECT_EQ(json::parse(res->body)["text"], "7");

  // A batch: strokes, an image (base64), and a bad input that gets its own error.
  std::string b64(4 * ((png.size() + 2) / 3) + 1, '\0');
  b64.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&b64[0]),
                             reinterpret_cast<const unsigned char*>(png.data()), png.size()));
  const json batch = {{"inputs",
                       {json::parse(test::StrokesToJson(fixture[0].strokes)),
                        {{"image", b64}},
                        json::parse(R"({"strokes": [[[0, 0], [1e30, 1]]]})")}}};
  res = client.Post("/predict/batch", batch.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json results = json::parse(res->body)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["text"], std::to_string(fixture[0].label));
  EXPECT_EQ(results[1]["text"], "7");
  EXPECT_NE(results[2]["error"].get<std::string>().find("beyond"), std::string::npos);

  // /model and /healthz.
  res = client.Get("/model");
  ASSERT_TRUE(res);
  const json model = json::parse(res->body);
  EXPECT_EQ(model["sha256"].get<std::string>().size(), 64u);
  EXPECT_GT(model["parameters"].get<int>(), 1000);
  EXPECT_EQ(model["int8_layers"], 0);      // the float model
  EXPECT_EQ(model["labels"].size(), 11u);  // the digits and "not a digit"
  EXPECT_EQ(model["not_a_digit_class"], 10);
  EXPECT_GT(model["not_a_digit_threshold"].get<double>(), 0.0);
  res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, R"({"status":"ok"})");

  // The site, with the MIME types browsers insist on.
  res = client.Get("/digits.wasm");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/wasm");
  res = client.Get("/app.js");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/javascript");
  res = client.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  EXPECT_EQ(server.Stop(), 0) << server.log();
  EXPECT_NE(server.log().find("POST /predict 200"), std::string::npos);  // one line per request
  EXPECT_NE(server.log().find("shutting down"), std::string::npos);
}

TEST(Server, BadRequestsGetTheirStatusAndTheServerKeepsWorking) {
  ServerProcess server("--max-body 100000");
  ASSERT_GT(server.port(), 0) << server.log();
  httplib::Client client("127.0.0.1", server.port());
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  const std::string good = test::StrokesToJson(fixture[0].strokes);
  auto first = client.Post("/predict", good, "application/json");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);

  std::string huge_png = MnistPng(0);
  huge_png.replace(16, 8, std::string("\x00\x00\x4e\x20\x00\x00\x4e\x20", 8));  // 20000x20000
  const struct {
    std::string name, body, type, path;
    int status;
    std::string message;
  } cases[] = {
      {"malformed JSON", R"({"strokes": [[[1, 2], )", "application/json", "/predict", 400,
       "not valid JSON"},
      {"wrong content type", good, "text/plain", "/predict", 415, "unsupported Content-Type"},
      {"empty body", "", "application/json", "/predict", 400, "empty request body"},
      {"oversized body", std::string(200000, ' '), "application/json", "/predict", 413,
       "larger than the server's limit"},
      {"corrupt PNG", "\x89PNG\r\n\x1a\n garbage", "image/png", "/predict", 400, "corrupt PNG"},
      {"huge image dimensions", huge_png, "image/png", "/predict", 413, "20000x20000"},
      {"absurd coordinates", R"({"strokes": [[[1, 2], [1e300, 3]]]})", "application/json",
       "/predict", 400, "is beyond"},
      {"NaN coordinates", R"({"strokes": [[[1, 2], [NaN, 3]]]})", "application/json", "/predict",
       400, "not valid JSON"},
      {"bad mode", R"({"strokes": [], "mode": "sideways"})", "application/json", "/predict", 400,
       "\"mode\" must be"},
      {"bad batch", R"({"items": []})", "application/json", "/predict/batch", 400,
       "a batch is {\"inputs\""},
      {"batch too large", json{{"inputs", std::vector<json>(65, json::object())}}.dump(),
       "application/json", "/predict/batch", 413, "batch has 65 inputs, at most 64"},
      {"batch content type", "{}", "text/csv", "/predict/batch", 415,
       "a batch is application/json"},
  };
  for (const auto& c : cases) {
    auto res = client.Post(c.path, c.body, c.type);
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, c.status) << c.name << ": " << res->body;
    const json error = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(error.is_object()) << c.name << ": " << res->body;
    EXPECT_NE(error["error"].get<std::string>().find(c.message), std::string::npos)
        << c.name << ": " << res->body;
    // The next good request still works, with the same answer.
    auto again = client.Post("/predict", good, "application/json");
    ASSERT_TRUE(again) << c.name;
    EXPECT_EQ(again->status, 200) << c.name;
    EXPECT_EQ(again->body, first->body) << "after " << c.name;
  }
  EXPECT_EQ(server.Stop(), 0);
}

// 8 concurrent clients, 5,000 requests (strokes and PNG alternating), loopback only: no errors.
// Throughput and latency are printed for the record (scripts/bench-serve), never asserted.
TEST(Server, BoundedLoadHasNoErrors) {
  ServerProcess server("--threads 4");
  ASSERT_GT(server.port(), 0) << server.log();
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  const std::string strokes = WriteTemp("load.json", test::StrokesToJson(fixture[0].strokes));
  const std::string png = WriteTemp("load.png", MnistPng(0));
  const test::CommandOutput o =
      test::RunCommand(std::string(DIGITS_SERVE_LOAD) + " --port " + std::to_string(server.port()) +
                       " --clients 8 --requests 5000 --strokes " + strokes + " --png " + png);
  EXPECT_EQ(o.status, 0) << o.out;
  const json result = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << o.out;
  EXPECT_EQ(result["requests"], 5000);
  EXPECT_EQ(result["errors"], 0);
  std::printf("load: %s\n", o.out.c_str());
  EXPECT_EQ(server.Stop(), 0);
}

// The service directly, no sockets.
TEST(PredictService, HandlesRequestsWithoutSockets) {
  std::unique_ptr<PredictService> service;
  ServiceOptions options;
  options.max_batch = 2;
  ASSERT_TRUE(PredictService::Create(kModel, options, &service).ok());
  EXPECT_EQ(service->Health().status, 200);
  const HttpReply r = service->Predict("Application/JSON; charset=utf-8", R"({"strokes": []})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["empty"], true);
  const HttpReply too_many =
      service->PredictBatch("application/json", R"({"inputs": [{}, {}, {}]})");
  EXPECT_EQ(too_many.status, 413);
  const HttpReply bad_b64 =
      service->PredictBatch("application/json", R"({"inputs": [{"image": "@@@"}]})");
  EXPECT_EQ(bad_b64.status, 200);
  EXPECT_NE(bad_b64.body.find("base64"), std::string::npos);
  EXPECT_EQ(MediaType(" Image/PNG ; q=1"), "image/png");
  // A content type that is not UTF-8 is quoted in the error, not thrown on (found by fuzzing).
  const HttpReply bad_type = service->Predict("image/\xff\xfe", "x");
  EXPECT_EQ(bad_type.status, 415);
  EXPECT_TRUE(json::parse(bad_type.body, nullptr, false).is_object()) << bad_type.body;
  // A corrupt PNG for which stb leaves no readable reason (found by fuzzing): a clean 400.
  std::ifstream f(DIGITS_TEST_DATA "/regressions/fuzz_predict_stb_reason.bin", std::ios::binary);
  const std::string crash((std::istreambuf_iterator<char>(f)), {});
  ASSERT_GT(crash.size(), 1u);
  const HttpReply corrupt = service->Predict("image/png", crash.substr(1));
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_EQ(json::parse(corrupt.body, nullptr, false)["error"],
            std::string("corrupt PNG image: bad zlib data ") +
                kPredictForms);  // now caught by the inflate check
  std::unique_ptr<PredictService> missing;
  EXPECT_FALSE(PredictService::Create("/nonexistent.safetensors", options, &missing).ok());
}

// A request's work stops when its client goes or its budget is spent: 503, the recognizer is
// returned (the next request on a one-recognizer service is served), and no more digits or batch
// inputs are recognized after the stop (counted through the client_gone hook).
TEST(PredictService, StopsWhenTheClientGoesOrTheBudgetIsSpent) {
  std::unique_ptr<PredictService> service;
  ServiceOptions options;
  options.recognizers = 1;
  ASSERT_TRUE(PredictService::Create(kModel, options, &service).ok());
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  std::vector<Stroke> number;
  for (int d = 0; d < 6; ++d) {
    for (Stroke s : fixture[d].strokes) {
      for (Point& p : s) p.x += 300.0f * d;
      number.push_back(s);
    }
  }
  const std::string body = test::StrokesToJson(number, {{"mode", "number"}});
  const HttpReply full = service->Predict("application/json", body);
  ASSERT_EQ(full.status, 200) << full.body;
  ASSERT_GE(json::parse(full.body)["digits"].size(), 5u);

  int asked = 0;
  RequestControl control;
  control.client_gone = [&asked] { return ++asked >= 3; };  // gone at the 3rd look
  const HttpReply gone = service->Predict("application/json", body, control);
  EXPECT_EQ(gone.status, 503) << gone.body;
  EXPECT_EQ(asked, 3);  // it looked no more once it knew: no digit after the stop

  RequestControl spent;
  spent.deadline = std::chrono::steady_clock::now();
  EXPECT_EQ(service->Predict("application/json", body, spent).status, 503);
  EXPECT_EQ(service->Predict("image/png", MnistPng(0), spent).status, 503);
  asked = 0;
  const std::string batch =
      json{{"inputs", {json::parse(body), json::parse(body), json::parse(body)}}}.dump();
  control.client_gone = [&asked] { return ++asked >= 2; };
  EXPECT_EQ(service->PredictBatch("application/json", batch, control).status, 503);
  EXPECT_EQ(asked, 2);

  // The recognizer came back each time.
  EXPECT_EQ(service->Predict("application/json", body).body, full.body);
}

// Over HTTP, on the server's own code and sockets (in this process), with a clock that advances
// one millisecond each time the work reads it: a request's time is the count of its steps (one
// when it starts, one before waiting for a recognizer, one before each digit), whatever the
// machine's speed. 64 marks in number mode take more steps than a budget of 20 and get 503, the
// work stopping there (no digit after the budget); one digit takes 3 and is served.
TEST(Server, BudgetAnswers503) {
  std::unique_ptr<PredictService> service;
  ServiceOptions service_options;
  service_options.recognizers = 1;
  ASSERT_TRUE(PredictService::Create(kModel, service_options, &service).ok());
  std::atomic<int> steps{0};
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  HttpServerOptions options;
  options.port = 0;
  options.threads = 1;
  options.budget_ms = 20;
  options.budget_clock = [&steps, start] { return start + std::chrono::milliseconds(steps++); };
  std::unique_ptr<HttpServer> server;
  const Status created = HttpServer::Create(service.get(), options, &server);
  ASSERT_TRUE(created.ok()) << created.message();
  const test::Serving serving(server.get());
  httplib::Client client("127.0.0.1", server->port());

  int before = steps;
  auto res = client.Post("/predict",
                         test::StrokesToJson(test::SeparateMarks(kMaxNumberMarks),
                                             {{"mode", "number"}, {"gradcam", true}}),
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
  EXPECT_NE(res->body.find("time budget"), std::string::npos) << res->body;
  // The budget's 20 steps and the one that found it spent: the other 40-odd marks never ran.
  EXPECT_EQ(steps - before, options.budget_ms + 1);

  before = steps;
  const std::vector<test::FixtureDigit> fixture = test::LoadStrokeFixture();
  res = client.Post("/predict", test::StrokesToJson(fixture[0].strokes), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_LT(steps - before, options.budget_ms);
}

// CORS as --cors-origin says: "*" (the default) lets any page use the API and the widget's files
// but never reads or frames the page; a list answers its own origins only (and says it varies
// by Origin); preflights tell what a route takes; errors are readable where answers are.
TEST(Server, CorsAsConfigured) {
  const std::string good = test::StrokesToJson(test::LoadStrokeFixture()[0].strokes);
  const httplib::Headers from_a = {{"Origin", "https://a.example"}};
  const httplib::Headers from_b = {{"Origin", "https://b.example"}};
  const httplib::Headers preflight_a = {{"Origin", "https://a.example"},
                                        {"Access-Control-Request-Method", "POST"},
                                        {"Access-Control-Request-Headers", "content-type"}};
  {
    ServerProcess server;
    ASSERT_GT(server.port(), 0) << server.log();
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Post("/predict", from_a, good, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_FALSE(res->has_header("Vary"));
    res = client.Options("/predict", preflight_a);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 204);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Methods"), "POST, OPTIONS");
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Headers"), "Content-Type");
    res = client.Post("/predict", from_a, "{", "application/json");  // an error, readable too
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "*");
    res = client.Get("/digits.wasm", from_a);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(res->get_header_value("Cross-Origin-Resource-Policy"), "cross-origin");
    res = client.Get("/", from_a);  // the page: never readable by another origin, not frameable
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
    EXPECT_EQ(res->get_header_value("X-Frame-Options"), "DENY");
    EXPECT_EQ(server.Stop(), 0);
  }
  {
    ServerProcess server("--cors-origin https://a.example,http://127.0.0.1:3000");
    ASSERT_GT(server.port(), 0) << server.log();
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Post("/predict", from_a, good, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://a.example");
    EXPECT_EQ(res->get_header_value("Vary"), "Origin");
    res = client.Post("/predict", from_b, good, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);  // answered (CORS is the browser's to enforce), but not readable
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
    EXPECT_EQ(res->get_header_value("Vary"), "Origin");
    res = client.Options("/predict", preflight_a);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 204);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://a.example");
    res = client.Options(
        "/predict", {{"Origin", "https://b.example"}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403);
    EXPECT_NE(res->body.find("--cors-origin"), std::string::npos) << res->body;
    res = client.Options("/digits.wasm", from_a);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 204);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(server.Stop(), 0);
  }
  {
    ServerProcess server("--cors-origin none");
    ASSERT_GT(server.port(), 0) << server.log();
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Get("/digits.wasm", from_a);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
    EXPECT_EQ(res->get_header_value("Cross-Origin-Resource-Policy"), "same-origin");
    EXPECT_EQ(server.Stop(), 0);
  }
}

TEST(Server, RefusesABadCorsOrigin) {
  for (const char* bad : {"https://a.example/", "a.example", "https://", "https://a.example,",
                          "ftp://a.example", "https://*.example", "https://u@a.example"}) {
    const test::CommandOutput o =
        test::RunCommand(std::string(DIGITS_CLI) + " serve --model " + kModel +
                         " --port 0 --cors-origin '" + bad + "' 2>&1");
    EXPECT_EQ(WEXITSTATUS(o.status), 1) << bad << ": " << o.out;
    EXPECT_NE(o.out.find("is not an origin"), std::string::npos) << bad << ": " << o.out;
  }
}

}  // namespace
}  // namespace digits
