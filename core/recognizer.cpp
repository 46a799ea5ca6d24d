#include "recognizer.h"

#include <algorithm>
#include <cmath>

namespace digits {

Status Recognizer::Create(const uint8_t* model, size_t size, BackendKind backend,
                          std::unique_ptr<Recognizer>* out) {
  std::unique_ptr<Recognizer> r(new Recognizer());
  r->network_ = std::make_unique<Network>();
  DIGITS_RETURN_IF_ERROR(LoadNetwork(model, size, r->network_.get()));
  DIGITS_RETURN_IF_ERROR(CreateBackend(*r->network_, backend, &r->backend_));
  *out = std::move(r);
  return Status::Ok();
}

Status Recognizer::CreateFromFile(const std::string& path, BackendKind backend,
                                  std::unique_ptr<Recognizer>* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadFile(path, kMaxModelBytes, &bytes));
  return Create(bytes.data(), bytes.size(), backend, out).Context(path + ": ");
}

Status Recognizer::Classify(const float* pixels, size_t count, Prediction* out) {
  const Shape& in = network_->input;
  if (count != static_cast<size_t>(in.size())) {
    return Status::Errorf("input has %zu values, the model needs %dx%dx%d = %d", count, in.height,
                          in.width, in.channels, in.size());
  }
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(pixels[i])) {
      return Status::Errorf("input pixel %zu is not a finite number", i);
    }
  }
  DIGITS_RETURN_IF_ERROR(backend_->Forward(pixels, /*keep_gradcam_activations=*/false, &forward_));
  Prediction p;
  p.logits = forward_.logits;
  p.probabilities = Softmax(p.logits);
  p.digit = static_cast<int>(std::max_element(p.probabilities.begin(), p.probabilities.end()) -
                             p.probabilities.begin());
  p.unsure = p.probabilities[p.digit] < network_->unsure_threshold;
  *out = std::move(p);
  return Status::Ok();
}

}  // namespace digits
