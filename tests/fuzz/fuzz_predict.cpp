// libFuzzer: the HTTP /predict and /predict/batch handlers, called directly (no sockets). The
// first byte picks the route and content type; the rest is the body. The service must answer
// every request with a status and a JSON body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "predict_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::PredictService* service = [] {
    std::unique_ptr<digits::PredictService> s;
    digits::ServiceOptions options;
    options.backend = digits::BackendKind::kBuiltin;
    options.max_batch = 4;
    if (!digits::PredictService::Create(DIGITS_FUZZ_MODEL, options, &s).ok()) std::abort();
    return s.release();
  }();
  if (size == 0) return 0;
  static const char* const kTypes[] = {"application/json", "image/png", "image/jpeg", "text/plain",
                                       "Application/JSON; charset=utf-8"};
  const std::string type = kTypes[data[0] % 5];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const digits::HttpReply reply =
      data[0] & 0x80 ? service->PredictBatch(type, body) : service->Predict(type, body);
  if (reply.status < 200 || reply.status > 599 || reply.body.empty() || reply.body[0] != '{') {
    std::abort();
  }
  return 0;
}
