// The predict service of `digits serve`, independent of sockets: each call takes a request's
// content type and body and returns the reply, so the HTTP layer (http_server.h) stays thin and
// the service can be tested and fuzzed directly.
//   POST /predict        image/png | image/jpeg body, or application/json: strokes
//                        {"strokes": [[[x, y] | {"x": x, "y": y}, ...], ...], "mode":
//                         "digit"|"number", "gradcam": bool, "class": int} or an image
//                        {"image": "<base64 PNG/JPEG>"} -> the result object
//                        (core/RESULT_FORMAT.md); every 4xx names these forms (kPredictForms)
//   POST /predict/batch  {"inputs": [{strokes...} | {"image": "<base64 PNG/JPEG>"}, ...]}
//                        -> {"results": [result | {"error": "..."}, ...]}
//   GET  /model          architecture, parameters, MACs, model metadata, SHA-256 of the file
//   GET  /healthz        {"status": "ok"}
// Errors are {"error": "..."} with 400 (bad input), 413 (too large), 415 (content type), 503 (the
// request's time budget ran out, or its client went away) or 500.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digits/recognizer.h"
#include "digits/status.h"

namespace digits {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// What stops a request's work early: its deadline (the per-request budget) and, when the HTTP
// layer can tell, its client having gone away. Checked while waiting for a recognizer, before
// each digit of a number and before each input of a batch.
struct RequestControl {
  using TimePoint = std::chrono::steady_clock::time_point;
  TimePoint deadline = TimePoint::max();
  std::function<bool()> client_gone;  // optional
  // The deadline's clock (optional; steady_clock by default). Tests pass one that advances only
  // when it is read, so that a budget counts steps of work whatever the machine's speed.
  std::function<TimePoint()> clock;
  TimePoint Now() const { return clock ? clock() : std::chrono::steady_clock::now(); }
  bool Stop() const { return Now() >= deadline || (client_gone && client_gone()); }
};

// What /predict accepts, appended to each of its 4xx messages.
constexpr char kPredictForms[] =
    "(POST /predict accepts: image/png or image/jpeg bytes; or application/json, either "
    "{\"strokes\": [[[x, y], ...], ...]} with points as [x, y] or {\"x\": x, \"y\": y}, or "
    "{\"image\": \"<base64 PNG or JPEG>\"}; see GET /openapi.json)";

// JSON deeper than this is refused before it is parsed (a batch needs 6 levels).
constexpr int kMaxJsonDepth = 16;

struct ServiceOptions {
  int recognizers = 1;  // concurrent requests served at once (one Recognizer each)
  int max_batch = 64;   // inputs per batch request
  BackendKind backend = DefaultBackend();
};

class PredictService {
 public:
  static Status Create(const std::string& model_path, const ServiceOptions& options,
                       std::unique_ptr<PredictService>* out);

  // Thread-safe: each call borrows one of the recognizers.
  HttpReply Predict(const std::string& content_type, const std::string& body,
                    const RequestControl& control = {});
  HttpReply PredictBatch(const std::string& content_type, const std::string& body,
                         const RequestControl& control = {});
  HttpReply Model() const { return {200, "application/json", model_json_}; }
  HttpReply Health() const { return {200, "application/json", "{\"status\":\"ok\"}"}; }

  static HttpReply Error(int status, const std::string& message);

 private:
  PredictService() = default;
  class Lease;  // a borrowed recognizer, returned on destruction

  HttpReply PredictOne(const std::string& content_type, const std::string& body,
                       const RequestControl& control);
  // One input of /predict or of a batch: {"image": base64} or strokes.
  HttpReply PredictInput(const nlohmann::json& input, const RequestControl& control);
  HttpReply PredictImage(const uint8_t* data, size_t size, const RequestControl& control);
  // `request` is the parsed strokes object; user input is never serialized again (a deeply
  // nested input once overflowed the stack in dump()).
  HttpReply PredictStrokes(const nlohmann::json& request, const RequestControl& control);

  ServiceOptions options_;
  std::string model_json_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Recognizer>> idle_;
};

// Whether `text`'s arrays and objects nest at most `max_depth` deep (a scan of its brackets
// outside strings; it does not validate the JSON).
bool JsonDepthWithin(const std::string& text, int max_depth);

// Lower-case media type without parameters: "Image/PNG; charset=x" -> "image/png".
std::string MediaType(const std::string& content_type);

}  // namespace digits
