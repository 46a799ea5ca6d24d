#include "server.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

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

// Standard base64 (RFC 4648), whitespace not allowed; OpenSSL does the decoding.
bool DecodeBase64(const std::string& text, std::vector<uint8_t>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  const size_t padding = (text.end()[-1] == '=') + (text.end()[-2] == '=');
  bytes.resize(static_cast<size_t>(n) - padding);
  *out = std::move(bytes);
  return true;
}

bool IsImageType(const std::string& type) {
  return type == "image/png" || type == "image/jpeg";
}

}  // namespace

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
  explicit Lease(PredictService* service) : service_(service) {
    std::unique_lock<std::mutex> lock(service_->mutex_);
    service_->available_.wait(lock, [this] { return !service_->idle_.empty(); });
    recognizer_ = std::move(service_->idle_.back());
    service_->idle_.pop_back();
  }
  ~Lease() {
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
      {"parameters", net.parameter_count()},
      {"macs", net.mac_count()},
      {"backend", BackendName(options.backend)},
      {"metadata", metadata}}.dump();
  *out = std::move(service);
  return Status::Ok();
}

HttpReply PredictService::Predict(const std::string& content_type, const std::string& body) {
  const std::string type = MediaType(content_type);
  if (type != "application/json" && !IsImageType(type)) {
    return Error(415, "unsupported Content-Type '" + type +
                          "': send image/png, image/jpeg or application/json");
  }
  if (body.empty()) return Error(400, "empty request body");
  // Decode and validate first: a recognizer is borrowed only for the recognition itself.
  RecognizeOptions options;
  Image image;
  std::vector<Stroke> strokes;
  Status s;
  if (IsImageType(type)) {
    const auto* data = reinterpret_cast<const uint8_t*>(body.data());
    int w = 0, h = 0;
    if (PeekImageSize(data, body.size(), &w, &h) &&
        (w > kMaxImageSide || h > kMaxImageSide || static_cast<int64_t>(w) * h > kMaxImagePixels)) {
      return Error(413, "image is " + std::to_string(w) + "x" + std::to_string(h) +
                            ", beyond the limit of " + std::to_string(kMaxImagePixels) + " pixels");
    }
    s = DecodeImage(data, body.size(), &image);
    if (!s.ok()) return Error(400, s.message());
  } else {
    const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) return Error(400, "request body is not valid JSON");
    s = StrokesFromJson(request, &strokes);
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
    if (request.contains("class")) {
      if (!request["class"].is_number_integer()) return Error(400, "\"class\" must be an integer");
      const int64_t c = request["class"].get<int64_t>();
      options.gradcam_class = c < -1 || c > 1000000 ? 1000000 : static_cast<int>(c);
    }
  }
  Lease recognizer(this);
  Recognition result;
  s = IsImageType(type) ? recognizer->RecognizeImage(image.view(), options, &result)
                        : recognizer->RecognizeStrokes(strokes, options, &result);
  if (!s.ok()) return Error(400, s.message());
  const int gradcam_size = options.gradcam ? recognizer->network().input.height : 0;
  return {200, "application/json",
          RecognitionToJson(result, recognizer->network(), gradcam_size).dump()};
}

HttpReply PredictService::PredictBatch(const std::string& content_type, const std::string& body) {
  if (MediaType(content_type) != "application/json") {
    return Error(415, "unsupported Content-Type '" + MediaType(content_type) +
                          "': a batch is application/json");
  }
  if (body.empty()) return Error(400, "empty request body");
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
    HttpReply reply;
    if (input.is_object() && input.contains("image")) {
      std::vector<uint8_t> bytes;
      if (!input["image"].is_string() || !DecodeBase64(input["image"].get<std::string>(), &bytes)) {
        reply = Error(400, "\"image\" must be a base64-encoded PNG or JPEG");
      } else {
        const bool png = bytes.size() >= 8 && bytes[0] == 0x89;
        reply = Predict(png ? "image/png" : "image/jpeg", std::string(bytes.begin(), bytes.end()));
      }
    } else {
      reply = Predict("application/json", input.dump());
    }
    results.push_back(json::parse(reply.body, nullptr, false));
  }
  return {200, "application/json", json{{"results", results}}.dump()};
}

}  // namespace digits
