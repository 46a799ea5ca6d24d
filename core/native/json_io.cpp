#include "json_io.h"

#include <utility>

#include "digits/result.h"

namespace digits {

namespace {

// A point as [x, y, ...] (the strokes files) or {"x": x, "y": y, ...} (the widget's and the JS
// API's form); extra values (pressure, time) are ignored.
bool PointFromJson(const nlohmann::json& p, double* x, double* y) {
  if (p.is_array()) {
    if (p.size() < 2 || !p[0].is_number() || !p[1].is_number()) return false;
    *x = p[0].get<double>();
    *y = p[1].get<double>();
    return true;
  }
  if (!p.is_object()) return false;
  const auto px = p.find("x"), py = p.find("y");
  if (px == p.end() || py == p.end() || !px->is_number() || !py->is_number()) return false;
  *x = px->get<double>();
  *y = py->get<double>();
  return true;
}

}  // namespace

Status StrokesFromJson(const nlohmann::json& object, std::vector<Stroke>* out) {
  if (!object.is_object()) return Status::Error("strokes JSON must be an object");
  auto it = object.find("strokes");
  if (it == object.end()) {
    return Status::Error(
        "strokes JSON has no \"strokes\" field: {\"strokes\": [[[x, y], ...], ...]}, points as "
        "[x, y] or {\"x\": x, \"y\": y}");
  }
  if (!it->is_array()) return Status::Error("\"strokes\" must be an array of strokes");
  DIGITS_RETURN_IF_ERROR(CheckDrawingSize(it->size(), 0));
  std::vector<Stroke> strokes;
  size_t total = 0;
  for (size_t s = 0; s < it->size(); ++s) {
    const nlohmann::json& stroke = (*it)[s];
    if (!stroke.is_array()) return Status::Errorf("stroke %zu must be an array of points", s);
    total += stroke.size();
    DIGITS_RETURN_IF_ERROR(CheckDrawingSize(it->size(), total));
    Stroke points;
    points.reserve(stroke.size());
    for (size_t k = 0; k < stroke.size(); ++k) {
      double x = 0, y = 0;
      if (!PointFromJson(stroke[k], &x, &y)) {
        return Status::Errorf(
            "stroke %zu, point %zu must be [x, y] or {\"x\": x, \"y\": y} numbers", s, k);
      }
      if (!PointWithinLimits(x, y)) return CheckPoint(s, k, x, y);
      points.push_back({static_cast<float>(x), static_cast<float>(y)});
    }
    strokes.push_back(std::move(points));
  }
  DIGITS_RETURN_IF_ERROR(ValidateStrokes(strokes));
  *out = std::move(strokes);
  return Status::Ok();
}

Status ParseStrokesJson(const std::string& text, std::vector<Stroke>* out) {
  const nlohmann::json object = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return Status::Error("strokes file is not valid JSON");
  return StrokesFromJson(object, out);
}

namespace {

// Builds the nlohmann::json document WriteRecognition describes.
class JsonResultWriter : public ResultWriter {
 public:
  nlohmann::json TakeDocument() { return std::move(document_); }

  void BeginObject(const char* key) override { Open(key, nlohmann::json::object()); }
  void EndObject() override { open_.pop_back(); }
  void BeginArray(const char* key) override { Open(key, nlohmann::json::array()); }
  void EndArray() override { open_.pop_back(); }
  void Null(const char* key) override { Put(key, nullptr); }
  void Bool(const char* key, bool value) override { Put(key, value); }
  void Int(const char* key, int value) override { Put(key, value); }
  void Float(const char* key, float value) override { Put(key, value); }
  void String(const char* key, const std::string& value) override { Put(key, value); }
  void Floats(const char* key, const std::vector<float>& values) override { Put(key, values); }
  void Ints(const char* key, const std::vector<int>& values) override { Put(key, values); }

 private:
  nlohmann::json* Put(const char* key, nlohmann::json value) {
    if (open_.empty()) {
      document_ = std::move(value);
      return &document_;
    }
    nlohmann::json& parent = *open_.back();
    if (key == nullptr) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    return &(parent[key] = std::move(value));
  }
  void Open(const char* key, nlohmann::json empty) { open_.push_back(Put(key, std::move(empty))); }

  nlohmann::json document_;
  std::vector<nlohmann::json*> open_;  // the objects and arrays being filled, innermost last
};

}  // namespace

nlohmann::json RecognitionToJson(const Recognition& result, const Network& network) {
  JsonResultWriter writer;
  WriteRecognition(result, network, &writer);
  return writer.TakeDocument();
}

}  // namespace digits
