#include "predict_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base64.h"
#include "digits/file.h"
#include "image_io.h"
#include "json_io.h"

namespace digits {
namespace {

using nlohmann::json;

std::string Sha256Hex(const std::vector<uint8_t>& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(two, sizeof(two), "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

bool IsImageType(const std::string& type) {
  return type == "image/png" || type == "image/jpeg";
}

// An optional class index field ("class", "versus"): an integer from -1 (none / the prediction)
// up; the recognizer checks the upper bound against the model.
Status ReadClassField(const json& request, const char* name, int* out) {
  if (!request.contains(name)) return Status::Ok();
  const json& c = request[name];
  if (!c.is_number_integer()) return Status::Errorf("\"%s\" must be an integer", name);
  // An unsigned 2^64 - 1 read as int64_t is -1, "none": range-check it first.
  const bool in_range = c.is_number_unsigned()
                            ? c.get<uint64_t>() < 1000000u
                            : c.get<int64_t>() >= -1 && c.get<int64_t>() < 1000000;
  if (!in_range) return Status::Errorf("\"%s\" is out of range (a class index, or -1)", name);
  *out = static_cast<int>(c.get<int64_t>());
  return Status::Ok();
}

// The reply for a request stopped by its RequestControl.
HttpReply Stopped() {
  return PredictService::Error(503, "the request ran out of its time budget (or its client left)");
}

}  // namespace

bool JsonDepthWithin(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

std::string MediaType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

class PredictService::Lease {
 public:
  // Waits for a recognizer until the request's deadline; ok() is false if none came in time.
  Lease(PredictService* service, const RequestControl& control) : service_(service) {
    std::unique_lock<std::mutex> lock(service_->mutex_);
    const auto ready = [this] { return !service_->idle_.empty(); };
    if (control.deadline == std::chrono::steady_clock::time_point::max()) {
      service_->available_.wait(lock, ready);
    } else if (!service_->available_.wait_until(lock, control.deadline, ready)) {  // real time
      return;
    }
    recognizer_ = std::move(service_->idle_.back());
    service_->idle_.pop_back();
  }
  bool ok() const { return recognizer_ != nullptr; }
  ~Lease() {
    if (!recognizer_) return;
    {
      std::lock_guard<std::mutex> lock(service_->mutex_);
      service_->idle_.push_back(std::move(recognizer_));
    }
    service_->available_.notify_one();
  }
  Recognizer* operator->() { return recognizer_.get(); }

 private:
  PredictService* service_;
  std::unique_ptr<Recognizer> recognizer_;
};

HttpReply PredictService::Error(int status, const std::string& message) {
  // Messages can quote the request (a content type, say): bytes that are not UTF-8 are replaced
  // rather than thrown on. (Found by tests/fuzz/fuzz_predict.)
  return {status, "application/json",
          json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace)};
}

Status PredictService::Create(const std::string& model_path, const ServiceOptions& options,
                              std::unique_ptr<PredictService>* out) {
  if (options.recognizers < 1 || options.recognizers > 256) {
    return Status::Errorf("recognizers must be 1..256, not %d", options.recognizers);
  }
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadFile(model_path, kMaxModelBytes, &bytes));
  std::unique_ptr<PredictService> service(new PredictService());
  service->options_ = options;
  for (int i = 0; i < options.recognizers; ++i) {
    std::unique_ptr<Recognizer> r;
    DIGITS_RETURN_IF_ERROR(Recognizer::Create(bytes.data(), bytes.size(), options.backend, &r)
                               .Context(model_path + ": "));
    service->idle_.push_back(std::move(r));
  }
  const Network& net = service->idle_[0]->network();
  json layers = json::array();
  for (const Layer& layer : net.layers) {
    json l = {{"type", LayerTypeName(layer.type)},
              {"output", {layer.output.height, layer.output.width, layer.output.channels}}};
    if (!layer.name.empty()) l["name"] = layer.name;
    if (layer.kernel_h) l["kernel"] = {layer.kernel_h, layer.kernel_w};
    layers.push_back(l);
  }
  json metadata = json::object();
  for (const auto& entry : net.metadata) metadata[entry.first] = entry.second;
  service->model_json_ = json{
      {"file", model_path.substr(model_path.find_last_of('/') + 1)},
      {"sha256", Sha256Hex(bytes)},
      {"bytes", bytes.size()},
      {"input",
       {{"height", net.input.height},
        {"width", net.input.width},
        {"channels", net.input.channels},
        {"mean", net.input_mean},
        {"std", net.input_std}}},
      {"labels", net.labels},
      {"layers", layers},
      {"gradcam_layer", net.gradcam_layer},
      {"unsure_threshold", net.unsure_threshold},
      {"not_a_digit_class", net.not_a_digit_class},
      {"not_a_digit_threshold", net.not_a_digit_threshold},
      {"parameters", net.parameter_count()},
      {"macs", net.mac_count()},
      // Layers 0..int8_layers-1 compute on int8 codes (core/MODEL_FORMAT.md); 0: a float model.
      {"int8_layers", net.int8_end + 1},
      {"backend", BackendName(options.backend)},
      {"metadata", metadata}}.dump();
  *out = std::move(service);
  return Status::Ok();
}

HttpReply PredictService::Predict(const std::string& content_type, const std::string& body,
                                  const RequestControl& control) {
  HttpReply reply = PredictOne(content_type, body, control);
  if (reply.status < 400 || reply.status >= 500) return reply;
  // Every refusal says what is accepted, whatever was wrong (our own error JSON, parsed back).
  const json error = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  return Error(reply.status, error.value("error", std::string()) + " " + kPredictForms);
}

HttpReply PredictService::PredictOne(const std::string& content_type, const std::string& body,
                                     const RequestControl& control) {
  const std::string type = MediaType(content_type);
  if (type != "application/json" && !IsImageType(type)) {
    return Error(415, "unsupported Content-Type '" + type + "'");
  }
  if (body.empty()) return Error(400, "empty request body");
  if (IsImageType(type)) {
    return PredictImage(reinterpret_cast<const uint8_t*>(body.data()), body.size(), control);
  }
  if (!JsonDepthWithin(body, kMaxJsonDepth)) {
    return Error(400,
                 "request JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return Error(400, "request body is not valid JSON");
  return PredictInput(request, control);
}

HttpReply PredictService::PredictInput(const json& input, const RequestControl& control) {
  if (input.is_object() && input.contains("image")) {
    std::vector<uint8_t> bytes;
    if (!input["image"].is_string() || !DecodeBase64(input["image"].get<std::string>(), &bytes)) {
      return Error(400, "\"image\" must be a base64-encoded PNG or JPEG");
    }
    return PredictImage(bytes.data(), bytes.size(), control);
  }
  return PredictStrokes(input, control);
}

HttpReply PredictService::PredictImage(const uint8_t* data, size_t size,
                                       const RequestControl& control) {
  // Decode and validate first: a recognizer is borrowed only for the recognition itself.
  int w = 0, h = 0;
  if (PeekImageSize(data, size, &w, &h) && w > 0 && h > 0) {
    const Status size_ok = CheckImageSize(w, h);
    if (!size_ok.ok()) return Error(413, size_ok.message());
  }
  Image image;
  Status s = DecodeImage(data, size, &image);
  if (!s.ok()) return Error(400, s.message());
  if (control.Stop()) return Stopped();
  Lease recognizer(this, control);
  if (!recognizer.ok()) return Stopped();
  Recognition result;
  s = recognizer->RecognizeImage(image.view(), RecognizeOptions(), &result);
  if (!s.ok()) return Error(400, s.message());
  return {200, "application/json", RecognitionToJson(result, recognizer->network()).dump()};
}

HttpReply PredictService::PredictStrokes(const json& request, const RequestControl& control) {
  RecognizeOptions options;
  std::vector<Stroke> strokes;
  Status s = StrokesFromJson(request, &strokes);
  if (!s.ok()) return Error(400, s.message());
  if (request.contains("mode")) {
    const json& mode = request["mode"];
    if (mode == "number") {
      options.mode = Mode::kNumber;
    } else if (mode != "digit") {
      return Error(400, "\"mode\" must be \"digit\" or \"number\"");
    }
  }
  if (request.contains("gradcam")) {
    if (!request["gradcam"].is_boolean()) return Error(400, "\"gradcam\" must be true or false");
    options.gradcam = request["gradcam"].get<bool>();
  }
  if (!(s = ReadClassField(request, "class", &options.gradcam_class)).ok() ||
      !(s = ReadClassField(request, "versus", &options.gradcam_versus)).ok()) {
    return Error(400, s.message());
  }
  bool stopped = false;
  options.should_stop = [&control, &stopped] { return stopped = control.Stop(); };
  if (control.Stop()) return Stopped();
  Lease recognizer(this, control);
  if (!recognizer.ok()) return Stopped();
  Recognition result;
  s = recognizer->RecognizeStrokes(strokes, options, &result);
  if (!s.ok()) return stopped ? Stopped() : Error(400, s.message());
  return {200, "application/json", RecognitionToJson(result, recognizer->network()).dump()};
}

HttpReply PredictService::PredictBatch(const std::string& content_type, const std::string& body,
                                       const RequestControl& control) {
  if (MediaType(content_type) != "application/json") {
    return Error(415, "unsupported Content-Type '" + MediaType(content_type) +
                          "': a batch is application/json");
  }
  if (body.empty()) return Error(400, "empty request body");
  if (!JsonDepthWithin(body, kMaxJsonDepth)) {
    return Error(400,
                 "request JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return Error(400, "request body is not valid JSON");
  if (!request.is_object() || !request.contains("inputs") || !request["inputs"].is_array()) {
    return Error(400, "a batch is {\"inputs\": [...]}");
  }
  const json& inputs = request["inputs"];
  if (inputs.size() > static_cast<size_t>(options_.max_batch)) {
    return Error(413, "batch has " + std::to_string(inputs.size()) + " inputs, at most " +
                          std::to_string(options_.max_batch));
  }
  json results = json::array();
  for (const json& input : inputs) {
    if (control.Stop()) return Stopped();
    const HttpReply reply = PredictInput(input, control);
    if (reply.status == 503) return reply;
    results.push_back(json::parse(reply.body, nullptr, false));
  }
  return {200, "application/json", json{{"results", results}}.dump()};
}

}  // namespace digits
