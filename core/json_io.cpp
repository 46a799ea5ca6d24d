#include "json_io.h"

#include <cmath>

namespace digits {

Status StrokesFromJson(const nlohmann::json& object, std::vector<Stroke>* out) {
  if (!object.is_object()) return Status::Error("strokes JSON must be an object");
  auto it = object.find("strokes");
  if (it == object.end()) return Status::Error("strokes JSON has no \"strokes\" field");
  if (!it->is_array()) return Status::Error("\"strokes\" must be an array of strokes");
  if (it->size() > static_cast<size_t>(kMaxStrokes)) {
    return Status::Errorf("too many strokes: %zu (at most %d)", it->size(), kMaxStrokes);
  }
  std::vector<Stroke> strokes;
  size_t total = 0;
  for (size_t s = 0; s < it->size(); ++s) {
    const nlohmann::json& stroke = (*it)[s];
    if (!stroke.is_array()) return Status::Errorf("stroke %zu must be an array of points", s);
    total += stroke.size();
    if (total > static_cast<size_t>(kMaxPoints)) {
      return Status::Errorf("too many points in the drawing (at most %d)", kMaxPoints);
    }
    Stroke points;
    points.reserve(stroke.size());
    for (size_t k = 0; k < stroke.size(); ++k) {
      const nlohmann::json& p = stroke[k];
      if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) {
        return Status::Errorf("stroke %zu, point %zu must be [x, y] numbers", s, k);
      }
      const double x = p[0].get<double>(), y = p[1].get<double>();
      if (!(std::fabs(x) <= kMaxCoordinate && std::fabs(y) <= kMaxCoordinate)) {
        return Status::Errorf("stroke %zu, point %zu: coordinate (%g, %g) is beyond +-%g", s, k, x,
                              y, kMaxCoordinate);
      }
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

nlohmann::json RecognitionToJson(const Recognition& result, const Network& network,
                                 int gradcam_size) {
  nlohmann::json digits = nlohmann::json::array();
  for (const DigitResult& d : result.digits) {
    nlohmann::json digit = {
        {"digit", d.prediction.digit},
        {"label", network.labels[d.prediction.digit]},
        {"probabilities", d.prediction.probabilities},
        {"box", {d.box.x0, d.box.y0, d.box.x1, d.box.y1}},
        {"not_a_digit", d.prediction.not_a_digit},
        {"unsure", d.prediction.unsure},
    };
    if (gradcam_size > 0 && !d.gradcam.map.empty()) {
      const std::vector<float> up = UpsampleGradCam(d.gradcam, gradcam_size);
      nlohmann::json rows = nlohmann::json::array();
      for (int i = 0; i < gradcam_size; ++i) {
        rows.push_back(
            std::vector<float>(up.begin() + i * gradcam_size, up.begin() + (i + 1) * gradcam_size));
      }
      digit["gradcam"] = {{"class", d.gradcam.target_class}, {"size", gradcam_size}, {"map", rows}};
    }
    digits.push_back(std::move(digit));
  }
  return {{"text", result.text}, {"empty", result.empty}, {"digits", std::move(digits)}};
}

}  // namespace digits
