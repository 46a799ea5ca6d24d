// The /predict service of `digits serve`, independent of sockets: each call takes a request's
// content type and body and returns the reply, so the HTTP layer (core/cli/serve.cpp, on
// cpp-httplib) stays thin and the handler can be tested and fuzzed directly.
//   POST /predict        image/png | image/jpeg body, or application/json strokes
//                        {"strokes": [...], "mode": "digit"|"number", "gradcam": bool,
//                         "class": int} -> the CLI's result JSON (gradcam: 28x28 map per digit)
//   POST /predict/batch  {"inputs": [{strokes...} | {"image": "<base64 PNG/JPEG>"}, ...]}
//                        -> {"results": [result | {"error": "..."}, ...]}
//   GET  /model          architecture, parameters, MACs, model metadata, SHA-256 of the file
//   GET  /healthz        {"status": "ok"}
// Errors are {"error": "..."} with 400 (bad input), 413 (too large), 415 (content type) or 500.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "recognizer.h"
#include "status.h"

namespace digits {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct ServiceOptions {
  int recognizers = 1;  // concurrent requests served at once (one Recognizer each)
  int max_batch = 64;   // inputs per batch request
  BackendKind backend = BackendKind::kXnnpack;
};

class PredictService {
 public:
  static Status Create(const std::string& model_path, const ServiceOptions& options,
                       std::unique_ptr<PredictService>* out);

  // Thread-safe: each call borrows one of the recognizers.
  HttpReply Predict(const std::string& content_type, const std::string& body);
  HttpReply PredictBatch(const std::string& content_type, const std::string& body);
  HttpReply Model() const { return {200, "application/json", model_json_}; }
  HttpReply Health() const { return {200, "application/json", "{\"status\":\"ok\"}"}; }

  static HttpReply Error(int status, const std::string& message);

 private:
  PredictService() = default;
  class Lease;  // a borrowed recognizer, returned on destruction

  ServiceOptions options_;
  std::string model_json_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Recognizer>> idle_;
};

// Lower-case media type without parameters: "Image/PNG; charset=x" -> "image/png".
std::string MediaType(const std::string& content_type);

}  // namespace digits
